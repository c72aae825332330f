/**
 * Kinesis event records as the domain sees them. KPL-aggregated records (a producer packing many user
 * records into one Kinesis record, to pay for fewer PUT units) are de-aggregated with awslabs'
 * aws-kinesis-agg; each user record keeps its parent's sequence number (what a partial batch response names)
 * and gets its sub-sequence number. An aggregate that fails its checksum is kept whole, so it is rejected
 * with a reason rather than lost; an aggregate of more user records than allowed is kept whole too, and
 * rejected as one row (`decode.aggregate-too-large`): its user records are counted from the framing, before
 * any of them is decoded, so one record never costs more than one pass over its bytes.
 */

import agg from 'aws-kinesis-agg';
import type { KinesisStreamRecord } from 'aws-lambda';
import type { RawRecord } from '../domain/filter-enrich.js';

const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
/** The KPL's MD5 checksum closes every aggregate. */
const CHECKSUM_BYTES = 16;
/** Contract default of the cap on user records per aggregate. */
export const DEFAULT_MAX_USER_RECORDS = 1000;

export const isAggregated = (data: Uint8Array) =>
  data.byteLength > KPL_MAGIC.length && Buffer.from(data.buffer, data.byteOffset, 4).equals(KPL_MAGIC);

/** A protobuf varint at `p`: [value, next position], or undefined past `end` or beyond 2^53. */
function varint(data: Uint8Array, p: number, end: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = p; i < end && i < p + 8; i++) {
    const byte = data[i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, i + 1];
    scale *= 128;
  }
  return undefined;
}

/**
 * User records of a KPL aggregate, counted without decoding them: the `AggregatedRecord` protobuf message
 * between the 4-byte magic number and the 16-byte checksum holds them as field 3, length-delimited
 * (awslabs/amazon-kinesis-producer, "KPL Aggregated Record Format", aggregation-format.md). Undefined when the
 * framing is not valid protobuf (the library then refuses the aggregate too, and it is rejected whole).
 */
export function countUserRecords(data: Uint8Array): number | undefined {
  const end = data.byteLength - CHECKSUM_BYTES;
  let p = KPL_MAGIC.length;
  let count = 0;
  while (p < end) {
    const key = varint(data, p, end);
    if (!key) return undefined;
    const [tag, afterKey] = key;
    const wire = tag % 8;
    if (wire === 2) {
      const len = varint(data, afterKey, end);
      if (!len) return undefined;
      p = len[1] + len[0];
      if (Math.floor(tag / 8) === 3) count++;
    } else if (wire === 0) {
      const v = varint(data, afterKey, end);
      if (!v) return undefined;
      p = v[1];
    } else if (wire === 1) p = afterKey + 8;
    else if (wire === 5) p = afterKey + 4;
    else return undefined;
  }
  return p === end ? count : undefined;
}

export function toRawRecords(
  r: KinesisStreamRecord,
  maxUserRecords: number = DEFAULT_MAX_USER_RECORDS,
): RawRecord[] {
  const data = Buffer.from(r.kinesis.data, 'base64');
  const arrivalMs = Math.round(r.kinesis.approximateArrivalTimestamp * 1000);
  const whole: RawRecord = {
    sequenceNumber: r.kinesis.sequenceNumber,
    partitionKey: r.kinesis.partitionKey,
    data,
    arrivalMs,
  };
  if (!isAggregated(data)) return [whole];
  const count = countUserRecords(data);
  if (count !== undefined && count > maxUserRecords)
    return [{ ...whole, tooManyUserRecords: { count, limit: maxUserRecords } }];
  let users: RawRecord[] | undefined;
  agg.deaggregateSync(r.kinesis, true, (err, userRecords) => {
    if (err || !userRecords) return;
    users = userRecords.map((u) => ({
      sequenceNumber: r.kinesis.sequenceNumber,
      subSequenceNumber: u.subSequenceNumber,
      partitionKey: u.partitionKey,
      data: Buffer.from(u.data, 'base64'),
      arrivalMs,
    }));
  });
  return users ?? [whole];
}
