/**
 * The read side of the history store: newest-first pages (`listHistory`), impressions of a window, and
 * per-title counts from daily rollups (built on read) and the buckets.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { erasedAtOf, erasureKey } from '../domain/erasure.js';
import {
  BUCKET_PREFIX,
  bucketSortKey,
  bucketSortKeyEnd,
  bucketStart,
  DAY_MS,
  expiry,
  type Impression,
  impressionKey,
  impressionsOfItem,
  isAfter,
  itemSize,
  newestFirst,
  type PagePosition,
  profileKey,
  valueSize,
} from '../domain/history-model.js';
import {
  addTally,
  dayOfRollupSortKey,
  EMPTY_ROLLUP_DAYS,
  encodeTally,
  joinRollupParts,
  MAX_BUILDS_PER_REQUEST,
  mergeRanges,
  planCounts,
  type RollupState,
  rollupPartSortKey,
  rollupSortKey,
  rollupState,
  splitTally,
  type Tally,
  type TimeRange,
  type TitleTally,
  tally,
} from '../domain/rollup.js';
import { conditionFailed, type HistoryTable, type Item, mapLimit } from './history-table.js';
import { isRetryable, retryCall } from './retry.js';

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

export function historyReads({ client, tableName, policy, now }: HistoryTable) {
  /**
   * The first event time a read may answer from: just after the profile's latest erasure (one consistent
   * GetItem of its marker, domain/erasure.ts), so that what an erasure has not removed yet is never served.
   */
  async function floorOf(profileId: string): Promise<number> {
    const get = new GetCommand({ TableName: tableName, Key: erasureKey(profileId), ConsistentRead: true });
    const e = erasedAtOf((await retryCall(() => client.send(get), policy)).Item, now());
    return e === undefined ? Number.NEGATIVE_INFINITY : e + 1;
  }

  /**
   * Impressions of the items of one query, newest bucket first, with the bytes read. `pageSize` sizes each
   * query page from what was read so far (items, bytes), so a reader that stops early reads little more
   * than it needs; by default pages of 200 items.
   */
  async function* buckets(
    pk: string,
    lo: string,
    hi: string,
    pageSize: (items: number, bytes: number) => number = () => 200,
    consistent = false,
  ): AsyncGenerator<{ impressions: Impression[]; bytes: number; item: Item }> {
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

  /** Per title, over the buckets of `[fromMs, toMs]` (one query). */
  async function countRange(pk: string, r: TimeRange, titles: ReadonlySet<string>): Promise<Tally> {
    const all: Impression[] = [];
    for await (const g of buckets(
      pk,
      bucketSortKey(bucketStart(r.fromMs)),
      bucketSortKeyEnd(bucketStart(r.toMs)),
    ))
      all.push(...g.impressions);
    return tally(all, r.fromMs, r.toMs, titles);
  }

  /** The rollups of `days` (one query over their sort keys, parts included), by day start, parts joined. */
  async function readRollups(pk: string, days: readonly number[]): Promise<Map<number, Item>> {
    const heads = new Map<number, Item>();
    const parts = new Map<number, Map<number, Item>>();
    let start: Record<string, unknown> | undefined;
    do {
      const query = new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: {
          ':pk': pk,
          ':lo': rollupSortKey(days[0]!),
          ':hi': `${rollupSortKey(days.at(-1)!)}#~`,
        },
        ExclusiveStartKey: start,
      });
      const page = await retryCall(() => client.send(query), policy);
      for (const item of page.Items ?? []) {
        const sk = String(item.sk);
        const day = dayOfRollupSortKey(sk);
        const k = sk === rollupSortKey(day) ? 0 : Number(sk.slice(rollupSortKey(day).length + 1));
        if (k === 0) heads.set(day, item);
        else if (Number.isInteger(k) && k > 0) {
          if (!parts.has(day)) parts.set(day, new Map());
          parts.get(day)!.set(k, item);
        }
      }
      start = page.LastEvaluatedKey;
    } while (start);
    const out = new Map<number, Item>();
    for (const [day, head] of heads) {
      const joined = joinRollupParts(head, parts.get(day) ?? new Map());
      if (joined) out.set(day, { ...joined });
    }
    return out;
  }

  /**
   * Counts a whole day from its buckets (consistent reads: every impression whose invalidation preceded the
   * token seen is visible; "a strongly consistent read reflects the updates from all prior write operations
   * that were successful", DynamoDB developer guide, "DynamoDB read consistency") and stores the rollup on the condition that no writer invalidated it since
   * `seen` was read; when a writer did, the counts still answer this request but nothing is stored.
   */
  async function build(pk: string, day: number, seen: RollupState): Promise<Tally> {
    const all: Impression[] = [];
    let x = expiry(day, DAY_MS, EMPTY_ROLLUP_DAYS);
    let first = true;
    for await (const g of buckets(
      pk,
      bucketSortKey(day),
      bucketSortKeyEnd(day + DAY_MS - 1),
      undefined,
      true,
    )) {
      all.push(...g.impressions);
      // The rollup expires with the first of its day's buckets: it never outlives what it counts.
      const bx = Number(g.item.x);
      if (Number.isFinite(bx) && (first || bx < x)) x = bx;
      first = false;
    }
    const counts = tally(all, day, day + DAY_MS - 1, null);
    const b = randomUUID();
    const item: Item = {
      pk,
      sk: rollupSortKey(day),
      c: [],
      b,
      x,
      ...(seen.dirty === undefined ? {} : { d: seen.dirty }),
    };
    // Larger days are split into parts (written first; served only with a rollup item of the same build).
    const split = splitTally(encodeTally(counts), (e) => valueSize(e) + 1, itemSize(item) + 16);
    if (!split) return counts;
    item.c = split[0]!;
    if (split.length > 1) item.p = split.length;
    try {
      for (const [k, c] of split.entries()) {
        if (k === 0) continue;
        const part = new PutCommand({
          TableName: tableName,
          Item: { pk, sk: rollupPartSortKey(day, k), c, b, x },
        });
        await retryCall(() => client.send(part), policy);
      }
      const put = new PutCommand({
        TableName: tableName,
        Item: item,
        ...(seen.legacy !== undefined && seen.dirty === undefined
          ? {
              ConditionExpression: '#b = :b AND attribute_not_exists(#d)',
              ExpressionAttributeNames: { '#b': 'b', '#d': 'd' },
              ExpressionAttributeValues: { ':b': seen.legacy },
            }
          : seen.exists
            ? {
                ConditionExpression: '#d = :d',
                ExpressionAttributeNames: { '#d': 'd' },
                ExpressionAttributeValues: { ':d': seen.dirty },
              }
            : {
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': 'pk' },
              }),
      });
      await retryCall(() => client.send(put), policy);
    } catch (err) {
      // Lost the race with a writer, or throttled after retries: the answer stands, a later read builds the rollup.
      if (!conditionFailed(err) && !isRetryable(err)) throw err;
    }
    return counts;
  }

  return {
    /**
     * Per title of `titleIds`: distinct impressions (by eventId, within each UTC day) with event time in
     * `[fromMs, toMs]`, and the latest such time. Whole days before yesterday come from their rollups;
     * up to `MAX_BUILDS_PER_REQUEST` missing ones are built (newest first), the rest of the window is read
     * from the buckets.
     */
    async titleCounts(
      profileId: string,
      fromMs: number,
      toMs: number,
      titleIds: readonly string[],
    ): Promise<Map<string, TitleTally>> {
      const pk = profileKey(profileId);
      const nowMs = now();
      const titles = new Set(titleIds);
      const from = Math.max(fromMs, await floorOf(profileId));
      if (from > toMs) return new Map(titleIds.map((t) => [t, { count: 0, lastSeenMs: null }]));
      const plan = planCounts(from, toMs, nowMs);
      const total: Tally = new Map();
      const stored = plan.days.length ? await readRollups(pk, plan.days) : new Map<number, Item>();
      const missing: { day: number; state: RollupState }[] = [];
      for (const day of plan.days) {
        const state = rollupState(stored.get(day), nowMs);
        if (state.counts) addTally(total, state.counts, titles);
        else missing.push({ day, state });
      }
      // Buildable: no item yet, or one a writer invalidated (its token is the condition).
      const buildable = missing
        .filter((m) => !m.state.exists || m.state.dirty !== undefined || m.state.legacy !== undefined)
        .reverse();
      const builds = buildable.slice(0, MAX_BUILDS_PER_REQUEST);
      const rest = missing
        .filter((m) => !builds.includes(m))
        .map((m) => ({ fromMs: m.day, toMs: m.day + DAY_MS - 1 }));
      const jobs: (() => Promise<Tally>)[] = [
        ...builds.map((b) => () => build(pk, b.day, b.state)),
        ...mergeRanges([...plan.ranges, ...rest]).map((r) => () => countRange(pk, r, titles)),
      ];
      for (const t of await mapLimit(jobs, 8, (job) => job())) addTally(total, t, titles);
      return new Map(titleIds.map((t) => [t, total.get(t) ?? { count: 0, lastSeenMs: null }]));
    },

    /**
     * Newest-first page of a profile's impressions within [since, until], optionally of one title. Reads
     * only what `limit` needs (pages sized from the limit), and at most `LIST_SCAN_BYTES` per call: a
     * filtered list that has not filled its page by then returns what it has and a position to continue
     * from (the last impression it examined), so every request's work is bounded.
     */
    async listHistory(q: ListQuery): Promise<HistoryPage> {
      const floor = await floorOf(q.profileId);
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
      // One item first, then pages that at most double, never more than the rest of the limit needs at the
      // fill seen so far, nor more than the byte budget leaves.
      let lastPage = 0;
      const pageSize = (items: number, bytes: number) => {
        lastPage =
          items === 0
            ? 1
            : Math.min(
                2 * lastPage,
                Math.ceil((q.limit + 1 - out.length) / Math.max(1, seen.size / items)),
                Math.floor((LIST_SCAN_BYTES - bytes) / (bytes / items)),
              );
        return Math.max(1, lastPage);
      };
      for await (const group of buckets(profileKey(q.profileId), lo, hi, pageSize)) {
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
        if (scanned >= LIST_SCAN_BYTES && examined) {
          return { impressions: out, last: { eventTimeMs: examined.eventTimeMs, eventId: examined.eventId } };
        }
      }
      if (out.length > q.limit) {
        const page = out.slice(0, q.limit);
        const last = page[page.length - 1]!;
        return { impressions: page, last: { eventTimeMs: last.eventTimeMs, eventId: last.eventId } };
      }
      return { impressions: out, last: null };
    },

    /** A profile's distinct impressions with event time in [fromMs, toMs]. */
    async impressionsBetween(profileId: string, since: number, toMs: number): Promise<Impression[]> {
      const fromMs = Math.max(since, await floorOf(profileId));
      if (fromMs > toMs) return [];
      const seen = new Set<string>();
      const out: Impression[] = [];
      for await (const group of buckets(
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
    },
  };
}
