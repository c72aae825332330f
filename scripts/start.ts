/**
 * `npm start`: the whole pipeline on the embedded emulator, under realistic load, with live statistics.
 * Installs the emulator when missing, starts it, deploys the CDK app, seeds the title catalog, starts the
 * local Iceberg delivery, runs the load generator against the raw stream while a one-screen view refreshes
 * every second, then prints a summary that reconciles the generator's expectations with the pipeline's
 * metrics and ready-to-paste calls. Stops everything it started, unless --keep.
 */

import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  deployApp,
  EMULATOR_CREDENTIALS,
  emulatorClientConfig,
  emulatorEnv,
  ensureEmulatorInstalled,
  ensureLakeInstalled,
  LOCAL_DIR,
  ROOT,
  type RunningEmulator,
  stackOutputs,
  stackResource,
  startEmulator,
} from './emulator.js';
import { type DeliveryHandle, type LocalSession, SESSION_FILE, startDelivery } from './lake.js';
import { FreshnessProbe, MetricsPoller, percentile, reconcile, render, type Snapshot } from './live-stats.js';
import { LOADGEN_TEST_PROFILE, runLoad } from './loadgen.js';
import { seedCatalog } from './seed-catalog.js';
import { signedClient } from './signed-http.js';
import type { GeneratedRecord } from './traffic.js';

// The local tools run on the machine's Node.js (20 here); the deployed functions run on Node.js 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HELP = `Usage: npm start -- [options]

Runs the impressions pipeline locally on the embedded AWS emulator (no AWS account, no Docker), puts
realistic load on it, and shows what happens, live.

Options:
  --events <n>     send this many impressions, then summarise (default: until --duration or Ctrl-C)
  --duration <s>   send for this many seconds, then summarise
  --rate <n>       impressions per second (default 1000)
  --seed <n>       traffic seed, for reproducible runs (default 1)
  --keep           leave everything running after the summary (until Ctrl-C)
  -h, --help       show this help
`;

const SPINNER_WIDTH = 30;
const bar = (done: number, total: number) => {
  const filled = Math.round((SPINNER_WIDTH * done) / Math.max(1, total));
  return `[${'#'.repeat(filled)}${'.'.repeat(SPINNER_WIDTH - filled)}] ${done}/${total}`;
};

async function step<T>(title: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = Date.now();
  process.stdout.write(`  … ${title}\n`);
  const result = await fn();
  process.stdout.write(`  ✓ ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  return result;
}

interface Flags {
  readonly events?: number;
  readonly durationS?: number;
  readonly rate: number;
  readonly seed: number;
  readonly keep: boolean;
}

function parseFlags(argv: string[]): Flags | { help: true } | { error: string } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        events: { type: 'string' },
        duration: { type: 'string' },
        rate: { type: 'string' },
        seed: { type: 'string' },
        keep: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (values.help) return { help: true };
  const int = (name: string, min: number, max: number): number | undefined | string => {
    const v = values[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max
      ? n
      : `--${name} must be an integer from ${min} to ${max}, got ${v}`;
  };
  const events = int('events', 1, 10_000_000);
  const duration = int('duration', 1, 86_400);
  const rate = int('rate', 1, 100_000);
  const seed = int('seed', 0, 2 ** 31);
  for (const v of [events, duration, rate, seed]) if (typeof v === 'string') return { error: v };
  return {
    events: events as number | undefined,
    durationS: duration as number | undefined,
    rate: (rate as number | undefined) ?? 1000,
    seed: (seed as number | undefined) ?? 1,
    keep: Boolean(values.keep),
  };
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  if ('help' in flags) {
    process.stdout.write(HELP);
    return 0;
  }
  if ('error' in flags) {
    process.stderr.write(`${flags.error}\n\n${HELP}`);
    return 2;
  }

  // One handler for the whole run: Ctrl-C (often delivered twice, by the terminal and by the npm/tsx
  // wrappers) asks for a graceful stop, and later signals are absorbed while it happens.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stopRequested = new Promise<void>((resolve) =>
    abort.signal.addEventListener('abort', () => resolve()),
  );

  process.stdout.write('impressions: local pipeline on the embedded emulator\n');
  let emu: RunningEmulator | undefined;
  let delivery: DeliveryHandle | undefined;
  const stopAll = async () => {
    if (delivery) await delivery.stop();
    if (emu) await emu.stop();
  };
  try {
    await step('emulator and lake tooling installed (.venv/, .venv-lake/)', () => {
      ensureEmulatorInstalled();
      ensureLakeInstalled();
    });
    emu = await step('emulator started', () => startEmulator({ handleSignals: false }));
    const endpoint = emu.endpoint;
    const logTo = path.join(LOCAL_DIR, 'deploy.log');
    const names = await step(`CDK app deployed (stage "local", log: ${path.relative(ROOT, logTo)})`, () =>
      deployApp(emulatorEnv(endpoint), { logTo, context: [`testProfiles=${LOADGEN_TEST_PROFILE}`] }),
    );
    const clientConfig = emulatorClientConfig(endpoint);
    const cfn = new CloudFormationClient(clientConfig);
    const outputs = await stackOutputs(names, cfn);
    const docs = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig));
    await step('title catalog seeded (1000 titles)', () => seedCatalog(docs, outputs.TitleCatalogTableName!));
    delivery = await step('local Iceberg delivery started (log: .local/lake/delivery.log)', () =>
      startDelivery({ endpoint, pipelineStack: names[1]!, bufferSeconds: 5 }),
    );
    const session: LocalSession = { endpoint, pipelineStack: names[1]!, outputs };
    writeFileSync(SESSION_FILE, JSON.stringify(session, null, 2));
    if (abort.signal.aborted) throw new Error('interrupted');

    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    const api = signedClient(outputs.HistoryApiUrl, { region: EMULATOR_CREDENTIALS.AWS_REGION });
    const logs = new CloudWatchLogsClient(clientConfig);
    const enrichMetrics = new MetricsPoller(
      logs,
      await stackResource(cfn, names[1]!, 'FilterEnrichHandlerLogs'),
    );
    // filter-enrich writes the history too (HistoryItemsWritten, FreshnessMaxMs).
    const historyMetrics = new MetricsPoller(
      logs,
      await stackResource(cfn, names[1]!, 'FilterEnrichHandlerLogs'),
    );
    const freshness = new FreshnessProbe((p) => api('GET', p));

    // Load, with the live view.
    let sent: readonly GeneratedRecord[] = [];
    const started = Date.now();
    const tty = process.stdout.isTTY;
    let prev: Snapshot | undefined;
    const snapshot = (): Snapshot => ({
      elapsedS: (Date.now() - started) / 1000,
      sent: sent.length,
      enrich: { ...enrichMetrics.totals },
      history: { ...historyMetrics.totals },
      lakeRows: delivery?.committed().impressions ?? 0,
      freshness: [...freshness.samples],
    });
    let lastProbe = 0;
    const refresh = async () => {
      await Promise.all([enrichMetrics.poll(), historyMetrics.poll(), freshness.poll()]).catch(
        () => undefined,
      );
      const s = snapshot();
      if (tty) process.stdout.write(`\x1b[H\x1b[2J${render(s, prev)}\n`);
      else if (!prev || Math.floor(s.elapsedS / 5) !== Math.floor(prev.elapsedS / 5)) {
        process.stdout.write(
          `  ${s.elapsedS.toFixed(0)} s: sent ${s.sent}, read ${s.enrich.RecordsRead ?? 0}, enriched ${s.enrich.Enriched ?? 0}, ` +
            `lake ${s.lakeRows}, freshness p50 ${percentile(s.freshness, 50) ?? '-'} ms\n`,
        );
      }
      prev = s;
    };
    const ticker = setInterval(() => void refresh(), 1000);
    const load = await runLoad({
      kinesis: new KinesisClient(clientConfig),
      streamName: outputs.RawStreamName,
      rate: flags.rate,
      events: flags.events,
      durationMs: flags.durationS === undefined ? undefined : flags.durationS * 1000,
      seed: flags.seed,
      signal: abort.signal,
      onSent: (s) => {
        sent = s;
        if (Date.now() - lastProbe > 250) {
          lastProbe = Date.now();
          for (let i = s.length - 1; i >= Math.max(0, s.length - 50); i--) {
            const r = s[i]!;
            if (r.profileId && r.eventId && r.eventTimeMs) {
              freshness.offer({ profileId: r.profileId, eventId: r.eventId, eventTimeMs: r.eventTimeMs });
              break;
            }
          }
        }
      },
    });
    clearInterval(ticker);
    if (!tty)
      process.stdout.write(`  sent ${load.sent} impressions in ${(load.elapsedMs / 1000).toFixed(1)} s\n`);

    // Drain: wait until the pipeline has read everything that was sent, written its history, and the
    // lake has committed it (the local delivery buffers 5 s).
    const drainDeadline = Date.now() + 180_000;
    const enrichedExpected = load.expected.enriched ?? 0;
    while (Date.now() < drainDeadline) {
      await enrichMetrics.poll();
      await historyMetrics.poll();
      await freshness.poll();
      const read = enrichMetrics.totals.RecordsRead ?? 0;
      const written = historyMetrics.totals.HistoryItemsWritten ?? 0;
      const lake = delivery.committed().impressions ?? 0;
      const done =
        Math.min(read, load.sent) + Math.min(written, enrichedExpected) + Math.min(lake, enrichedExpected);
      process.stdout.write(
        `\r  draining (read, history, lake) ${bar(done, load.sent + 2 * enrichedExpected)}`,
      );
      if (read >= load.sent && written >= enrichedExpected && lake >= enrichedExpected) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    process.stdout.write('\n');

    const rec = reconcile(load.expected, enrichMetrics.totals);
    const profile = sent.find((r) => r.profileId)?.profileId ?? 'p0000000';
    const sig = `--aws-sigv4 "aws:amz:${EMULATOR_CREDENTIALS.AWS_REGION}:execute-api" --user test:test`;
    process.stdout.write(`
Summary: ${load.sent} impressions sent in ${(load.elapsedMs / 1000).toFixed(1)} s (${load.failed} not accepted by Kinesis)

  ${'outcome'.padEnd(38)}${'sent as'.padStart(10)}${'pipeline'.padStart(10)}
${rec.rows
  .filter((r) => r.expected || r.observed)
  .map(
    (r) =>
      `  ${r.key.padEnd(38)}${String(r.expected).padStart(10)}${String(r.observed).padStart(10)}${r.expected === r.observed ? '  ✓' : '  ✗'}`,
  )
  .join('\n')}

  ${rec.ok ? '✓ reconciles: read = enriched + filtered + rejected, and every reason matches what was sent' : '✗ does NOT reconcile (see rows marked ✗)'}
  history items written ${historyMetrics.totals.HistoryItemsWritten ?? 0}, lake rows committed ${delivery.committed().impressions ?? 0} (enriched: ${enrichedExpected})
  freshness event → history API: p50 ${percentile(freshness.samples, 50) ?? '-'} ms, p99 ${percentile(freshness.samples, 99) ?? '-'} ms over ${freshness.samples.length} probes

Stack outputs:
${Object.entries(outputs)
  .map(([k, v]) => `  ${k.padEnd(22)} ${v}`)
  .join('\n')}

Try it:
  export AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${EMULATOR_CREDENTIALS.AWS_REGION}
  curl -s ${sig} '${outputs.HistoryApiUrl}/v1/profiles/${profile}/impressions?limit=3'
  curl -s ${sig} '${outputs.HistoryApiUrl}/v1/profiles/${profile}/frequency?titleIds=title-0001,title-0002&window=1d'
  npm run query -- "SELECT title_name, count(*) AS n FROM impressions GROUP BY 1 ORDER BY n DESC LIMIT 5"
  npm run query -- --named profile-history --param ${profile}
`);
    if (flags.keep) {
      process.stdout.write('\nRunning (--keep). Ctrl-C stops the emulator and everything it runs.\n');
      await stopRequested;
    }
    await stopAll();
    process.stdout.write('\nstopped.\n');
    return rec.ok ? 0 : 1;
  } catch (err) {
    await stopAll();
    process.stderr.write(`\n✗ ${(err as Error).message}\n`);
    return 1;
  }
}

main().then((code) => {
  process.exitCode = code;
});
