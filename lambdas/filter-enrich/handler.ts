/**
 * filter-enrich: raw stream → enriched stream (and rejected stream). Thin adapter: decode the Lambda event,
 * plan the batch with the pure domain, write, emit metrics, report the records not done.
 * Data errors never fail the batch; infrastructure failures are reported per record (batchItemFailures).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { documentClient, kinesisClient } from '../adapters/clients.js';
import { dedupStore } from '../adapters/dedup-store.js';
import { toRawRecords } from '../adapters/kinesis-event.js';
import { putRecordsReliably } from '../adapters/kinesis-writer.js';
import { aggregateByKey } from '../adapters/kpl-aggregate.js';
import { observability } from '../adapters/observability.js';
import type { RetryPolicy } from '../adapters/retry.js';
import { titleCatalog } from '../adapters/title-catalog.js';
import { type ClassifierConfig, DEFAULT_CLASSIFIER_CONFIG } from '../domain/classify.js';
import { type FilterEnrichPorts, planBatch } from '../domain/filter-enrich.js';
import { toEnrichedWire, toRejectedWire } from '../domain/stream-encoding.js';

export interface FilterEnrichDeps {
  readonly kinesis: KinesisClient;
  readonly enrichedStreamName: string;
  readonly rejectedStreamName: string;
  readonly config: ClassifierConfig;
  readonly ports: FilterEnrichPorts;
  readonly remember: (entries: readonly { eventId: string; sequenceNumber: string }[]) => Promise<number[]>;
  /** Backoff for the parts of PutRecords calls left undone. @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /**
   * Write enriched records KPL-aggregated per profile (Firehose and the history writer de-aggregate): far
   * fewer PUT payload units and Firehose bytes (each record is billed rounded up to 5 KB). @default false
   */
  readonly aggregateEnriched?: boolean;
}

const { logger, metrics } = observability('filter-enrich');

export function makeHandler(deps: FilterEnrichDeps) {
  return async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    const records = event.Records.flatMap(toRawRecords);
    const failed = new Set<string>();
    try {
      const plan = await planBatch(records, deps.config, deps.ports);
      const encoder = new TextEncoder();
      const enrichedOut = plan.enriched.map((e) => ({
        partitionKey: e.partitionKey,
        data: encoder.encode(JSON.stringify(toEnrichedWire(e.record))),
        source: e,
      }));
      const writeEnriched = async () => {
        if (!deps.aggregateEnriched)
          return putRecordsReliably(deps.kinesis, deps.enrichedStreamName, enrichedOut, deps.retry);
        const packed = await aggregateByKey(enrichedOut);
        const r = await putRecordsReliably(deps.kinesis, deps.enrichedStreamName, packed, deps.retry);
        return { failed: r.failed.flat() };
      };
      const [enrichedResult, rejectedResult] = await Promise.all([
        writeEnriched(),
        putRecordsReliably(
          deps.kinesis,
          deps.rejectedStreamName,
          plan.rejected.map((r) => ({
            partitionKey: r.partitionKey || 'rejected',
            data: encoder.encode(JSON.stringify(toRejectedWire(r.row))),
            source: r.sequenceNumber,
          })),
          deps.retry,
        ),
      ]);
      for (const s of rejectedResult.failed) failed.add(s);
      const notWritten = new Set(enrichedResult.failed);
      for (const e of notWritten) failed.add(e.sequenceNumber);
      // Only what reached the enriched stream counts as accepted for duplicate detection.
      const written = plan.enriched.filter((e) => !notWritten.has(e));
      const notRemembered = await deps.remember(
        written.map((e) => ({ eventId: e.record.event_id, sequenceNumber: e.recordId })),
      );
      for (const i of notRemembered) failed.add(written[i]!.sequenceNumber);

      emitMetrics(plan.outcomes, failed.size);
      if (failed.size) logger.warn('records left for retry', { failed: failed.size, of: records.length });
    } catch (err) {
      // An infrastructure fault that affects the whole batch: report every record, so that the event source
      // mapping retries from the first one (bounded retries, bisect, then the on-failure destination).
      logger.error('batch failed', { error: err as Error, records: records.length });
      metrics.addMetric('BatchFailures', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })) };
    }
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

function emitMetrics(outcomes: Awaited<ReturnType<typeof planBatch>>['outcomes'], failed: number): void {
  const counts = new Map<string, number>();
  const bump = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  let maxLag = 0;
  for (const o of outcomes) {
    bump('RecordsRead');
    if (o.outcome === 'enriched') {
      bump('Enriched');
      if (o.unknownTitle) bump('enrich.unknown-title');
      maxLag = Math.max(maxLag, o.ingestLagMs);
    } else if (o.outcome === 'filtered') {
      bump('Filtered');
      bump(o.reason);
    } else {
      bump('Rejected');
      // Reason without the field path keeps the metric set bounded; the path is in the rejected row.
      bump(`rejected.${o.reason.split(':')[0]}`);
    }
  }
  for (const [name, value] of counts) metrics.addMetric(name, MetricUnit.Count, value);
  if (counts.has('Enriched')) metrics.addMetric('IngestLagMaxMs', MetricUnit.Milliseconds, maxLag);
  if (failed) metrics.addMetric('RecordsLeftForRetry', MetricUnit.Count, failed);
  metrics.publishStoredMetrics();
}

function configFromEnv(env: NodeJS.ProcessEnv): ClassifierConfig {
  const num = (name: string, dflt: number) => (env[name] ? Number(env[name]) : dflt);
  return {
    minVisiblePercent: num('MIN_VISIBLE_PERCENT', DEFAULT_CLASSIFIER_CONFIG.minVisiblePercent),
    minVisibleMs: num('MIN_VISIBLE_MS', DEFAULT_CLASSIFIER_CONFIG.minVisibleMs),
    testProfiles: new Set((env.TEST_PROFILES ?? '').split(',').filter(Boolean)),
    maxFutureMs: DEFAULT_CLASSIFIER_CONFIG.maxFutureMs,
    maxLatenessMs: DEFAULT_CLASSIFIER_CONFIG.maxLatenessMs,
  };
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

let defaultHandler: ReturnType<typeof makeHandler> | undefined;

export const handler = (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
  if (!defaultHandler) {
    const docs = documentClient();
    const dedup = dedupStore(docs, required('DEDUP_TABLE_NAME'));
    const catalog = titleCatalog(docs, required('CATALOG_TABLE_NAME'));
    defaultHandler = makeHandler({
      kinesis: kinesisClient(),
      enrichedStreamName: required('ENRICHED_STREAM_NAME'),
      rejectedStreamName: required('REJECTED_STREAM_NAME'),
      config: configFromEnv(process.env),
      ports: { acceptedEventIds: dedup.acceptedEventIds, titles: catalog.titles },
      remember: dedup.remember,
      aggregateEnriched: process.env.AGGREGATE_ENRICHED === 'true',
    });
  }
  return defaultHandler(event);
};
