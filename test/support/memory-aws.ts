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
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { itemSize } from '../../lambdas/history-store/item-codec.js';
import { prng } from '../../scripts/traffic.js';
import { checkPutRecords } from './kinesis-limits.js';

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

type Item = Record<string, unknown>;
type Names = Record<string, string>;
type Values = Record<string, unknown>;

/*
 * What the service and the SDK refuse, enforced on every call. Sources: "Constraints in Amazon DynamoDB"
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html): items of at most
 * 400 KB (attribute names and values, UTF-8), BatchGetItem at most 100 keys and 16 MB returned,
 * BatchWriteItem at most 25 requests, any expression string at most 4 KB, strings "Unicode with UTF-8
 * binary encoding" (a lone surrogate has no UTF-8 encoding: refused as a ValidationException here; the
 * service's exact message is not documented).
 */
export const DYNAMO_LIMITS = {
  itemBytes: 400 * 1024,
  batchGetKeys: 100,
  batchGetBytes: 16 * 1024 * 1024,
  batchWriteRequests: 25,
  expressionBytes: 4096,
} as const;

const validation = (message: string) =>
  Object.assign(new Error(message), {
    name: 'ValidationException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });

/** The project's DocumentClient options (lambdas/adapters/clients.ts). */
const MARSHALL_OPTIONS = { removeUndefinedValues: true } as const;

/**
 * A value as DynamoDB would store and return it: through `marshall` (with the DocumentClient's options)
 * and `unmarshall`, as the SDK does on the way out and back. A value the SDK cannot marshal throws as it
 * would; a key the round trip drops (`__proto__` in a map) is dropped.
 */
export function throughSdk<T>(value: T): T {
  const wrapped = marshall({ v: value }, MARSHALL_OPTIONS);
  checkStrings(wrapped);
  return unmarshall(wrapped).v as T;
}

function checkStrings(v: unknown): void {
  if (typeof v === 'string') {
    if (/\p{Cs}/u.test(v))
      throw validation('One or more parameter values were invalid: malformed UTF-8 string');
  } else if (Array.isArray(v)) for (const x of v) checkStrings(x);
  else if (v instanceof Set) for (const x of v) checkStrings(x);
  else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array))
    for (const [k, x] of Object.entries(v)) {
      checkStrings(k);
      checkStrings(x);
    }
}

/** Refuses an expression over 4 KB, as the service does. */
function checkExpressions(input: Record<string, unknown>): void {
  for (const field of [
    'ConditionExpression',
    'UpdateExpression',
    'KeyConditionExpression',
    'ProjectionExpression',
    'FilterExpression',
  ]) {
    const e = input[field];
    if (typeof e === 'string' && Buffer.byteLength(e) > DYNAMO_LIMITS.expressionBytes)
      throw validation(
        `Invalid ${field}: Expression size has exceeded the maximum allowed size; expression size: ${Buffer.byteLength(e)}`,
      );
  }
  checkStrings(input.ExpressionAttributeNames ?? {});
}

/**
 * The top-level attributes a `ProjectionExpression` names, refused as DynamoDB refuses them: an empty path, a
 * `#name` not in `ExpressionAttributeNames`, or the same attribute twice ("Two document paths overlap").
 * Nested paths (`a.b`, `a[0]`) are not modelled here and are refused too.
 */
export function projectionAttributes(expr: string, names: Names): string[] {
  const attrs = expr.split(',').map((a) => a.trim());
  const out: string[] = [];
  for (const a of attrs) {
    if (!a) throw validation('Invalid ProjectionExpression: Syntax error; token: ",", near: ","');
    if (/[.[\]]/.test(a)) throw new Error(`memory DynamoDB: nested projection paths not modelled: ${a}`);
    if (a.startsWith('#') && !(a in names))
      throw validation(
        `Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: ${a}`,
      );
    if (!/^#?[A-Za-z0-9_]+$/.test(a))
      throw validation(`Invalid ProjectionExpression: Syntax error; token: "${a}"`);
    const name = a.startsWith('#') ? names[a]! : a;
    if (out.includes(name))
      throw validation(
        `Invalid ProjectionExpression: Two document paths overlap with each other; path one: [${name}], path two: [${name}]`,
      );
    out.push(name);
  }
  return out;
}

const checkItemSize = (item: Item) => {
  if (itemSize(item) > DYNAMO_LIMITS.itemBytes)
    throw validation('Item size has exceeded the maximum allowed size');
};

/**
 * Evaluates the condition expressions the code issues: `attribute_not_exists(#a)`, `attribute_exists(#a)`,
 * `#a = :v`, `#a[i] = :v`, `#a <= :v`,
 * combined with AND, OR and parentheses (DynamoDB's precedence: AND before OR).
 */
/**
 * DynamoDB's `=`: true when both values are of one type and equal ("Condition and filter expressions,
 * operators, and functions in DynamoDB", comparison operators, DynamoDB developer guide): a Binary equals a
 * Binary of the same bytes, whatever view holds them, and never a value of another type.
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array)
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  return JSON.stringify(a) === JSON.stringify(b);
}

export function evaluateCondition(
  expr: string,
  item: Item | undefined,
  names: Names,
  values: Values,
): boolean {
  const tokens =
    expr.match(/\(|\)|attribute_(?:not_)?exists\(#\w+\)|#\w+(?:\[\d+\])?|:\w+|<=|=|AND|OR/g) ?? [];
  let p = 0;
  // `#a[i]`: element i of a list attribute (a document path).
  const attr = (t: string) => {
    const m = /^(#?\w+)\[(\d+)\]$/.exec(t);
    if (!m) return item?.[names[t] ?? t];
    const list = item?.[names[m[1]!] ?? m[1]!];
    return Array.isArray(list) ? list[Number(m[2])] : undefined;
  };
  const atom = (): boolean => {
    const t = tokens[p++]!;
    if (t === '(') {
      const v = or();
      p++; // ')'
      return v;
    }
    if (t.startsWith('attribute_not_exists(')) return attr(t.slice(21, -1)) === undefined;
    if (t.startsWith('attribute_exists(')) return attr(t.slice(17, -1)) !== undefined;
    const op = tokens[p++]!;
    const rhs = values[tokens[p++]!];
    const lhs = attr(t);
    if (lhs === undefined) return false;
    return op === '=' ? sameValue(lhs, rhs) : Number(lhs) <= Number(rhs);
  };
  const and = (): boolean => {
    let v = atom();
    while (tokens[p] === 'AND') {
      p++;
      v = atom() && v;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (tokens[p] === 'OR') {
      p++;
      v = and() || v;
    }
    return v;
  };
  return or();
}

/**
 * Applies `SET a = :v, b = if_not_exists(b, :z) + :k, c = c - :k`, optionally followed by `REMOVE #d, #e`
 * (names through `#` placeholders).
 */
export function applySet(expr: string, item: Item, names: Names, values: Values): void {
  const name = (t: string) => (t.startsWith('#') ? names[t]! : t);
  const [sets = '', removes] = expr.split(' REMOVE ');
  for (const r of removes?.split(', ') ?? []) delete item[name(r.trim())];
  const updates: [string, unknown][] = [];
  for (const action of sets.replace(/^SET /, '').split(/, (?=#|\w+ =)/)) {
    if (!action.trim()) continue;
    const [lhs, rhs] = action.split(' = ') as [string, string];
    let m = /^if_not_exists\((#?\w+), (:\w+)\) \+ (:\w+)$/.exec(rhs);
    if (m) {
      updates.push([name(lhs), Number(item[name(m[1]!)] ?? values[m[2]!]) + Number(values[m[3]!])]);
      continue;
    }
    m = /^(#?\w+) ([-+]) (:\w+)$/.exec(rhs);
    if (m) {
      const sign = m[2] === '-' ? -1 : 1;
      updates.push([name(lhs), Number(item[name(m[1]!)]) + sign * Number(values[m[3]!])]);
      continue;
    }
    m = /^if_not_exists\((#?\w+), (:\w+)\)$/.exec(rhs);
    if (m) {
      updates.push([name(lhs), item[name(m[1]!)] ?? values[m[2]!]]);
      continue;
    }
    if (!/^:\w+$/.test(rhs) || !(rhs in values))
      throw new Error(`memory DynamoDB: update action not modelled here: ${action}`);
    updates.push([name(lhs), values[rhs]]);
  }
  for (const [k, v] of updates) item[k] = v;
}

/**
 * Capacity the requests would consume, by DynamoDB's rules ("DynamoDB read and write operations",
 * developer guide): a write is charged on the larger of the item before and after it, in 1 KB units (a
 * failed conditional write on the existing item, minimum 1); a consistent read in 4 KB units; a query on
 * the sum of the items it returns, in 4 KB units, halved for eventual consistency.
 */
export interface Capacity {
  wcu: number;
  /** Write units by the first letter of the sort key (`B` buckets, `D` day counters). */
  wcuByItemKind: Record<string, number>;
  rcu: number;
  writes: number;
  failedConditions: number;
  failedConditionWcu: number;
  reads: number;
  readItems: number;
  readBytes: number;
  /** Bytes of the items a Query returned (after its projection; `readBytes` is what it read and is charged). */
  returnedBytes: number;
}

/** A DynamoDB document client over in-memory tables, with faults. */
export function memoryDynamo(faults: FaultSettings) {
  const rand = prng(faults.seed);
  // Verification reads after a campaign run without faults.
  const state = { faultsOn: true };
  const tables = new Map<string, Map<string, Record<string, unknown>>>();
  const counts: FaultCounts = { throttles: 0, unprocessed: 0, failedEntries: 0 };
  /** Requests by operation (the document client's command name without `Command`), faults included. */
  const requests: Record<string, number> = {};
  const request = (operation: string) => {
    requests[operation] = (requests[operation] ?? 0) + 1;
  };
  const capacity: Capacity = {
    wcu: 0,
    wcuByItemKind: {},
    rcu: 0,
    writes: 0,
    failedConditions: 0,
    failedConditionWcu: 0,
    reads: 0,
    readItems: 0,
    readBytes: 0,
    returnedBytes: 0,
  };
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
  mock.on(UpdateCommand).callsFake((raw) => {
    request('Update');
    maybeThrottle();
    checkExpressions(raw);
    const input = {
      ...raw,
      Key: throughSdk(raw.Key),
      ExpressionAttributeValues: throughSdk(raw.ExpressionAttributeValues ?? {}),
    };
    const t = table(input.TableName);
    const k = keyOf(input.Key);
    const before = t.get(k);
    const kind = String(input.Key.sk ?? '').slice(0, 1);
    const charge = (units: number) => {
      capacity.wcu += units;
      capacity.wcuByItemKind[kind] = (capacity.wcuByItemKind[kind] ?? 0) + units;
    };
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    if (input.ConditionExpression && !evaluateCondition(input.ConditionExpression, before, names, values)) {
      capacity.failedConditions++;
      const units = Math.max(1, Math.ceil((before ? itemSize(before) : 0) / 1024));
      capacity.failedConditionWcu += units;
      charge(units);
      throw Object.assign(new Error('The conditional request failed'), {
        name: 'ConditionalCheckFailedException',
        ...(before && input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD'
          ? { Item: marshall(before) }
          : {}),
      });
    }
    const item: Item = { ...(before ?? input.Key) };
    applySet(String(input.UpdateExpression), item, names, values);
    checkItemSize(item);
    capacity.writes++;
    charge(Math.max(1, Math.ceil(Math.max(before ? itemSize(before) : 0, itemSize(item)) / 1024)));
    t.set(k, item);
    if (input.ReturnValues === 'ALL_NEW') return { Attributes: { ...item } };
    return input.ReturnValues === 'ALL_OLD' && before ? { Attributes: before } : {};
  });
  mock.on(PutCommand).callsFake((raw) => {
    request('Put');
    maybeThrottle();
    checkExpressions(raw);
    const input = {
      ...raw,
      Item: throughSdk(raw.Item),
      ExpressionAttributeValues: throughSdk(raw.ExpressionAttributeValues ?? {}),
    };
    checkItemSize(input.Item);
    const t = table(input.TableName);
    const key = { pk: input.Item.pk, sk: input.Item.sk };
    const before = t.get(keyOf(key));
    const kind = String(key.sk ?? '').slice(0, 1);
    const units = (n: number) => {
      capacity.wcu += n;
      capacity.wcuByItemKind[kind] = (capacity.wcuByItemKind[kind] ?? 0) + n;
    };
    const cond = input.ConditionExpression;
    if (
      cond &&
      !evaluateCondition(
        cond,
        before,
        input.ExpressionAttributeNames ?? {},
        input.ExpressionAttributeValues ?? {},
      )
    ) {
      capacity.failedConditions++;
      const n = Math.max(1, Math.ceil((before ? itemSize(before) : 0) / 1024));
      capacity.failedConditionWcu += n;
      units(n);
      throw Object.assign(new Error('The conditional request failed'), {
        name: 'ConditionalCheckFailedException',
      });
    }
    capacity.writes++;
    units(Math.max(1, Math.ceil(Math.max(before ? itemSize(before) : 0, itemSize(input.Item)) / 1024)));
    t.set(keyOf(key), { ...input.Item });
    return {};
  });
  mock.on(GetCommand).callsFake((input) => {
    request('Get');
    maybeThrottle();
    checkExpressions(input);
    const item = table(input.TableName).get(keyOf(throughSdk(input.Key)));
    capacity.reads++;
    capacity.rcu +=
      Math.max(1, Math.ceil((item ? itemSize(item) : 0) / 4096)) / (input.ConsistentRead ? 1 : 2);
    return item ? { Item: item } : {};
  });
  mock.on(QueryCommand).callsFake((raw) => {
    request('Query');
    maybeThrottle();
    checkExpressions(raw);
    const input = { ...raw, ExpressionAttributeValues: throughSdk(raw.ExpressionAttributeValues ?? {}) };
    const v = input.ExpressionAttributeValues;
    let items = [...table(input.TableName).values()].filter((i) => i.pk === v[':pk']);
    if (String(input.KeyConditionExpression).includes('BETWEEN')) {
      items = items.filter((i) => String(i.sk) >= v[':lo'] && String(i.sk) <= v[':hi']);
    }
    items.sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1));
    if (input.ScanIndexForward === false) items.reverse();
    // Pages as DynamoDB cuts them: at `Limit` items or 1 MB read.
    let start = 0;
    if (input.ExclusiveStartKey) start = items.findIndex((i) => i.sk === input.ExclusiveStartKey.sk) + 1;
    const page: Item[] = [];
    let bytes = 0;
    for (let i = start; i < items.length; i++) {
      if (page.length === (input.Limit ?? Number.POSITIVE_INFINITY) || bytes >= 1024 * 1024) break;
      page.push(items[i]!);
      bytes += itemSize(items[i]!);
    }
    capacity.reads++;
    capacity.readItems += page.length;
    capacity.readBytes += bytes;
    capacity.rcu += Math.max(1, Math.ceil(bytes / 4096)) / (input.ConsistentRead ? 1 : 2);
    const more = start + page.length < items.length;
    // A projection shapes what is returned, not what is read (the units and the 1 MB page are the items').
    const attrs = input.ProjectionExpression
      ? projectionAttributes(String(input.ProjectionExpression), input.ExpressionAttributeNames ?? {})
      : undefined;
    const projected = attrs
      ? page.map((it) => Object.fromEntries(attrs.filter((a) => a in it).map((a) => [a, it[a]])))
      : page;
    capacity.returnedBytes += projected.reduce((n, it) => n + itemSize(it), 0);
    return {
      Items: projected,
      ...(more ? { LastEvaluatedKey: { pk: page.at(-1)!.pk, sk: page.at(-1)!.sk } } : {}),
    };
  });
  mock.on(BatchGetCommand).callsFake((input) => {
    request('BatchGet');
    maybeThrottle();
    const [[name, req]] = Object.entries(input.RequestItems) as [
      [string, { Keys: Record<string, unknown>[]; ConsistentRead?: boolean }],
    ];
    const consistentRead = req.ConsistentRead === true;
    if (req.Keys.length > DYNAMO_LIMITS.batchGetKeys)
      throw validation(
        `1 validation error detected: Value at 'requestItems.${name}.member.keys' failed to satisfy constraint: Member must have length less than or equal to 100`,
      );
    checkExpressions(req as unknown as Record<string, unknown>);
    const t = table(name);
    const got: Record<string, unknown>[] = [];
    const left: Record<string, unknown>[] = [];
    let bytes = 0;
    for (const key of req.Keys.map((k) => throughSdk(k))) {
      if ((state.faultsOn && rand() < faults.partial) || bytes >= DYNAMO_LIMITS.batchGetBytes) {
        if (bytes < DYNAMO_LIMITS.batchGetBytes) counts.unprocessed++;
        left.push(key);
        continue;
      }
      const item = t.get(keyOf(key));
      // Each key is read as a GetItem is ("DynamoDB read and write operations", BatchGetItem): its size
      // rounded up to 4 KB, at least one unit even when there is no item, halved unless consistent.
      capacity.rcu += Math.max(1, Math.ceil((item ? itemSize(item) : 0) / 4096)) / (consistentRead ? 1 : 2);
      if (item) {
        got.push(item);
        bytes += itemSize(item);
      }
    }
    capacity.reads++;
    return { Responses: { [name]: got }, UnprocessedKeys: left.length ? { [name]: { Keys: left } } : {} };
  });
  mock.on(BatchWriteCommand).callsFake((input) => {
    request('BatchWrite');
    maybeThrottle();
    const [[name, reqs]] = Object.entries(input.RequestItems) as [
      [string, Record<string, { Item?: Record<string, unknown>; Key?: Record<string, unknown> }>[]],
    ];
    if (reqs.length > DYNAMO_LIMITS.batchWriteRequests)
      throw validation(
        `1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]`,
      );
    const stored = reqs.map((r) => ({
      PutRequest: r.PutRequest?.Item ? { Item: throughSdk(r.PutRequest.Item) } : undefined,
      DeleteRequest: r.DeleteRequest?.Key ? { Key: throughSdk(r.DeleteRequest.Key) } : undefined,
    }));
    for (const r of stored) if (r.PutRequest) checkItemSize(r.PutRequest.Item);
    const t = table(name);
    const left: typeof reqs = [];
    for (const [i, original] of reqs.entries()) {
      const r = stored[i]!;
      if (state.faultsOn && rand() < faults.partial) {
        counts.unprocessed++;
        left.push(original);
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
  return { client, tables, counts, requests, table, state, capacity };
}

export interface StreamRecordOut {
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  readonly data: Uint8Array;
}

/**
 * A Kinesis client whose PutRecords appends to in-memory streams, with faults. It refuses, as the service
 * does, any request outside Kinesis' documented limits (`checkPutRecords`: 500 records and 5 MiB a request,
 * 1 MiB a record with its partition key, partition keys of 1–256 characters).
 */
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
    // What Kinesis refuses is refused here, before any fault is drawn (kinesis-limits.ts cites the limits).
    checkPutRecords(input.Records);
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
