/**
 * history-writer: enriched stream → DynamoDB history buckets. Thin adapter over the pure write plan;
 * idempotent under redelivery (an impression always lands on the same attribute of the same item).
 * A record that cannot be parsed is reported as a failure (never skipped silently): after the bounded
 * retries the event source mapping sends it to the on-failure queue.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { documentClient } from '../adapters/clients.js';
import { type HistoryStore, historyStore } from '../adapters/history-store.js';
import { toRawRecords } from '../adapters/kinesis-event.js';
import { observability } from '../adapters/observability.js';
import type { EnrichedRecord } from '../domain/enrich.js';
import { type EnrichedInput, planHistoryWrites } from '../domain/history-model.js';
import { parseEnrichedWire } from '../domain/stream-encoding.js';

export interface HistoryWriterDeps {
  readonly store: Pick<HistoryStore, 'apply'>;
  readonly retentionDays: number;
  readonly nowMs?: () => number;
}

const { logger, metrics } = observability('history-writer');

/** An enriched stream record (the contract's wire form) in memory; `undefined` when it is not one. */
export function parseEnriched(data: Uint8Array): EnrichedRecord | undefined {
  return parseEnrichedWire(data);
}

export function makeHandler(deps: HistoryWriterDeps) {
  const now = deps.nowMs ?? Date.now;
  return async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    const failed = new Set<string>();
    const inputs: EnrichedInput[] = [];
    // Enriched records may arrive KPL-aggregated; each user record keeps its Kinesis record's sequence number.
    for (const r of event.Records.flatMap(toRawRecords)) {
      const record = parseEnriched(r.data);
      if (record) inputs.push({ sequenceNumber: r.sequenceNumber, record });
      else {
        logger.error('malformed enriched record', {
          sequenceNumber: r.sequenceNumber,
          subSequenceNumber: r.subSequenceNumber,
        });
        metrics.addMetric('MalformedRecords', MetricUnit.Count, 1);
        failed.add(r.sequenceNumber);
      }
    }
    try {
      const writes = planHistoryWrites(inputs, deps.retentionDays);
      for (const s of await deps.store.apply(writes)) failed.add(s);
      metrics.addMetric(
        'HistoryItemsWritten',
        MetricUnit.Count,
        writes.reduce((n, w) => n + w.impressions.size, 0),
      );
      metrics.addMetric('BucketWrites', MetricUnit.Count, writes.length);
      const nowMs = now();
      const freshness = inputs.map((i) => nowMs - Date.parse(i.record.event_time));
      if (freshness.length)
        metrics.addMetric('FreshnessMaxMs', MetricUnit.Milliseconds, Math.max(...freshness));
    } catch (err) {
      logger.error('batch failed', { error: err as Error, records: event.Records.length });
      for (const r of event.Records) failed.add(r.kinesis.sequenceNumber);
    }
    if (failed.size) metrics.addMetric('RecordsLeftForRetry', MetricUnit.Count, failed.size);
    metrics.publishStoredMetrics();
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

let defaultHandler: ReturnType<typeof makeHandler> | undefined;

export const handler = (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
  if (!defaultHandler) {
    const table = process.env.HISTORY_TABLE_NAME;
    if (!table) throw new Error('environment variable HISTORY_TABLE_NAME is not set');
    defaultHandler = makeHandler({
      store: historyStore(documentClient(), table),
      retentionDays: Number(process.env.RETENTION_DAYS ?? '30'),
    });
  }
  return defaultHandler(event);
};
