/**
 * What the operations tools (`npm run redrive`, `npm run reprocess`, `npm run rebuild-history`) share:
 * argument parsing with node:util parseArgs, the deployment they work on (the local one `npm start` runs,
 * from .local/session.json, or a real one named with `--stack`, found through its stack outputs with the
 * ambient AWS credentials), a progress bar on stderr, and one-line errors for expected conditions.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { STAGE_NAME } from '../../infra/config.js';
import { parseStackName, stackList, stackNamesOf } from '../../infra/contract.js';
import { isProfileId } from '../../lambdas/domain/profile-id.js';
import { parseRfc3339 } from '../../lambdas/domain/time.js';
import { type CliError, numberOption, parseArgv } from '../cli.js';
import { emulatorClientConfig, LOCAL_DIR, type StackOutputs, stackOutputs } from '../emulator.js';

/** An expected condition (bad arguments, nothing deployed, an expired range): one line, no stack trace. */
export class OpsError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** The options every tool takes. */
export const COMMON_OPTIONS = {
  stack: { type: 'string' },
  session: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** The options of the tools that work on a time range of the lake. */
export const RANGE_OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  profile: { type: 'string', multiple: true },
} as const satisfies Options;

export const COMMON_HELP = `
Deployment (default: the local one \`npm start\` runs, from .local/session.json):
  --stack NAME     a real deployment: Impressions-<stage>-Stateful, Impressions-<stage>-Pipeline or the stage
                   name; its resources are found through the stack outputs, with your AWS credentials
  --session FILE   a local session file other than .local/session.json
Output:
  --dry-run        show what would be done, change nothing
  --json           print the summary as JSON on stdout
  -h, --help       this help
`;

/** The tool's name as `npm run` knows it (`redrive` for scripts/redrive.ts). */
const toolName = (): string => path.basename(process.argv[1] ?? 'tool').replace(/\.[cm]?[jt]s$/, '');

/**
 * Parses argv (scripts/cli.ts's parseArgv: a negative number is an option's value); unknown options and
 * missing values are an OpsError with exit code 2.
 */
export function parse<O extends Options>(argv: readonly string[], options: O, allowPositionals = false) {
  try {
    return parseArgv(argv, options, `npm run ${toolName()} -- --help`, allowPositionals);
  } catch (e) {
    throw new OpsError((e as Error).message, 2);
  }
}

/** A whole number within bounds, or undefined when the option is absent (the wording of every tool). */
export function intOption(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  try {
    return numberOption(typeof value === 'string' ? value : '', name, min, max);
  } catch (e) {
    throw new OpsError((e as CliError).message, 2);
  }
}

/** An instant given as RFC 3339 (or a date, meaning its UTC midnight), read strictly; undefined when absent. */
export function timeOption(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const ms = parseRfc3339(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms))
    throw new OpsError(
      `--${name} must be a date or an RFC 3339 time, e.g. 2026-11-26T18:00:00Z, got ${text}`,
      2,
    );
  return ms;
}

/** `--from` (required) and `--to` (default: a minute from now), as epoch ms. */
export function timeRange(values: { from?: unknown; to?: unknown }): { fromMs: number; toMs: number } {
  const fromMs = timeOption(values.from, 'from');
  if (fromMs === undefined) throw new OpsError('--from is required (e.g. --from 2026-11-26)', 2);
  const toMs = timeOption(values.to, 'to') ?? Date.now() + 60_000;
  if (toMs <= fromMs) throw new OpsError('--to must be after --from', 2);
  return { fromMs, toMs };
}

/** `--profile` values, checked against the contract's profile id (`lambdas/domain/profile-id.ts`). */
export function profilesOption(values: { profile?: readonly string[] }): string[] {
  const profiles = [...(values.profile ?? [])];
  for (const p of profiles)
    if (!isProfileId(p)) throw new OpsError(`--profile ${JSON.stringify(p)} is not a profile id`, 2);
  return profiles;
}

/** Where a tool works: the clients' configuration and the deployment's stack outputs. */
export interface Deployment {
  readonly kind: 'local' | 'aws';
  /** Emulator endpoint (local only). */
  readonly endpoint?: string;
  readonly region: string;
  readonly outputs: StackOutputs;
  /** The pipeline stack's name (its template holds the functions' settings). */
  readonly pipelineStack: string;
  readonly clientConfig: Record<string, unknown>;
  /** How to name it in messages. */
  readonly label: string;
}

/** The stage's stack names from `--stack` (either stack's name, or the stage itself). */
export function stacksOf(stack: string): string[] {
  const stage = parseStackName(stack)?.stage ?? stack;
  if (!STAGE_NAME.test(stage))
    throw new OpsError(`--stack ${stack}: give Impressions-<stage>-Stateful, -Pipeline or a stage name`, 2);
  return [...stackList(stage)];
}

export async function findDeployment(values: { stack?: unknown; session?: unknown }): Promise<Deployment> {
  if (typeof values.stack === 'string') {
    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new OpsError('--stack needs AWS_REGION (and AWS credentials) set');
    const clientConfig = { region, requestHandler: new NodeHttpHandler() };
    const names = stacksOf(values.stack);
    let outputs: StackOutputs;
    try {
      outputs = await stackOutputs(names, new CloudFormationClient(clientConfig));
    } catch (e) {
      throw new OpsError(`cannot read the outputs of ${names.join(' and ')}: ${(e as Error).message}`);
    }
    return {
      kind: 'aws',
      region,
      outputs,
      pipelineStack: names[1]!,
      clientConfig,
      label: names.join(' + '),
    };
  }
  const file = typeof values.session === 'string' ? values.session : path.join(LOCAL_DIR, 'session.json');
  if (!existsSync(file))
    throw new OpsError(
      `no local deployment (${path.relative(process.cwd(), file) || file} is missing): run \`npm start -- --keep\` in another terminal, or give --stack`,
    );
  const session = JSON.parse(readFileSync(file, 'utf8')) as {
    endpoint: string;
    pipelineStack?: string;
    outputs: StackOutputs;
  };
  const clientConfig = emulatorClientConfig(session.endpoint);
  return {
    kind: 'local',
    endpoint: session.endpoint,
    region: clientConfig.region,
    outputs: session.outputs,
    pipelineStack: session.pipelineStack ?? stackNamesOf('local').pipeline,
    clientConfig,
    label: `local deployment at ${session.endpoint}`,
  };
}

/** A stack output the tool needs, or a clear error naming it. */
export function output(d: Deployment, key: string): string {
  const v = d.outputs[key];
  if (!v) throw new OpsError(`the deployment has no ${key} output (deployed from an older version?)`);
  return v;
}

/** A progress bar on stderr when it is a terminal; silent otherwise. */
export function progress(label: string, initialTotal: number | undefined, stream = process.stderr) {
  let total = initialTotal;
  const tty = Boolean(stream.isTTY);
  let last = 0;
  const draw = (done: number, note = '', newTotal?: number) => {
    if (newTotal !== undefined) total = newTotal;
    if (!tty) return;
    const now = Date.now();
    if (now - last < 100 && done !== total) return;
    last = now;
    const width = 30;
    const bar =
      total && total > 0
        ? `[${'#'.repeat(Math.round((Math.min(done, total) / total) * width)).padEnd(width, ' ')}] ${done}/${total}`
        : `${done}`;
    stream.write(`\r\x1b[2K${label} ${bar} ${note}`);
  };
  return {
    update: draw,
    done(): void {
      if (tty) stream.write('\r\x1b[2K');
    },
  };
}

/** Prints a summary: aligned `name  value` lines, or with `json` the machine-readable `data`. */
export function printSummary(
  title: string,
  rows: Record<string, unknown>,
  json: boolean,
  data: unknown = rows,
): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(rows).map((k) => k.length));
  const lines = Object.entries(rows).map(([k, v]) => `  ${k.padEnd(width)}  ${format(v)}`);
  process.stdout.write(`${title}\n${lines.join('\n')}\n`);
}

function format(v: unknown): string {
  if (v && typeof v === 'object')
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${String(x)}`)
      .join(', ');
  return String(v);
}

/**
 * Runs a tool's main: expected conditions are one line, prefixed with the tool's name, and their exit code;
 * anything else one line too (IMPRESSIONS_DEBUG=1 adds the stack).
 */
export function runMain(main: () => Promise<number>): void {
  const name = toolName();
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const e = err as Error;
      if (err instanceof OpsError) {
        process.stderr.write(`${name}: ${e.message}\n`);
        process.exitCode = err.exitCode;
      } else {
        process.stderr.write(`${name}: failed: ${e.name === 'Error' ? '' : `${e.name}: `}${e.message}\n`);
        process.exitCode = 1;
      }
      if (process.env.IMPRESSIONS_DEBUG || process.env.DEBUG) process.stderr.write(`${e.stack}\n`);
    },
  );
}

/** True when this module is the script node was started with. */
export const isMain = (metaFilename: string) =>
  Boolean(process.argv[1]) && path.resolve(process.argv[1]!) === path.resolve(metaFilename);
