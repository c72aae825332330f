/**
 * Whole path on the embedded emulator: the real stack deployed locally, load at a few rates, sustained
 * throughput (records read by filter-enrich per second) and freshness (event time → visible in the history
 * API) p50/p99, and the check route's latency (POST frequency/check for a profile the load is writing,
 * called one at a time while the load runs) p50/p99. Emulator numbers describe this machine and the
 * emulator, not AWS.
 */

import * as path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { historyClient } from '../client/index.js';
import { sampleCatalog, seedCatalog } from '../ops/seed.js';
import {
  deployApp,
  EMULATOR_CREDENTIALS,
  emulatorClientConfig,
  emulatorEnv,
  LOCAL_DIR,
  stackOutputs,
  stackResource,
  startEmulator,
} from '../scripts/emulator.js';
import { FreshnessProbe, MetricsPoller, percentile } from '../scripts/live-stats.js';
import { LOADGEN_TEST_PROFILE, runLoad } from '../scripts/loadgen.js';

export interface RatePoint {
  readonly targetRate: number;
  readonly sent: number;
  readonly sentPerSec: number;
  readonly readPerSec: number;
  readonly drainSeconds: number;
  readonly freshnessP50Ms: number | null;
  readonly freshnessP99Ms: number | null;
  readonly probes: number;
  /** Check route: round trip of one POST frequency/check (a 7-day cap on the catalog's first title) during the load. */
  readonly checkP50Ms?: number | null;
  readonly checkP99Ms?: number | null;
  readonly checks?: number;
}

/** The bench stage deployed on the emulator, with the catalog seeded: what a rate's measurement uses. */
interface WholePathStage {
  readonly config: ReturnType<typeof emulatorClientConfig>;
  readonly outputs: Awaited<ReturnType<typeof stackOutputs>>;
  readonly logGroup: string;
  readonly api: ReturnType<typeof historyClient>;
  readonly kinesis: KinesisClient;
}

async function deployBenchStage(endpoint: string): Promise<WholePathStage> {
  const names = deployApp(emulatorEnv(endpoint), {
    stage: 'bench',
    logTo: path.join(LOCAL_DIR, 'deploy-bench.log'),
    context: [`testProfiles=${LOADGEN_TEST_PROFILE}`],
  });
  const config = emulatorClientConfig(endpoint);
  const cfn = new CloudFormationClient(config);
  const outputs = await stackOutputs(names, cfn);
  await seedCatalog(DynamoDBDocumentClient.from(new DynamoDBClient(config)), outputs.TitleCatalogTableName!);
  const logGroup = await stackResource(cfn, names[1]!, 'FilterEnrichHandlerLogs');
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  const api = historyClient({ baseUrl: outputs.HistoryApiUrl, region: EMULATOR_CREDENTIALS.AWS_REGION });
  return { config, outputs, logGroup, api, kinesis: new KinesisClient(config) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `step` until `running()` is false, `pauseMs` apart: one call at a time, so a slow API (a busy
 * emulator) is not flooded with overlapping calls.
 */
async function oneAtATime(
  running: () => boolean,
  pauseMs: number,
  step: () => Promise<unknown>,
): Promise<void> {
  while (running()) {
    await step();
    await sleep(pauseMs);
  }
}

/** When filter-enrich has read `sent` records (its RecordsRead metric), or three minutes on. */
async function drained(metrics: MetricsPoller, sent: number): Promise<number> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    await metrics.poll();
    if ((metrics.totals.RecordsRead ?? 0) >= sent) break;
    await sleep(250);
  }
  return Date.now();
}

/** One rate: the load for `seconds`, the drain, and the freshness and check-route samples taken meanwhile. */
async function measureRate(
  stage: WholePathStage,
  rate: number,
  seed: number,
  seconds: number,
): Promise<RatePoint> {
  const { api } = stage;
  const metrics = new MetricsPoller(new CloudWatchLogsClient(stage.config), stage.logGroup, Date.now());
  const freshness = new FreshnessProbe((p) => api.request('GET', p));
  const t0 = Date.now();
  let lastProbe = 0;
  let probing = true;
  const prober = oneAtATime(
    () => probing,
    500,
    () => freshness.poll().catch(() => undefined),
  );
  // The check route, one call at a time, on the profile most recently written.
  const checkMs: number[] = [];
  let checkTarget: { profileId: string; titleId: string } | undefined;
  const checkTitle = sampleCatalog()[0]!.titleId;
  const checker = oneAtATime(
    () => probing,
    250,
    async () => {
      const t = checkTarget;
      if (!t) return;
      const started = performance.now();
      const res = await api
        .request('POST', `/v1/profiles/${t.profileId}/frequency/check`, {
          body: JSON.stringify({ caps: [{ titleId: t.titleId, max: 3, window: '7d' }] }),
        })
        .catch(() => undefined);
      if (res?.status === 200) checkMs.push(performance.now() - started);
    },
  );
  const load = await runLoad({
    kinesis: stage.kinesis,
    streamName: stage.outputs.RawStreamName,
    rate,
    durationMs: seconds * 1000,
    seed,
    onSent: (s) => {
      if (Date.now() - lastProbe < 200) return;
      lastProbe = Date.now();
      const r = [...s.slice(-50)].reverse().find((x) => x.profileId);
      if (r?.profileId) checkTarget = { profileId: r.profileId, titleId: checkTitle };
      if (r?.profileId && r.eventId && r.eventTimeMs) {
        freshness.offer({ profileId: r.profileId, eventId: r.eventId, eventTimeMs: r.eventTimeMs });
      }
    },
  });
  const doneMs = await drained(metrics, load.sent);
  probing = false;
  await prober;
  await checker;
  for (let i = 0; i < 20; i++) {
    await freshness.poll().catch(() => undefined);
    await sleep(250);
  }
  const elapsedS = (doneMs - t0) / 1000;
  return {
    targetRate: rate,
    sent: load.sent,
    sentPerSec: load.sent / (load.elapsedMs / 1000),
    readPerSec: (metrics.totals.RecordsRead ?? 0) / elapsedS,
    drainSeconds: (doneMs - t0 - load.elapsedMs) / 1000,
    freshnessP50Ms: percentile(freshness.samples, 50) ?? null,
    freshnessP99Ms: percentile(freshness.samples, 99) ?? null,
    probes: freshness.samples.length,
    checkP50Ms: percentile(checkMs, 50) ?? null,
    checkP99Ms: percentile(checkMs, 99) ?? null,
    checks: checkMs.length,
  };
}

export async function benchWholePath(rates: readonly number[], seconds: number): Promise<RatePoint[]> {
  const emu = await startEmulator();
  try {
    const stage = await deployBenchStage(emu.endpoint);
    const points: RatePoint[] = [];
    for (const [k, rate] of rates.entries()) {
      points.push(await measureRate(stage, rate, 100 + k, seconds));
      process.stderr.write(`[bench] whole path at ${rate}/s: ${JSON.stringify(points[points.length - 1])}\n`);
    }
    return points;
  } finally {
    await emu.stop();
  }
}
