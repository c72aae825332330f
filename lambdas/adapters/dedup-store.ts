/**
 * The accepted-eventId store behind `filtered.duplicate`: item `{ id: eventId, seq, x }` with a 24-hour TTL.
 * Items whose TTL has passed but that DynamoDB has not yet removed are treated as absent.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, batchWriteAll } from './dynamo-batch.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';

export const DEDUP_WINDOW_SECONDS = 24 * 60 * 60;

export function dedupStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  nowMs: () => number = Date.now,
  policy: RetryPolicy = DEFAULT_RETRY,
) {
  return {
    async acceptedEventIds(eventIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
      const items = await batchGetAll(
        client,
        tableName,
        eventIds.map((id) => ({ id })),
        {},
        policy,
      );
      const nowSec = Math.floor(nowMs() / 1000);
      const out = new Map<string, string>();
      for (const it of items) {
        if (typeof it.id === 'string' && typeof it.seq === 'string' && Number(it.x) > nowSec)
          out.set(it.id, it.seq);
      }
      return out;
    },
    /** Records accepted eventIds; returns the indexes of `entries` that could not be stored. */
    async remember(entries: readonly { eventId: string; sequenceNumber: string }[]): Promise<number[]> {
      const x = Math.floor(nowMs() / 1000) + DEDUP_WINDOW_SECONDS;
      return batchWriteAll(
        client,
        tableName,
        entries.map((e) => ({ PutRequest: { Item: { id: e.eventId, seq: e.sequenceNumber, x } } })),
        policy,
      );
    },
  };
}
