/**
 * The embedded local AWS emulator (ministack) and deployments to it:
 * - `ensureEmulatorInstalled()`: a project-local venv (.venv/) from the pinned requirements, rebuilt only
 *   when missing or when the requirements changed;
 * - `startEmulator()`: ministack on a free loopback port, health-checked, stopped by its own PID;
 * - `deployApp()`: `cdk deploy` of the real CDK app (emulator stage) with AWS_ENDPOINT_URL set;
 * - `stackOutputs()`: the contract's outputs, read back through CloudFormation.
 * CLI: `tsx scripts/emulator.ts install|start` (start keeps running until Ctrl-C).
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { type StackOutputs, stackList } from '../infra/contract.js';
import {
  type ClientLimits,
  EMULATOR_CREDENTIALS,
  emulatorClientConfig,
  LOCAL_DIR,
  stackOutputs,
} from '../ops/deployment.js';
import { CliError, isEntryPoint, parseCli, runCli } from '../ops/kit.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
const EMULATOR_VENV = path.join(ROOT, '.venv');
const EMULATOR_REQUIREMENTS = path.join(ROOT, 'scripts', 'requirements-emulator.txt');
const LAKE_VENV = path.join(ROOT, '.venv-lake');
const LAKE_REQUIREMENTS = path.join(ROOT, 'scripts', 'requirements-lake.txt');

export { type ClientLimits, EMULATOR_CREDENTIALS, emulatorClientConfig, LOCAL_DIR, stackOutputs };
export const EMULATOR_ACCOUNT = '000000000000';

const log = (msg: string) => process.stderr.write(`[emulator] ${msg}\n`);

/**
 * Runs a command to completion. With `logTo`, its output goes to that file and is shown only if it fails;
 * otherwise it is inherited.
 */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, logTo?: string): void {
  if (logTo) mkdirSync(path.dirname(logTo), { recursive: true });
  const out = logTo ? openSync(logTo, 'a') : 'inherit';
  const r = spawnSync(cmd, args, { cwd: ROOT, env, stdio: ['ignore', out, out] });
  if (r.status !== 0) {
    if (logTo) process.stderr.write(readFileSync(logTo, 'utf8').split('\n').slice(-60).join('\n'));
    throw new Error(
      `${path.basename(cmd)} ${args[0]} failed with exit code ${r.status}${logTo ? ` (log: ${logTo})` : ''}`,
    );
  }
}

/** Creates or refreshes a venv from pinned requirements; a no-op when it is up to date. Returns its python. */
function ensureVenv(venv: string, requirements: string, what: string): string {
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const python = path.join(venv, 'bin', 'python');
  const stamp = path.join(venv, '.requirements.sha256');
  const installed = () => existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest;
  if (installed()) return python;
  // Test workers may ask at the same time: one installs, the others wait for it.
  return withInstallLock(`${venv}.lock`, () => {
    if (installed()) return python;
    log(`installing the pinned ${what} into ${path.relative(ROOT, venv)}/ (first run only)`);
    if (!existsSync(python)) run('python3', ['-m', 'venv', venv]);
    mkdirSync(LOCAL_DIR, { recursive: true });
    run(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements],
      process.env,
      path.join(LOCAL_DIR, `pip-${path.basename(venv)}.log`),
    );
    writeFileSync(stamp, digest);
    return python;
  });
}

/** Runs `f` holding a lock directory (atomic mkdir), waiting up to 15 minutes for another holder. */
function withInstallLock<T>(lockDir: string, f: () => T): T {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (Date.now() > deadline)
      throw new Error(`${lockDir} has been held for 15 minutes: remove it if no install is running`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  }
  try {
    return f();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** The emulator's venv (.venv/). */
export const ensureEmulatorInstalled = () => ensureVenv(EMULATOR_VENV, EMULATOR_REQUIREMENTS, 'emulator');

/** The lake tooling's venv (.venv-lake/): pyiceberg, pyarrow, DuckDB and its extensions. */
export const ensureLakeInstalled = () => ensureVenv(LAKE_VENV, LAKE_REQUIREMENTS, 'lake tooling');

/** The CloudFormation linter's venv (.venv-cfnlint/); returns the path of its `cfn-lint`. */
export const ensureCfnLintInstalled = () =>
  path.join(
    path.dirname(
      ensureVenv(
        path.join(ROOT, '.venv-cfnlint'),
        path.join(ROOT, 'scripts', 'requirements-cfnlint.txt'),
        'CloudFormation linter',
      ),
    ),
    'cfn-lint',
  );

/** A TCP port that is free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningEmulator {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  readonly logFile: string;
  /** The emulator's temporary directory (removed when it stops). */
  readonly tmpDir: string;
  /** Ends the emulator's process group (SIGTERM, SIGKILL after 5 s) and removes its temporary directory. */
  stop(): Promise<void>;
}

async function waitForHealth(endpoint: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs) {
    if (child.exitCode !== null)
      throw new Error(`emulator exited with code ${child.exitCode} before it was ready`);
    try {
      const r = await fetch(`${endpoint}/_localstack/health`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`emulator at ${endpoint} not healthy in time`);
}

/** Emulator logs kept in .local/ (the newest; older ones are removed when an emulator starts). */
const KEPT_EMULATOR_LOGS = 3;

function pruneEmulatorLogs(): void {
  const logs = readdirSync(LOCAL_DIR)
    .filter((f) => /^emulator-\d+\.log$/.test(f))
    .map((f) => ({ f, t: statSync(path.join(LOCAL_DIR, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of logs.slice(KEPT_EMULATOR_LOGS - 1)) rmSync(path.join(LOCAL_DIR, f), { force: true });
}

/** Sends a signal to a whole process group; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends a process group: SIGTERM, then SIGKILL after `graceMs` if any member is still there. Resolves when
 * the group is gone (or after the SIGKILL, which cannot be refused).
 */
export async function endGroup(pgid: number, graceMs = 5000): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (!signalGroup(pgid, 0 as unknown as NodeJS.Signals)) return;
  }
  signalGroup(pgid, 'SIGKILL');
}

/**
 * Starts ministack on a free loopback port and waits until it answers its health check. It runs in its own
 * process group (with the function workers it spawns) and its own temporary directory (the functions' code
 * is unpacked there), so stopping it ends every process it started and removes every file it unpacked.
 */
export async function startEmulator(
  options: {
    timeoutMs?: number;
    /** Kill the emulator and exit on SIGINT/SIGTERM/SIGHUP; a caller with its own graceful shutdown says false. @default true */
    handleSignals?: boolean;
  } = {},
): Promise<RunningEmulator> {
  const python = ensureEmulatorInstalled();
  mkdirSync(LOCAL_DIR, { recursive: true });
  pruneEmulatorLogs();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const logFile = path.join(LOCAL_DIR, `emulator-${port}.log`);
  const tmp = mkdtempSync(path.join(tmpdir(), `impressions-emulator-${port}-`));
  const out = openSync(logFile, 'a');
  const child = spawn(python, ['-m', 'ministack'], {
    cwd: LOCAL_DIR,
    env: {
      ...process.env,
      GATEWAY_PORT: String(port),
      BIND_HOST: '127.0.0.1',
      IOT_MTLS_ENABLED: '0',
      TMPDIR: tmp,
    },
    stdio: ['ignore', out, out],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the emulator');
  const removeTmp = () => rmSync(tmp, { recursive: true, force: true });
  const stop = async () => {
    await endGroup(pid);
    removeTmp();
  };
  // The emulator runs in its own process group; make sure it never outlives this process, whatever ends it.
  const killOnExit = () => {
    signalGroup(pid, 'SIGKILL');
    removeTmp();
  };
  process.once('exit', killOnExit);
  if (options.handleSignals !== false) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        killOnExit();
        process.exit(130);
      });
    }
  }
  try {
    await waitForHealth(endpoint, child, Date.now() + (options.timeoutMs ?? 60_000));
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; see ${logFile}`);
  }
  log(`ministack pid ${pid} on ${endpoint} (log: ${path.relative(ROOT, logFile)})`);
  return { endpoint, port, pid, logFile, tmpDir: tmp, stop };
}

/** Environment for AWS SDK and CDK CLI calls against the emulator. */
export function emulatorEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...EMULATOR_CREDENTIALS,
    AWS_ENDPOINT_URL: endpoint,
    CDK_DEFAULT_ACCOUNT: EMULATOR_ACCOUNT,
    CDK_DEFAULT_REGION: EMULATOR_CREDENTIALS.AWS_REGION,
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

export const LOCAL_STAGE = 'local';

export interface DeployOptions {
  /** @default 'local' */
  readonly stage?: string;
  /** Synthesize the emulator stage (leaves out EMULATOR_GAPS). @default true */
  readonly emulator?: boolean;
  /** Extra `-c key=value` context. */
  readonly context?: readonly string[];
  /** Bootstrap first (the emulator starts empty; an AWS account is usually bootstrapped). @default true */
  readonly bootstrap?: boolean;
  /** Write the CDK CLI's output to this file instead of the terminal (shown when it fails). */
  readonly logTo?: string;
}

function cdkArgs(options: DeployOptions): string[] {
  const stage = options.stage ?? LOCAL_STAGE;
  const ctx = ['-c', `stage=${stage}`, ...(options.emulator === false ? [] : ['-c', 'emulator=true'])];
  for (const c of options.context ?? []) ctx.push('-c', c);
  return ['--no-notices', '--ci', '-o', `cdk.out.${stage}`, ...ctx];
}

const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');

/** Deploys the real CDK app (by default its emulator stage) with the given environment; returns the stack names. */
export function deployApp(env: NodeJS.ProcessEnv, options: DeployOptions = {}): string[] {
  const common = cdkArgs(options);
  if (options.bootstrap !== false) {
    const account = env.CDK_DEFAULT_ACCOUNT ?? EMULATOR_ACCOUNT;
    run(
      CDK,
      ['bootstrap', ...common, `aws://${account}/${env.AWS_REGION ?? env.CDK_DEFAULT_REGION}`],
      env,
      options.logTo,
    );
  }
  run(
    CDK,
    ['deploy', '--all', '--require-approval', 'never', '--progress', 'events', ...common],
    env,
    options.logTo,
  );
  return [...stackList(options.stage ?? LOCAL_STAGE)];
}

/** Destroys a stage deployed by `deployApp`. */
export function destroyApp(env: NodeJS.ProcessEnv, options: DeployOptions): void {
  run(CDK, ['destroy', '--all', '--force', ...cdkArgs(options)], env);
}

export type { StackOutputs };

/** The physical id of a stack resource, found through CloudFormation by its logical id prefix. */
export async function stackResource(
  cfn: CloudFormationClient,
  stackName: string,
  logicalIdPrefix: string,
): Promise<string> {
  const r = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }));
  const found = r.StackResources?.find((x) => x.LogicalResourceId?.startsWith(logicalIdPrefix));
  if (!found?.PhysicalResourceId) throw new Error(`no resource ${logicalIdPrefix}* in ${stackName}`);
  return found.PhysicalResourceId;
}

const EMULATOR_CLI = {
  command: 'npm run emulator --',
  positionals: '[install | start]',
  description:
    'The embedded AWS emulator (ministack, pinned): `install` creates .venv/ from the pinned requirements;\n' +
    '`start` (the default) runs it on a free loopback port until Ctrl-C and prints its AWS_ENDPOINT_URL.',
  options: {},
} as const;

if (isEntryPoint(import.meta.filename)) {
  runCli('emulator', async () => {
    const { positionals } = parseCli(EMULATOR_CLI, process.argv.slice(2));
    const cmd = positionals.at(-1) ?? 'start';
    if (positionals.length > 2 || (cmd !== 'install' && cmd !== 'start'))
      throw new CliError(`unknown command ${positionals.join(' ')} (see npm run emulator -- --help)`, 2);
    if (cmd === 'install') {
      ensureEmulatorInstalled();
      return 0;
    }
    const emu = await startEmulator({ handleSignals: false });
    process.stdout.write(`AWS_ENDPOINT_URL=${emu.endpoint}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await emu.stop();
    return 0;
  });
}
