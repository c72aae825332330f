/**
 * The wire form of the records on the enriched and rejected streams: one JSON object per record, keyed by the
 * Iceberg columns, each value encoded as Amazon Data Firehose's Iceberg destination documents for the
 * column's type (`WIRE_RULES` below: the rules and their sources). The in-memory records
 * (`EnrichedRecord`, `RejectedRow`) keep RFC 3339 strings for times; only the wire differs. Pure.
 *
 * Both directions are driven by the one column schema (`IMPRESSIONS_TABLE`, `REJECTED_TABLE`), so a column
 * added there is encoded and checked here without further change.
 */
import type { EnrichedRecord } from '../domain/enrich.js';
import type { RejectedRow } from '../domain/filter-enrich.js';
import {
  type IcebergType,
  IMPRESSIONS_TABLE,
  type LakeColumn,
  type LakeTableDefinition,
  REJECTED_TABLE,
} from '../domain/lake-schema.js';
import { daysInMonth } from '../domain/time.js';

/**
 * How a record on the enriched and rejected streams encodes each column type, so that Amazon Data Firehose's
 * Iceberg destination writes it without a transformation (contract: impression-event.md, "Enrichment").
 * Source for every form: Firehose developer guide, "Understand supported data types"
 * (https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-destination-supp.html) and "Considerations and
 * limitations" (https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-considerations.html).
 *
 * - `timestamptz`: a JSON integer, microseconds since the Unix epoch ("For Timestamp data types, you must
 *   always send in microseconds"; the page's TimestampType.withZone example: `1725476175099000`).
 * - `date`: a JSON string `yyyy-MM-dd` (the page's DateType example `"2024-09-04"`; it also shows the day
 *   number `19970`, which we do not use: a string cannot be mistaken for another scale).
 * - `int` / `long`: a JSON integer (IntegerType / LongType examples `7`, `8`).
 * - `string`: a JSON string. `boolean`: `true` / `false`.
 * - `list<string>`: a JSON array of strings (ListType example). `map<string,string>`: a JSON object of string
 *   values (MapType example).
 * - every column is present as a key; `null` only in an optional column. Keys that are not columns are
 *   skipped by Firehose ("If ... you have an additional field present in the source record, Firehose skips
 *   the new field"); we never write any.
 */
export const WIRE_RULES = {
  /**
   * A timestamp is taken as microseconds only within [2000-01-01, 2200-01-01): seconds (≈1.8e9), milliseconds
   * (≈1.8e12) and nanoseconds (≈1.8e18) of any date this pipeline can see fall outside, so a wrong scale is
   * refused instead of landing decades away. Millisecond values inside the range would mean years past 31,000.
   */
  timestampMicrosMin: Date.UTC(2000, 0, 1) * 1000,
  timestampMicrosMax: Date.UTC(2200, 0, 1) * 1000,
  /** "Firehose supports 16 levels of nesting" (Considerations and limitations, "Columns"); the record is level 1. */
  maxNestingDepth: 16,
} as const;

/** A JSON value as it travels on the stream. */
export type WireValue =
  | string
  | number
  | boolean
  | null
  | readonly (string | null)[]
  | Readonly<Record<string, string | null>>;

/** One record on the stream: the table's columns, in order, each in its wire form. */
export type WireRecord = Readonly<Record<string, WireValue>>;

/** A value that cannot be put on the stream, or a stream record that is not in the wire form. */
export class StreamEncodingError extends Error {
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(`${column}: ${message}`);
    this.name = 'StreamEncodingError';
  }
}

const DATE_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Epoch microseconds of an instant given as RFC 3339 text or epoch milliseconds. */
function toMicros(c: LakeColumn, v: unknown): number {
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) throw new StreamEncodingError(c.name, `not an instant: ${String(v)}`);
  const micros = Math.round(ms) * 1000;
  if (micros < WIRE_RULES.timestampMicrosMin || micros >= WIRE_RULES.timestampMicrosMax)
    throw new StreamEncodingError(c.name, `instant out of the accepted range: ${String(v)}`);
  return micros;
}

/** Whether `v` is a valid calendar date `yyyy-MM-dd` (no 30 February, 29 February only in leap years). */
function isDate(v: unknown): v is string {
  if (typeof v !== 'string' || !DATE_RE.test(v)) return false;
  const year = Number(v.slice(0, 4));
  const month = Number(v.slice(5, 7));
  const day = Number(v.slice(8, 10));
  return day <= daysInMonth(year, month);
}

function checkInteger(c: LakeColumn, t: 'int' | 'long', v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || (t === 'int' && (v < INT32_MIN || v > INT32_MAX)))
    throw new StreamEncodingError(c.name, `not an ${t}: ${JSON.stringify(v)}`);
  return v;
}

function checkStrings(c: LakeColumn, v: unknown): readonly (string | null)[] {
  if (!Array.isArray(v) || !v.every((x) => x === null || typeof x === 'string'))
    throw new StreamEncodingError(c.name, 'not a list of strings');
  return v as (string | null)[];
}

function checkStringMap(c: LakeColumn, v: unknown): Readonly<Record<string, string | null>> {
  if (!isPlainObject(v) || !Object.values(v).every((x) => x === null || typeof x === 'string'))
    throw new StreamEncodingError(c.name, 'not a map of strings');
  return v as Record<string, string | null>;
}

/** In-memory value → wire value of one column. */
function encodeValue(c: LakeColumn, t: IcebergType, v: unknown): WireValue {
  if (typeof t !== 'string') return t.type === 'list' ? checkStrings(c, v) : checkStringMap(c, v);
  switch (t) {
    case 'timestamptz':
      return toMicros(c, v);
    case 'date':
      if (!isDate(v)) throw new StreamEncodingError(c.name, `not a date yyyy-MM-dd: ${String(v)}`);
      return v;
    case 'int':
    case 'long':
      return checkInteger(c, t, v);
    case 'string':
      if (typeof v !== 'string') throw new StreamEncodingError(c.name, 'not a string');
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw new StreamEncodingError(c.name, 'not a boolean');
      return v;
  }
}

/** Wire value → in-memory value of one column (the inverse of `encodeValue`). */
function decodeValue(c: LakeColumn, t: IcebergType, v: unknown): unknown {
  if (t === 'timestamptz') {
    if (
      typeof v !== 'number' ||
      !Number.isSafeInteger(v) ||
      v < WIRE_RULES.timestampMicrosMin ||
      v >= WIRE_RULES.timestampMicrosMax
    )
      throw new StreamEncodingError(c.name, `not microseconds since the epoch: ${JSON.stringify(v)}`);
    return new Date(Math.floor(v / 1000)).toISOString();
  }
  return encodeValue(c, t, v);
}

function convertRow(
  table: LakeTableDefinition,
  row: unknown,
  convert: (c: LakeColumn, t: IcebergType, v: unknown) => unknown,
): Record<string, unknown> {
  if (!isPlainObject(row)) throw new StreamEncodingError(table.name, 'not a JSON object');
  const out: Record<string, unknown> = {};
  for (const c of table.columns) {
    const v = row[c.name];
    if (v === undefined && !(c.name in row)) throw new StreamEncodingError(c.name, 'missing column');
    if (v === null || v === undefined) {
      if (c.required) throw new StreamEncodingError(c.name, 'null in a required column');
      out[c.name] = null;
    } else out[c.name] = convert(c, c.type, v);
  }
  return out;
}

/** Any row of `table` in its wire form: every column present, in column order. Throws `StreamEncodingError`. */
export function encodeRow(table: LakeTableDefinition, row: Readonly<Record<string, unknown>>): WireRecord {
  return convertRow(table, row, encodeValue) as WireRecord;
}

/** A wire record of `table` (parsed JSON) back in memory; unknown keys are ignored, as Firehose skips them. */
export function decodeRow(table: LakeTableDefinition, json: unknown): Record<string, unknown> {
  return convertRow(table, json, decodeValue);
}

/** The enriched stream's record for an enriched impression. */
export function toEnrichedWire(record: EnrichedRecord): WireRecord {
  return encodeRow(IMPRESSIONS_TABLE, record as unknown as Record<string, unknown>);
}

/** An enriched stream record (parsed JSON) as the in-memory `EnrichedRecord`. Throws `StreamEncodingError`. */
export function fromEnrichedWire(json: unknown): EnrichedRecord {
  return decodeRow(IMPRESSIONS_TABLE, json) as unknown as EnrichedRecord;
}

/** The rejected stream's record for a rejected row. */
export function toRejectedWire(row: RejectedRow): WireRecord {
  return encodeRow(REJECTED_TABLE, row as unknown as Record<string, unknown>);
}

/** A rejected stream record (parsed JSON) as the in-memory `RejectedRow`. Throws `StreamEncodingError`. */
export function fromRejectedWire(json: unknown): RejectedRow {
  return decodeRow(REJECTED_TABLE, json) as unknown as RejectedRow;
}

const utf8 = new TextDecoder();

/** Parses the bytes of an enriched stream record; `undefined` when they are not one (never throws). */
export function parseEnrichedWire(data: Uint8Array): EnrichedRecord | undefined {
  try {
    return fromEnrichedWire(JSON.parse(utf8.decode(data)));
  } catch {
    return undefined;
  }
}
