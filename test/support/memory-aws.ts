/**
 * In-memory stand-ins for the DynamoDB and Kinesis calls the handlers make, behind the real SDK clients
 * (aws-sdk-client-mock answers the commands), with seeded fault injection at the SDK level: throttling
 * exceptions on a share of calls, `UnprocessedKeys` / `UnprocessedItems` on a share of batch calls, and
 * partial `PutRecords` failures. Semantics follow the services for the subset the code uses.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { prng } from '../../scripts/traffic.js';

export interface FaultSettings {
  /** Share of calls that fail with a throttling exception. */
  readonly throttle: number;
  /** Share of items a batch call leaves unprocessed, or of PutRecords entries that fail. */
  readonly partial: number;
  readonly seed: number;
}

export interface FaultCounts {
  throttles: number;
  unprocessed: number;
  failedEntries: number;
}

const throttleError = (name = 'ProvisionedThroughputExceededException') =>
  Object.assign(new Error('injected throttling'), { name, $metadata: { httpStatusCode: 400 } });

const keyOf = (key: Record<string, unknown>) => JSON.stringify(Object.entries(key).sort());

/** A DynamoDB document client over in-memory tables, with faults. */
export function memoryDynamo(faults: FaultSettings) {
  const rand = prng(faults.seed);
  // Verification reads after a campaign run without faults.
  const state = { faultsOn: true };
  const tables = new Map<string, Map<string, Record<string, unknown>>>();
  const counts: FaultCounts = { throttles: 0, unprocessed: 0, failedEntries: 0 };
  const table = (name: string) => {
    let t = tables.get(name);
    if (!t) {
      t = new Map();
      tables.set(name, t);
    }
    return t;
  };
  const maybeThrottle = () => {
    if (state.faultsOn && rand() < faults.throttle) {
      counts.throttles++;
      throw throttleError();
    }
  };
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
  );
  const mock = mockClient(client);
  mock.on(UpdateCommand).callsFake((input) => {
    maybeThrottle();
    const t = table(input.TableName);
    const k = keyOf(input.Key);
    const item: Record<string, unknown> = { ...(t.get(k) ?? input.Key) };
    const sets = String(input.UpdateExpression).replace(/^SET /, '').split(', ');
    for (const s of sets) {
      const [lhs, rhs] = s.split(' = ') as [string, string];
      const name = lhs.startsWith('#') ? input.ExpressionAttributeNames[lhs] : lhs;
      item[name] = input.ExpressionAttributeValues[rhs];
    }
    if (JSON.stringify(item).length > 400 * 1024) {
      throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
        name: 'ValidationException',
      });
    }
    t.set(k, item);
    return {};
  });
  mock.on(QueryCommand).callsFake((input) => {
    maybeThrottle();
    const v = input.ExpressionAttributeValues;
    let items = [...table(input.TableName).values()].filter((i) => i.pk === v[':pk']);
    if (String(input.KeyConditionExpression).includes('BETWEEN')) {
      items = items.filter((i) => String(i.sk) >= v[':lo'] && String(i.sk) <= v[':hi']);
    }
    items.sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1));
    if (input.ScanIndexForward === false) items.reverse();
    return { Items: items };
  });
  mock.on(BatchGetCommand).callsFake((input) => {
    maybeThrottle();
    const [[name, req]] = Object.entries(input.RequestItems) as [
      [string, { Keys: Record<string, unknown>[] }],
    ];
    const t = table(name);
    const got: Record<string, unknown>[] = [];
    const left: Record<string, unknown>[] = [];
    for (const key of req.Keys) {
      if (state.faultsOn && rand() < faults.partial) {
        counts.unprocessed++;
        left.push(key);
        continue;
      }
      const item = t.get(keyOf(key));
      if (item) got.push(item);
    }
    return { Responses: { [name]: got }, UnprocessedKeys: left.length ? { [name]: { Keys: left } } : {} };
  });
  mock.on(BatchWriteCommand).callsFake((input) => {
    maybeThrottle();
    const [[name, reqs]] = Object.entries(input.RequestItems) as [
      [string, Record<string, { Item?: Record<string, unknown>; Key?: Record<string, unknown> }>[]],
    ];
    const t = table(name);
    const left: typeof reqs = [];
    for (const r of reqs) {
      if (state.faultsOn && rand() < faults.partial) {
        counts.unprocessed++;
        left.push(r);
        continue;
      }
      if (r.PutRequest?.Item) {
        const item = r.PutRequest.Item;
        const key =
          'id' in item
            ? { id: item.id }
            : 'titleId' in item
              ? { titleId: item.titleId }
              : { pk: item.pk, sk: item.sk };
        t.set(keyOf(key), item);
      }
      if (r.DeleteRequest?.Key) t.delete(keyOf(r.DeleteRequest.Key));
    }
    return { UnprocessedItems: left.length ? { [name]: left } : {} };
  });
  return { client, tables, counts, table, state };
}

export interface StreamRecordOut {
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  readonly data: Uint8Array;
}

/** A Kinesis client whose PutRecords appends to in-memory streams, with faults. */
export function memoryKinesis(faults: FaultSettings) {
  const rand = prng(faults.seed + 1);
  const streams = new Map<string, StreamRecordOut[]>();
  const counts: FaultCounts = { throttles: 0, unprocessed: 0, failedEntries: 0 };
  let seq = 10n ** 20n;
  const client = new KinesisClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const mock = mockClient(client);
  mock.on(PutRecordsCommand).callsFake((input) => {
    if (rand() < faults.throttle) {
      counts.throttles++;
      throw throttleError();
    }
    const list = streams.get(input.StreamName) ?? [];
    streams.set(input.StreamName, list);
    let failed = 0;
    const records = input.Records.map((r: { PartitionKey: string; Data: Uint8Array }) => {
      if (rand() < faults.partial) {
        failed++;
        counts.failedEntries++;
        return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'injected' };
      }
      seq += 1n;
      list.push({ partitionKey: r.PartitionKey, sequenceNumber: String(seq), data: r.Data });
      return { SequenceNumber: String(seq), ShardId: 'shardId-000000000000' };
    });
    return { FailedRecordCount: failed, Records: records };
  });
  return { client, streams, counts };
}
