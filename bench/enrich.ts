/**
 * Enrich hot path: the filter-enrich domain code on Lambda-shaped batches (500 base64 records of realistic
 * ≈ 1.2 KB events from the load generator), single core, against a baseline measured in the same run on
 * the same records: base64 decode + JSON.parse + JSON.stringify. Median of repeated runs after warm-up.
 */

import { DEFAULT_STAGE } from '../infra/config.js';
import { toEnrichedWire } from '../lambdas/adapters/stream-encoding.js';
import { type ClassifierConfig, EVENT_TIME_BOUNDS } from '../lambdas/domain/classify.js';
import type { TitleInfo } from '../lambdas/domain/enrich.js';
import { type FilterEnrichPorts, planBatch, type RawRecord } from '../lambdas/domain/filter-enrich.js';
import { sampleCatalog } from '../ops/seed.js';
import { traffic } from '../scripts/traffic.js';

/** The default stage's classifier settings, as filter-enrich's settings reader builds them. */
const CLASSIFIER: ClassifierConfig = {
  minVisiblePercent: DEFAULT_STAGE.minVisiblePercent,
  minVisibleMs: DEFAULT_STAGE.minVisibleMs,
  testProfiles: new Set(DEFAULT_STAGE.testProfiles),
  ...EVENT_TIME_BOUNDS,
};

/** A throughput measured over repeated runs. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** What every ratio benchmark shares: batches of this size, runs, and the baseline of the same run. */
export interface AgainstBaseline {
  readonly batchSize: number;
  readonly runs: number;
  readonly baselineEventsPerSec: Spread;
}

export interface EnrichBenchResult extends AgainstBaseline {
  readonly recordBytesAvg: number;
  readonly enrichEventsPerSec: Spread;
  readonly ratio: number;
  readonly target: number;
}

/** A Lambda-shaped batch of realistic records from the load generator, all valid (every one is enriched). */
export interface SampleBatch {
  readonly records: readonly { b64: string; sequenceNumber: string; partitionKey: string }[];
  readonly recordBytesAvg: number;
  readonly titles: ReadonlyMap<string, TitleInfo>;
}

/**
 * `perProfile`: keep at most that many records of each profile (the first of its session), so that a batch
 * spans as many profiles as a shard's batch of real traffic does (the load generator emits whole sessions
 * one after the other: 500 records are one or two members).
 */
/**
 * `size` records of the load generator's valid traffic, at most `perProfile` of one profile; their event times
 * are `at` (milliseconds since the epoch, default now) jittered back up to 2 s, as the generator draws them.
 */
export function sampleBatch(
  size = 500,
  seed = 11,
  perProfile = Number.POSITIVE_INFINITY,
  at?: number,
): SampleBatch {
  const catalog = sampleCatalog();
  const titles = new Map<string, TitleInfo>(
    catalog.map((t) => [
      t.titleId,
      { titleId: t.titleId, name: t.name, type: t.type, genres: t.genres, maturityRating: t.maturityRating },
    ]),
  );
  // The valid traffic of production: every record is enriched (bad records are cheaper, not dearer).
  const gen = traffic({
    seed,
    titleIds: catalog.map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0,
    duplicateShare: 0,
    ...(at === undefined ? {} : { nowMs: () => at }),
  });
  const records: { b64: string; sequenceNumber: string; partitionKey: string }[] = [];
  const taken = new Map<string, number>();
  while (records.length < size) {
    const r = gen.next().value!;
    const n = taken.get(r.partitionKey) ?? 0;
    if (n >= perProfile) continue;
    taken.set(r.partitionKey, n + 1);
    records.push({
      b64: Buffer.from(r.data).toString('base64'),
      sequenceNumber: String(records.length),
      partitionKey: r.partitionKey,
    });
  }
  const recordBytesAvg =
    records.reduce((n, r) => n + Buffer.from(r.b64, 'base64').byteLength, 0) / records.length;
  return { records, recordBytesAvg, titles };
}

/** The title catalog port over the sample catalog. */
const samplePorts = (titles: SampleBatch['titles']): FilterEnrichPorts => ({
  titles: async (ids) =>
    new Map(ids.flatMap((id) => (titles.has(id) ? [[id, titles.get(id)!] as const] : []))),
});

/** The batch's records as the handler decodes them from the Lambda event. */
const rawRecords = (records: SampleBatch['records'], arrivalMs: number): RawRecord[] =>
  records.map((r) => ({
    sequenceNumber: r.sequenceNumber,
    partitionKey: r.partitionKey,
    data: Buffer.from(r.b64, 'base64'),
    arrivalMs,
  }));

/** The baseline of every ratio: base64 decode + JSON.parse + JSON.stringify of each record of the batch. */
export function baselinePass(records: SampleBatch['records']): number {
  let n = 0;
  for (const r of records)
    n += JSON.stringify(JSON.parse(Buffer.from(r.b64, 'base64').toString('utf8'))).length;
  return n;
}

export const stats = (xs: number[]): Spread => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
};

export async function benchEnrich(
  options: { runs?: number; batches?: number } = {},
): Promise<EnrichBenchResult> {
  const runs = options.runs ?? 9;
  const batches = options.batches ?? 40;
  const { records: batch, recordBytesAvg, titles } = sampleBatch();
  const now = Date.now();
  const ports = samplePorts(titles);

  let sink = 0;
  const baseline = () => {
    sink += baselinePass(batch);
  };
  // What the handler does per batch before any I/O: decode, plan (classify, enrich), serialise.
  const enrichBatch = async () => {
    const plan = await planBatch(rawRecords(batch, now), CLASSIFIER, ports);
    for (const e of plan.enriched) sink += JSON.stringify(toEnrichedWire(e.record)).length;
  };

  for (let i = 0; i < 100; i++) {
    baseline();
    await enrichBatch();
  }
  const base: number[] = [];
  const enr: number[] = [];
  for (let run = 0; run < runs; run++) {
    let t = performance.now();
    for (let i = 0; i < batches; i++) baseline();
    base.push((batches * batch.length) / ((performance.now() - t) / 1000));
    t = performance.now();
    for (let i = 0; i < batches; i++) await enrichBatch();
    enr.push((batches * batch.length) / ((performance.now() - t) / 1000));
  }
  if (sink === 0) throw new Error('nothing was computed');
  const b = stats(base);
  const e = stats(enr);
  return {
    recordBytesAvg: Math.round(recordBytesAvg),
    batchSize: batch.length,
    runs,
    baselineEventsPerSec: b,
    enrichEventsPerSec: e,
    ratio: e.median / b.median,
    target: 0.75,
  };
}
