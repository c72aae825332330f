/** DynamoDB adapter of the history table (data model in `domain/history-model.ts`). */
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  attributeName,
  BUCKET_PREFIX,
  type BucketWrite,
  bucketSortKey,
  bucketSortKeyEnd,
  bucketStart,
  type Impression,
  impressionsOfItem,
  isAfter,
  newestFirst,
  type PagePosition,
  profileKey,
} from '../domain/history-model.js';
import { batchWriteAll } from './dynamo-batch.js';
import { isRetryable } from './kinesis-writer.js';
import { DEFAULT_RETRY, type RetryPolicy, retryPending } from './retry.js';

/** Overflow parts a bucket may spill into when one item would pass DynamoDB's 400 KB limit. */
const MAX_PARTS = 16;

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

const isItemTooLarge = (err: unknown) =>
  err instanceof Error && err.name === 'ValidationException' && /item size/i.test(err.message);

export interface HistoryPage {
  readonly impressions: readonly Impression[];
  /** Position of the last impression returned, when more may follow. */
  readonly last: PagePosition | null;
}

export interface ListQuery {
  readonly profileId: string;
  readonly since: string | null;
  readonly until: string | null;
  readonly titleId: string | null;
  readonly limit: number;
  readonly after: PagePosition | null;
}

export function historyStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  policy: RetryPolicy = DEFAULT_RETRY,
) {
  /** Sets one write's impressions on its bucket item, spilling to an overflow part if the item is full. */
  async function applyOne(w: BucketWrite): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':x': w.x };
    const sets = ['x = :x'];
    let k = 0;
    for (const [eventId, stored] of w.impressions) {
      names[`#a${k}`] = attributeName(eventId);
      values[`:v${k}`] = stored;
      sets.push(`#a${k} = :v${k}`);
      k++;
    }
    for (let part = w.part; part < MAX_PARTS; part++) {
      const left = await retryPending(
        [w],
        async (pending) => {
          try {
            await client.send(
              new UpdateCommand({
                TableName: tableName,
                Key: { pk: w.pk, sk: bucketSortKey(w.bucketStartMs, part) },
                UpdateExpression: `SET ${sets.join(', ')}`,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
              }),
            );
            return [];
          } catch (err) {
            if (isRetryable(err)) return pending;
            throw err;
          }
        },
        policy,
      ).catch((err: unknown) => {
        if (isItemTooLarge(err)) return 'full' as const;
        throw err;
      });
      if (left === 'full') continue;
      return left.length === 0;
    }
    throw new Error(`bucket ${w.pk} ${bucketSortKey(w.bucketStartMs)} is full in all ${MAX_PARTS} parts`);
  }

  /** Impressions of the items of one query, newest bucket first, with no eventId twice. */
  async function* buckets(pk: string, lo: string, hi: string): AsyncGenerator<Impression[]> {
    let start: Record<string, unknown> | undefined;
    let group: Impression[] = [];
    let groupKey: string | undefined;
    do {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':pk': pk, ':lo': lo, ':hi': hi },
          ScanIndexForward: false,
          Limit: 200,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        // A bucket and its overflow parts are adjacent in sort order and read as one group.
        const key = String(item.sk).slice(0, 26);
        if (groupKey !== undefined && key !== groupKey) {
          yield group;
          group = [];
        }
        groupKey = key;
        group.push(...impressionsOfItem(item));
      }
      start = out.LastEvaluatedKey;
    } while (start);
    if (group.length) yield group;
  }

  return {
    /** Applies the writes; returns the sources (sequence numbers) of the writes that did not succeed. */
    async apply(writes: readonly BucketWrite[]): Promise<Set<string>> {
      const failed = new Set<string>();
      const ok = await mapLimit(writes, 16, applyOne);
      ok.forEach((done, i) => {
        if (!done) for (const s of writes[i]!.sources) failed.add(s);
      });
      return failed;
    },

    /** Newest-first page of a profile's impressions within [since, until], optionally of one title. */
    async listHistory(q: ListQuery): Promise<HistoryPage> {
      const sinceMs = q.since === null ? null : Date.parse(q.since);
      const untilMs = q.until === null ? null : Date.parse(q.until);
      const lo = sinceMs === null ? BUCKET_PREFIX : bucketSortKey(bucketStart(sinceMs));
      const top = q.after ? q.after.eventTimeMs : untilMs;
      const hi = top === null ? `${BUCKET_PREFIX}~` : bucketSortKeyEnd(bucketStart(top));
      const seen = new Set<string>();
      const out: Impression[] = [];
      for await (const group of buckets(profileKey(q.profileId), lo, hi)) {
        group.sort(newestFirst);
        for (const i of group) {
          if (seen.has(i.eventId)) continue;
          seen.add(i.eventId);
          if (sinceMs !== null && i.eventTimeMs < sinceMs) continue;
          if (untilMs !== null && i.eventTimeMs > untilMs) continue;
          if (q.titleId !== null && i.titleId !== q.titleId) continue;
          if (q.after && !isAfter(i, q.after)) continue;
          out.push(i);
        }
        if (out.length > q.limit) break;
      }
      if (out.length > q.limit) {
        const page = out.slice(0, q.limit);
        const last = page[page.length - 1]!;
        return { impressions: page, last: { eventTimeMs: last.eventTimeMs, eventId: last.eventId } };
      }
      return { impressions: out, last: null };
    },

    /** A profile's distinct impressions with event time in [fromMs, toMs]. */
    async impressionsBetween(profileId: string, fromMs: number, toMs: number): Promise<Impression[]> {
      const seen = new Set<string>();
      const out: Impression[] = [];
      for await (const group of buckets(
        profileKey(profileId),
        bucketSortKey(bucketStart(fromMs)),
        bucketSortKeyEnd(bucketStart(toMs)),
      )) {
        for (const i of group) {
          if (seen.has(i.eventId) || i.eventTimeMs < fromMs || i.eventTimeMs > toMs) continue;
          seen.add(i.eventId);
          out.push(i);
        }
      }
      return out;
    },

    /** Deletes every item of a profile; returns how many distinct impressions were removed. */
    async erase(profileId: string): Promise<number> {
      const pk = profileKey(profileId);
      const removed = new Set<string>();
      let start: Record<string, unknown> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) for (const i of impressionsOfItem(item)) removed.add(i.eventId);
        const keys = (out.Items ?? []).map((it) => ({ pk: it.pk, sk: it.sk }));
        const failed = await batchWriteAll(
          client,
          tableName,
          keys.map((Key) => ({ DeleteRequest: { Key } })),
          policy,
        );
        if (failed.length)
          throw new Error(`erasure of ${profileId}: ${failed.length} deletes failed after retries`);
        start = out.LastEvaluatedKey;
      } while (start);
      return removed.size;
    },
  };
}

export type HistoryStore = ReturnType<typeof historyStore>;
