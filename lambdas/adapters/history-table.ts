/**
 * What the parts of the history store share: the table, its client and retry policy, the clock, and the
 * conditional UpdateItem and consistent GetItem that the write side is built from.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type RetryPolicy, retryingStep, retryPending } from './retry.js';

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
export type Item = Record<string, unknown>;

export const chunks = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

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

/** UpdateItem and GetItem on the table, each retried on throttling. */
export function itemAccess({ client, tableName, policy }: HistoryTable) {
  /**
   * One UpdateItem retried on throttling: `{ ok: true }`, or the item as it is when the condition failed
   * (returned with the failure: `ReturnValuesOnConditionCheckFailure: ALL_OLD`, UpdateItem API reference;
   * read with a consistent GetItem where an endpoint does not return it). With `ReturnValues`, a success
   * carries the attributes returned.
   */
  async function update(
    input: UpdateInput,
  ): Promise<{ ok: true; attributes?: Item } | { ok: false; item: Item | undefined }> {
    const holder: {
      result: { ok: true; attributes?: Item } | { ok: false; item: Item | undefined; returned: boolean };
    } = {
      result: { ok: true },
    };
    const left = await retryPending(
      [input],
      retryingStep<UpdateInput>(async () => {
        try {
          const out = await client.send(
            new UpdateCommand({
              ...input,
              TableName: tableName,
              ...(input.ConditionExpression ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } : {}),
            }),
          );
          holder.result = out.Attributes ? { ok: true, attributes: out.Attributes } : { ok: true };
        } catch (err) {
          if (!conditionFailed(err)) throw err;
          const raw = (err as { Item?: Record<string, AttributeValue> }).Item;
          holder.result = {
            ok: false,
            item: raw ? unmarshall(raw) : undefined,
            returned: raw !== undefined,
          };
        }
        return [];
      }),
      policy,
    );
    if (left.length) throw new NotDone('UpdateItem throttled after retries');
    const result = holder.result;
    if (!result.ok && !result.returned) return { ok: false, item: await getItem(input.Key as Item) };
    return result;
  }

  async function getItem(Key: Item): Promise<Item | undefined> {
    let item: Item | undefined;
    const left = await retryPending(
      [Key],
      retryingStep<Item>(async () => {
        item = (await client.send(new GetCommand({ TableName: tableName, Key, ConsistentRead: true }))).Item;
        return [];
      }),
      policy,
    );
    if (left.length) throw new NotDone('GetItem throttled after retries');
    return item;
  }

  return { update, getItem };
}
