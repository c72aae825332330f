/**
 * The names of the custom metrics filter-enrich emits and their namespace (EMF; infra/contract.ts
 * re-exports these). The handler emits them, the dashboard and alarms
 * (infra/constructs/operations.ts), `npm start`'s live view (scripts/live-stats.ts) and the tests read them:
 * renaming one here renames it everywhere.
 */
/** The CloudWatch namespace of the functions' custom metrics (EMF). */
export const METRICS_NAMESPACE = 'Impressions';

export const METRIC = {
  /** Records taken from the raw stream and done (those left for retry are counted when done). */
  RecordsRead: 'RecordsRead',
  Enriched: 'Enriched',
  Filtered: 'Filtered',
  Rejected: 'Rejected',
  /** Enriched records whose title is not in the catalog. */
  UnknownTitle: 'enrich.unknown-title',
  /** Titles the catalog could not answer for after its retries: enriched as unknown titles (also counted there). */
  CatalogUnavailable: 'enrich.catalog-unavailable',
  HistoryItemsWritten: 'HistoryItemsWritten',
  BucketWrites: 'BucketWrites',
  /** Largest now − event time over the batch's enriched records, once the history holds them. */
  FreshnessMaxMs: 'FreshnessMaxMs',
  /** Largest ingest lag of the batch's enriched records. */
  IngestLagMaxMs: 'IngestLagMaxMs',
  RecordsLeftForRetry: 'RecordsLeftForRetry',
  BatchFailures: 'BatchFailures',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/**
 * Reason metrics: a filter reason is its own metric (`filtered.duplicate`); a reject reason counts under its
 * family, the reason without its field path (`rejected.schema.missing`), which keeps the metric set bounded.
 */
export const rejectReasonMetric = (reason: string): string => `rejected.${reason.split(':')[0]}`;

/**
 * Data-quality metrics of a batch (`batchQuality`, lambdas/domain/quality.ts), all in the batch's one EMF
 * document (dimension `service` only): every bounded value is part of a metric NAME (a column's null share,
 * a device type's volume, a schema version's volume, a reason and field path's rejects) rather than a
 * dimension value, since an EMF document carries one value per dimension and a dimensioned value would need
 * a document of its own (≈ 300 B of log lines each, per batch).
 */
export const QUALITY_METRIC = {
  /** Percentage of accepted records with the optional column null or empty: `quality.null-share.<column>`. */
  nullShare: (column: string) => `quality.null-share.${column}`,
  UnknownTitleShare: 'quality.unknown-title-share',
  IngestLagP50Ms: 'quality.ingest-lag-p50',
  IngestLagP99Ms: 'quality.ingest-lag-p99',
  /** Percentage of accepted records older than an hour at arrival. */
  LateShare: 'quality.late-share',
  /** Accepted records of a device type (`DEVICE_TYPES`, else `other`): `quality.enriched.tv`. */
  enrichedByDevice: (deviceType: string) => `quality.enriched.${deviceType}`,
  /** Accepted records of a schema version (`SCHEMA_REGISTRY`, else `other`): `quality.enriched-schema.impression/1-0-0`. */
  enrichedBySchema: (schemaVersion: string) => `quality.enriched-schema.${schemaVersion}`,
  /**
   * Rejected records of a reason (`REJECT_REASONS`, else `other`) and field path (`SCHEMA_FIELD_PATHS`,
   * `none`, else `other`), written as a reason code: `quality.rejected.schema.missing-field:device.type`.
   */
  rejectedByField: (reason: string, field: string) => `quality.rejected.${reason}:${field}`,
  /** The prefix of every `rejectedByField` name. */
  RejectedPrefix: 'quality.rejected.',
} as const;

/**
 * Reason/field pairs published per batch, most frequent first; the rest are summed under
 * `quality.rejected.other:other`, so a batch adds at most this many reject names to its document.
 */
export const MAX_REJECTED_PAIRS_PER_BATCH = 20;

export interface QualityMetricPoint {
  readonly name: string;
  readonly unit: 'Percent' | 'Milliseconds' | 'Count';
  readonly value: number;
}

/** A percentage to 0.01 (a log line carries `14.29`, not `14.285714285714286`). */
const hundredths = (v: number) => Math.round(v * 100) / 100;

/**
 * The metric points of a batch's quality: shares and lag only when records were accepted, counts only when
 * non-zero, at most `MAX_REJECTED_PAIRS_PER_BATCH` reject pairs (the rest as `other:other`), percentages to
 * 0.01.
 */
export function qualityMetricPoints(q: {
  readonly nullPercent: ReadonlyMap<string, number>;
  readonly unknownTitlePercent?: number;
  readonly ingestLagP50Ms?: number;
  readonly ingestLagP99Ms?: number;
  readonly latePercent?: number;
  readonly byDeviceType: ReadonlyMap<string, number>;
  readonly bySchemaVersion: ReadonlyMap<string, number>;
  /** Most frequent first (as `batchQuality` orders them). */
  readonly rejected: readonly { readonly reason: string; readonly field: string; readonly count: number }[];
}): QualityMetricPoint[] {
  const out: QualityMetricPoint[] = [];
  for (const [column, value] of q.nullPercent)
    out.push({ name: QUALITY_METRIC.nullShare(column), unit: 'Percent', value: hundredths(value) });
  const optional = [
    [QUALITY_METRIC.UnknownTitleShare, 'Percent', q.unknownTitlePercent],
    [QUALITY_METRIC.IngestLagP50Ms, 'Milliseconds', q.ingestLagP50Ms],
    [QUALITY_METRIC.IngestLagP99Ms, 'Milliseconds', q.ingestLagP99Ms],
    [QUALITY_METRIC.LateShare, 'Percent', q.latePercent],
  ] as const;
  for (const [name, unit, value] of optional)
    if (value !== undefined) out.push({ name, unit, value: unit === 'Percent' ? hundredths(value) : value });
  for (const [deviceType, value] of q.byDeviceType)
    if (value > 0) out.push({ name: QUALITY_METRIC.enrichedByDevice(deviceType), unit: 'Count', value });
  for (const [schemaVersion, value] of q.bySchemaVersion)
    if (value > 0) out.push({ name: QUALITY_METRIC.enrichedBySchema(schemaVersion), unit: 'Count', value });
  const pairs = q.rejected.filter((r) => r.count > 0);
  const kept =
    pairs.length > MAX_REJECTED_PAIRS_PER_BATCH ? pairs.slice(0, MAX_REJECTED_PAIRS_PER_BATCH - 1) : pairs;
  const counts = new Map<string, number>();
  for (const r of kept) {
    const name = QUALITY_METRIC.rejectedByField(r.reason, r.field);
    counts.set(name, (counts.get(name) ?? 0) + r.count);
  }
  const rest = pairs.slice(kept.length).reduce((n, r) => n + r.count, 0);
  if (rest > 0) {
    const name = QUALITY_METRIC.rejectedByField('other', 'other');
    counts.set(name, (counts.get(name) ?? 0) + rest);
  }
  for (const [name, value] of counts) out.push({ name, unit: 'Count', value });
  return out;
}
