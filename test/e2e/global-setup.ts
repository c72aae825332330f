/**
 * Provisions the target of the end-to-end suite, selected by E2E_TARGET:
 * - `ministack` (default): the embedded emulator on a free port, the real CDK app deployed to it;
 * - `localstack`: LocalStack through testcontainers (needs a Docker engine and LOCALSTACK_AUTH_TOKEN;
 *   without them the suite is skipped and says why);
 * - `aws`: a throwaway stage in the account of the ambient AWS credentials, destroyed afterwards.
 * The suite receives the stack outputs (read through CloudFormation) and the endpoint, nothing else.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { TestProject } from 'vitest/node';
import { stackNamesOf } from '../../infra/contract.js';
import {
  deployApp,
  destroyApp,
  EMULATOR_CREDENTIALS,
  emulatorClientConfig,
  emulatorEnv,
  LOCAL_DIR,
  ROOT,
  type StackOutputs,
  stackOutputs,
  startEmulator,
} from '../../scripts/emulator.js';
import { awsPreflight, principalOfCaller, refuse } from './aws-preflight.js';
import { E2E_TEST_PROFILE, type E2EContext } from './context.js';

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2EContext;
  }
}

const say = (msg: string) => process.stderr.write(`[e2e] ${msg}\n`);

async function deployAndRead(
  env: NodeJS.ProcessEnv,
  stage: string,
  emulator: boolean,
  region: string,
  extraContext: readonly string[] = [],
) {
  // The emulator starts empty and is bootstrapped here; an AWS account must already be bootstrapped.
  const logTo = path.join(LOCAL_DIR, `deploy-${stage}.log`);
  say(`deploying stage ${stage} (log: ${path.relative(ROOT, logTo)})`);
  const names = deployApp(env, {
    stage,
    emulator,
    bootstrap: emulator,
    logTo,
    context: [`testProfiles=${E2E_TEST_PROFILE}`, 'retainData=false', ...extraContext],
  });
  const cfn = new CloudFormationClient(
    env.AWS_ENDPOINT_URL ? emulatorClientConfig(env.AWS_ENDPOINT_URL) : { region },
  );
  return { stacks: stackNamesOf(stage), outputs: await stackOutputs(names, cfn) };
}

/** The IAM principal of the ambient credentials: an assumed-role session is reported as its role's ARN, path included. */
async function callerPrincipal(region: string): Promise<string> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const { Arn: arn } = await new STSClient({ region }).send(new GetCallerIdentityCommand({}));
  if (!arn) throw new Error('sts:GetCallerIdentity returned no ARN');
  return principalOfCaller(arn, async (RoleName) => {
    const { IAMClient, GetRoleCommand } = await import('@aws-sdk/client-iam');
    return (await new IAMClient({ region }).send(new GetRoleCommand({ RoleName }))).Role?.Arn;
  });
}

export default async function setup(project: TestProject) {
  const target = (process.env.E2E_TARGET ?? 'ministack') as E2EContext['target'];
  const started = Date.now();

  if (target === 'ministack') {
    const emu = await startEmulator();
    try {
      const env = emulatorEnv(emu.endpoint);
      const { outputs, stacks } = await deployAndRead(env, 'local', true, EMULATOR_CREDENTIALS.AWS_REGION);
      say(`deployed to ministack in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      project.provide('e2e', {
        target,
        endpoint: emu.endpoint,
        region: EMULATOR_CREDENTIALS.AWS_REGION,
        outputs,
        stacks,
        emulator: true,
      });
    } catch (err) {
      await emu.stop();
      throw err;
    }
    return () => emu.stop();
  }

  if (target === 'localstack') {
    const docker = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
    const token = process.env.LOCALSTACK_AUTH_TOKEN;
    if (!docker || !token) {
      const skipReason = `LocalStack target skipped: ${!docker ? 'no Docker engine is reachable' : ''}${!docker && !token ? ' and ' : ''}${!token ? 'LOCALSTACK_AUTH_TOKEN is not set (required by the LocalStack image since 2026-03)' : ''}`;
      say(skipReason);
      project.provide('e2e', {
        target,
        endpoint: '',
        region: 'us-east-1',
        outputs: {} as StackOutputs,
        stacks: { stateful: '', pipeline: '' },
        emulator: true,
        skipReason,
      });
      return;
    }
    const { LocalstackContainer } = await import('@testcontainers/localstack');
    const container = await new LocalstackContainer('localstack/localstack:latest')
      .withEnvironment({ LOCALSTACK_AUTH_TOKEN: token })
      .start();
    const endpoint = container.getConnectionUri();
    try {
      const env = emulatorEnv(endpoint);
      const { outputs, stacks } = await deployAndRead(env, 'local', true, EMULATOR_CREDENTIALS.AWS_REGION);
      project.provide('e2e', {
        target,
        endpoint,
        region: EMULATOR_CREDENTIALS.AWS_REGION,
        outputs,
        stacks,
        emulator: true,
      });
    } catch (err) {
      await container.stop();
      throw err;
    }
    return () => container.stop().then(() => undefined);
  }

  if (target === 'aws') {
    const preflight = await awsPreflight(process.env, callerPrincipal);
    if ('problem' in preflight) refuse(preflight.problem);
    const { region, runner } = preflight;
    const stage = `e2e-${randomBytes(3).toString('hex')}`;
    const env = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_DEFAULT_REGION: region };
    // An AWS stage allows nobody by default (docs/contract/history-api.md, authorization): the identity
    // running the suite is put on the service, eraser and session-vendor allow-lists of the throwaway stage.
    say(`deploying throwaway stage ${stage} to ${region} (allow-listed caller: ${runner})`);
    try {
      const { outputs, stacks } = await deployAndRead(env, stage, false, region, [
        `apiServices=${runner}`,
        `apiErasers=${runner}`,
        `clientSessionVendors=${runner}`,
      ]);
      project.provide('e2e', { target, endpoint: '', region, outputs, stacks, emulator: false });
    } catch (err) {
      destroyApp(env, { stage, emulator: false, context: ['retainData=false'] });
      throw err;
    }
    return () => destroyApp(env, { stage, emulator: false, context: ['retainData=false'] });
  }

  throw new Error(`unknown E2E_TARGET ${target}: use ministack, localstack or aws`);
}
