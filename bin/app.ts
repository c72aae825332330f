#!/usr/bin/env node
/**
 * CDK entry point: the only place that reads context and environment.
 *   cdk deploy -c stage=prod                      (a named stage; overrides in cdk.json "stages".prod)
 *   cdk deploy -c stage=local -c emulator=true    (the embedded local emulator)
 *   -c testProfiles=bot-1,bot-2                   (deny-listed test profiles)
 *   -c retainData=false                           (a throwaway stage: data is deleted with the stack)
 *   -c apiServices=ARN,... -c apiErasers=ARN,... -c clientSessionVendors=ARN,...   (history API callers)
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../infra/app.js';
import { resolveStage } from '../infra/config.js';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
const stages = (app.node.tryGetContext('stages') ?? {}) as Record<string, Record<string, unknown>>;
const flag = (name: string): boolean | undefined => {
  const v = app.node.tryGetContext(name);
  return v === undefined ? undefined : v === true || v === 'true';
};
const emulator = flag('emulator') ?? false;
const retainData = flag('retainData');
const testProfiles = app.node.tryGetContext('testProfiles');
const arnList = (name: string) => {
  const v = app.node.tryGetContext(name);
  return typeof v === 'string' ? { [name]: v.split(',').filter(Boolean) } : {};
};
const config = resolveStage(stage, {
  ...stages[stage],
  ...(emulator ? { emulator, retainData: false } : {}),
  ...(retainData === undefined ? {} : { retainData }),
  ...(typeof testProfiles === 'string' ? { testProfiles: testProfiles.split(',').filter(Boolean) } : {}),
  ...arnList('apiServices'),
  ...arnList('apiErasers'),
  ...arnList('clientSessionVendors'),
});
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
buildApp(app, config, account && region ? { account, region } : undefined);
app.synth();
