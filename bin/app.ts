#!/usr/bin/env node
/**
 * CDK entry point: the only place that reads context and environment.
 *   cdk deploy -c stage=prod                      (a named stage; overrides in cdk.json "stages".prod)
 *   cdk deploy -c stage=local -c emulator=true    (the embedded local emulator; implies retainData=false)
 *   -c <setting>=<value>                          (any setting of docs/settings.md, e.g.
 *                                                  -c historyRetentionDays=7 -c consumer.batchSize=100
 *                                                  -c testProfiles=bot-1,bot-2 -c retainData=false)
 * Precedence: defaults < cdk.json "stages".<stage> < -c. An unknown setting, in either place, is an error.
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../infra/app.js';
import { ConfigurationError, readOverrides, resolveStage, type StageConfig } from '../infra/config.js';

/** Context keys that are not settings: the stage, the stages block (CDK's own keys contain ':' or '@'). */
const NOT_SETTINGS = new Set(['stage', 'stages']);

const app = new App();

/**
 * The stage configuration from context, checked against every setting's declaration before any construct is
 * built: every wrong setting of the run (cdk.json stages and -c alike) is reported at once, one line each.
 */
function stageConfig(): StageConfig {
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  const stages = (app.node.tryGetContext('stages') ?? {}) as Record<string, Record<string, unknown>>;
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(app.node.getAllContext()))
    if (!NOT_SETTINGS.has(key) && !key.includes(':') && !key.startsWith('@')) flat[key] = value;
  const fromCli = readOverrides(flat, '-c');
  const block = stages[stage] ?? {};
  const fromStages =
    typeof block === 'object' && block && !Array.isArray(block)
      ? readOverrides(block, `cdk.json stages.${stage}`)
      : {
          overrides: {},
          problems: [`cdk.json stages.${stage}: ${JSON.stringify(block)} is not an object of settings`],
        };
  const problems = [...fromStages.problems, ...fromCli.problems];
  if (problems.length) throw new ConfigurationError(problems);
  const merge = <T extends Record<string, unknown>>(a: T, b: T): T => {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b))
      out[k] =
        typeof v === 'object' && v && !Array.isArray(v) && typeof out[k] === 'object'
          ? { ...(out[k] as object), ...v }
          : v;
    return out as T;
  };
  // An emulator stage's own defaults (EMULATOR_STAGE_DEFAULTS) are applied by resolveStage.
  return resolveStage(
    stage,
    merge(
      { ...fromStages.overrides } as Record<string, unknown>,
      fromCli.overrides as Record<string, unknown>,
    ),
  );
}

/**
 * One line per problem (a construct's validation: its message, which is a report when aws-cdk-lib validates
 * the whole app), exit code 1; IMPRESSIONS_DEBUG=1 adds the stack.
 */
function fail(prefix: string, err: unknown): never {
  const lines =
    err instanceof ConfigurationError ? err.problems : [String((err as Error).message ?? err).trimEnd()];
  for (const line of lines) process.stderr.write(`${prefix}: ${line}\n`);
  if (process.env.IMPRESSIONS_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

let config: StageConfig;
try {
  config = stageConfig();
} catch (err) {
  fail('configuration', err);
}
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
try {
  buildApp(app, config, account && region ? { account, region } : undefined);
  app.synth();
} catch (err) {
  // A construct's own validation (a value no setting can check): one line, not aws-cdk-lib's stack trace.
  fail('synthesis', err);
}
