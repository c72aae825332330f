/**
 * Per-title counts of a window (`titleCounts`, the frequency and check routes): whole days before yesterday
 * from their rollups (built on read when missing), the rest from the buckets (docs/history-model.md,
 * "Reads").
 */
import { randomUUID } from 'node:crypto';
import { PutCommand, type PutCommandInput, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { isRetryable, retryCall } from '../adapters/retry.js';
import { bucketStart, DAY_MS, type Impression } from '../domain/history-model.js';
import {
  addTally,
  EMPTY_ROLLUP_DAYS,
  MAX_BUILDS_PER_REQUEST,
  mergeRanges,
  planCounts,
  splitTally,
  type Tally,
  type TimeRange,
  type TitleTally,
  tally,
} from '../domain/rollup.js';
import {
  ATTR,
  bucketSortKey,
  bucketSortKeyEnd,
  dayOfRollupSortKey,
  encodeTally,
  expiry,
  type Item,
  itemSize,
  profileKey,
  rollupPartOf,
  rollupPartSortKey,
  rollupSortKey,
  rollupSortKeyEnd,
  valueSize,
} from './item-codec.js';
import { buckets, floorOf } from './reads.js';
import { joinRollupParts, type RollupState, rollupState } from './rollup-items.js';
import { conditionFailed, type HistoryTable, mapLimit } from './table.js';

/** Per title, over the buckets of `[fromMs, toMs]` (one query). */
async function countRange(
  table: HistoryTable,
  pk: string,
  r: TimeRange,
  titles: ReadonlySet<string>,
): Promise<Tally> {
  const all: Impression[] = [];
  const lo = bucketSortKey(bucketStart(r.fromMs));
  for await (const g of buckets(table, pk, lo, bucketSortKeyEnd(bucketStart(r.toMs))))
    all.push(...g.impressions);
  return tally(all, r.fromMs, r.toMs, titles);
}

/** The rollups of `days` (one query over their sort keys, parts included), by day start, parts joined. */
async function readRollups(
  table: HistoryTable,
  pk: string,
  days: readonly number[],
): Promise<Map<number, Item>> {
  const { client, tableName, policy } = table;
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
        ':hi': rollupSortKeyEnd(days.at(-1)!),
      },
      ExclusiveStartKey: start,
    });
    const page = await retryCall(() => client.send(query), policy);
    for (const item of page.Items ?? []) {
      const sk = String(item[ATTR.sortKey]);
      const day = dayOfRollupSortKey(sk);
      const k = rollupPartOf(sk);
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
 * The condition a build is stored on: a rollup whose counts could not be served is still that build (and
 * was not invalidated since); an invalidated one still has the token seen; a missing one is still missing.
 */
function buildCondition(
  seen: RollupState,
): Pick<PutCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
  if (seen.unservedBuild !== undefined && seen.dirty === undefined)
    return {
      ConditionExpression: '#b = :b AND attribute_not_exists(#d)',
      ExpressionAttributeNames: { '#b': ATTR.build, '#d': ATTR.dirty },
      ExpressionAttributeValues: { ':b': seen.unservedBuild },
    };
  if (seen.exists)
    return {
      ConditionExpression: '#d = :d',
      ExpressionAttributeNames: { '#d': ATTR.dirty },
      ExpressionAttributeValues: { ':d': seen.dirty },
    };
  return {
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': ATTR.partitionKey },
  };
}

/** A whole day's impressions from its buckets (consistent reads), and the TTL of its first bucket. */
async function readDay(table: HistoryTable, pk: string, day: number) {
  const all: Impression[] = [];
  let x = expiry(day, DAY_MS, EMPTY_ROLLUP_DAYS);
  let first = true;
  const hi = bucketSortKeyEnd(day + DAY_MS - 1);
  for await (const g of buckets(table, pk, bucketSortKey(day), hi, undefined, true)) {
    all.push(...g.impressions);
    // The rollup expires with the first of its day's buckets: it never outlives what it counts.
    const bx = Number(g.item[ATTR.ttl]);
    if (Number.isFinite(bx) && (first || bx < x)) x = bx;
    first = false;
  }
  return { all, x };
}

/**
 * Counts a whole day from its buckets (consistent reads: every impression whose invalidation preceded the
 * token seen is visible; "a strongly consistent read reflects the updates from all prior write operations
 * that were successful", DynamoDB developer guide, "DynamoDB read consistency") and stores the rollup on
 * the condition that no writer invalidated it since `seen` was read; when a writer did, the counts still
 * answer this request but nothing is stored.
 */
async function build(table: HistoryTable, pk: string, day: number, seen: RollupState): Promise<Tally> {
  const { client, tableName, policy } = table;
  const { all, x } = await readDay(table, pk, day);
  const counts = tally(all, day, day + DAY_MS - 1, null);
  const b = randomUUID();
  const item: Item = {
    pk,
    sk: rollupSortKey(day),
    [ATTR.tally]: [],
    [ATTR.build]: b,
    [ATTR.ttl]: x,
    ...(seen.dirty === undefined ? {} : { [ATTR.dirty]: seen.dirty }),
  };
  // Larger days are split into parts (written first; served only with a rollup item of the same build).
  const split = splitTally(encodeTally(counts), (e) => valueSize(e) + 1, itemSize(item) + 16);
  if (!split) return counts;
  item[ATTR.tally] = split[0]!;
  if (split.length > 1) item[ATTR.parts] = split.length;
  try {
    for (const [k, c] of split.entries()) {
      if (k === 0) continue;
      const Item = { pk, sk: rollupPartSortKey(day, k), [ATTR.tally]: c, [ATTR.build]: b, [ATTR.ttl]: x };
      const part = new PutCommand({ TableName: tableName, Item });
      await retryCall(() => client.send(part), policy);
    }
    const put = new PutCommand({ TableName: tableName, Item: item, ...buildCondition(seen) });
    await retryCall(() => client.send(put), policy);
  } catch (err) {
    // Lost the race with a writer, or throttled after retries: the answer stands, a later read builds the rollup.
    if (!conditionFailed(err) && !isRetryable(err)) throw err;
  }
  return counts;
}

/**
 * Per title of `titleIds`: distinct impressions (by eventId, within each UTC day) with event time in
 * `[fromMs, toMs]`, and the latest such time. Whole days before yesterday come from their rollups;
 * up to `MAX_BUILDS_PER_REQUEST` missing ones are built (newest first), the rest of the window is read
 * from the buckets.
 */
export async function titleCounts(
  table: HistoryTable,
  profileId: string,
  fromMs: number,
  toMs: number,
  titleIds: readonly string[],
): Promise<Map<string, TitleTally>> {
  const pk = profileKey(profileId);
  const nowMs = table.now();
  const titles = new Set(titleIds);
  const from = Math.max(fromMs, await floorOf(table, profileId));
  if (from > toMs) return new Map(titleIds.map((t) => [t, { count: 0, lastSeenMs: null }]));
  const plan = planCounts(from, toMs, nowMs);
  const total: Tally = new Map();
  const stored = plan.days.length ? await readRollups(table, pk, plan.days) : new Map<number, Item>();
  const missing: { day: number; state: RollupState }[] = [];
  for (const day of plan.days) {
    const state = rollupState(stored.get(day), nowMs);
    if (state.counts) addTally(total, state.counts, titles);
    else missing.push({ day, state });
  }
  // Buildable: no item yet, one a writer invalidated (its token is the condition), or an unserved build.
  const buildable = missing
    .filter((m) => !m.state.exists || m.state.dirty !== undefined || m.state.unservedBuild !== undefined)
    .reverse();
  const builds = buildable.slice(0, MAX_BUILDS_PER_REQUEST);
  const rest = missing
    .filter((m) => !builds.includes(m))
    .map((m) => ({ fromMs: m.day, toMs: m.day + DAY_MS - 1 }));
  const jobs: (() => Promise<Tally>)[] = [
    ...builds.map((b) => () => build(table, pk, b.day, b.state)),
    ...mergeRanges([...plan.ranges, ...rest]).map((r) => () => countRange(table, pk, r, titles)),
  ];
  for (const t of await mapLimit(jobs, 8, (job) => job())) addTally(total, t, titles);
  return new Map(titleIds.map((t) => [t, total.get(t) ?? { count: 0, lastSeenMs: null }]));
}
