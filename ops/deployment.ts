/**
 * The one way a tool finds the deployment it works on. On AWS: `--stage <name>` or `--stack <either stack's
 * name>`, with the ambient AWS credentials and region (`--region`, else AWS_REGION); every value comes from
 * the stacks' outputs (infra/contract.ts), never from a logical id. Locally: the deployment `npm start -- --keep`
 * is running, from its session file (`.local/session.json`, or `--session FILE`).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { STAGE_NAME } from '../infra/config.js';
import { OUTPUT_KEYS, parseStackName, type StackOutputs, stackList } from '../infra/contract.js';
import { CliError, NO_STACK, type OptionSpecs } from './kit.js';

/** Where local runs keep their state: IMPRESSIONS_LOCAL_DIR, else `.local` in the working directory. */
export const LOCAL_DIR = process.env.IMPRESSIONS_LOCAL_DIR ?? path.resolve('.local');
/** The deployment `npm start` is running: written when it is ready, removed when it stops. */
export const SESSION_FILE = path.join(LOCAL_DIR, 'session.json');

/** The emulator's fixed test credentials and region. */
export const EMULATOR_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
} as const;

export interface ClientLimits {
  /** Sockets per client; requests beyond wait in the SDK's queue. @default 50 (the SDK's) */
  readonly maxSockets?: number;
  /** Give up on a request after this long (for probes, never for writes a retry could duplicate). */
  readonly requestTimeoutMs?: number;
}

/** What every SDK client of a tool is configured with. */
export interface ClientConfig {
  readonly region: string;
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly requestHandler?: NodeHttpHandler;
}

/** SDK client configuration for the emulator (HTTP/1.1, which emulators speak; the test credentials). */
export function emulatorClientConfig(
  endpoint: string,
  limits: ClientLimits = {},
): ClientConfig & { endpoint: string } {
  return {
    region: EMULATOR_CREDENTIALS.AWS_REGION,
    endpoint,
    credentials: {
      accessKeyId: EMULATOR_CREDENTIALS.AWS_ACCESS_KEY_ID,
      secretAccessKey: EMULATOR_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
    },
    requestHandler: new NodeHttpHandler({
      ...(limits.maxSockets
        ? { httpAgent: new Agent({ keepAlive: true, maxSockets: limits.maxSockets }) }
        : {}),
      ...(limits.requestTimeoutMs
        ? { requestTimeout: limits.requestTimeoutMs, connectionTimeout: limits.requestTimeoutMs }
        : {}),
    }),
  };
}

/** Reads the stacks' outputs through CloudFormation and checks that every contract key is there once. */
export async function stackOutputs(
  stackNames: readonly string[],
  cfn = new CloudFormationClient({}),
): Promise<StackOutputs> {
  const out: Record<string, string> = {};
  for (const name of stackNames) {
    const r = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    for (const o of r.Stacks?.[0]?.Outputs ?? []) {
      if (!o.OutputKey || o.OutputValue === undefined || o.OutputKey.startsWith('ExportsOutput')) continue;
      if (o.OutputKey in out) throw new Error(`output ${o.OutputKey} appears more than once`);
      out[o.OutputKey] = o.OutputValue;
    }
  }
  const missing = OUTPUT_KEYS.filter((k) => !(k in out));
  if (missing.length) throw new Error(`stack outputs missing: ${missing.join(', ')}`);
  return out as StackOutputs;
}

export interface LocalSession {
  readonly endpoint: string;
  readonly pipelineStack: string;
  readonly outputs: Record<string, string>;
  /** The `npm start` process that runs the deployment. */
  readonly pid?: number;
}

/** Whether a process with this id is alive (signal 0 checks without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The deployment `npm start -- --keep` is running, or a CliError saying how to start one. A session file
 * left behind by a run that ended without cleaning up (its process is gone) is removed.
 */
export function requireSession(file = SESSION_FILE): LocalSession {
  if (!existsSync(file)) throw new CliError(NO_STACK);
  let session: LocalSession;
  try {
    session = JSON.parse(readFileSync(file, 'utf8')) as LocalSession;
  } catch {
    rmSync(file, { force: true });
    throw new CliError(NO_STACK);
  }
  if (
    typeof session.endpoint !== 'string' ||
    !session.outputs ||
    (session.pid !== undefined && !alive(session.pid))
  ) {
    rmSync(file, { force: true });
    throw new CliError(NO_STACK);
  }
  return session;
}

/** The options that name a deployment; every tool that works on one takes them. */
export const DEPLOYMENT_OPTIONS = {
  stage: { type: 'string', arg: '<name>', help: 'a stage deployed on AWS (its stacks Impressions-<name>-*)' },
  stack: {
    type: 'string',
    arg: '<name>',
    help: 'a deployment on AWS named by either stack: Impressions-<stage>-Stateful or -Pipeline',
  },
  region: {
    type: 'string',
    arg: '<region>',
    help: 'the AWS region of --stage/--stack (default: AWS_REGION)',
  },
  session: {
    type: 'string',
    arg: '<file>',
    help: 'the local deployment from this session file (default: .local/session.json)',
  },
} as const satisfies OptionSpecs;

export const DEPLOYMENT_HELP =
  'Deployment: --stage or --stack for one on AWS (with your AWS credentials; every resource is found\n' +
  'through the stack outputs); without them, the local one `npm start -- --keep` runs.';

/** Where a tool works: the clients' configuration and the deployment's stack outputs. */
export interface Deployment {
  readonly kind: 'local' | 'aws';
  readonly stage: string;
  /** Emulator endpoint (local only). */
  readonly endpoint?: string;
  readonly region: string;
  readonly outputs: StackOutputs;
  /** The pipeline stack's name (its template holds the functions' settings). */
  readonly pipelineStack: string;
  /** The SDK clients' configuration (region, and locally the endpoint and test credentials). */
  readonly clientConfig: ClientConfig;
  /** How to name it in messages. */
  readonly label: string;
}

export interface DeploymentValues {
  readonly stage?: string;
  readonly stack?: string;
  readonly region?: string;
  readonly session?: string;
}

/** The stage a `--stage`/`--stack` pair names (either stack's name, or the stage itself). */
export function stageOf(values: DeploymentValues): string | undefined {
  if (values.stage !== undefined && values.stack !== undefined)
    throw new CliError('give --stage or --stack, not both', 2);
  if (values.stack !== undefined) {
    const stage = parseStackName(values.stack)?.stage;
    if (!stage)
      throw new CliError(`--stack ${values.stack}: give Impressions-<stage>-Stateful or -Pipeline`, 2);
    return stage;
  }
  if (values.stage !== undefined && !STAGE_NAME.test(values.stage))
    throw new CliError(`--stage ${values.stage}: a stage name is ${STAGE_NAME.source}`, 2);
  return values.stage;
}

/** Finds the deployment the options name (see the module comment). */
export async function findDeployment(values: DeploymentValues): Promise<Deployment> {
  const stage = stageOf(values);
  if (stage !== undefined) {
    if (values.session !== undefined)
      throw new CliError('--session is for the local deployment, not with --stage/--stack', 2);
    const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region)
      throw new CliError('--stage/--stack need a region: --region, or AWS_REGION (and AWS credentials)');
    const clientConfig = { region, requestHandler: new NodeHttpHandler() };
    const names = stackList(stage);
    let outputs: StackOutputs;
    try {
      outputs = await stackOutputs(names, new CloudFormationClient(clientConfig));
    } catch (e) {
      throw new CliError(`cannot read the outputs of ${names.join(' and ')}: ${(e as Error).message}`);
    }
    return {
      kind: 'aws',
      stage,
      region,
      outputs,
      pipelineStack: names[1]!,
      clientConfig,
      label: names.join(' + '),
    };
  }
  if (values.region !== undefined) throw new CliError('--region is for --stage/--stack', 2);
  const file = values.session ?? SESSION_FILE;
  // No session (or one whose process is gone): NO_STACK, the same line every local tool gives.
  const session = requireSession(file);
  const clientConfig = emulatorClientConfig(session.endpoint);
  return {
    kind: 'local',
    stage: parseStackName(session.pipelineStack ?? '')?.stage ?? 'local',
    endpoint: session.endpoint,
    region: clientConfig.region,
    outputs: session.outputs as StackOutputs,
    pipelineStack: session.pipelineStack ?? stackList('local')[1]!,
    clientConfig,
    label: `local deployment at ${session.endpoint}`,
  };
}

/** A stack output the tool needs, or a clear error naming it. */
export function output(d: Deployment, key: string): string {
  const v = (d.outputs as Record<string, string | undefined>)[key];
  if (!v) throw new CliError(`the deployment has no ${key} output (deployed from an older version?)`);
  return v;
}
