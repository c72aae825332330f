/**
 * Reliable PutRecords: splits into requests within the service limits (500 records, 5 MiB), retries only
 * the entries that failed in a partial failure, and returns the ones that never made it, so the caller can
 * report exactly those records as batch item failures.
 */
import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { DEFAULT_RETRY, type RetryPolicy, retryingStep, retryPending } from './retry.js';

export const MAX_RECORDS_PER_PUT = 500;
export const MAX_BYTES_PER_PUT = 5 * 1024 * 1024;

export interface OutgoingRecord<S> {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** What this record stands for (e.g. the input sequence number), handed back when it fails. */
  readonly source: S;
}

/** Groups records into PutRecords requests within the count and size limits (data + partition key). */
export function chunkForPut<S>(records: readonly OutgoingRecord<S>[]): OutgoingRecord<S>[][] {
  const chunks: OutgoingRecord<S>[][] = [];
  let current: OutgoingRecord<S>[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = r.data.byteLength + Buffer.byteLength(r.partitionKey);
    if (current.length === MAX_RECORDS_PER_PUT || (current.length > 0 && bytes + size > MAX_BYTES_PER_PUT)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

export async function putRecordsReliably<S>(
  client: KinesisClient,
  streamName: string,
  records: readonly OutgoingRecord<S>[],
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<{ failed: S[] }> {
  const failed: S[] = [];
  for (const chunk of chunkForPut(records)) {
    const left = await retryPending(
      chunk,
      retryingStep(async (pending) => {
        const entries: PutRecordsRequestEntry[] = pending.map((r) => ({
          PartitionKey: r.partitionKey,
          Data: r.data,
        }));
        const out = await client.send(new PutRecordsCommand({ StreamName: streamName, Records: entries }));
        if (!out.FailedRecordCount) return [];
        return pending.filter((_, i) => out.Records?.[i]?.ErrorCode || !out.Records?.[i]?.SequenceNumber);
      }),
      policy,
    );
    for (const r of left) failed.push(r.source);
  }
  return { failed };
}
