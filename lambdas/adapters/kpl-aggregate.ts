/** KPL aggregation with awslabs' aws-kinesis-agg: fewer, fuller Kinesis records (PUT units, Firehose rounding). */
import agg from 'aws-kinesis-agg';
import type { OutgoingRecord } from './kinesis-writer.js';

export interface Aggregated {
  readonly partitionKey: string;
  readonly data: Buffer;
}

/** Packs user records into KPL-aggregated records (each ≤ the library's 1 MB default, split as it decides). */
export function aggregate(
  records: readonly { partitionKey: string; data: Uint8Array }[],
): Promise<Aggregated[]> {
  return new Promise((resolve, reject) => {
    const out: Aggregated[] = [];
    agg.aggregate(
      records.map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data) })),
      (encoded, done) => {
        out.push({ partitionKey: encoded.partitionKey, data: encoded.data });
        done();
      },
      () => resolve(out),
      (err) => reject(err),
    );
  });
}

/** KPL's default aggregate size (AggregationMaxSize). */
export const AGGREGATE_MAX_BYTES = 51_200;

/**
 * Aggregation per partition key, so a profile's records stay on its shard and in order, in aggregates of at
 * most AGGREGATE_MAX_BYTES, as the KPL packs them by default. Each aggregate carries its records' sources.
 */
export async function aggregateByKey<S>(
  records: readonly OutgoingRecord<S>[],
): Promise<OutgoingRecord<S[]>[]> {
  const chunks: OutgoingRecord<S>[][] = [];
  const open = new Map<string, { list: OutgoingRecord<S>[]; bytes: number }>();
  for (const r of records) {
    let c = open.get(r.partitionKey);
    if (!c || c.bytes + r.data.byteLength > AGGREGATE_MAX_BYTES) {
      c = { list: [], bytes: 0 };
      open.set(r.partitionKey, c);
      chunks.push(c.list);
    }
    c.list.push(r);
    c.bytes += r.data.byteLength;
  }
  const out: OutgoingRecord<S[]>[] = [];
  for (const chunk of chunks) {
    const packed = await aggregate(chunk);
    if (packed.length !== 1)
      throw new Error(`expected one aggregate for ${chunk.length} records, got ${packed.length}`);
    out.push({
      partitionKey: chunk[0]!.partitionKey,
      data: packed[0]!.data,
      source: chunk.map((r) => r.source),
    });
  }
  return out;
}
