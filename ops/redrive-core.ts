/**
 * Re-driving the batches a Kinesis event-source mapping gave up on. Its on-failure destination receives
 * the batch's shard and sequence-number range, not the records — the invocation record documented in the
 * Lambda developer guide, "Capturing discarded batches for a Kinesis Data Streams event source"
 * (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html):
 *
 *   { "requestContext": { "requestId", "functionArn", "condition": "RetryAttemptsExhausted", "approximateInvokeCount" },
 *     "responseContext": { "statusCode", "executedVersion", "functionError" },
 *     "version": "1.0", "timestamp": "2019-11-14T00:38:06.021Z",
 *     "KinesisBatchInfo": { "shardId": "shardId-000000000001",
 *       "startSequenceNumber": "4960…4722", "endSequenceNumber": "4960…5186",
 *       "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
 *       "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z",
 *       "batchSize": 500, "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/mystream" } }
 *
 * "The actual records aren't included, so you must process this record and retrieve them from the stream
 * before they expire and are lost" (same page). So each message's records are read back with
 * GetShardIterator(AT_SEQUENCE_NUMBER) and GetRecords up to the end sequence number inclusive, and handed to
 * filter-enrich's own handler (`process`, with the deployment's settings) as the event-source mapping would
 * redeliver them: the same sequence numbers (and sub-sequence numbers inside KPL aggregates) and the same
 * `approximateArrivalTimestamp` as read from the shard. The message is deleted only once the handler
 * reports none of them for retry. A range older than the stream's retention is refused, never half
 * re-driven.
 *
 * A re-drive is therefore a redelivery of the same Kinesis records, which the event contract defines: it
 * yields the same outcome again, and every store downstream is idempotent by eventId.
 * - The time rules apply to the original arrival: an impression accepted 6 days 23 hours late stays
 *   accepted, however long after the failure the re-drive runs (a re-put would have given it a new arrival
 *   time and made it `time.too-late`).
 * - Nothing the failed batch stored is forgotten: an impression its own record stored in the history (the
 *   batch failed after its history write, e.g. on the enriched stream) is found under that record's tag,
 *   accepted again and enriched again, so the lake gets it; one stored earlier by another record stays a
 *   producer retry (`filtered.duplicate`), as in the original delivery.
 * - Re-driving twice counts nothing twice: the history is unchanged by the second run; the enriched and
 *   rejected streams get one more copy of the same rows, which their consumers absorb like any redelivery.
 */
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { DEFAULT_RETRY, type RetryPolicy, retryCall } from '../lambdas/adapters/retry.js';

/** `KinesisBatchInfo` of an on-failure invocation record. */
export interface KinesisBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly approximateArrivalOfFirstRecord?: string;
  readonly approximateArrivalOfLastRecord?: string;
  readonly batchSize: number;
  readonly streamArn: string;
}

const SEQ = /^\d{1,128}$/;
const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/([A-Za-z0-9_.-]{1,128})$/;

/** The stream name of a Kinesis stream ARN, or undefined. */
export const streamNameOfArn = (arn: string) => STREAM_ARN.exec(arn)?.[1];

/** Reads an on-failure message body; the reason it is not one, when it is not. */
export function parseFailureMessage(
  body: string | undefined,
): { readonly info: KinesisBatchInfo } | { readonly invalid: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(body ?? '');
  } catch {
    return { invalid: 'not JSON' };
  }
  const b = (doc as { KinesisBatchInfo?: Record<string, unknown> } | null)?.KinesisBatchInfo;
  if (!b || typeof b !== 'object') return { invalid: 'no KinesisBatchInfo' };
  const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
  const shardId = str('shardId');
  const start = str('startSequenceNumber');
  const end = str('endSequenceNumber');
  const streamArn = str('streamArn');
  if (!shardId || !/^shardId-\d{1,20}$/.test(shardId)) return { invalid: 'KinesisBatchInfo.shardId' };
  if (!start || !SEQ.test(start)) return { invalid: 'KinesisBatchInfo.startSequenceNumber' };
  if (!end || !SEQ.test(end) || BigInt(end) < BigInt(start))
    return { invalid: 'KinesisBatchInfo.endSequenceNumber' };
  if (!streamArn || !streamNameOfArn(streamArn)) return { invalid: 'KinesisBatchInfo.streamArn' };
  const batchSize = b.batchSize;
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    return { invalid: 'KinesisBatchInfo.batchSize' };
  const first = str('approximateArrivalOfFirstRecord');
  const last = str('approximateArrivalOfLastRecord');
  for (const [k, v] of [
    ['approximateArrivalOfFirstRecord', first],
    ['approximateArrivalOfLastRecord', last],
  ] as const) {
    if (v !== undefined && Number.isNaN(Date.parse(v))) return { invalid: `KinesisBatchInfo.${k}` };
  }
  return {
    info: {
      shardId,
      startSequenceNumber: start,
      endSequenceNumber: end,
      approximateArrivalOfFirstRecord: first,
      approximateArrivalOfLastRecord: last,
      batchSize,
      streamArn,
    },
  };
}

/** The range cannot be read back any more (older than the retention, or trimmed). */
export class RangeExpiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RangeExpiredError';
  }
}

export interface FetchedRecord {
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  readonly data: Uint8Array;
  /** Approximate arrival time, epoch ms. */
  readonly arrivalMs?: number;
}

/** filter-enrich's handler (or anything with its contract): the records it reports are not done. */
export type BatchProcessor = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;

/**
 * The event the event-source mapping delivers for a range: its records as read from the shard, with their
 * sequence numbers and arrival times (a record read without one, which Kinesis always returns, takes the
 * batch's last arrival: never later than its own).
 */
export function redeliveryEvent(
  info: KinesisBatchInfo,
  records: readonly FetchedRecord[],
): KinesisStreamEvent {
  const fallback = Date.parse(
    info.approximateArrivalOfLastRecord ?? info.approximateArrivalOfFirstRecord ?? '',
  );
  const region = info.streamArn.split(':')[3] ?? '';
  return {
    Records: records.map(
      (r): KinesisStreamRecord => ({
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${info.shardId}:${r.sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: '',
        awsRegion: region,
        eventSourceARN: info.streamArn,
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: r.partitionKey,
          sequenceNumber: r.sequenceNumber,
          data: Buffer.from(r.data).toString('base64'),
          approximateArrivalTimestamp: (r.arrivalMs ?? fallback) / 1000,
        },
      }),
    ),
  };
}

export interface FetchOptions {
  /** The stream's retention, hours (DescribeStreamSummary). */
  readonly retentionHours: number;
  readonly nowMs: number;
  /** GetRecords requests per range at most (bounded work whatever the message says). @default 1000 */
  readonly maxPages?: number;
  readonly retry?: RetryPolicy;
}

const errorName = (e: unknown) => (e instanceof Error ? e.name : '');
/** Exactly the records of a batch's range, read back from its shard. */
export async function fetchRange(
  kinesis: KinesisClient,
  streamName: string,
  info: KinesisBatchInfo,
  options: FetchOptions,
): Promise<FetchedRecord[]> {
  const policy = options.retry ?? DEFAULT_RETRY;
  const retentionMs = options.retentionHours * 3_600_000;
  const firstArrival = info.approximateArrivalOfFirstRecord
    ? Date.parse(info.approximateArrivalOfFirstRecord)
    : undefined;
  if (firstArrival !== undefined && options.nowMs - firstArrival >= retentionMs)
    throw new RangeExpiredError(
      `arrived ${info.approximateArrivalOfFirstRecord}, longer ago than the stream's retention (${options.retentionHours} h)`,
    );
  const start = BigInt(info.startSequenceNumber);
  const end = BigInt(info.endSequenceNumber);
  const iterator = async (type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER', seq: string) => {
    try {
      // Kinesis reads retried on throttling ("ProvisionedThroughputExceededException", 5 reads/s per shard).
      const r = await retryCall(
        () =>
          kinesis.send(
            new GetShardIteratorCommand({
              StreamName: streamName,
              ShardId: info.shardId,
              ShardIteratorType: type,
              StartingSequenceNumber: seq,
            }),
          ),
        policy,
      );
      return r.ShardIterator;
    } catch (e) {
      // A shard past its retention is gone (ResourceNotFound); a trimmed sequence number is refused
      // (InvalidArgument) — either way the range cannot be had any more.
      if (errorName(e) === 'ResourceNotFoundException' || errorName(e) === 'InvalidArgumentException')
        throw new RangeExpiredError(`${info.shardId} from ${seq} cannot be read: ${(e as Error).message}`);
      throw e;
    }
  };
  const out: FetchedRecord[] = [];
  let it = await iterator('AT_SEQUENCE_NUMBER', info.startSequenceNumber);
  let reachedEnd = false;
  const maxPages = options.maxPages ?? 1000;
  for (let page = 0; it && !reachedEnd && page < maxPages; page++) {
    let records: KinesisRecord[];
    let next: string | undefined;
    let behind: number | undefined;
    try {
      const r = await retryCall(
        () => kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 })),
        policy,
      );
      records = r.Records ?? [];
      next = r.NextShardIterator;
      behind = r.MillisBehindLatest;
    } catch (e) {
      if (errorName(e) === 'ExpiredIteratorException') {
        const last = out.at(-1)?.sequenceNumber;
        it = last
          ? await iterator('AFTER_SEQUENCE_NUMBER', last)
          : await iterator('AT_SEQUENCE_NUMBER', info.startSequenceNumber);
        continue;
      }
      if (errorName(e) === 'TrimmedDataAccessException')
        throw new RangeExpiredError(`${info.shardId} from ${info.startSequenceNumber} was trimmed`);
      throw e;
    }
    for (const rec of records) {
      const seq = BigInt(rec.SequenceNumber ?? '0');
      if (!out.length && seq !== start)
        // The first record at the start position is not the batch's first: it was trimmed already.
        throw new RangeExpiredError(
          `${info.shardId}: ${info.startSequenceNumber} is no longer in the stream (first record is ${rec.SequenceNumber})`,
        );
      if (seq > end) {
        reachedEnd = true;
        break;
      }
      out.push({
        partitionKey: rec.PartitionKey ?? '',
        sequenceNumber: rec.SequenceNumber ?? '',
        data: rec.Data ?? new Uint8Array(),
        arrivalMs: rec.ApproximateArrivalTimestamp?.getTime(),
      });
      if (seq === end) {
        reachedEnd = true;
        break;
      }
    }
    if (!records.length && (behind ?? 0) === 0 && !reachedEnd && next) {
      // At the tip of the shard without having seen the end: the range is not (or no longer) there.
      if (!out.length)
        throw new RangeExpiredError(
          `${info.shardId}: ${info.startSequenceNumber} is no longer in the stream`,
        );
      break;
    }
    it = next;
  }
  if (!reachedEnd)
    throw new RangeExpiredError(
      `${info.shardId}: the range up to ${info.endSequenceNumber} could not be read whole (${out.length} records found)`,
    );
  return out;
}

export interface RedriveOptions {
  readonly sqs: SQSClient;
  readonly kinesis: KinesisClient;
  readonly queueUrl: string;
  /** The deployment's streams by name: a message naming another stream is left alone. */
  readonly streams: ReadonlySet<string>;
  /**
   * filter-enrich's handler with the deployment's settings: each range is handed to it as a redelivery
   * (`redeliveryEvent`). Not called in a dry run.
   */
  readonly process: BatchProcessor;
  readonly dryRun?: boolean;
  /** Stop after this many messages. @default unlimited */
  readonly maxMessages?: number;
  readonly nowMs?: () => number;
  readonly retry?: RetryPolicy;
  /**
   * Delete the messages whose range has expired (after they were reported): their records are gone from
   * the stream. @default false
   */
  readonly deleteExpired?: boolean;
  /** How long a received message stays invisible while its batch is re-driven. @default 300 */
  readonly visibilitySeconds?: number;
  readonly onProgress?: (done: number, total: number | undefined) => void;
}

export type MessageOutcome =
  | 'redriven'
  | 'would-redrive'
  | 'expired'
  | 'expired-deleted'
  | 'unreadable'
  | 'other-stream'
  | 'process-failed'
  | 'delete-failed';

export interface RedriveSummary {
  readonly queueUrl: string;
  readonly messages: number;
  /** Messages by outcome; they add up to `messages`. */
  readonly outcomes: Record<MessageOutcome, number>;
  readonly recordsFetched: number;
  /** Records the handler processed to an outcome (0 in a dry run). */
  readonly recordsProcessed: number;
  /** Records the handler reported for retry (their messages stay in the queue). */
  readonly recordsFailed: number;
  /** Messages whose range held another number of records than their batchSize said. */
  readonly sizeMismatches: number;
  /** One line per message that was not re-driven. */
  readonly problems: readonly string[];
}

/** Re-drives every message of one on-failure queue (or `maxMessages` of them). */
export async function redriveQueue(options: RedriveOptions): Promise<RedriveSummary> {
  const { sqs, kinesis, queueUrl } = options;
  const now = options.nowMs ?? Date.now;
  const outcomes: Record<MessageOutcome, number> = {
    redriven: 0,
    'would-redrive': 0,
    expired: 0,
    'expired-deleted': 0,
    unreadable: 0,
    'other-stream': 0,
    'process-failed': 0,
    'delete-failed': 0,
  };
  const problems: string[] = [];
  let recordsFetched = 0;
  let recordsProcessed = 0;
  let recordsFailed = 0;
  let sizeMismatches = 0;
  const described = new Map<string, { arn?: string; retentionHours: number }>();
  const seen = new Set<string>();
  const toRelease: Message[] = [];
  const limit = options.maxMessages ?? Number.POSITIVE_INFINITY;
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  const approx = Number(attrs.Attributes?.ApproximateNumberOfMessages ?? Number.NaN);
  const total = Number.isFinite(approx) ? Math.min(approx, limit) : undefined;

  /** The stream's ARN and retention (DescribeStreamSummary), once per stream. */
  const describe = async (stream: string) => {
    let d = described.get(stream);
    if (!d) {
      const s = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })))
        .StreamDescriptionSummary;
      d = { arn: s?.StreamARN, retentionHours: s?.RetentionPeriodHours ?? 24 };
      described.set(stream, d);
    }
    return d;
  };

  const handle = async (m: Message): Promise<MessageOutcome> => {
    const parsed = parseFailureMessage(m.Body);
    if ('invalid' in parsed) {
      problems.push(
        `message ${m.MessageId}: not an on-failure record (${parsed.invalid}); left in the queue`,
      );
      return 'unreadable';
    }
    const { info } = parsed;
    const stream = streamNameOfArn(info.streamArn)!;
    const target = options.streams.has(stream) ? await describe(stream) : undefined;
    // Same name is not enough: another account or region can have a stream of that name.
    if (!target || (target.arn !== undefined && target.arn !== info.streamArn)) {
      problems.push(
        `message ${m.MessageId}: stream ${info.streamArn} is not this deployment's; left in the queue`,
      );
      return 'other-stream';
    }
    let records: FetchedRecord[];
    try {
      records = await fetchRange(kinesis, stream, info, {
        retentionHours: target.retentionHours,
        nowMs: now(),
        retry: options.retry,
      });
    } catch (e) {
      if (e instanceof RangeExpiredError) {
        if (options.deleteExpired && !options.dryRun) {
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
          problems.push(`message ${m.MessageId}: range expired (${e.message}); deleted (--delete-expired)`);
          return 'expired-deleted';
        }
        problems.push(
          `message ${m.MessageId}: range expired, cannot re-drive (${e.message}); left in the queue`,
        );
        return 'expired';
      }
      throw e;
    }
    recordsFetched += records.length;
    if (records.length !== info.batchSize) sizeMismatches++;
    if (options.dryRun) return 'would-redrive';
    // The handler decides every outcome; data errors are outcomes, so a throw is an infrastructure fault.
    let response: KinesisStreamBatchResponse;
    try {
      response = await options.process(redeliveryEvent(info, records));
    } catch (e) {
      response = { batchItemFailures: records.map((r) => ({ itemIdentifier: r.sequenceNumber })) };
      problems.push(`message ${m.MessageId}: the handler failed (${(e as Error).message})`);
    }
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const left = records.filter((r) => failed.has(r.sequenceNumber)).length;
    recordsProcessed += records.length - left;
    if (left) {
      recordsFailed += left;
      problems.push(
        `message ${m.MessageId}: ${left} of ${records.length} records were reported for retry; left in the queue (re-running is safe)`,
      );
      return 'process-failed';
    }
    try {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    } catch (e) {
      problems.push(
        `message ${m.MessageId}: records processed but the message could not be deleted (${(e as Error).message}); re-running is safe`,
      );
      return 'delete-failed';
    }
    return 'redriven';
  };

  let done = 0;
  while (done < limit) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, limit - done),
        VisibilityTimeout: options.visibilitySeconds ?? 300,
        WaitTimeSeconds: 1,
      }),
    );
    const fresh = (r.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
    if (!fresh.length) break;
    for (const m of fresh) {
      seen.add(m.MessageId!);
      const outcome = await handle(m);
      outcomes[outcome]++;
      if (outcome !== 'redriven' && outcome !== 'delete-failed' && outcome !== 'expired-deleted')
        toRelease.push(m);
      done++;
      options.onProgress?.(done, total);
    }
  }
  // What was not re-driven goes back to the queue now, not when its visibility timeout runs out.
  for (const m of toRelease) {
    try {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    } catch {
      // It becomes visible again when its visibility timeout runs out.
    }
  }
  return {
    queueUrl,
    messages: done,
    outcomes,
    recordsFetched,
    recordsProcessed,
    recordsFailed,
    sizeMismatches,
    problems,
  };
}
