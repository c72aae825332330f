/**
 * KPL aggregation: fewer, fuller Kinesis records (PUT payload units, Firehose's per-record rounding).
 *
 * The record format is the KPL's (https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md):
 * the magic bytes F3 89 9A C2, a protobuf `AggregatedRecord`, and the MD5 of that protobuf. `aggregate` is
 * awslabs' aws-kinesis-agg; `encodeAggregate` writes the same bytes for records that share one partition key
 * in a single pass into one buffer (no per-record copy, no callbacks): the library's per-record work was as
 * dear as decoding, parsing and serialising the records. A test checks both give identical bytes and that the
 * library de-aggregates ours.
 */
import { createHash } from 'node:crypto';
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

const MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const MD5_BYTES = 16;

const varintSize = (n: number): number =>
  n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;

function writeVarint(buf: Buffer, at: number, n: number): number {
  let v = n;
  let i = at;
  while (v >= 0x80) {
    buf[i++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[i++] = v;
  return i;
}

/**
 * One KPL aggregate of `records`, all under `partitionKey`: `partition_key_table = [partitionKey]`, each
 * `Record { partition_key_index = 0, data }`, no explicit hash keys, no tags.
 */
export function encodeAggregate(partitionKey: string, records: readonly Uint8Array[]): Buffer {
  const keyBytes = Buffer.byteLength(partitionKey);
  // Record = 08 00 (partition_key_index 0) 1A len data; in AggregatedRecord: 1A len Record.
  let body = 1 + varintSize(keyBytes) + keyBytes;
  for (const d of records) {
    const inner = 2 + 1 + varintSize(d.byteLength) + d.byteLength;
    body += 1 + varintSize(inner) + inner;
  }
  const buf = Buffer.allocUnsafe(MAGIC.length + body + MD5_BYTES);
  MAGIC.copy(buf, 0);
  let i = MAGIC.length;
  buf[i++] = 0x0a;
  i = writeVarint(buf, i, keyBytes);
  i += buf.write(partitionKey, i, 'utf8');
  for (const d of records) {
    buf[i++] = 0x1a;
    i = writeVarint(buf, i, 2 + 1 + varintSize(d.byteLength) + d.byteLength);
    buf[i++] = 0x08;
    buf[i++] = 0x00;
    buf[i++] = 0x1a;
    i = writeVarint(buf, i, d.byteLength);
    buf.set(d, i);
    i += d.byteLength;
  }
  createHash('md5').update(buf.subarray(MAGIC.length, i)).digest().copy(buf, i);
  return buf;
}

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
  return chunks.map((chunk) => ({
    partitionKey: chunk[0]!.partitionKey,
    data: encodeAggregate(
      chunk[0]!.partitionKey,
      chunk.map((r) => r.data),
    ),
    source: chunk.map((r) => r.source),
  }));
}
