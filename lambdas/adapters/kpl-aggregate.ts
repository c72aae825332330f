/**
 * KPL aggregation: fewer, fuller Kinesis records (PUT payload units, Firehose's per-record rounding).
 *
 * The record format is the KPL's (https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md):
 * the magic bytes F3 89 9A C2, a protobuf `AggregatedRecord`, and the MD5 of that protobuf. Every aggregate is
 * written by awslabs' aws-kinesis-agg, the library that also de-aggregates them (kinesis-event.ts); this module
 * only decides what goes into which aggregate.
 */
import agg from 'aws-kinesis-agg';
import type { OutgoingRecord } from './kinesis-writer.js';

export interface Aggregated {
  readonly partitionKey: string;
  readonly data: Buffer;
}

// The library's `RecordAggregator` (exported by its index.js, missing from its type declarations).
declare module 'aws-kinesis-agg' {
  export class RecordAggregator {
    addUserRecord(record: { partitionKey: string; data: Buffer }): void;
    build(): EncodedRecord | undefined;
  }
}

const asBuffer = (data: Uint8Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

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
 * Whether the library can aggregate records under `partitionKey`. It keeps its partition-key table in a plain
 * object, so under a key that names a property of `Object.prototype` (valid profile ids: `__proto__`,
 * `hasOwnProperty`, …) it either throws or writes user records without their key.
 */
export const isAggregatable = (partitionKey: string): boolean => !(partitionKey in Object.prototype);

/**
 * One KPL aggregate of `records`, all under `partitionKey` (`partition_key_table = [partitionKey]`, no
 * explicit hash keys, no tags). Throws for a key that `isAggregatable` refuses.
 */
export function encodeAggregate(partitionKey: string, records: readonly Uint8Array[]): Buffer {
  if (!isAggregatable(partitionKey))
    throw new Error(
      `aws-kinesis-agg cannot aggregate under the partition key ${JSON.stringify(partitionKey)}`,
    );
  const aggregator = new agg.RecordAggregator();
  for (const data of records) aggregator.addUserRecord({ partitionKey, data: asBuffer(data) });
  const built = aggregator.build();
  if (!built) throw new Error('no records to aggregate');
  return built.data;
}

/**
 * Aggregation per partition key, so a profile's records stay on its shard and in order, in aggregates of at
 * most AGGREGATE_MAX_BYTES, as the KPL packs them by default. Each aggregate carries its records' sources.
 * Records under a key the library cannot aggregate go as they are (consumers de-aggregate only aggregates).
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
  return chunks.flatMap((chunk): OutgoingRecord<S[]>[] => {
    const partitionKey = chunk[0]!.partitionKey;
    if (!isAggregatable(partitionKey))
      return chunk.map((r) => ({ partitionKey, data: r.data, source: [r.source] }));
    return [
      {
        partitionKey,
        data: encodeAggregate(
          partitionKey,
          chunk.map((r) => r.data),
        ),
        source: chunk.map((r) => r.source),
      },
    ];
  });
}
