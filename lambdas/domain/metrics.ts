/**
 * The names of the custom metrics filter-enrich emits (EMF, namespace `METRICS_NAMESPACE` of
 * infra/contract.ts, which re-exports these). The handler emits them, the dashboard and alarms
 * (infra/constructs/operations.ts), `npm start`'s live view (scripts/live-stats.ts) and the tests read them:
 * renaming one here renames it everywhere.
 */
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
 * Data-quality metrics of a batch (`batchQuality`, lambdas/domain/quality.ts). A column's null share is its own
 * metric name (one per optional column of `impressions`: a closed set, and one EMF document for all of them);
 * the volumes and reject counts carry bounded dimensions (`QUALITY_DIMENSIONS`), one EMF document per value
 * seen in the batch.
 */
export const QUALITY_METRIC = {
  /** Percentage of accepted records with the optional column null or empty: `quality.null-share.<column>`. */
  nullShare: (column: string) => `quality.null-share.${column}`,
  UnknownTitleShare: 'quality.unknown-title-share',
  IngestLagP50Ms: 'quality.ingest-lag-p50',
  IngestLagP99Ms: 'quality.ingest-lag-p99',
  /** Percentage of accepted records older than an hour at arrival. */
  LateShare: 'quality.late-share',
  /** Accepted records, dimension `deviceType`. */
  EnrichedByDevice: 'quality.enriched-by-device',
  /** Accepted records, dimension `schemaVersion`. */
  EnrichedBySchema: 'quality.enriched-by-schema',
  /** Rejected records, dimensions `reason` and `field`. */
  RejectedByField: 'quality.rejected-by-field',
} as const;

/** The dimensions of the quality metrics (besides Powertools' `service`), each from a closed set. */
export const QUALITY_DIMENSIONS = {
  deviceType: 'deviceType',
  schemaVersion: 'schemaVersion',
  reason: 'reason',
  field: 'field',
} as const;

export interface QualityMetricPoint {
  readonly name: string;
  readonly unit: 'Percent' | 'Milliseconds' | 'Count';
  readonly value: number;
  /** Extra dimensions; absent for a metric of the batch's main EMF document. */
  readonly dimensions?: Readonly<Record<string, string>>;
}

/** The metric points of a batch's quality: shares and lag only when records were accepted, counts only when non-zero. */
export function qualityMetricPoints(q: {
  readonly nullPercent: ReadonlyMap<string, number>;
  readonly unknownTitlePercent?: number;
  readonly ingestLagP50Ms?: number;
  readonly ingestLagP99Ms?: number;
  readonly latePercent?: number;
  readonly byDeviceType: ReadonlyMap<string, number>;
  readonly bySchemaVersion: ReadonlyMap<string, number>;
  readonly rejected: readonly { readonly reason: string; readonly field: string; readonly count: number }[];
}): QualityMetricPoint[] {
  const out: QualityMetricPoint[] = [];
  for (const [column, value] of q.nullPercent)
    out.push({ name: QUALITY_METRIC.nullShare(column), unit: 'Percent', value });
  const optional = [
    [QUALITY_METRIC.UnknownTitleShare, 'Percent', q.unknownTitlePercent],
    [QUALITY_METRIC.IngestLagP50Ms, 'Milliseconds', q.ingestLagP50Ms],
    [QUALITY_METRIC.IngestLagP99Ms, 'Milliseconds', q.ingestLagP99Ms],
    [QUALITY_METRIC.LateShare, 'Percent', q.latePercent],
  ] as const;
  for (const [name, unit, value] of optional) if (value !== undefined) out.push({ name, unit, value });
  for (const [deviceType, value] of q.byDeviceType)
    out.push({ name: QUALITY_METRIC.EnrichedByDevice, unit: 'Count', value, dimensions: { deviceType } });
  for (const [schemaVersion, value] of q.bySchemaVersion)
    out.push({ name: QUALITY_METRIC.EnrichedBySchema, unit: 'Count', value, dimensions: { schemaVersion } });
  for (const r of q.rejected)
    out.push({
      name: QUALITY_METRIC.RejectedByField,
      unit: 'Count',
      value: r.count,
      dimensions: { reason: r.reason, field: r.field },
    });
  return out;
}
