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
