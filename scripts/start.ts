/**
 * `npm start`: the whole pipeline on the embedded emulator, under realistic load, with live statistics.
 * Installs the emulator when missing, starts it, deploys the CDK app, seeds the title catalog, starts the
 * local Iceberg delivery, runs the load generator against the raw stream while a one-screen view refreshes
 * every second, drains, then prints a summary that reconciles the generator's expectations with the
 * pipeline's metrics and the lake. Stops everything it started, unless --keep.
 *
 * Stopping: the first Ctrl-C stops the load and drains what was sent (the emulator and the lake delivery run
 * in their own process groups, so the terminal's SIGINT does not reach them); a second Ctrl-C skips the
 * drain; a third ends everything at once. Whatever ends this process, the process groups it started are
 * killed (SIGTERM, then SIGKILL after a grace period) and its session, lock and temporary files removed.
 * One `npm start` per checkout: a second one is refused while the first runs (.local/start.lock).
 */
import { randomInt } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { historyClient } from '../client/index.js';
import { type StackOutputs, stackNamesOf } from '../infra/contract.js';
import { alive, LOCAL_DIR, type LocalSession, SESSION_FILE } from '../ops/deployment.js';
import { CliError, isEntryPoint, numberOption, parseCli, runCli } from '../ops/kit.js';
import { seedCatalog } from '../ops/seed.js';
import {
  deployApp,
  EMULATOR_CREDENTIALS,
  emulatorClientConfig,
  emulatorEnv,
  ensureEmulatorInstalled,
  ensureLakeInstalled,
  LOCAL_STAGE,
  ROOT,
  type RunningEmulator,
  signalGroup,
  stackOutputs,
  startEmulator,
} from './emulator.js';
import { type DeliveryHandle, startDelivery } from './lake.js';
import {
  FreshnessProbe,
  MetricsPoller,
  percentile,
  qualityLines,
  reconcile,
  render,
  type Snapshot,
  STATS_FILE,
  serialLoop,
  sleep,
  within,
} from './live-stats.js';
import { LOADGEN_ERASED_PROFILE, LOADGEN_TEST_PROFILE, type LoadResult, runLoad } from './loadgen.js';
import type { GeneratedRecord } from './traffic.js';

const START_CLI = {
  command: 'npm start --',
  description:
    'Runs the impressions pipeline locally on the embedded AWS emulator (no AWS account, no Docker), puts\n' +
    'realistic load on it, shows what happens live, and reconciles what was sent with what the pipeline\n' +
    'and the lake report.',
  options: {
    events: { type: 'string', arg: '<n>', help: 'send this many impressions, then summarise (default 3000)' },
    duration: { type: 'string', arg: '<s>', help: 'send for this many seconds instead' },
    rate: { type: 'string', arg: '<n>', help: 'impressions per second (default 1000)' },
    seed: { type: 'string', arg: '<n>', help: 'traffic seed, for a reproducible run (default: a fresh one)' },
    keep: {
      type: 'boolean',
      help: 'leave the stack running after the summary, for curl, npm run query/loadgen/stats (until Ctrl-C)',
    },
  },
  footer: [
    'Ctrl-C stops the load and drains what was sent, then summarises; Ctrl-C again skips the drain.',
    'Local state (logs, session, lock) is in .local/; see the README, "Local state".',
  ].join('\n'),
} as const;

const DEFAULT_EVENTS = 3000;
/** The drain ends when everything sent is accounted for, when nothing moved for this long, or at DRAIN_MAX_MS. */
const DRAIN_STALL_MS = 20_000;
const DRAIN_MAX_MS = 180_000;
/** A second SIGINT within this window is the same Ctrl-C (delivered by the terminal and a wrapper). */
const SAME_CTRL_C_MS = 300;

export const LOCK_FILE = path.join(LOCAL_DIR, 'start.lock');

interface Lock {
  readonly pid: number;
  readonly startedAt: string;
  /** Process groups this run started (emulator, lake delivery), killed if a later run finds them orphaned. */
  readonly groups: number[];
}

/**
 * Takes the one-run-per-checkout lock, or throws a CliError naming the run that holds it. A lock whose
 * process is gone is stale: the process groups it recorded are killed (an orphaned emulator), and it is
 * replaced. Returns what was cleaned up, for the user.
 */
export function acquireLock(file = LOCK_FILE): { lock: Lock; cleaned: string[] } {
  mkdirSync(path.dirname(file), { recursive: true });
  const cleaned: string[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    const lock: Lock = { pid: process.pid, startedAt: new Date().toISOString(), groups: [] };
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify(lock));
      closeSync(fd);
      return { lock, cleaned };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let held: Partial<Lock> = {};
    try {
      held = JSON.parse(readFileSync(file, 'utf8')) as Lock;
    } catch {
      // unreadable: treat as stale
    }
    if (typeof held.pid === 'number' && held.pid !== process.pid && alive(held.pid))
      throw new CliError(
        `another npm start is running in this checkout (pid ${held.pid}, since ${held.startedAt}): ` +
          'stop it first (Ctrl-C in its terminal), or use its stack (npm run query, npm run loadgen, npm run stats)',
      );
    for (const g of held.groups ?? [])
      if (signalGroup(g, 'SIGKILL'))
        cleaned.push(`stopped processes left by an earlier run (process group ${g})`);
    rmSync(file, { force: true });
    const session = path.join(path.dirname(file), path.basename(SESSION_FILE));
    if (existsSync(session)) {
      rmSync(session, { force: true });
      cleaned.push('removed a stale .local/session.json');
    }
  }
  throw new CliError(`could not take ${path.relative(ROOT, file)}`);
}

const SPINNER_WIDTH = 30;
const bar = (done: number, total: number) => {
  const filled = Math.min(SPINNER_WIDTH, Math.round((SPINNER_WIDTH * done) / Math.max(1, total)));
  return `[${'#'.repeat(filled)}${'.'.repeat(SPINNER_WIDTH - filled)}] ${done}/${total}`;
};

const say = (s: string) => process.stdout.write(s);

async function step<T>(title: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = Date.now();
  say(`  … ${title}\n`);
  const result = await fn();
  say(`  ✓ ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  return result;
}

const mark = (ok: boolean) => (ok ? '  ✓' : '  ✗');

interface StartOptions {
  readonly events?: number;
  readonly durationS?: number;
  readonly rate: number;
  readonly seed: number;
  readonly keep: boolean;
}

function startOptions(argv: string[]): StartOptions {
  const { values } = parseCli(START_CLI, argv);
  const durationS = numberOption(values.duration, 'duration', 1, 86_400);
  return {
    durationS,
    events: numberOption(values.events, 'events', 1, 10_000_000) ?? (durationS ? undefined : DEFAULT_EVENTS),
    rate: numberOption(values.rate, 'rate', 1, 100_000) ?? 1000,
    seed: numberOption(values.seed, 'seed', 0, 2 ** 31) ?? randomInt(1, 2 ** 31),
    keep: Boolean(values.keep),
  };
}

type Phase = 'setup' | 'load' | 'drain' | 'kept' | 'stopping';

/**
 * Ctrl-C moves the run one step towards its end: during setup or load it stops (the load's records are
 * drained); during the drain it skips the drain; while the stack is kept it stops it; once stopping, it
 * ends every process at once.
 */
class Lifecycle {
  phase: Phase = 'setup';
  readonly loadStop = new AbortController();
  readonly drainStop = new AbortController();
  private lastInterrupt = 0;

  listen(): void {
    const onSignal = (signal: NodeJS.Signals) => this.onSignal(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
  }

  /** The phase also changes in the signal handler, which the compiler's narrowing does not see. */
  inPhase(p: Phase): boolean {
    return this.phase === p;
  }

  /** Throws when a Ctrl-C came during setup. */
  interrupted(): void {
    if (this.loadStop.signal.aborted) throw new CliError('stopped during setup', 130);
  }

  private onSignal(signal: NodeJS.Signals): void {
    const now = Date.now();
    if (now - this.lastInterrupt < SAME_CTRL_C_MS) return;
    this.lastInterrupt = now;
    const what = signal === 'SIGINT' ? 'Ctrl-C' : signal;
    if (this.phase === 'setup') {
      say(`\n${what}: stopping after the current setup step (Ctrl-C again ends everything at once)\n`);
      this.loadStop.abort();
      this.drainStop.abort();
      this.phase = 'stopping';
    } else if (this.phase === 'load') {
      say(`\n${what}: stopping the load; draining what was sent (Ctrl-C again skips the drain)\n`);
      this.loadStop.abort();
      this.phase = 'drain';
    } else if (this.phase === 'drain') {
      say(`\n${what}: skipping the drain; summarising and stopping (Ctrl-C again ends everything at once)\n`);
      this.loadStop.abort();
      this.drainStop.abort();
      this.phase = 'stopping';
    } else if (this.phase === 'kept') {
      say(`\n${what}: stopping the stack (Ctrl-C again ends everything at once)\n`);
      this.drainStop.abort();
      this.phase = 'stopping';
    } else {
      say(`\n${what} again: ending every process now\n`);
      process.exit(130);
    }
  }
}

/** What this run started, so that whatever ends it can stop them. */
class Started {
  emu?: RunningEmulator;
  delivery?: DeliveryHandle;
  readonly monitor = new AbortController();
  monitorDone: Promise<void> = Promise.resolve();

  constructor(private readonly lock: Lock) {
    // Whatever ends this process (even process.exit on a third Ctrl-C), nothing it started outlives it.
    process.once('exit', () => {
      if (this.delivery) signalGroup(this.delivery.process.pid!, 'SIGKILL');
      for (const f of [SESSION_FILE, STATS_FILE]) rmSync(f, { force: true });
      rmSync(LOCK_FILE, { force: true });
    });
  }

  /** Records a process group in the lock, so that a later run can end it if this one is killed. */
  addGroup(pid: number): void {
    this.lock.groups.push(pid);
    this.saveLock();
  }

  removeGroup(pid: number): void {
    this.lock.groups.splice(this.lock.groups.indexOf(pid), 1);
  }

  private saveLock(): void {
    writeFileSync(LOCK_FILE, JSON.stringify(this.lock));
  }

  async stopAll(): Promise<void> {
    this.monitor.abort();
    await this.monitorDone;
    if (this.delivery) await this.delivery.stop();
    if (this.emu) await this.emu.stop();
  }
}

interface Booted {
  readonly endpoint: string;
  readonly outputs: StackOutputs;
  readonly delivery: DeliveryHandle;
  readonly clientConfig: ReturnType<typeof emulatorClientConfig>;
}

/** Installs and starts the emulator, deploys the app, seeds the catalog, starts the lake delivery. */
async function boot(started: Started, life: Lifecycle): Promise<Booted> {
  await step('emulator and lake tooling installed (.venv/, .venv-lake/)', () => {
    ensureEmulatorInstalled();
    ensureLakeInstalled();
  });
  life.interrupted();
  const emu = await step('emulator started', () => startEmulator({ handleSignals: false }));
  started.emu = emu;
  started.addGroup(emu.pid);
  life.interrupted();
  const endpoint = emu.endpoint;
  const logTo = path.join(LOCAL_DIR, 'deploy.log');
  rmSync(logTo, { force: true });
  const names = await step(`CDK app deployed (stage "local", log: ${path.relative(ROOT, logTo)})`, () =>
    deployApp(emulatorEnv(endpoint), { logTo, context: [`testProfiles=${LOADGEN_TEST_PROFILE}`] }),
  );
  life.interrupted();
  const clientConfig = emulatorClientConfig(endpoint);
  const outputs = await stackOutputs(names, new CloudFormationClient(clientConfig));
  const docs = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig));
  await step('title catalog seeded (1000 titles)', () => seedCatalog(docs, outputs.TitleCatalogTableName));
  life.interrupted();
  const pipelineStack = stackNamesOf(LOCAL_STAGE).pipeline;
  const deliveryLog = path.join(LOCAL_DIR, 'lake', 'delivery.log');
  mkdirSync(path.dirname(deliveryLog), { recursive: true });
  rmSync(deliveryLog, { force: true });
  const delivery = await step(
    `local Iceberg delivery started (log: ${path.relative(ROOT, deliveryLog)})`,
    () => startDelivery({ endpoint, pipelineStack, bufferSeconds: 5, logFile: deliveryLog }),
  );
  started.delivery = delivery;
  started.addGroup(delivery.process.pid!);
  const session: LocalSession = { endpoint, pipelineStack, outputs, pid: process.pid };
  writeFileSync(SESSION_FILE, JSON.stringify(session, null, 2));
  life.interrupted();
  return { endpoint, outputs, delivery, clientConfig };
}

/** The pipeline's counters as the live view, the drain and the summary read them. */
interface Observer {
  readonly freshness: FreshnessProbe;
  /** Polls the metrics (and the freshness probe), writes the snapshot for npm run stats, returns it. */
  poll(withFreshness: boolean): Promise<Snapshot>;
}

function observe(b: Booted, sent: () => number): Observer {
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  const api = historyClient({ baseUrl: b.outputs.HistoryApiUrl, region: EMULATOR_CREDENTIALS.AWS_REGION });
  // The live view's clients: few sockets, a timeout on every call, so probes can never pile up.
  const logs = new CloudWatchLogsClient(
    emulatorClientConfig(b.endpoint, { maxSockets: 4, requestTimeoutMs: 10_000 }),
  );
  // filter-enrich writes the history too: its log group carries RecordsRead … and HistoryItemsWritten.
  const metrics = new MetricsPoller(logs, b.outputs.FilterEnrichLogGroupName);
  const freshness = new FreshnessProbe((p) => api.request('GET', p));
  const started = Date.now();
  return {
    freshness,
    async poll(withFreshness) {
      await within(Promise.all([metrics.poll(), withFreshness ? freshness.poll() : undefined]), 5_000);
      const s: Snapshot = {
        elapsedS: (Date.now() - started) / 1000,
        sent: sent(),
        enrich: { ...metrics.totals },
        history: { ...metrics.totals },
        lakeRows: b.delivery.committed().impressions ?? 0,
        freshness: [...freshness.samples],
      };
      writeFileSync(STATS_FILE, JSON.stringify(s));
      return s;
    },
  };
}

/** Runs the load generator against the raw stream while a one-screen view refreshes every second. */
async function loadWithLiveView(
  b: Booted,
  options: StartOptions,
  life: Lifecycle,
  started: Started,
): Promise<{ load: LoadResult; sent: readonly GeneratedRecord[]; observer: Observer }> {
  let sent: readonly GeneratedRecord[] = [];
  const observer = observe(b, () => sent.length);
  const tty = process.stdout.isTTY;
  let prev: Snapshot | undefined;
  let live = true;
  // One refresh at a time, each bounded.
  started.monitorDone = serialLoop(
    async () => {
      const s = await observer.poll(live);
      if (!live) return;
      if (tty) say(`\x1b[H\x1b[2J${render(s, prev)}\n`);
      else if (!prev || Math.floor(s.elapsedS / 5) !== Math.floor(prev.elapsedS / 5)) {
        say(
          `  ${s.elapsedS.toFixed(0)} s: sent ${s.sent}, read ${s.enrich.RecordsRead ?? 0}, enriched ${s.enrich.Enriched ?? 0}, ` +
            `lake ${s.lakeRows}, freshness p50 ${percentile(s.freshness, 50) ?? '-'} ms\n`,
        );
      }
      prev = s;
    },
    1000,
    started.monitor.signal,
  );
  let lastProbe = 0;
  life.phase = 'load';
  const { events, durationS, rate, seed } = options;
  // A profile erased before the load: its impressions from before the erasure are `filtered.erased`.
  const erasedAtMs = Date.now();
  // A refusal is thrown as the API's problem (status, title, detail).
  await historyClient({ baseUrl: b.outputs.HistoryApiUrl, region: EMULATOR_CREDENTIALS.AWS_REGION }).erase(
    LOADGEN_ERASED_PROFILE,
  );
  say(`  sending ${events ?? `for ${durationS} s`} impressions at ${rate}/s (seed ${seed}); Ctrl-C stops\n`);
  const load = await runLoad({
    erasedProfile: { profileId: LOADGEN_ERASED_PROFILE, erasedAtMs },
    kinesis: new KinesisClient(b.clientConfig),
    streamName: b.outputs.RawStreamName,
    rate,
    events,
    durationMs: durationS === undefined ? undefined : durationS * 1000,
    seed,
    signal: life.loadStop.signal,
    onSent: (s) => {
      sent = s;
      if (Date.now() - lastProbe > 1000) {
        lastProbe = Date.now();
        const r = s.findLast((x) => x.profileId && x.eventId && x.eventTimeMs);
        if (r)
          observer.freshness.offer({
            profileId: r.profileId!,
            eventId: r.eventId!,
            eventTimeMs: r.eventTimeMs!,
          });
      }
    },
  });
  live = false;
  if (life.inPhase('load')) life.phase = 'drain';
  say(
    `  sent ${load.sent} impressions in ${(load.elapsedMs / 1000).toFixed(1)} s${life.loadStop.signal.aborted ? ' (stopped by Ctrl-C)' : ''}\n`,
  );
  return { load, sent, observer };
}

/**
 * Drain: until the pipeline has read everything sent, written its history, and the lake has committed it
 * (the delivery is asked to commit what it buffered), or nothing moves, or Ctrl-C again. Returns whether
 * everything was accounted for.
 */
async function drain(
  load: LoadResult,
  observer: Observer,
  delivery: DeliveryHandle,
  stop: AbortSignal,
): Promise<boolean> {
  const tty = process.stdout.isTTY;
  const expectedEnriched = load.expected.enriched ?? 0;
  const drainStart = Date.now();
  let lastProgress = Date.now();
  let lastDone = -1;
  let drained = false;
  while (!stop.aborted) {
    const s = await observer.poll(true);
    const read = s.enrich.RecordsRead ?? 0;
    const written = s.history.HistoryItemsWritten ?? 0;
    if (read >= load.sent) delivery.flush();
    const done =
      Math.min(read, load.sent) +
      Math.min(written, expectedEnriched) +
      Math.min(s.lakeRows, expectedEnriched);
    say(
      `${tty ? '\r' : ''}  draining (read, history, lake) ${bar(done, load.sent + 2 * expectedEnriched)}${tty ? '' : '\n'}`,
    );
    if (read >= load.sent && written >= expectedEnriched && s.lakeRows >= expectedEnriched) {
      drained = true;
      break;
    }
    if (done !== lastDone) {
      lastDone = done;
      lastProgress = Date.now();
    }
    if (Date.now() - lastProgress > DRAIN_STALL_MS || Date.now() - drainStart > DRAIN_MAX_MS) break;
    await sleep(tty ? 500 : 2000, stop);
  }
  if (tty) say('\n');
  if (!drained)
    say(
      stop.aborted
        ? '  drain skipped: the counts below are what the pipeline had reported\n'
        : `  drain ended after ${((Date.now() - drainStart) / 1000).toFixed(0)} s: nothing moved for ${DRAIN_STALL_MS / 1000} s or the limit was reached\n`,
    );
  return drained;
}

export interface SummaryInput {
  readonly load: Pick<LoadResult, 'sent' | 'elapsedMs' | 'failed' | 'expected'>;
  readonly stoppedByCtrlC: boolean;
  readonly drained: boolean;
  /** The pipeline's counters after the drain. */
  readonly final: Pick<Snapshot, 'enrich' | 'history' | 'lakeRows'>;
  /** Freshness samples (ms), event time → visible in the history API. */
  readonly freshness: readonly number[];
}

const row = (label: string, expected: number, observed: number) =>
  `  ${label.padEnd(38)}${String(expected).padStart(10)}${String(observed).padStart(10)}${mark(expected === observed)}`;

/**
 * The summary: what the generator sent against what the pipeline's metrics and the lake report. `ok` when
 * every row reconciles, the history and the lake included.
 */
export function renderSummary(s: SummaryInput): { text: string; ok: boolean } {
  const { load, final } = s;
  const rec = reconcile(load.expected, final.enrich);
  const expectedEnriched = load.expected.enriched ?? 0;
  const written = final.history.HistoryItemsWritten ?? 0;
  const lakeOk = final.lakeRows === expectedEnriched;
  const ok = rec.ok && lakeOk && written === expectedEnriched;
  const rows = rec.rows
    .filter((r) => r.expected || r.observed)
    .map((r) => row(r.key, r.expected, r.observed));
  const verdict = ok
    ? '✓ reconciles: read = enriched + filtered + rejected, every reason matches what was sent, and the lake has every enriched row'
    : `✗ does NOT reconcile (rows marked ✗)${s.drained ? '' : ': the drain did not finish, so records still in flight are missing'}`;
  const text = `
Summary: ${load.sent} impressions sent in ${(load.elapsedMs / 1000).toFixed(1)} s (${load.failed} not accepted by Kinesis)${s.stoppedByCtrlC ? ', stopped by Ctrl-C' : ''}

  ${'outcome'.padEnd(38)}${'sent as'.padStart(10)}${'pipeline'.padStart(10)}
${rows.join('\n')}
${row('history items written', expectedEnriched, written)}
${row('lake rows committed', expectedEnriched, final.lakeRows)}

  ${verdict}
  lake rows committed ${final.lakeRows} (enriched: ${final.enrich.Enriched ?? 0})
  freshness event → history API: p50 ${percentile(s.freshness, 50) ?? '-'} ms, p99 ${percentile(s.freshness, 99) ?? '-'} ms over ${s.freshness.length} probes
${qualityLines(final.enrich).join('\n')}
`;
  return { text, ok };
}

/** What to try while the stack is kept running. */
export function renderKeptHelp(
  outputs: Readonly<Record<string, string>>,
  endpoint: string,
  profile: string,
): string {
  const sig = `--aws-sigv4 "aws:amz:${EMULATOR_CREDENTIALS.AWS_REGION}:execute-api" --user test:test`;
  return `
Stack outputs:
${Object.entries(outputs)
  .map(([k, v]) => `  ${k.padEnd(22)} ${v}`)
  .join('\n')}

Try it (in another terminal, while this one runs):
  export AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${EMULATOR_CREDENTIALS.AWS_REGION}
  curl -s ${sig} '${outputs.HistoryApiUrl}/v1/profiles/${profile}/impressions?limit=3'
  curl -s ${sig} '${outputs.HistoryApiUrl}/v1/profiles/${profile}/frequency?titleIds=title-0001,title-0002&window=1d'
  npm run query -- "SELECT title_name, count(*) AS n FROM impressions GROUP BY 1 ORDER BY n DESC LIMIT 5"
  npm run query -- --named profile-history --param ${profile}
  npm run loadgen -- --events 5000 --expect      then      npm run stats

Running (--keep). Ctrl-C stops the emulator and everything it runs.
`;
}

/** Keeps the stack up (npm run stats stays current) until Ctrl-C. */
async function keepRunning(observer: Observer, stop: AbortSignal): Promise<void> {
  const keepMonitor = new AbortController();
  const kept = serialLoop(async () => void (await observer.poll(false)), 2000, keepMonitor.signal);
  await new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve()));
  keepMonitor.abort();
  await kept;
}

async function main(): Promise<number> {
  const options = startOptions(process.argv.slice(2));
  const { lock, cleaned } = acquireLock();
  for (const c of cleaned) say(`  (${c})\n`);
  const started = new Started(lock);
  const life = new Lifecycle();
  life.listen();

  say('impressions: local pipeline on the embedded emulator\n');
  try {
    const b = await boot(started, life);
    const { load, sent, observer } = await loadWithLiveView(b, options, life, started);
    const drained = await drain(load, observer, b.delivery, life.drainStop.signal);
    // Without --keep the delivery stops now: it commits what it still buffers before the summary counts it.
    if (!options.keep) {
      await b.delivery.stop();
      started.removeGroup(b.delivery.process.pid!);
    }
    started.monitor.abort();
    await started.monitorDone;
    const final = await observer.poll(false);
    const summary = renderSummary({
      load,
      stoppedByCtrlC: life.loadStop.signal.aborted,
      drained,
      final,
      freshness: observer.freshness.samples,
    });
    say(summary.text);
    if (options.keep && life.inPhase('drain') && !life.loadStop.signal.aborted) {
      life.phase = 'kept';
      const profile = sent.find((r) => r.profileId)?.profileId ?? 'p0000000';
      say(renderKeptHelp(b.outputs, b.endpoint, profile));
      await keepRunning(observer, life.drainStop.signal);
    } else if (!options.keep) {
      say(
        '\nThe stack stops now. For one that stays up (to try curl, npm run query/loadgen/stats): npm start -- --keep\n',
      );
    }
    life.phase = 'stopping';
    rmSync(SESSION_FILE, { force: true });
    await started.stopAll();
    say('stopped.\n');
    return summary.ok ? 0 : 1;
  } catch (err) {
    // A Ctrl-C during a setup step (which it may have ended, e.g. the deploy) is handled first, as such.
    await new Promise((r) => setTimeout(r, 100));
    life.phase = 'stopping';
    await started.stopAll();
    if (life.loadStop.signal.aborted && !(err instanceof CliError))
      throw new CliError('stopped during setup', 130);
    throw err;
  }
}

if (isEntryPoint(import.meta.filename)) runCli('start', main);
