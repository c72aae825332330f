/**
 * Kinesis and Firehose billing units for the same traffic, plain and KPL-aggregated (per profile, ≤ 50 KB as
 * the KPL does): PUT payload units (25 KB each, per Kinesis record) and Firehose billed bytes (each record
 * rounded up to 5 KB), on the raw records and on the enriched records the pipeline writes.
 */

import { aggregateByKey } from '../lambdas/adapters/kpl-aggregate.js';
import { toEnrichedWire } from '../lambdas/adapters/stream-encoding.js';
import { enrich } from '../lambdas/domain/enrich.js';
import type { ImpressionEvent } from '../lambdas/domain/event-schema.js';
import { sampleCatalog } from '../ops/seed.js';
import { traffic } from '../scripts/traffic.js';

const PUT_UNIT = 25 * 1024;
const FIREHOSE_ROUNDING = 5 * 1024;

export interface StreamBytesResult {
  readonly records: number;
  readonly rawBytesAvg: number;
  readonly enrichedBytesAvg: number;
  readonly raw: {
    readonly plainPutUnits: number;
    readonly aggregatedPutUnits: number;
    readonly userRecordsPerAggregate: number;
  };
  readonly enriched: {
    readonly plainFirehoseBytes: number;
    readonly aggregatedFirehoseBytes: number;
    readonly plainPutUnits: number;
    readonly aggregatedPutUnits: number;
    readonly userRecordsPerAggregate: number;
    /**
     * Aggregation as filter-enrich does it: within one invocation's batch (it aggregates the records of one
     * batch, per profile), batches cut at the sized records per invocation with as many records of one
     * profile as traffic over time puts in a batch. What the cost model prices the enriched stream with.
     */
    readonly perInvocation?: PerInvocationAggregation;
  };
  /** Enriched records, JSON lines, for the lake size benchmark. */
  readonly enrichedJsonLines: string;
}

export interface PerInvocationAggregation {
  readonly batchSize: number;
  /** At most this many records of one profile per batch (as in the whole-handler benchmark). */
  readonly recordsPerProfile: number;
  readonly batches: number;
  readonly enrichedRecords: number;
  readonly aggregates: number;
  readonly userRecordsPerAggregate: number;
  readonly plainPutUnits: number;
  readonly aggregatedPutUnits: number;
}

type Enricher = (data: Uint8Array) => Uint8Array;

function enricher(): Enricher {
  const byId = new Map(sampleCatalog().map((t) => [t.titleId, t]));
  const arrival = Date.now();
  return (data) => {
    const e = JSON.parse(Buffer.from(data).toString('utf8')) as ImpressionEvent;
    const t = byId.get(e.titleId);
    const rec = enrich(e, Date.parse(e.eventTime), arrival, t && { ...t, genres: t.genres });
    return Buffer.from(JSON.stringify(toEnrichedWire(rec)));
  };
}

/**
 * Enriched records per aggregate within one invocation: `batches` batches of `batchSize` raw records, each
 * with at most `recordsPerProfile` records of one profile (the load generator's order, a profile's further
 * records left to later batches as the sample batch of the whole-handler benchmark does), the enriched ones
 * aggregated per profile within the batch by the handler's own `aggregateByKey`.
 */
export async function perInvocationAggregation(
  batchSize: number,
  recordsPerProfile: number,
  batches = 40,
): Promise<PerInvocationAggregation> {
  const toEnriched = enricher();
  const gen = traffic({
    seed: 37,
    titleIds: sampleCatalog().map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0,
    duplicateShare: 0,
  });
  let enrichedRecords = 0;
  let aggregates = 0;
  let plainPutUnits = 0;
  let aggregatedPutUnits = 0;
  for (let b = 0; b < batches; b++) {
    const taken = new Map<string, number>();
    const out: { partitionKey: string; data: Uint8Array; source: number }[] = [];
    let n = 0;
    while (n < batchSize) {
      const r = gen.next().value!;
      const k = taken.get(r.partitionKey) ?? 0;
      if (k >= recordsPerProfile) continue;
      taken.set(r.partitionKey, k + 1);
      n++;
      if (r.expected !== 'enriched') continue;
      // The raw stream's partition key is the profile, as the enriched stream's is.
      out.push({ partitionKey: r.partitionKey, data: toEnriched(r.data), source: out.length });
    }
    const agg = await aggregateByKey(out);
    enrichedRecords += out.length;
    aggregates += agg.length;
    plainPutUnits += out.reduce((u, x) => u + Math.ceil(x.data.byteLength / PUT_UNIT), 0);
    aggregatedPutUnits += agg.reduce((u, x) => u + Math.ceil(x.data.byteLength / PUT_UNIT), 0);
  }
  return {
    batchSize,
    recordsPerProfile,
    batches,
    enrichedRecords,
    aggregates,
    userRecordsPerAggregate: enrichedRecords / Math.max(1, aggregates),
    plainPutUnits,
    aggregatedPutUnits,
  };
}

export async function benchStreamBytes(
  count = 20_000,
  invocation?: { batchSize: number; recordsPerProfile: number },
): Promise<StreamBytesResult> {
  const catalog = sampleCatalog();
  const byId = new Map(catalog.map((t) => [t.titleId, t]));
  const gen = traffic({
    seed: 31,
    titleIds: catalog.map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0,
    duplicateShare: 0,
  });
  const raw: { partitionKey: string; data: Uint8Array; source: number }[] = [];
  const enriched: { partitionKey: string; data: Uint8Array; source: number }[] = [];
  const arrival = Date.now();
  while (raw.length < count) {
    const r = gen.next().value!;
    raw.push({ partitionKey: r.partitionKey, data: r.data, source: raw.length });
    if (r.expected !== 'enriched') continue;
    const e = JSON.parse(Buffer.from(r.data).toString('utf8')) as ImpressionEvent;
    const t = byId.get(e.titleId);
    const rec = enrich(e, Date.parse(e.eventTime), arrival, t && { ...t, genres: t.genres });
    enriched.push({
      partitionKey: e.profileId,
      data: Buffer.from(JSON.stringify(toEnrichedWire(rec))),
      source: enriched.length,
    });
  }
  const units = (xs: { data: Uint8Array }[]) =>
    xs.reduce((n, x) => n + Math.ceil(x.data.byteLength / PUT_UNIT), 0);
  const firehose = (xs: { data: Uint8Array }[]) =>
    xs.reduce((n, x) => n + Math.ceil(x.data.byteLength / FIREHOSE_ROUNDING) * FIREHOSE_ROUNDING, 0);
  const rawAgg = await aggregateByKey(raw);
  const enrAgg = await aggregateByKey(enriched);
  return {
    records: raw.length,
    rawBytesAvg: Math.round(raw.reduce((n, r) => n + r.data.byteLength, 0) / raw.length),
    enrichedBytesAvg: Math.round(enriched.reduce((n, r) => n + r.data.byteLength, 0) / enriched.length),
    raw: {
      plainPutUnits: units(raw),
      aggregatedPutUnits: units(rawAgg),
      userRecordsPerAggregate: raw.length / rawAgg.length,
    },
    enriched: {
      plainFirehoseBytes: firehose(enriched),
      aggregatedFirehoseBytes: firehose(enrAgg),
      plainPutUnits: units(enriched),
      aggregatedPutUnits: units(enrAgg),
      userRecordsPerAggregate: enriched.length / enrAgg.length,
      ...(invocation
        ? {
            perInvocation: await perInvocationAggregation(invocation.batchSize, invocation.recordsPerProfile),
          }
        : {}),
    },
    enrichedJsonLines: enriched.map((e) => Buffer.from(e.data).toString('utf8')).join('\n'),
  };
}
