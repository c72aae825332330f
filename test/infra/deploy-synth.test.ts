/**
 * Synthesis as `cdk deploy` runs it: the CLI resolves the caller's account and region (CDK_DEFAULT_ACCOUNT and
 * CDK_DEFAULT_REGION), so ARNs carry a literal partition, account and region, and cdk.json's feature flags
 * apply. Every stage a team deploys, in every supported region, must synthesize without an error annotation
 * (cdk-nag's included): suppressions written for the environment-agnostic token form of an ARN do not match
 * the concrete one. CI also runs the CLI itself this way (`.ci/run`).
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import { SUPPORTED_REGIONS } from '../../infra/regions.js';

const CDK_CONTEXT = (JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> })
  .context;
/** The stages a team deploys to AWS with their defaults (the emulator stage never reaches AWS). */
const STAGES = ['dev', 'prod'];
const ACCOUNT = '123456789012';

function errorsOf(stage: string, region: string): string[] {
  // cdk.json's context as the CLI passes it; no asset bundling (the templates are what is checked).
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const { stateful, pipeline } = buildApp(app, resolveStage(stage), { account: ACCOUNT, region });
  app.synth();
  return [stateful, pipeline].flatMap((stack) =>
    Annotations.fromStack(stack)
      .findError('*', Match.anyValue())
      .map((f) => `${f.id}: ${String(f.entry.data).slice(0, 200)}`),
  );
}

// One test per stage and region: each synthesis is a few seconds of synchronous work, and Vitest's worker
// must answer its runner between them (a worker blocked for 60 s fails the run with an RPC timeout).
describe('synthesis with a concrete account, as cdk deploy does', () => {
  for (const stage of STAGES) {
    describe(`stage ${stage}`, () => {
      for (const region of Object.keys(SUPPORTED_REGIONS)) {
        it(`${region}: no error annotation`, () => {
          expect(errorsOf(stage, region)).toEqual([]);
        });
      }
    });
  }
});
