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
 * filter-enrich's entry point (`process`: `makeFilterEnrich` with the deployment's settings, the function its
 * Lambda handler calls) as the event-source mapping would redeliver them: the same sequence numbers (and so
 * the same sub-sequence numbers inside KPL aggregates), data and arrival times as read from the shard. The
 * message is deleted only once filter-enrich leaves none of them for retry. A range older than the stream's
 * retention is refused, never half re-driven.
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
import type { StreamRecord } from '../lambdas/adapters/kinesis-event.js';
import { DEFAULT_RETRY, type RetryPolicy, retryCall } from '../lambdas/adapters/retry.js';
import type { FilterEnrich } from '../lambdas/filter-enrich/handler.js';

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

export interface FetchOptions {
  /** The stream's retention, hours (DescribeStreamSummary). */
  readonly retentionHours: number;
  readonly nowMs: number;
  /** GetRecords requests per range at most (bounded work whatever the message says). @default 1000 */
  readonly maxPages?: number;
  readonly retry?: RetryPolicy;
}

/** Where a range is read from, and with what retries. */
interface RangeSource {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly info: KinesisBatchInfo;
  readonly policy: RetryPolicy;
}

const errorName = (e: unknown) => (e instanceof Error ? e.name : '');

/**
 * A shard iterator at or after `seq`. A shard past its retention is gone (ResourceNotFound) and a trimmed
 * sequence number is refused (InvalidArgument): either way the range cannot be had any more.
 */
async function shardIterator(
  source: RangeSource,
  type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER',
  seq: string,
): Promise<string | undefined> {
  const { kinesis, streamName, info } = source;
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
      source.policy,
    );
    return r.ShardIterator;
  } catch (e) {
    if (errorName(e) === 'ResourceNotFoundException' || errorName(e) === 'InvalidArgumentException')
      throw new RangeExpiredError(`${info.shardId} from ${seq} cannot be read: ${(e as Error).message}`);
    throw e;
  }
}

interface RecordsPage {
  readonly records: readonly KinesisRecord[];
  readonly next?: string;
  readonly behind?: number;
}

/** One GetRecords page; `expired` when the iterator timed out (the caller renews it). */
async function recordsPage(source: RangeSource, iterator: string): Promise<RecordsPage | 'expired'> {
  try {
    const r = await retryCall(
      () => source.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 })),
      source.policy,
    );
    return { records: r.Records ?? [], next: r.NextShardIterator, behind: r.MillisBehindLatest };
  } catch (e) {
    if (errorName(e) === 'ExpiredIteratorException') return 'expired';
    if (errorName(e) === 'TrimmedDataAccessException')
      throw new RangeExpiredError(
        `${source.info.shardId} from ${source.info.startSequenceNumber} was trimmed`,
      );
    throw e;
  }
}

/** Refuses, before any read, a range that arrived longer ago than the stream keeps records. */
function refuseOlderThanRetention(info: KinesisBatchInfo, options: FetchOptions): void {
  const retentionMs = options.retentionHours * 3_600_000;
  const firstArrival = info.approximateArrivalOfFirstRecord
    ? Date.parse(info.approximateArrivalOfFirstRecord)
    : undefined;
  if (firstArrival !== undefined && options.nowMs - firstArrival >= retentionMs)
    throw new RangeExpiredError(
      `arrived ${info.approximateArrivalOfFirstRecord}, longer ago than the stream's retention (${options.retentionHours} h)`,
    );
}

/**
 * Appends to `out` the records of one page that belong to the range; answers whether its end was reached.
 * A record read without an arrival time (which Kinesis always returns) takes the batch's last arrival:
 * never later than its own.
 */
function takeRange(info: KinesisBatchInfo, page: readonly KinesisRecord[], out: StreamRecord[]): boolean {
  const start = BigInt(info.startSequenceNumber);
  const end = BigInt(info.endSequenceNumber);
  const fallbackArrival = Date.parse(
    info.approximateArrivalOfLastRecord ?? info.approximateArrivalOfFirstRecord ?? '',
  );
  for (const rec of page) {
    const seq = BigInt(rec.SequenceNumber ?? '0');
    if (!out.length && seq !== start)
      // The first record at the start position is not the batch's first: it was trimmed already.
      throw new RangeExpiredError(
        `${info.shardId}: ${info.startSequenceNumber} is no longer in the stream (first record is ${rec.SequenceNumber})`,
      );
    if (seq > end) return true;
    out.push({
      partitionKey: rec.PartitionKey ?? '',
      sequenceNumber: rec.SequenceNumber ?? '',
      data: rec.Data ?? new Uint8Array(),
      arrivalMs: rec.ApproximateArrivalTimestamp?.getTime() ?? fallbackArrival,
    });
    if (seq === end) return true;
  }
  return false;
}

/**
 * Exactly the records of a batch's range, read back from its shard: the same sequence numbers, data and
 * arrival times as the event-source mapping would redeliver.
 */
export async function fetchRange(
  kinesis: KinesisClient,
  streamName: string,
  info: KinesisBatchInfo,
  options: FetchOptions,
): Promise<StreamRecord[]> {
  refuseOlderThanRetention(info, options);
  const source: RangeSource = { kinesis, streamName, info, policy: options.retry ?? DEFAULT_RETRY };
  const out: StreamRecord[] = [];
  let it = await shardIterator(source, 'AT_SEQUENCE_NUMBER', info.startSequenceNumber);
  let reachedEnd = false;
  const maxPages = options.maxPages ?? 1000;
  for (let page = 0; it && !reachedEnd && page < maxPages; page++) {
    const got = await recordsPage(source, it);
    if (got === 'expired') {
      const last = out.at(-1)?.sequenceNumber;
      it = last
        ? await shardIterator(source, 'AFTER_SEQUENCE_NUMBER', last)
        : await shardIterator(source, 'AT_SEQUENCE_NUMBER', info.startSequenceNumber);
      continue;
    }
    reachedEnd = takeRange(info, got.records, out);
    if (!got.records.length && (got.behind ?? 0) === 0 && !reachedEnd && got.next) {
      // At the tip of the shard without having seen the end: the range is not (or no longer) there.
      if (!out.length)
        throw new RangeExpiredError(
          `${info.shardId}: ${info.startSequenceNumber} is no longer in the stream`,
        );
      break;
    }
    it = got.next;
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
   * filter-enrich with the deployment's settings (`makeFilterEnrich`): each range's records are handed to it
   * as the stream holds them, which is what the event-source mapping redelivers. Not called in a dry run.
   */
  readonly process: FilterEnrich;
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
  /** Records filter-enrich processed to an outcome (0 in a dry run). */
  readonly recordsProcessed: number;
  /** Records filter-enrich left for retry (their messages stay in the queue). */
  readonly recordsFailed: number;
  /** Messages whose range held another number of records than their batchSize said. */
  readonly sizeMismatches: number;
  /** One line per message that was not re-driven. */
  readonly problems: readonly string[];
}

/** What a run has counted so far, beside the outcomes of its messages. */
interface Tally {
  recordsFetched: number;
  recordsProcessed: number;
  recordsFailed: number;
  sizeMismatches: number;
  readonly problems: string[];
}

/** A stream the deployment's messages name: its ARN and retention (DescribeStreamSummary). */
interface StreamTarget {
  readonly arn?: string;
  readonly retentionHours: number;
}

/** One run over a queue: its options, its clock, its streams described once each, its tally. */
interface Run {
  readonly options: RedriveOptions;
  readonly now: () => number;
  readonly describe: (stream: string) => Promise<StreamTarget>;
  readonly tally: Tally;
}

/** DescribeStreamSummary once per stream, whatever the number of messages naming it. */
function streamDescriber(kinesis: KinesisClient): Run['describe'] {
  const described = new Map<string, StreamTarget>();
  return async (stream) => {
    let d = described.get(stream);
    if (!d) {
      const s = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })))
        .StreamDescriptionSummary;
      d = { arn: s?.StreamARN, retentionHours: s?.RetentionPeriodHours ?? 24 };
      described.set(stream, d);
    }
    return d;
  };
}

const deleteMessage = (run: Run, m: Message) =>
  run.options.sqs.send(
    new DeleteMessageCommand({ QueueUrl: run.options.queueUrl, ReceiptHandle: m.ReceiptHandle }),
  );

/** The message's range read back, or the outcome of a message whose range has expired. */
async function fetchMessageRange(
  run: Run,
  m: Message,
  info: KinesisBatchInfo,
  stream: string,
  target: StreamTarget,
): Promise<StreamRecord[] | MessageOutcome> {
  const { options, tally } = run;
  try {
    return await fetchRange(options.kinesis, stream, info, {
      retentionHours: target.retentionHours,
      nowMs: run.now(),
      retry: options.retry,
    });
  } catch (e) {
    if (!(e instanceof RangeExpiredError)) throw e;
    if (options.deleteExpired && !options.dryRun) {
      await deleteMessage(run, m);
      tally.problems.push(`message ${m.MessageId}: range expired (${e.message}); deleted (--delete-expired)`);
      return 'expired-deleted';
    }
    tally.problems.push(
      `message ${m.MessageId}: range expired, cannot re-drive (${e.message}); left in the queue`,
    );
    return 'expired';
  }
}

/**
 * Hands the range's records to filter-enrich and deletes the message once it leaves none for retry.
 * filter-enrich decides every outcome and data errors are outcomes, so a throw is an infrastructure fault:
 * every record is left for retry.
 */
async function processMessageRange(
  run: Run,
  m: Message,
  records: readonly StreamRecord[],
): Promise<MessageOutcome> {
  const { tally } = run;
  let retry: readonly string[];
  try {
    ({ retry } = await run.options.process(records));
  } catch (e) {
    retry = records.map((r) => r.sequenceNumber);
    tally.problems.push(`message ${m.MessageId}: filter-enrich failed (${(e as Error).message})`);
  }
  const failed = new Set(retry);
  const left = records.filter((r) => failed.has(r.sequenceNumber)).length;
  tally.recordsProcessed += records.length - left;
  if (left) {
    tally.recordsFailed += left;
    tally.problems.push(
      `message ${m.MessageId}: ${left} of ${records.length} records were reported for retry; left in the queue (re-running is safe)`,
    );
    return 'process-failed';
  }
  try {
    await deleteMessage(run, m);
  } catch (e) {
    tally.problems.push(
      `message ${m.MessageId}: records processed but the message could not be deleted (${(e as Error).message}); re-running is safe`,
    );
    return 'delete-failed';
  }
  return 'redriven';
}

/** One message: checked, its range read back and (unless a dry run) re-driven. */
async function redriveMessage(run: Run, m: Message): Promise<MessageOutcome> {
  const { options, tally } = run;
  const parsed = parseFailureMessage(m.Body);
  if ('invalid' in parsed) {
    tally.problems.push(
      `message ${m.MessageId}: not an on-failure record (${parsed.invalid}); left in the queue`,
    );
    return 'unreadable';
  }
  const { info } = parsed;
  const stream = streamNameOfArn(info.streamArn)!;
  const target = options.streams.has(stream) ? await run.describe(stream) : undefined;
  // Same name is not enough: another account or region can have a stream of that name.
  if (!target || (target.arn !== undefined && target.arn !== info.streamArn)) {
    tally.problems.push(
      `message ${m.MessageId}: stream ${info.streamArn} is not this deployment's; left in the queue`,
    );
    return 'other-stream';
  }
  const records = await fetchMessageRange(run, m, info, stream, target);
  if (typeof records === 'string') return records;
  tally.recordsFetched += records.length;
  if (records.length !== info.batchSize) tally.sizeMismatches++;
  if (options.dryRun) return 'would-redrive';
  return processMessageRange(run, m, records);
}

/** The queue's approximate length, capped at the run's limit: the progress bar's total. */
async function approximateTotal(run: Run, limit: number): Promise<number | undefined> {
  const attrs = await run.options.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: run.options.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  const approx = Number(attrs.Attributes?.ApproximateNumberOfMessages ?? Number.NaN);
  return Number.isFinite(approx) ? Math.min(approx, limit) : undefined;
}

/** What was not re-driven goes back to the queue now, not when its visibility timeout runs out. */
async function releaseMessages(run: Run, messages: readonly Message[]): Promise<void> {
  for (const m of messages) {
    try {
      await run.options.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: run.options.queueUrl,
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    } catch {
      // It becomes visible again when its visibility timeout runs out.
    }
  }
}

/** Outcomes that leave the message in the queue (made visible again at the end of the run). */
const LEFT_IN_QUEUE = (outcome: MessageOutcome) =>
  outcome !== 'redriven' && outcome !== 'delete-failed' && outcome !== 'expired-deleted';

/** Re-drives every message of one on-failure queue (or `maxMessages` of them). */
export async function redriveQueue(options: RedriveOptions): Promise<RedriveSummary> {
  const { sqs, queueUrl } = options;
  const run: Run = {
    options,
    now: options.nowMs ?? Date.now,
    describe: streamDescriber(options.kinesis),
    tally: { recordsFetched: 0, recordsProcessed: 0, recordsFailed: 0, sizeMismatches: 0, problems: [] },
  };
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
  const seen = new Set<string>();
  const toRelease: Message[] = [];
  const limit = options.maxMessages ?? Number.POSITIVE_INFINITY;
  const total = await approximateTotal(run, limit);
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
    // A message received again in the same run (its visibility ran out) was handled already.
    const fresh = (r.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
    if (!fresh.length) break;
    for (const m of fresh) {
      seen.add(m.MessageId!);
      const outcome = await redriveMessage(run, m);
      outcomes[outcome]++;
      if (LEFT_IN_QUEUE(outcome)) toRelease.push(m);
      done++;
      options.onProgress?.(done, total);
    }
  }
  await releaseMessages(run, toRelease);
  return { queueUrl, messages: done, outcomes, ...run.tally };
}
