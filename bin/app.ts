#!/usr/bin/env node
/**
 * CDK entry point: the only place that reads context and environment.
 *   cdk deploy -c stage=prod                      (a named stage; overrides in cdk.json "stages".prod)
 *   cdk deploy -c stage=local -c emulator=true    (the embedded local emulator)
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../infra/app.js';
import { resolveStage } from '../infra/config.js';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
const stages = (app.node.tryGetContext('stages') ?? {}) as Record<string, Record<string, unknown>>;
const emulatorContext = app.node.tryGetContext('emulator');
const emulator = emulatorContext === true || emulatorContext === 'true';
const config = resolveStage(stage, {
  ...stages[stage],
  ...(emulator ? { emulator, retainData: false } : {}),
});
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
buildApp(app, config, account && region ? { account, region } : undefined);
app.synth();
