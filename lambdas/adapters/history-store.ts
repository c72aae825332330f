/** DynamoDB adapter of the history table (data model in `domain/history-model.ts`). */
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  frequencySortKey,
  HISTORY_PREFIX,
  type HistoryItem,
  type HistoryWritePlan,
  historySortKey,
  profileKey,
} from '../domain/history-model.js';
import { batchWriteAll } from './dynamo-batch.js';
import { isRetryable } from './kinesis-writer.js';
import { DEFAULT_RETRY, type RetryPolicy, retryPending } from './retry.js';

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

export interface HistoryPage {
  readonly items: readonly HistoryItem[];
  /** Sort key of the last item returned, when more may follow. */
  readonly lastSortKey: string | null;
}

export function historyStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  policy: RetryPolicy = DEFAULT_RETRY,
) {
  return {
    /** Applies a write plan; returns the sources (sequence numbers) of the writes that did not succeed. */
    async apply(plan: HistoryWritePlan): Promise<Set<string>> {
      const failed = new Set<string>();
      const [failedPuts, failedUpdates] = await Promise.all([
        batchWriteAll(
          client,
          tableName,
          plan.puts.map((p) => ({ PutRequest: { Item: { ...p.item } } })),
          policy,
        ),
        mapLimit(plan.updates, 16, async ({ update }) => {
          const left = await retryPending(
            [update],
            async (pending) => {
              try {
                await client.send(
                  new UpdateCommand({
                    TableName: tableName,
                    Key: { pk: update.pk, sk: update.sk },
                    UpdateExpression: 'ADD ev :m SET x = if_not_exists(x, :x)',
                    ExpressionAttributeValues: { ':m': new Set(update.members), ':x': update.x },
                  }),
                );
                return [];
              } catch (err) {
                if (isRetryable(err)) return pending;
                throw err;
              }
            },
            policy,
          );
          return left.length > 0;
        }),
      ]);
      for (const i of failedPuts) for (const s of plan.puts[i]!.sources) failed.add(s);
      failedUpdates.forEach((f, i) => {
        if (f) for (const s of plan.updates[i]!.sources) failed.add(s);
      });
      return failed;
    },

    /** Newest-first page of a profile's history within [since, until], optionally of one title. */
    async listHistory(q: {
      profileId: string;
      since: string | null;
      until: string | null;
      titleId: string | null;
      limit: number;
      after: string | null;
    }): Promise<HistoryPage> {
      const pk = profileKey(q.profileId);
      const lower = historySortKey(q.since ?? '0000', '');
      const upper = historySortKey(q.until ?? '9999', '\uffff');
      const items: HistoryItem[] = [];
      let start: Record<string, unknown> | undefined = q.after ? { pk, sk: q.after } : undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
            ...(q.titleId ? { FilterExpression: 'ti = :ti' } : {}),
            ExpressionAttributeValues: {
              ':pk': pk,
              ':lo': lower,
              ':hi': upper,
              ...(q.titleId ? { ':ti': q.titleId } : {}),
            },
            ScanIndexForward: false,
            Limit: Math.min(1000, q.limit - items.length + 1),
            ExclusiveStartKey: start,
          }),
        );
        for (const it of out.Items ?? []) items.push(it as HistoryItem);
        start = out.LastEvaluatedKey;
      } while (start && items.length <= q.limit);
      if (items.length > q.limit) {
        const page = items.slice(0, q.limit);
        return { items: page, lastSortKey: page[page.length - 1]!.sk };
      }
      return { items, lastSortKey: null };
    },

    /** Members of one title's frequency items for the days [firstDay, lastDay]. */
    async frequencyMembers(
      profileId: string,
      titleId: string,
      firstDay: string,
      lastDay: string,
    ): Promise<string[]> {
      const members: string[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
            ExpressionAttributeValues: {
              ':pk': profileKey(profileId),
              ':lo': frequencySortKey(titleId, firstDay),
              ':hi': frequencySortKey(titleId, lastDay),
            },
            ProjectionExpression: 'ev',
            ExclusiveStartKey: start,
          }),
        );
        for (const it of out.Items ?? []) {
          const ev = it.ev;
          if (ev instanceof Set) for (const m of ev) members.push(String(m));
        }
        start = out.LastEvaluatedKey;
      } while (start);
      return members;
    },

    /** Deletes every item of a profile; returns how many history (impression) items were removed. */
    async erase(profileId: string): Promise<number> {
      const pk = profileKey(profileId);
      let removed = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ProjectionExpression: 'pk, sk',
            ExclusiveStartKey: start,
          }),
        );
        const keys = (out.Items ?? []).map((it) => ({ pk: it.pk, sk: it.sk }));
        const failed = await batchWriteAll(
          client,
          tableName,
          keys.map((Key) => ({ DeleteRequest: { Key } })),
          policy,
        );
        if (failed.length)
          throw new Error(`erasure of ${profileId}: ${failed.length} deletes failed after retries`);
        removed += keys.filter((k) => String(k.sk).startsWith(HISTORY_PREFIX)).length;
        start = out.LastEvaluatedKey;
      } while (start);
      return removed;
    },
  };
}

export type HistoryStore = ReturnType<typeof historyStore>;
