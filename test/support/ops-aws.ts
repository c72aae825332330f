/**
 * In-memory Kinesis streams (one shard each) and SQS queues behind the real SDK clients, for the operations
 * tools' tests: PutRecords appends with increasing sequence numbers; GetShardIterator (AT_/AFTER_SEQUENCE_NUMBER,
 * TRIM_HORIZON) and GetRecords read in small pages, so paging is exercised; a stream can be trimmed to
 * simulate records passing the retention. SQS keeps messages with visibility: a received message is
 * invisible until deleted or made visible again.
 */
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { checkPutRecords } from './kinesis-limits.js';

const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };

export interface StoredRecord {
  readonly PartitionKey: string;
  readonly SequenceNumber: string;
  readonly Data: Uint8Array;
  readonly ApproximateArrivalTimestamp: Date;
}

const notFound = (what: string) =>
  Object.assign(new Error(`${what} not found`), { name: 'ResourceNotFoundException' });

export function memoryStreams(
  options: {
    pageSize?: number;
    retentionHours?: number;
    /** The clock that stamps each record's ApproximateArrivalTimestamp. @default the system clock */
    now?: () => number;
    /** PutRecords entries for which this returns true fail (ProvisionedThroughputExceeded). */
    failPut?: (streamName: string, data: Uint8Array) => boolean;
  } = {},
) {
  const pageSize = options.pageSize ?? 7;
  const streams = new Map<string, { records: StoredRecord[]; trimmed: number }>();
  let seq = 49_600_000_000_000_000_000n;
  const stream = (name: string) => {
    let s = streams.get(name);
    if (!s) {
      s = { records: [], trimmed: 0 };
      streams.set(name, s);
    }
    return s;
  };
  const client = new KinesisClient({ region: 'us-east-1', credentials });
  const mock = mockClient(client);
  mock.on(PutRecordsCommand).callsFake((input) => {
    // What Kinesis refuses is refused here (kinesis-limits.ts cites the limits).
    checkPutRecords(input.Records);
    const s = stream(input.StreamName);
    let failed = 0;
    const out = input.Records.map((r: { PartitionKey: string; Data: Uint8Array }) => {
      if (options.failPut?.(input.StreamName, r.Data)) {
        failed++;
        return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'injected' };
      }
      seq += 1000n;
      s.records.push({
        PartitionKey: r.PartitionKey,
        SequenceNumber: String(seq),
        Data: r.Data,
        ApproximateArrivalTimestamp: new Date(options.now?.() ?? Date.now()),
      });
      return { SequenceNumber: String(seq), ShardId: 'shardId-000000000000' };
    });
    return { FailedRecordCount: failed, Records: out };
  });
  mock.on(DescribeStreamSummaryCommand).callsFake((input) => ({
    StreamDescriptionSummary: {
      StreamName: input.StreamName,
      StreamARN: `arn:aws:kinesis:us-east-1:123456789012:stream/${input.StreamName}`,
      RetentionPeriodHours: options.retentionHours ?? 24,
    },
  }));
  mock.on(GetShardIteratorCommand).callsFake((input) => {
    if (input.ShardId !== 'shardId-000000000000' || !streams.has(input.StreamName))
      throw notFound(`shard ${input.ShardId}`);
    const s = stream(input.StreamName);
    const live = s.records.slice(s.trimmed);
    let i = 0;
    if (input.ShardIteratorType !== 'TRIM_HORIZON') {
      const at = BigInt(input.StartingSequenceNumber);
      // Like Kinesis past the trim horizon: reading starts at the oldest record still there.
      const k = live.findIndex((r) =>
        input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER'
          ? BigInt(r.SequenceNumber) > at
          : BigInt(r.SequenceNumber) >= at,
      );
      i = k === -1 ? live.length : k;
    }
    return { ShardIterator: JSON.stringify({ name: input.StreamName, i: s.trimmed + i }) };
  });
  mock.on(GetRecordsCommand).callsFake((input) => {
    const { name, i } = JSON.parse(input.ShardIterator) as { name: string; i: number };
    const s = stream(name);
    const from = Math.max(i, s.trimmed);
    const page = s.records.slice(from, from + Math.min(pageSize, input.Limit ?? 10_000));
    const next = from + page.length;
    return {
      Records: page,
      NextShardIterator: JSON.stringify({ name, i: next }),
      MillisBehindLatest: next < s.records.length ? 1000 : 0,
    };
  });
  return {
    client,
    streams,
    records: (name: string) => stream(name).records,
    /** Drops the oldest `n` records of a stream, as its retention would. */
    trim: (name: string, n: number) => {
      stream(name).trimmed = n;
    },
  };
}

interface QueueMessage {
  readonly id: string;
  readonly body: string;
  receipt?: string;
}

export function memoryQueues() {
  const queues = new Map<string, QueueMessage[]>();
  let n = 0;
  const queue = (url: string) => {
    let q = queues.get(url);
    if (!q) {
      q = [];
      queues.set(url, q);
    }
    return q;
  };
  const client = new SQSClient({ region: 'us-east-1', credentials });
  const mock = mockClient(client);
  mock.on(SendMessageCommand).callsFake((input) => {
    const id = `m-${++n}`;
    queue(input.QueueUrl).push({ id, body: input.MessageBody });
    return { MessageId: id };
  });
  mock.on(GetQueueAttributesCommand).callsFake((input) => ({
    Attributes: {
      ApproximateNumberOfMessages: String(queue(input.QueueUrl).filter((m) => !m.receipt).length),
    },
  }));
  mock.on(ReceiveMessageCommand).callsFake((input) => {
    const visible = queue(input.QueueUrl)
      .filter((m) => !m.receipt)
      .slice(0, input.MaxNumberOfMessages ?? 1);
    for (const m of visible) m.receipt = `r-${++n}`;
    return { Messages: visible.map((m) => ({ MessageId: m.id, Body: m.body, ReceiptHandle: m.receipt })) };
  });
  mock.on(DeleteMessageCommand).callsFake((input) => {
    const q = queue(input.QueueUrl);
    const k = q.findIndex((m) => m.receipt === input.ReceiptHandle);
    if (k === -1)
      throw Object.assign(new Error('receipt handle invalid'), { name: 'ReceiptHandleIsInvalid' });
    q.splice(k, 1);
    return {};
  });
  mock.on(ChangeMessageVisibilityCommand).callsFake((input) => {
    const m = queue(input.QueueUrl).find((x) => x.receipt === input.ReceiptHandle);
    if (m && input.VisibilityTimeout === 0) m.receipt = undefined;
    return {};
  });
  return {
    client,
    messages: (url: string) => queue(url),
    send: (url: string, body: string) =>
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body })),
  };
}
