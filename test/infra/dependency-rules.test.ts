/**
 * The import rules of docs/architecture.md ("The layers"), as .dependency-cruiser.cjs states them for
 * `npm run lint:deps`: they catch each kind of violation on a small tree of violations (test/fixtures/layers/,
 * checked with the same rules rooted there), and every exception the file grants is still an import the code
 * makes (an exception left behind would allow that import again unnoticed).
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const FIXTURE = 'test/fixtures/layers/';

type Exception = readonly [file: string, imports: string, why: string];
const rules = createRequire(import.meta.url)(CONFIG) as {
  exceptions: readonly Exception[];
  forbiddenAt: (root: string, exceptions: readonly Exception[]) => IForbiddenRuleType[];
};

async function run(files: string[], forbidden?: IForbiddenRuleType[]): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(CONFIG);
  const ruleSet = forbidden ? { forbidden } : options.ruleSet;
  const result = await cruise(files, { ...options, ruleSet, validate: true, baseDir: ROOT }, undefined, {
    tsConfig: extractTSConfig(path.join(ROOT, 'tsconfig.json')),
  });
  return result.output as ICruiseResult;
}

describe('the import rules', () => {
  it('catch every kind of violation, and only those, on the fixture tree', async () => {
    const result = await run(
      [FIXTURE],
      rules.forbiddenAt(FIXTURE, [['lambdas/domain/hash.ts', 'os', 'test']]),
    );
    // A package by its name (not the file its exports resolve to).
    const name = (to: string) =>
      to.replace(FIXTURE, '').replace(/^node_modules\/((@[^/]+\/)?[^/]+)\/.*/, '$1');
    const found = result.summary.violations
      .map((v) => `${v.rule.name}: ${name(v.from)} → ${name(v.to)}`)
      .sort();
    expect(found).toEqual(
      [
        'adapters-imports: lambdas/adapters/store.ts → bench/run.ts',
        'client-imports: client/index.ts → infra/stack.ts',
        'client-packages: client/index.ts → aws-cdk-lib',
        'domain-builtins: lambdas/domain/clock.ts → os',
        'domain-builtins: lambdas/domain/rules.ts → fs',
        'domain-imports: lambdas/domain/rules.ts → lambdas/adapters/store.ts',
        'domain-packages: lambdas/domain/rules.ts → @aws-sdk/client-dynamodb',
        'handlers-imports: lambdas/fn-a/handler.ts → lambdas/fn-b/handler.ts',
        'handlers-imports: lambdas/fn-b/handler.ts → lambdas/fn-a/handler.ts',
        'infra-imports: infra/stack.ts → lambdas/adapters/store.ts',
        'no-circular-lambdas: lambdas/fn-a/handler.ts → lambdas/fn-b/handler.ts',
        'ops-imports: ops/cli.ts → scripts/tool.ts',
        'scripts-imports: scripts/tool.ts → bench/run.ts',
        'shipped-not-tools: lambdas/adapters/store.ts → bench/run.ts',
        'shipped-not-tools: ops/cli.ts → scripts/tool.ts',
      ].sort(),
    );
  }, 60_000);

  it('pass on the repository, and each exception is an import the code still makes', async () => {
    const result = await run(['bin', 'infra', 'lambdas', 'client', 'ops', 'scripts', 'bench', 'test']);
    expect(result.summary.violations).toEqual([]);
    const made = new Set(
      result.modules.flatMap((m) => m.dependencies.map((d) => `${m.source} → ${d.resolved}`)),
    );
    for (const [file, imports] of rules.exceptions)
      expect(
        [...made].some((d) => d.startsWith(`${file} → ${imports}`)),
        `${file} no longer imports ${imports}: remove its exception from .dependency-cruiser.cjs`,
      ).toBe(true);
  }, 120_000);
});
