/**
 * Kinesis and Firehose billing units for the same traffic, plain and KPL-aggregated (per profile, ≤ 50 KB as
 * the KPL does): PUT payload units (25 KB each, per Kinesis record) and Firehose billed bytes (each record
 * rounded up to 5 KB), on the raw records and on the enriched records the pipeline writes.
 */

import { aggregateByKey } from '../lambdas/adapters/kpl-aggregate.js';
import { enrich } from '../lambdas/domain/enrich.js';
import type { ImpressionEvent } from '../lambdas/domain/event-schema.js';
import { toEnrichedWire } from '../lambdas/domain/stream-encoding.js';
import { sampleCatalog } from '../scripts/seed-catalog.js';
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
  };
  /** Enriched records, JSON lines, for the lake size benchmark. */
  readonly enrichedJsonLines: string;
}

export async function benchStreamBytes(count = 20_000): Promise<StreamBytesResult> {
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
    },
    enrichedJsonLines: enriched.map((e) => Buffer.from(e.data).toString('utf8')).join('\n'),
  };
}
