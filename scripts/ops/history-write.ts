/**
 * The one place the rebuild tool writes the history table, through the pipeline's own write path (the
 * history model's write plan applied by the history store adapter), so that a rebuilt table is exactly what
 * the pipeline would have written. Keep it the only call: when the write path moves, rewire this function.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type HistoryStore, historyStore } from '../../lambdas/adapters/history-store.js';
import type { EnrichedRecord } from '../../lambdas/domain/enrich.js';
import { planHistoryWrites } from '../../lambdas/domain/history-model.js';

/** The columns of `impressions` the history keeps (what the history model reads of an enriched record). */
export const HISTORY_COLUMNS = [
  'event_id',
  'profile_id',
  'event_time',
  'title_id',
  'artwork_id',
  'page',
  'row_id',
  'row_index',
  'position',
  'device_type',
  'track_id',
] as const;

export type HistoryRow = Pick<EnrichedRecord, (typeof HISTORY_COLUMNS)[number]>;

export type HistoryWriteStore = Pick<HistoryStore, 'apply'>;

export const openHistoryStore = (documents: DynamoDBDocumentClient, tableName: string): HistoryWriteStore =>
  historyStore(documents, tableName);

/** Writes the rows' impressions; returns the indexes of the rows that could not be written. */
export async function writeImpressions(
  store: HistoryWriteStore,
  rows: readonly HistoryRow[],
  retentionDays: number,
): Promise<number[]> {
  // The write plan takes enriched records and reads only the history columns of them (impressionOf).
  const inputs = rows.map((record, i) => ({ sequenceNumber: String(i), record: record as EnrichedRecord }));
  const failed = await store.apply(planHistoryWrites(inputs, retentionDays));
  return [...new Set(failed)].map(Number);
}
