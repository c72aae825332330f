/**
 * Enrich hot path: the filter-enrich domain code on Lambda-shaped batches (500 base64 records of realistic
 * ≈ 1.2 KB events from the load generator), single core, against a baseline measured in the same run on
 * the same records: base64 decode + JSON.parse + JSON.stringify. Median of repeated runs after warm-up.
 */
import { DEFAULT_CLASSIFIER_CONFIG } from '../lambdas/domain/classify.js';
import type { TitleInfo } from '../lambdas/domain/enrich.js';
import { type FilterEnrichPorts, planBatch, type RawRecord } from '../lambdas/domain/filter-enrich.js';
import { sampleCatalog } from '../scripts/seed-catalog.js';
import { traffic } from '../scripts/traffic.js';

export interface EnrichBenchResult {
  readonly recordBytesAvg: number;
  readonly batchSize: number;
  readonly runs: number;
  readonly baselineEventsPerSec: { median: number; min: number; max: number };
  readonly enrichEventsPerSec: { median: number; min: number; max: number };
  readonly ratio: number;
  readonly target: number;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
};

export async function benchEnrich(
  options: { runs?: number; batches?: number } = {},
): Promise<EnrichBenchResult> {
  const runs = options.runs ?? 9;
  const batches = options.batches ?? 40;
  const catalog = sampleCatalog();
  const titles = new Map<string, TitleInfo>(
    catalog.map((t) => [
      t.titleId,
      { titleId: t.titleId, name: t.name, type: t.type, genres: t.genres, maturityRating: t.maturityRating },
    ]),
  );
  // The valid traffic of production: every record is enriched (bad records are cheaper, not dearer).
  const gen = traffic({
    seed: 11,
    titleIds: catalog.map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0,
    duplicateShare: 0,
  });
  const now = Date.now();
  const batch: { b64: string; sequenceNumber: string; partitionKey: string }[] = [];
  while (batch.length < 500) {
    const r = gen.next().value!;
    batch.push({
      b64: Buffer.from(r.data).toString('base64'),
      sequenceNumber: String(batch.length),
      partitionKey: r.partitionKey,
    });
  }
  const recordBytesAvg =
    batch.reduce((n, r) => n + Buffer.from(r.b64, 'base64').byteLength, 0) / batch.length;
  const ports: FilterEnrichPorts = {
    titles: async (ids) =>
      new Map(ids.flatMap((id) => (titles.has(id) ? [[id, titles.get(id)!] as const] : []))),
  };

  let sink = 0;
  const baseline = () => {
    for (const r of batch)
      sink += JSON.stringify(JSON.parse(Buffer.from(r.b64, 'base64').toString('utf8'))).length;
  };
  // What the handler does per batch before any I/O: decode, plan (classify, dedup, enrich), serialise.
  const enrichBatch = async () => {
    const raw: RawRecord[] = batch.map((r) => ({
      sequenceNumber: r.sequenceNumber,
      partitionKey: r.partitionKey,
      data: Buffer.from(r.b64, 'base64'),
      arrivalMs: now,
    }));
    const plan = await planBatch(raw, DEFAULT_CLASSIFIER_CONFIG, ports);
    for (const e of plan.enriched) sink += JSON.stringify(e.record).length;
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
