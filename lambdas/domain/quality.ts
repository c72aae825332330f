/**
 * Column-level data quality of one filter-enrich batch, as a pure function: over the accepted records, the
 * null-or-empty share of every optional column of `impressions`, the unknown-title share, the ingest lag
 * (p50, p99), the share of late events, the volume per device type and per schema version; over the
 * rejected records, the counts by reason and field path. Every key it returns comes from a closed set (the
 * table's columns, the device types, the schema registry, the reason list, the schemas' field paths), so the
 * metrics published from it have bounded dimensions (docs/operations.md, "Data-quality metrics").
 */
import { REJECT_REASONS } from './classify.js';
import type { EnrichedRecord } from './enrich.js';
import { DEVICE_TYPES, type DeviceType, SCHEMA_REGISTRY } from './event-schema.js';
import { IMPRESSIONS_TABLE } from './lake-schema.js';

/** The optional columns of `impressions`, in table order: those whose null share is measured. */
export const OPTIONAL_COLUMNS: readonly (keyof EnrichedRecord)[] = IMPRESSIONS_TABLE.columns
  .filter((c) => !c.required)
  .map((c) => c.name as keyof EnrichedRecord);

/** An event is late when it arrives more than this after its event time. */
export const LATE_AFTER_MS = 3600 * 1000;

/** The value every key outside its closed set is counted under. */
export const OTHER = 'other';
/** The field of a reject reason without a field path (`time.future`, `decode.not-json`). */
export const NO_FIELD = 'none';

/** Every field path the registered schemas define (`device.os`, `row.index`, `context`): the closed set of fields. */
export const SCHEMA_FIELD_PATHS: ReadonlySet<string> = new Set(
  [...SCHEMA_REGISTRY.values()].flatMap((v) => fieldPaths(v.validate.schema)),
);

function fieldPaths(schema: unknown, prefix = ''): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const props = (schema as { properties?: Record<string, unknown> }).properties;
  if (!props) return [];
  return Object.entries(props).flatMap(([name, child]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    return [path, ...fieldPaths(child, path)];
  });
}

const REASONS: ReadonlySet<string> = new Set(REJECT_REASONS);
const DEVICES: ReadonlySet<string> = new Set(DEVICE_TYPES);

export interface RejectedCount {
  /** A reason of `REJECT_REASONS`, else `other`. */
  readonly reason: string;
  /** A path of `SCHEMA_FIELD_PATHS`, `none` for a reason without a path, else `other`. */
  readonly field: string;
  readonly count: number;
}

export interface BatchQuality {
  /** Accepted (enriched) records measured. */
  readonly accepted: number;
  /** Per optional column, the percentage (0–100) of accepted records where it is null or empty; absent when none accepted. */
  readonly nullPercent: ReadonlyMap<string, number>;
  /** Percentage of accepted records whose title is not in the catalog (no catalog column filled). */
  readonly unknownTitlePercent?: number;
  /** Ingest lag (arrival − event time) percentiles over the accepted records, nearest rank, ms. */
  readonly ingestLagP50Ms?: number;
  readonly ingestLagP99Ms?: number;
  /** Percentage of accepted records that arrived more than `LATE_AFTER_MS` after their event time. */
  readonly latePercent?: number;
  /** Accepted records per device type (a type outside the enum counts as `other`). */
  readonly byDeviceType: ReadonlyMap<DeviceType | typeof OTHER, number>;
  /** Accepted records per schema version (a version outside the registry counts as `other`). */
  readonly bySchemaVersion: ReadonlyMap<string, number>;
  /** Rejected records by reason and field path, most frequent first. */
  readonly rejected: readonly RejectedCount[];
}

/** Null, an empty string, an empty list or an empty map. */
const isNullOrEmpty = (v: unknown): boolean =>
  v === null ||
  v === undefined ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

/** The bounded (reason, field) of a reason code `reason[:path]`. */
export function reasonAndField(code: string): { reason: string; field: string } {
  const colon = code.indexOf(':');
  const reason = colon < 0 ? code : code.slice(0, colon);
  const path = colon < 0 ? '' : code.slice(colon + 1);
  return {
    reason: REASONS.has(reason) ? reason : OTHER,
    field: path === '' ? NO_FIELD : SCHEMA_FIELD_PATHS.has(path) ? path : OTHER,
  };
}

const bump = <K>(m: Map<K, number>, k: K, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
const percent = (n: number, of: number) => (100 * n) / of;

/**
 * The quality of a batch: `accepted` the enriched records done (those left for retry are measured when
 * done), `rejectedReasons` the reason codes (`schema.missing-field:device.type`) of its rejected records.
 */
export function batchQuality(
  accepted: readonly EnrichedRecord[],
  rejectedReasons: readonly string[],
): BatchQuality {
  const nulls = new Map<string, number>(OPTIONAL_COLUMNS.map((c) => [c, 0]));
  const byDeviceType = new Map<DeviceType | typeof OTHER, number>();
  const bySchemaVersion = new Map<string, number>();
  const lags: number[] = new Array(accepted.length);
  let unknownTitles = 0;
  let late = 0;
  accepted.forEach((r, i) => {
    for (const c of OPTIONAL_COLUMNS) if (isNullOrEmpty(r[c])) bump(nulls, c);
    if (r.title_name === null && r.title_type === null && r.maturity_rating === null) unknownTitles++;
    lags[i] = r.ingest_lag_ms;
    if (r.ingest_lag_ms > LATE_AFTER_MS) late++;
    bump(byDeviceType, DEVICES.has(r.device_type) ? (r.device_type as DeviceType) : OTHER);
    bump(bySchemaVersion, SCHEMA_REGISTRY.has(r.schema_version) ? r.schema_version : OTHER);
  });

  const rejectedCounts = new Map<string, RejectedCount>();
  for (const code of rejectedReasons) {
    const { reason, field } = reasonAndField(code);
    const key = `${reason}\u0000${field}`;
    const seen = rejectedCounts.get(key);
    rejectedCounts.set(key, { reason, field, count: (seen?.count ?? 0) + 1 });
  }
  const rejected = [...rejectedCounts.values()].sort(
    (a, b) => b.count - a.count || a.reason.localeCompare(b.reason) || a.field.localeCompare(b.field),
  );

  const n = accepted.length;
  if (n === 0) return { accepted: 0, nullPercent: new Map(), byDeviceType, bySchemaVersion, rejected };
  lags.sort((a, b) => a - b);
  return {
    accepted: n,
    nullPercent: new Map([...nulls].map(([c, k]) => [c, percent(k, n)])),
    unknownTitlePercent: percent(unknownTitles, n),
    ingestLagP50Ms: percentile(lags, 50),
    ingestLagP99Ms: percentile(lags, 99),
    latePercent: percent(late, n),
    byDeviceType,
    bySchemaVersion,
    rejected,
  };
}
