/**
 * The read side of the history store: newest-first pages (`listHistory`) and the impressions of a window
 * (`impressionsBetween`), over the bucket items, never older than the profile's latest erasure. The
 * per-title counts are title-counts.ts.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { retryCall } from '../adapters/retry.js';
import {
  bucketStart,
  type Impression,
  impressionKey,
  isAfter,
  newestFirst,
  type PagePosition,
} from '../domain/history-model.js';
import {
  BUCKET_PREFIX,
  bucketSortKey,
  bucketSortKeyEnd,
  erasedAtOf,
  erasureKey,
  type Item,
  impressionsOfItem,
  itemSize,
  profileKey,
} from './item-codec.js';
import type { HistoryTable } from './table.js';

/**
 * Bytes of history one list call reads at most (≈ 32 read units, eventually consistent): a list filtered
 * to a title rarely seen returns a short page and a cursor rather than read a whole heavy profile.
 */
export const LIST_SCAN_BYTES = 256 * 1024;

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

/**
 * The first event time a read may answer from: just after the profile's latest erasure (one consistent
 * GetItem of its marker), so that what an erasure has not removed yet is never served.
 */
export async function floorOf(table: HistoryTable, profileId: string): Promise<number> {
  const { client, tableName, policy, now } = table;
  const get = new GetCommand({ TableName: tableName, Key: erasureKey(profileId), ConsistentRead: true });
  const e = erasedAtOf((await retryCall(() => client.send(get), policy)).Item, now());
  return e === undefined ? Number.NEGATIVE_INFINITY : e + 1;
}

/**
 * Impressions of the items of one query, newest bucket first, with the bytes read. `pageSize` sizes each
 * query page from what was read so far (items, bytes), so a reader that stops early reads little more
 * than it needs; by default pages of 200 items.
 */
export async function* buckets(
  table: HistoryTable,
  pk: string,
  lo: string,
  hi: string,
  pageSize: (items: number, bytes: number) => number = () => 200,
  consistent = false,
): AsyncGenerator<{ impressions: Impression[]; bytes: number; item: Item }> {
  const { client, tableName, policy } = table;
  let start: Record<string, unknown> | undefined;
  let items = 0;
  let total = 0;
  do {
    const query = new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
      ExpressionAttributeValues: { ':pk': pk, ':lo': lo, ':hi': hi },
      ScanIndexForward: false,
      Limit: Math.max(1, Math.min(200, Math.floor(pageSize(items, total)))),
      ExclusiveStartKey: start,
      ...(consistent ? { ConsistentRead: true } : {}),
    });
    const out = await retryCall(() => client.send(query), policy);
    for (const item of out.Items ?? []) {
      const bytes = itemSize(item);
      items++;
      total += bytes;
      yield { impressions: impressionsOfItem(item), bytes, item };
    }
    start = out.LastEvaluatedKey;
  } while (start);
}

/**
 * The query pages of a list: one item first, then pages that at most double, never more than the rest of
 * the limit needs at the fill seen so far (`kept` of `examined` distinct impressions), nor more than the
 * byte budget leaves.
 */
function listPageSize(limit: number, fill: () => { kept: number; examined: number }) {
  let lastPage = 0;
  return (items: number, bytes: number) => {
    const { kept, examined } = fill();
    lastPage =
      items === 0
        ? 1
        : Math.min(
            2 * lastPage,
            Math.ceil((limit + 1 - kept) / Math.max(1, examined / items)),
            Math.floor((LIST_SCAN_BYTES - bytes) / (bytes / items)),
          );
    return Math.max(1, lastPage);
  };
}

const positionOf = (i: Impression): PagePosition => ({ eventTimeMs: i.eventTimeMs, eventId: i.eventId });

/**
 * Newest-first page of a profile's impressions within [since, until], optionally of one title. Reads
 * only what `limit` needs (pages sized from the limit), and at most `LIST_SCAN_BYTES` per call: a
 * filtered list that has not filled its page by then returns what it has and a position to continue
 * from (the last impression it examined), so every request's work is bounded.
 */
export async function listHistory(table: HistoryTable, q: ListQuery): Promise<HistoryPage> {
  const floor = await floorOf(table, q.profileId);
  const asked = q.since === null ? null : Date.parse(q.since);
  const sinceMs = floor === Number.NEGATIVE_INFINITY ? asked : Math.max(asked ?? floor, floor);
  const untilMs = q.until === null ? null : Date.parse(q.until);
  const lo = sinceMs === null ? BUCKET_PREFIX : bucketSortKey(bucketStart(sinceMs));
  const top = q.after ? q.after.eventTimeMs : untilMs;
  const hi = top === null ? `${BUCKET_PREFIX}~` : bucketSortKeyEnd(bucketStart(top));
  const seen = new Set<string>();
  const out: Impression[] = [];
  let scanned = 0;
  let examined: Impression | undefined;
  const pageSize = listPageSize(q.limit, () => ({ kept: out.length, examined: seen.size }));
  for await (const group of buckets(table, profileKey(q.profileId), lo, hi, pageSize)) {
    group.impressions.sort(newestFirst);
    for (const i of group.impressions) {
      if (seen.has(impressionKey(i))) continue;
      if (q.after && !isAfter(i, q.after)) continue;
      seen.add(impressionKey(i));
      examined = i;
      if (sinceMs !== null && i.eventTimeMs < sinceMs) continue;
      if (untilMs !== null && i.eventTimeMs > untilMs) continue;
      if (q.titleId !== null && i.titleId !== q.titleId) continue;
      out.push(i);
    }
    scanned += group.bytes;
    if (out.length > q.limit) break;
    if (scanned >= LIST_SCAN_BYTES && examined) return { impressions: out, last: positionOf(examined) };
  }
  if (out.length > q.limit) {
    const page = out.slice(0, q.limit);
    return { impressions: page, last: positionOf(page[page.length - 1]!) };
  }
  return { impressions: out, last: null };
}

/** A profile's distinct impressions with event time in [since, toMs]. */
export async function impressionsBetween(
  table: HistoryTable,
  profileId: string,
  since: number,
  toMs: number,
): Promise<Impression[]> {
  const fromMs = Math.max(since, await floorOf(table, profileId));
  if (fromMs > toMs) return [];
  const seen = new Set<string>();
  const out: Impression[] = [];
  for await (const group of buckets(
    table,
    profileKey(profileId),
    bucketSortKey(bucketStart(fromMs)),
    bucketSortKeyEnd(bucketStart(toMs)),
  )) {
    for (const i of group.impressions) {
      if (seen.has(impressionKey(i)) || i.eventTimeMs < fromMs || i.eventTimeMs > toMs) continue;
      seen.add(impressionKey(i));
      out.push(i);
    }
  }
  return out;
}
