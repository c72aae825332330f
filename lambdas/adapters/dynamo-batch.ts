/**
 * BatchGetItem and BatchWriteItem done completely: requests of at most 100 keys / 25 writes, with
 * `UnprocessedKeys` / `UnprocessedItems` retried under bounded backoff. What still fails is handed back.
 * Limits: "A single operation can retrieve up to 16 MB of data, which can contain as many as 100 items"
 * (DynamoDB API Reference, BatchGetItem); "up to 25 put or delete requests" (BatchWriteItem).
 */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_RETRY, type RetryPolicy, retryingStep, retryPending } from './retry.js';

type Key = Record<string, unknown>;
export type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Key } };

/** `xs` cut into consecutive slices of at most `n` (the last one shorter). */
export const chunks = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

/** BatchGetItem requests of one `batchGetAll` in flight at once. */
export const BATCH_GET_CONCURRENCY = 4;

/** Runs `work` on every item, at most `concurrency` at a time. */
async function pooled<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Every item of `keys` that exists, in requests of 100 keys, at most `concurrency` of them in flight (50,000
 * keys are 500 requests: all at once they would contend for the table's capacity and the function's
 * sockets). Keys still unprocessed once the retries are used up (throttling, `UnprocessedKeys`) are handed
 * back in `unprocessed`, for the caller to decide; an error that is not retryable is raised.
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Key[],
  options: {
    projection?: string;
    names?: Record<string, string>;
    concurrency?: number;
    /** Strongly consistent reads (twice the read units). @default false */
    consistent?: boolean;
  } = {},
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<{ items: Record<string, unknown>[]; unprocessed: Key[] }> {
  const items: Record<string, unknown>[] = [];
  const unprocessed: Key[] = [];
  await pooled(chunks(keys, 100), options.concurrency ?? BATCH_GET_CONCURRENCY, async (chunk) => {
    const left = await retryPending(
      chunk,
      retryingStep(async (pending) => {
        const out = await client.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: {
                Keys: [...pending],
                ProjectionExpression: options.projection,
                ExpressionAttributeNames: options.names,
                ...(options.consistent ? { ConsistentRead: true } : {}),
              },
            },
          }),
        );
        items.push(...(out.Responses?.[tableName] ?? []));
        return out.UnprocessedKeys?.[tableName]?.Keys ?? [];
      }),
      policy,
    );
    unprocessed.push(...left);
  });
  return { items, unprocessed };
}

/** Writes everything it can and returns the indexes (into `requests`) of the writes that never succeeded. */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<number[]> {
  const indexed = requests.map((request, index) => ({ request, index }));
  const failed: number[] = [];
  await Promise.all(
    chunks(indexed, 25).map(async (chunk) => {
      const left = await retryPending(
        chunk,
        retryingStep(async (pending) => {
          const out = await client.send(
            new BatchWriteCommand({ RequestItems: { [tableName]: pending.map((p) => p.request) } }),
          );
          const unprocessed = out.UnprocessedItems?.[tableName] ?? [];
          if (!unprocessed.length) return [];
          // Unprocessed items come back as the same requests; match them by content to keep their index.
          const keys = new Set(unprocessed.map((u) => JSON.stringify(u)));
          return pending.filter((p) => keys.has(JSON.stringify(p.request)));
        }),
        policy,
      );
      for (const l of left) failed.push(l.index);
    }),
  );
  return failed;
}
