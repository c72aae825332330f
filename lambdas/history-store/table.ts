/**
 * What the parts of the history store share: the table, its client and retry policy, the clock, and the
 * conditional UpdateItem and consistent GetItem that the write side is built from.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isRetryable, type RetryPolicy, retryCall } from '../adapters/retry.js';
import type { Item } from './item-codec.js';

/** The history table as the store's parts see it. */
export interface HistoryTable {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly policy: RetryPolicy;
  /** The clock that decides which days are recent (rollups). */
  readonly now: () => number;
}

/** A write that kept being throttled or kept losing races: its records are reported and retried. */
export class NotDone extends Error {}

export const conditionFailed = (err: unknown) =>
  err instanceof Error && err.name === 'ConditionalCheckFailedException';

export type UpdateInput = ConstructorParameters<typeof UpdateCommand>[0];

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

/** The result of a conditional UpdateItem. */
export type UpdateResult = { ok: true; attributes?: Item } | { ok: false; item: Item | undefined };

/** UpdateItem and GetItem on one table, each retried on throttling. */
export interface ItemAccess {
  /**
   * One UpdateItem retried on throttling: `{ ok: true }`, or the item as it is when the condition failed
   * (returned with the failure: `ReturnValuesOnConditionCheckFailure: ALL_OLD`, UpdateItem API reference;
   * read with a consistent GetItem where an endpoint does not return it). With `ReturnValues`, a success
   * carries the attributes returned.
   */
  update(input: UpdateInput): Promise<UpdateResult>;
  /** One consistent GetItem retried on throttling. */
  getItem(key: Item): Promise<Item | undefined>;
}

/** `call` with the retry layer's policy; a call still throttled after the attempts is `NotDone`. */
async function retried<R>(call: () => Promise<R>, policy: RetryPolicy, what: string): Promise<R> {
  try {
    return await retryCall(call, policy);
  } catch (err) {
    if (isRetryable(err)) throw new NotDone(`${what} throttled after retries`);
    throw err;
  }
}

export function itemAccess({ client, tableName, policy }: HistoryTable): ItemAccess {
  async function getItem(Key: Item): Promise<Item | undefined> {
    const get = new GetCommand({ TableName: tableName, Key, ConsistentRead: true });
    return (await retried(() => client.send(get), policy, 'GetItem')).Item;
  }

  async function update(input: UpdateInput): Promise<UpdateResult> {
    const command = new UpdateCommand({
      ...input,
      TableName: tableName,
      ...(input.ConditionExpression ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } : {}),
    });
    const result = await retried(
      async () => {
        try {
          const out = await client.send(command);
          return out.Attributes ? { ok: true as const, attributes: out.Attributes } : { ok: true as const };
        } catch (err) {
          if (!conditionFailed(err)) throw err;
          const raw = (err as { Item?: Record<string, AttributeValue> }).Item;
          return { ok: false as const, returned: raw ? unmarshall(raw) : undefined };
        }
      },
      policy,
      'UpdateItem',
    );
    if (result.ok) return result;
    return { ok: false, item: result.returned ?? (await getItem(input.Key as Item)) };
  }

  return { update, getItem };
}
