/**
 * The output ports of filter-enrich and their Kinesis adapters. A sink takes what the domain planned and
 * answers with what it could not write; how records become stream bytes (JSON of the wire form), whether
 * they are KPL-aggregated, and how PutRecords is retried are the adapter's business.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { EnrichedOut, RejectedOut } from '../domain/filter-enrich.js';
import { type OutgoingRecord, putRecordsReliably } from './kinesis-writer.js';
import { aggregateByKey } from './kpl-aggregate.js';
import type { RetryPolicy } from './retry.js';
import { toEnrichedWire, toRejectedWire } from './stream-encoding.js';

/** Writes records; answers with those it could not write (each left for the caller to report). */
export interface RecordSink<T> {
  put(records: readonly T[]): Promise<{ readonly failed: readonly T[] }>;
}
export type EnrichedSink = RecordSink<EnrichedOut>;
export type RejectedSink = RecordSink<RejectedOut>;

export interface KinesisSinkOptions<T> {
  /** The record's partition key and bytes. */
  readonly toRecord: (item: T) => { readonly partitionKey: string; readonly data: Uint8Array };
  /**
   * KPL-aggregate the records per partition key before the put (consumers de-aggregate); a failed aggregate
   * fails every item in it. @default false
   */
  readonly aggregate?: boolean;
  /** Backoff for the parts of PutRecords calls left undone. @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
}

export function kinesisSink<T>(
  client: KinesisClient,
  streamName: string,
  options: KinesisSinkOptions<T>,
): RecordSink<T> {
  return {
    async put(items) {
      const out: OutgoingRecord<T>[] = items.map((source) => ({ ...options.toRecord(source), source }));
      if (!options.aggregate) return putRecordsReliably(client, streamName, out, options.retry);
      const packed = await aggregateByKey(out);
      const r = await putRecordsReliably(client, streamName, packed, options.retry);
      return { failed: r.failed.flat() };
    },
  };
}

const encoder = new TextEncoder();
/** The one place where enriched and rejected records become stream bytes. */
const encodeRecord = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

/** The enriched stream: each record in its wire form, under the profile's key. */
export const enrichedStreamSink = (
  client: KinesisClient,
  streamName: string,
  options: Omit<KinesisSinkOptions<EnrichedOut>, 'toRecord'> = {},
): EnrichedSink =>
  kinesisSink(client, streamName, {
    ...options,
    toRecord: (e) => ({ partitionKey: e.partitionKey, data: encodeRecord(toEnrichedWire(e.record)) }),
  });

/** The rejected stream: each row in its wire form, under its bounded key of our own. */
export const rejectedStreamSink = (
  client: KinesisClient,
  streamName: string,
  options: Omit<KinesisSinkOptions<RejectedOut>, 'toRecord' | 'aggregate'> = {},
): RejectedSink =>
  kinesisSink(client, streamName, {
    ...options,
    toRecord: (r) => ({ partitionKey: r.partitionKey, data: encodeRecord(toRejectedWire(r.row)) }),
  });
