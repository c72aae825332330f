/**
 * Kinesis event records as the domain sees them. KPL-aggregated records (a producer packing many user
 * records into one Kinesis record, to pay for fewer PUT units) are de-aggregated with awslabs'
 * aws-kinesis-agg; each user record keeps its parent's sequence number (what a partial batch response names)
 * and gets its sub-sequence number.
 *
 * Before the library sees an aggregate, `inspectAggregate` checks its framing in one pass over its bytes,
 * decoding none of its user records: the MD5, every protobuf field of the `AggregatedRecord` and of each
 * `Record`, the key tables and every index into them, and the number of user records. The library parses
 * the protobuf before it checks the checksum and follows whatever framing it is given, so only an aggregate
 * that passes reaches it. One that does not is kept whole and rejected as one row: `decode.bad-aggregate`
 * when its framing is wrong (including zero user records, or a count that cannot be read), and
 * `decode.aggregate-too-large` when it holds more user records than allowed. One record therefore never
 * costs more than one pass over its bytes plus at most `maxUserRecords` user records, whatever its framing.
 */

import { createHash } from 'node:crypto';
import agg from 'aws-kinesis-agg';
import type { KinesisStreamRecord } from 'aws-lambda';
import type { RawRecord } from '../domain/filter-enrich.js';

const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
/** The KPL's MD5 checksum closes every aggregate. */
const CHECKSUM_BYTES = 16;

export const isAggregated = (data: Uint8Array) =>
  data.byteLength >= KPL_MAGIC.length && Buffer.from(data.buffer, data.byteOffset, 4).equals(KPL_MAGIC);

/** The longest protobuf varint: a 64-bit value in 7-bit groups (protobuf encoding guide, "Base 128 Varints"). */
const MAX_VARINT_BYTES = 10;

/**
 * A protobuf varint at `p`: [value, next position], or undefined when it does not end before `end` or is longer
 * than a 64-bit varint. Values above 2^53 lose precision, which is harmless here: every value read is a tag,
 * a length or an index, each compared with something smaller than the record.
 */
function varint(data: Uint8Array, p: number, end: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = p; i < end && i < p + MAX_VARINT_BYTES; i++) {
    const byte = data[i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, i + 1];
    scale *= 128;
  }
  return undefined;
}

/** What the framing check found: a count of user records, or why the aggregate cannot be de-aggregated. */
export type AggregateFraming = { readonly userRecords: number } | { readonly bad: string };

const MAX_FIELD_NUMBER = 2 ** 29 - 1;
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/**
 * Walks the fields of one protobuf message in [start, end) and hands each to `field` (field number, wire
 * type, value or [offset, end) of a length-delimited payload). Groups (wire types 3, 4) and undefined wire
 * types are malformed. Answers an error text, or undefined when the message parses to its exact end.
 */
function walk(
  data: Uint8Array,
  start: number,
  end: number,
  field: (num: number, wire: number, value: number, from: number, to: number) => string | undefined,
): string | undefined {
  let p = start;
  while (p < end) {
    const key = varint(data, p, end);
    if (!key) return `unreadable field key at byte ${p}`;
    const [tag, afterKey] = key;
    const num = Math.floor(tag / 8);
    const wire = tag % 8;
    // Field numbers are 1 to 2^29 - 1 (protobuf language guide, "Assigning Field Numbers"); the library's
    // decoder reads a key as 32 bits, so a longer one would mean another field to it than to this walk.
    if (num < 1 || num > MAX_FIELD_NUMBER) return `field number ${num} at byte ${p}`;
    let err: string | undefined;
    if (wire === WIRE_VARINT) {
      const v = varint(data, afterKey, end);
      if (!v) return `unreadable varint at byte ${afterKey}`;
      err = field(num, wire, v[0], afterKey, v[1]);
      p = v[1];
    } else if (wire === WIRE_LEN) {
      const len = varint(data, afterKey, end);
      if (!len) return `unreadable length at byte ${afterKey}`;
      if (len[0] > end - len[1]) return `length ${len[0]} at byte ${afterKey} runs past the message`;
      err = field(num, wire, len[0], len[1], len[1] + len[0]);
      p = len[1] + len[0];
    } else if (wire === WIRE_I64 || wire === WIRE_I32) {
      const size = wire === WIRE_I64 ? 8 : 4;
      if (size > end - afterKey) return `fixed-width field at byte ${p} runs past the message`;
      err = field(num, wire, 0, afterKey, afterKey + size);
      p = afterKey + size;
    } else return `wire type ${wire} at byte ${p}`;
    if (err) return err;
  }
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const isUtf8 = (data: Uint8Array, from: number, to: number) => {
  try {
    utf8.decode(data.subarray(from, to));
    return true;
  } catch {
    return false;
  }
};

/**
 * The framing of a KPL aggregate (awslabs/amazon-kinesis-producer, "KPL Aggregated Record Format",
 * aggregation-format.md; the message definitions are the library's `kpl.json`): the magic bytes, a protobuf
 * `AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
 * repeated Record records = 3; }` with `Record { required uint64 partition_key_index = 1; optional uint64
 * explicit_hash_key_index = 2; required bytes data = 3; repeated Tag tags = 4; }` and
 * `Tag { required string key = 1; optional string value = 2; }`, then the MD5 of the protobuf. A known field
 * with another wire type than its definition is malformed (the library's decoder would read it as its
 * declared type), unknown fields of a valid wire type are skipped as protobuf does. Never throws; one pass.
 */
export function inspectAggregate(data: Uint8Array): AggregateFraming {
  if (data.byteLength < KPL_MAGIC.length + CHECKSUM_BYTES)
    return { bad: `${data.byteLength} bytes: shorter than the magic number and the MD5` };
  const end = data.byteLength - CHECKSUM_BYTES;
  const md5 = createHash('md5').update(data.subarray(KPL_MAGIC.length, end)).digest();
  if (!md5.equals(data.subarray(end))) return { bad: 'MD5 mismatch' };
  let keys = 0;
  let hashKeys = 0;
  let records = 0;
  let maxKeyIndex = -1;
  let maxHashKeyIndex = -1;
  const string = (what: string, from: number, to: number) =>
    isUtf8(data, from, to) ? undefined : `${what} is not UTF-8`;
  const tag = (from: number, to: number) => {
    let hasKey = false;
    const err = walk(data, from, to, (num, wire, _v, a, b) => {
      if (num !== 1 && num !== 2) return undefined;
      if (wire !== WIRE_LEN) return `tag field ${num} has wire type ${wire}`;
      if (num === 1) hasKey = true;
      return string('tag', a, b);
    });
    return err ?? (hasKey ? undefined : 'tag without its key');
  };
  const record = (from: number, to: number) => {
    let hasKeyIndex = false;
    let hasData = false;
    const err = walk(data, from, to, (num, wire, value, a, b) => {
      if (num > 4) return undefined;
      const want = num === 1 || num === 2 ? WIRE_VARINT : WIRE_LEN;
      if (wire !== want) return `user record ${records} field ${num} has wire type ${wire}`;
      if (num === 1) {
        hasKeyIndex = true;
        maxKeyIndex = Math.max(maxKeyIndex, value);
      } else if (num === 2) maxHashKeyIndex = Math.max(maxHashKeyIndex, value);
      else if (num === 3) hasData = true;
      else return tag(a, b);
      return undefined;
    });
    if (err) return err;
    if (!hasKeyIndex) return `user record ${records} has no partition key index`;
    return hasData ? undefined : `user record ${records} has no data`;
  };
  const err = walk(data, KPL_MAGIC.length, end, (num, wire, _v, a, b) => {
    if (num > 3) return undefined;
    if (wire !== WIRE_LEN) return `field ${num} has wire type ${wire}`;
    if (num === 1) {
      keys++;
      return string('partition key', a, b);
    }
    if (num === 2) {
      hashKeys++;
      return string('explicit hash key', a, b);
    }
    const bad = record(a, b);
    records++;
    return bad;
  });
  if (err) return { bad: `malformed protobuf: ${err}` };
  if (records === 0) return { bad: 'zero user records' };
  if (keys === 0) return { bad: 'empty partition key table' };
  if (maxKeyIndex >= keys) return { bad: `partition key index ${maxKeyIndex} outside its table of ${keys}` };
  if (maxHashKeyIndex >= hashKeys)
    return { bad: `explicit hash key index ${maxHashKeyIndex} outside its table of ${hashKeys}` };
  return { userRecords: records };
}

/** User records of a KPL aggregate, counted from its framing; undefined when it cannot be de-aggregated. */
export function countUserRecords(data: Uint8Array): number | undefined {
  const f = inspectAggregate(data);
  return 'userRecords' in f ? f.userRecords : undefined;
}

/**
 * A Kinesis record as its stream holds it, before de-aggregation: what a Lambda event carries (its data
 * base64-decoded, its arrival time in ms) and what GetRecords answers. filter-enrich takes these
 * (`makeFilterEnrich`), whoever read them.
 */
export type StreamRecord = Pick<RawRecord, 'sequenceNumber' | 'partitionKey' | 'data' | 'arrivalMs'>;

/** A Lambda event's Kinesis record, decoded. */
export function fromEventRecord(r: KinesisStreamRecord): StreamRecord {
  return {
    sequenceNumber: r.kinesis.sequenceNumber,
    partitionKey: r.kinesis.partitionKey,
    data: Buffer.from(r.kinesis.data, 'base64'),
    arrivalMs: Math.round(r.kinesis.approximateArrivalTimestamp * 1000),
  };
}

/**
 * The user records of one Kinesis record: itself when it is not a KPL aggregate, its user records when it
 * is one that passes the framing check, else itself marked with why it cannot be de-aggregated.
 */
export function userRecords(r: StreamRecord, maxUserRecords: number): RawRecord[] {
  const { sequenceNumber, partitionKey, data, arrivalMs } = r;
  const whole: RawRecord = { sequenceNumber, partitionKey, data, arrivalMs };
  if (!isAggregated(data)) return [whole];
  const framing = inspectAggregate(data);
  if ('bad' in framing) return [{ ...whole, badAggregate: framing.bad }];
  if (framing.userRecords > maxUserRecords)
    return [{ ...whole, tooManyUserRecords: { count: framing.userRecords, limit: maxUserRecords } }];
  let users: RawRecord[] | undefined;
  let failure: string | undefined;
  // The library reads a Lambda event's record, its data in base64. The MD5 was checked with the framing,
  // over these very bytes: the library need not hash them again.
  const payload = {
    kinesisSchemaVersion: '1.0',
    sequenceNumber,
    partitionKey,
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
    approximateArrivalTimestamp: arrivalMs / 1000,
  };
  agg.deaggregateSync(payload, false, (err, userRecords) => {
    if (err) failure ??= err.message;
    if (err || !userRecords) return;
    users = userRecords.map((u) => ({
      sequenceNumber,
      subSequenceNumber: u.subSequenceNumber,
      partitionKey: u.partitionKey,
      data: Buffer.from(u.data, 'base64'),
      arrivalMs,
    }));
  });
  // The framing was checked, so the library agrees with it; should it not, the aggregate is still one outcome.
  if (failure !== undefined || !users || users.length !== framing.userRecords)
    return [{ ...whole, badAggregate: `the KPL library refused it: ${failure ?? 'user records differ'}` }];
  return users;
}

/**
 * The user records of a Lambda event's Kinesis record, at most `maxUserRecords` per aggregate (the stage's
 * `maxUserRecordsPerAggregate`).
 */
export const toRawRecords = (r: KinesisStreamRecord, maxUserRecords: number): RawRecord[] =>
  userRecords(fromEventRecord(r), maxUserRecords);
