/**
 * filter-enrich: raw stream → history (DynamoDB), enriched stream and rejected stream. Its entry point,
 * `makeFilterEnrich`, takes a batch of Kinesis records as the stream holds them: it de-aggregates them,
 * classifies and enriches with the pure domain, offers the candidates to the history (whose conditional
 * bucket writes store the new impressions and detect producer duplicates and bursts), writes the enriched
 * and rejected records, emits metrics and answers the records not done. The Lambda handler decodes the
 * event, calls it and reports those records (batchItemFailures); `npm run redrive` calls it with the records
 * it read back from the stream, so a re-drive gets exactly the outcome of a redelivery.
 * Data errors never fail the batch; infrastructure failures are reported per record.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { documentClient, kinesisClient } from '../adapters/clients.js';
import { systemClock } from '../adapters/clock.js';
import { fromEventRecord, type StreamRecord, userRecords } from '../adapters/kinesis-event.js';
import { observability } from '../adapters/observability.js';
import {
  type EnrichedSink,
  enrichedStreamSink,
  type RejectedSink,
  rejectedStreamSink,
} from '../adapters/stream-sinks.js';
import { titleCatalog } from '../adapters/title-catalog.js';
import type { ClassifierConfig } from '../domain/classify.js';
import {
  applyErasures,
  type BatchPlan,
  type FilterEnrichPorts,
  historyCandidate,
  planBatch,
  profilesOf,
  type RawRecord,
  type RecordOutcome,
  settleBatch,
} from '../domain/filter-enrich.js';
import { METRIC, qualityMetricPoints, rejectReasonMetric } from '../domain/metrics.js';
import { batchQuality } from '../domain/quality.js';
import {
  type AdmitSettings,
  type HistoryStore,
  historyStore,
  type StoreOptions,
} from '../history-store/index.js';
import { type FilterEnrichSettings, filterEnrichSettings } from './settings.js';

export interface FilterEnrichDeps {
  readonly config: ClassifierConfig;
  readonly ports: FilterEnrichPorts;
  /**
   * The history table's write side: stores impressions, detects duplicates and bursts; and the erasure
   * markers of the batch's profiles (`filtered.erased`).
   */
  readonly history: Pick<HistoryStore, 'admit' | 'erasures'>;
  readonly historySettings: AdmitSettings;
  /** Where enriched records go (the enriched stream). */
  readonly enriched: EnrichedSink;
  /** Where rejected rows go (the rejected stream). */
  readonly rejected: RejectedSink;
  /** User records per KPL aggregate above which it is rejected whole (the stage's `maxUserRecordsPerAggregate`). */
  readonly maxUserRecordsPerAggregate: number;
  readonly nowMs?: () => number;
}

const { logger, metrics } = observability('filter-enrich');

/** What filter-enrich did with a batch: the Kinesis records it leaves for retry, by sequence number. */
export interface BatchResult {
  readonly retry: readonly string[];
}

/**
 * filter-enrich's entry point: a batch of Kinesis records (as the stream holds them, in stream order) to
 * their outcomes. A record it answers in `retry` is not done (an infrastructure fault on its way); every
 * other one is, whatever its outcome (enriched, filtered, rejected). It never throws for a batch.
 */
export type FilterEnrich = (records: readonly StreamRecord[]) => Promise<BatchResult>;

export function makeFilterEnrich(deps: FilterEnrichDeps): FilterEnrich {
  const now = deps.nowMs ?? systemClock;
  const maxUserRecords = deps.maxUserRecordsPerAggregate;

  return async (streamRecords) => {
    const records = streamRecords.flatMap((r) => userRecords(r, maxUserRecords));
    try {
      const { failed, plan, admitted } = await processBatch(records, deps);
      emitBatchMetrics(records, plan, admitted, failed, now());
      if (failed.size) logger.warn('records left for retry', { failed: failed.size, of: records.length });
      return { retry: [...failed] };
    } catch (err) {
      // An infrastructure fault that affects the whole batch: every record is left for retry, so that the
      // event source mapping retries from the first one (bounded retries, bisect, then the on-failure
      // destination).
      logger.error('batch failed', { error: err as Error, records: records.length });
      metrics.addMetric(METRIC.BatchFailures, MetricUnit.Count, 1);
      return { retry: streamRecords.map((r) => r.sequenceNumber) };
    } finally {
      // The batch's one flush (an invocation's), whichever way it went.
      metrics.publishStoredMetrics();
    }
  };
}

/** The Lambda handler: the event decoded, handed to filter-enrich, what it leaves reported for retry. */
export function makeHandler(deps: FilterEnrichDeps) {
  const filterEnrich = makeFilterEnrich(deps);
  return async (event: KinesisStreamEvent, context?: Context): Promise<KinesisStreamBatchResponse> => {
    if (context) logger.addContext(context);
    const { retry } = await filterEnrich(event.Records.map(fromEventRecord));
    return { batchItemFailures: retry.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

type Admitted = Awaited<ReturnType<FilterEnrichDeps['history']['admit']>>;

/**
 * The batch's writes: the history, then the enriched and rejected streams. Answers the sequence numbers left
 * for retry, the final plan and what the history stored.
 */
async function processBatch(
  records: readonly RawRecord[],
  deps: FilterEnrichDeps,
): Promise<{ failed: Set<string>; plan: BatchPlan; admitted: Admitted }> {
  const failed = new Set<string>();
  const planned = await planBatch(records, deps.config, deps.ports);
  // Impressions of erased profiles from before their erasure are neither stored nor enriched: the
  // markers are read (consistently) before the history write, and again before the enriched stream
  // for the profiles that reached it (an erasure that came in between).
  const before = await deps.history.erasures(profilesOf(planned.enriched));
  const candidates = applyErasures(planned, before.at, before.unknown);
  for (const e of candidates.failed) failed.add(e.sequenceNumber);
  // The history first: its answer decides which candidates are enriched, duplicates or bursts.
  const admitted = await deps.history.admit(candidates.enriched.map(historyCandidate), deps.historySettings);
  const settled = settleBatch(records, candidates, admitted.admissions);
  for (const e of settled.failed) failed.add(e.sequenceNumber);
  const after = settled.enriched.length ? await deps.history.erasures(profilesOf(settled.enriched)) : before;
  const plan = applyErasures(settled, after.at, after.unknown);
  for (const e of plan.failed) failed.add(e.sequenceNumber);
  const [enrichedResult, rejectedResult] = await Promise.all([
    deps.enriched.put(plan.enriched),
    deps.rejected.put(plan.rejected),
  ]);
  for (const r of rejectedResult.failed) failed.add(r.sequenceNumber);
  for (const e of enrichedResult.failed) failed.add(e.sequenceNumber);
  return { failed, plan, admitted };
}

/** The batch's metrics: history writes, freshness, data quality and the outcomes of the records done. */
function emitBatchMetrics(
  records: readonly RawRecord[],
  plan: BatchPlan,
  admitted: Admitted,
  failed: ReadonlySet<string>,
  nowMs: number,
): void {
  metrics.addMetric(METRIC.HistoryItemsWritten, MetricUnit.Count, admitted.stored);
  metrics.addMetric(METRIC.BucketWrites, MetricUnit.Count, admitted.writes);
  if (plan.enriched.length)
    metrics.addMetric(
      METRIC.FreshnessMaxMs,
      MetricUnit.Milliseconds,
      plan.enriched.reduce((m, e) => Math.max(m, nowMs - e.eventTimeMs), 0),
    );
  const done = plan.outcomes.filter((_, i) => !failed.has(records[i]!.sequenceNumber));
  emitQuality(
    plan.enriched.filter((e) => !failed.has(e.sequenceNumber)).map((e) => e.record),
    done.flatMap((o) => (o.outcome === 'rejected' ? [o.reason] : [])),
  );
  emitMetrics(done, failed.size);
}

/** Counts the outcomes of the records done (records reported for retry are counted when they are done). */
function emitMetrics(outcomes: readonly RecordOutcome[], failed: number): void {
  const counts = new Map<string, number>();
  const bump = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  let maxLag = 0;
  for (const o of outcomes) {
    bump(METRIC.RecordsRead);
    if (o.outcome === 'enriched') {
      bump(METRIC.Enriched);
      if (o.unknownTitle) bump(METRIC.UnknownTitle);
      maxLag = Math.max(maxLag, o.ingestLagMs);
    } else if (o.outcome === 'filtered') {
      bump(METRIC.Filtered);
      bump(o.reason);
    } else {
      bump(METRIC.Rejected);
      // The path is in the rejected row.
      bump(rejectReasonMetric(o.reason));
    }
  }
  for (const [name, value] of counts) metrics.addMetric(name, MetricUnit.Count, value);
  if (counts.has(METRIC.Enriched)) metrics.addMetric(METRIC.IngestLagMaxMs, MetricUnit.Milliseconds, maxLag);
  if (failed) metrics.addMetric(METRIC.RecordsLeftForRetry, MetricUnit.Count, failed);
}

/**
 * The batch's data-quality metrics (docs/operations.md, "Data-quality metrics"), every one a name in the
 * batch's main EMF document (published with the counts): no dimensioned document per value.
 */
function emitQuality(accepted: Parameters<typeof batchQuality>[0], rejectedReasons: readonly string[]): void {
  for (const p of qualityMetricPoints(batchQuality(accepted, rejectedReasons)))
    metrics.addMetric(p.name, MetricUnit[p.unit], p.value);
}

/**
 * The deployed wiring: settings from the environment (read once), the SDK clients, the stream sinks, the
 * title catalog and the history store. Exported for the benchmarks, which swap one port to measure the rest,
 * and for `npm run redrive`, which runs filter-enrich with the deployment's settings and its own clients.
 */
export function deployedDeps(
  s: FilterEnrichSettings = filterEnrichSettings(),
  clients: { readonly documents: DynamoDBDocumentClient; readonly kinesis: KinesisClient } = {
    documents: documentClient(),
    kinesis: kinesisClient(),
  },
  storeOptions: StoreOptions = {},
): FilterEnrichDeps {
  const docs = clients.documents;
  const kinesis = clients.kinesis;
  return {
    ...s,
    enriched: enrichedStreamSink(kinesis, s.enrichedStreamName, { aggregate: s.aggregateEnriched }),
    rejected: rejectedStreamSink(kinesis, s.rejectedStreamName),
    ports: {
      titles: titleCatalog(docs, s.catalogTableName, {
        onUnavailable: (n) => metrics.addMetric(METRIC.CatalogUnavailable, MetricUnit.Count, n),
      }).titles,
    },
    history: historyStore(docs, s.historyTableName, undefined, storeOptions),
  };
}

let defaultHandler: ReturnType<typeof makeHandler> | undefined;

export const handler = (
  event: KinesisStreamEvent,
  context?: Context,
): Promise<KinesisStreamBatchResponse> => {
  defaultHandler ??= makeHandler(deployedDeps());
  return defaultHandler(event, context);
};
