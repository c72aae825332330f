/**
 * cdk.json carries every feature flag `cdk init` writes for the pinned aws-cdk-lib (its
 * recommended-feature-flags.json), at the recommended value unless docs/settings.md says why not, and with
 * them the stacks have the same resources under the same logical IDs as without (the stateful stack's are
 * pinned by test/infra, which synthesizes without cdk.json's context).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);
const RECOMMENDED = JSON.parse(
  readFileSync(
    path.join(path.dirname(require.resolve('aws-cdk-lib/package.json')), 'recommended-feature-flags.json'),
    'utf8',
  ),
) as Record<string, unknown>;
const CONTEXT = (
  JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;
const FLAGS = Object.fromEntries(Object.entries(CONTEXT).filter(([k]) => k.startsWith('@aws-cdk')));

/**
 * Both stacks' resources (logical ID → type and properties), without CDK's own metadata, synthesized
 * environment-agnostic as `cdk synth` does without an account and region.
 */
function resources(context: Record<string, unknown>, stage: string, overrides = {}) {
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const { stateful, pipeline } = buildApp(app, resolveStage(stage, overrides));
  const of = (t: Template) =>
    Object.fromEntries(
      Object.entries((t.toJSON() as { Resources: Record<string, { Type: string }> }).Resources).filter(
        ([, r]) => r.Type !== 'AWS::CDK::Metadata',
      ),
    );
  return { stateful: of(Template.fromStack(stateful)), pipeline: of(Template.fromStack(pipeline)) };
}

describe('feature flags (cdk.json)', () => {
  it('carries every recommended flag of the pinned aws-cdk-lib, @aws-cdk/core:validateAgainstDefaultRules among them', () => {
    expect(Object.keys(RECOMMENDED)).toContain('@aws-cdk/core:validateAgainstDefaultRules');
    expect(Object.keys(FLAGS).sort()).toEqual(Object.keys(RECOMMENDED).sort());
  });

  it('sets each to its recommended value, or docs/settings.md says why not', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'settings.md'), 'utf8');
    const different = Object.keys(RECOMMENDED).filter(
      (k) => JSON.stringify(FLAGS[k]) !== JSON.stringify(RECOMMENDED[k]),
    );
    expect(different).toEqual(['@aws-cdk/core:defaultCrossStackReferences']);
    for (const k of different) expect(doc, k).toContain(`\`${k}\``);
  });

  // test/infra synthesizes without cdk.json's context: the logical IDs it pins (the stateful stack's above all)
  // are the ones `cdk deploy` creates, flags and all.
  it('keeps every logical ID and resource type of the prod and emulator stages', { timeout: 240_000 }, () => {
    const ids = (r: Record<string, { Type: string }>) =>
      Object.fromEntries(Object.entries(r).map(([id, x]) => [id, x.Type]));
    for (const [stage, overrides] of [
      ['prod', {}],
      ['local', { emulator: true }],
    ] as const) {
      const without = resources({}, stage, overrides);
      const withFlags = resources(FLAGS, stage, overrides);
      expect(Object.keys(without.stateful).length).toBeGreaterThan(10);
      expect(ids(withFlags.stateful), `${stage} stateful`).toEqual(ids(without.stateful));
      expect(ids(withFlags.pipeline), `${stage} pipeline`).toEqual(ids(without.pipeline));
    }
  });
});
