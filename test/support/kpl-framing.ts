/**
 * Hand-built KPL aggregates (magic bytes, protobuf `AggregatedRecord`, MD5) for tests that need framing the
 * KPL and aws-kinesis-agg never write: indices outside their tables, empty key tables, zero user records,
 * long varints, unknown fields. Field numbers and types follow the library's `kpl.json`.
 */
import { createHash } from 'node:crypto';

export const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

/** A protobuf varint of `n`, padded with redundant continuation bytes to `minBytes` (still valid up to 10). */
export function varint(n: number | bigint, minBytes = 1): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    out.push(Number(v & 0x7fn));
    v >>= 7n;
  } while (v > 0n);
  while (out.length < minBytes) out.push(0);
  return Buffer.from(out.map((b, i) => (i < out.length - 1 ? b | 0x80 : b)));
}

export const key = (field: number, wire: number, minBytes = 1) => varint(field * 8 + wire, minBytes);
export const lenField = (field: number, payload: Uint8Array) =>
  Buffer.concat([key(field, 2), varint(payload.byteLength), payload]);
export const varintField = (field: number, value: number | bigint, minBytes = 1) =>
  Buffer.concat([key(field, 0), varint(value, minBytes)]);

export interface UserRecordSpec {
  readonly keyIndex?: number | bigint;
  readonly hashKeyIndex?: number | bigint;
  readonly data?: Uint8Array;
  /** Raw bytes appended inside the `Record` message. */
  readonly extra?: Uint8Array;
}

/** The `Record` message of one user record. */
export function userRecord(r: UserRecordSpec): Buffer {
  return Buffer.concat([
    r.keyIndex === undefined ? Buffer.alloc(0) : varintField(1, r.keyIndex),
    r.hashKeyIndex === undefined ? Buffer.alloc(0) : varintField(2, r.hashKeyIndex),
    r.data === undefined ? Buffer.alloc(0) : lenField(3, r.data),
    r.extra ?? Buffer.alloc(0),
  ]);
}

export interface AggregateSpec {
  readonly keys?: readonly string[];
  readonly hashKeys?: readonly string[];
  readonly records?: readonly UserRecordSpec[];
  /** Raw bytes appended to the `AggregatedRecord` message (unknown fields, broken framing). */
  readonly extra?: Uint8Array;
}

/** The protobuf body of an aggregate. */
export function aggregateBody(a: AggregateSpec): Buffer {
  return Buffer.concat([
    ...(a.keys ?? []).map((k) => lenField(1, Buffer.from(k))),
    ...(a.hashKeys ?? []).map((k) => lenField(2, Buffer.from(k))),
    ...(a.records ?? []).map((r) => lenField(3, userRecord(r))),
    a.extra ?? Buffer.alloc(0),
  ]);
}

/** Magic bytes, `body` and its MD5: a record the KPL's framing recognises. */
export function frame(body: Uint8Array): Buffer {
  return Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
}

export const craftAggregate = (a: AggregateSpec) => frame(aggregateBody(a));
