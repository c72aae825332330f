/**
 * The ingest route's writer: one profile's events put on the raw stream, partition key = the profile, in
 * one `PutRecords` request (≤ 500 records and ≤ 1 MiB of body, within the 500-record / 5 MiB limit),
 * retrying only the entries a partial failure left out, a bounded number of times.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { putRecordsReliably } from '../adapters/kinesis-writer.js';
import type { RetryPolicy } from '../adapters/retry.js';

/** Short: the caller is waiting, and a 503 tells it to retry later. About 0.4 s of backoff at most. */
export const INGEST_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 25, maxDelayMs: 200 };

/** Puts a profile's serialized events; resolves to the number that could not be put. */
export type RawStreamWriter = (profileId: string, records: readonly string[]) => Promise<{ failed: number }>;

export function rawStreamWriter(
  client: KinesisClient,
  streamName: string,
  policy: RetryPolicy = INGEST_RETRY,
): RawStreamWriter {
  return async (profileId, records) => {
    const { failed } = await putRecordsReliably(
      client,
      streamName,
      records.map((r, i) => ({ partitionKey: profileId, data: Buffer.from(r, 'utf8'), source: i })),
      policy,
    );
    return { failed: failed.length };
  };
}
