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
import { checkOverrides, resolveStage, type StageConfig } from '../infra/config.js';

/** Context keys that are not settings: the stage, the stages block (CDK's own keys contain ':' or '@'). */
const NOT_SETTINGS = new Set(['stage', 'stages']);

const app = new App();

/** The stage configuration from context; a mistake in it is one line and exit code 1, not a stack trace. */
function stageConfig(): StageConfig {
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  const stages = (app.node.tryGetContext('stages') ?? {}) as Record<string, Record<string, unknown>>;
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(app.node.getAllContext()))
    if (!NOT_SETTINGS.has(key) && !key.includes(':') && !key.startsWith('@')) flat[key] = value;
  const fromCli = checkOverrides(flat, '-c');
  const fromStages = checkOverrides(stages[stage] ?? {}, `cdk.json stages.${stage}`);
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
  return resolveStage(stage, merge({ ...fromStages }, fromCli));
}

let config: StageConfig;
try {
  config = stageConfig();
} catch (err) {
  process.stderr.write(`configuration: ${(err as Error).message}\n`);
  process.exit(1);
}
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
buildApp(app, config, account && region ? { account, region } : undefined);
app.synth();
