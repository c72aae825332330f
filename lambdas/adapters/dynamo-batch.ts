/**
 * BatchGetItem and BatchWriteItem done completely: requests of at most 100 keys / 25 writes, with
 * `UnprocessedKeys` / `UnprocessedItems` retried under bounded backoff. What still fails is handed back.
 */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_RETRY, type RetryPolicy, retryingStep, retryPending } from './retry.js';

type Key = Record<string, unknown>;
export type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Key } };

const chunks = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

export async function batchGetAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Key[],
  options: { projection?: string; names?: Record<string, string> } = {},
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  await Promise.all(
    chunks(keys, 100).map(async (chunk) => {
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
                },
              },
            }),
          );
          found.push(...(out.Responses?.[tableName] ?? []));
          return out.UnprocessedKeys?.[tableName]?.Keys ?? [];
        }),
        policy,
      );
      if (left.length)
        throw new Error(`BatchGetItem on ${tableName}: ${left.length} keys unprocessed after retries`);
    }),
  );
  return found;
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
