/**
 * Erasure from the history (history API `DELETE`, `filtered.erased`; docs/privacy-erasure.md). An erasure
 * of profile P at time E first writes P's erasure marker (item-codec.ts: E, kept for the history's
 * retention), then deletes P's other items in batches, reading them by key only (a Query projecting `pk`
 * and `sk`: a heavy profile's buckets are never brought into the function; the read units are the items'
 * whatever the projection, what is transferred and held is the keys). One call's work is bounded (items
 * deleted, time left): what remains is already invisible to the readers (they answer only from after E)
 * and is removed by the next call, which is safe to repeat. `erasures` is the write path's read of the
 * markers: one consistent BatchGetItem per 100 profiles.
 *
 * The marker of a profile is one item under its partition, `sk = E#`, holding the latest erasure time `e`
 * (epoch ms) and a TTL `x` of the history's retention (item-codec.ts). Its sort key is outside the bucket
 * (`B#`), day (`D#`) and rollup (`R#`) ranges that the readers query, so no history read ever returns it.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, batchWriteAll } from '../adapters/dynamo-batch.js';
import { retryCall } from '../adapters/retry.js';
import { ATTR, ERASURE_SORT_KEY, erasedAtOf, erasureKey, erasureMarker, profileKey } from './item-codec.js';
import { conditionFailed, type HistoryTable } from './table.js';

/** Bounds of one erasure call. */
export interface EraseOptions {
  /**
   * Days the marker is kept: the history's retention (an impression older than that is never stored).
   * @default MAX_RETENTION_DAYS (the longest retention a stage may set: never shorter than the history's)
   */
  readonly retentionDays?: number;
  /** Items one call deletes at most. @default ERASE_ITEMS_PER_CALL */
  readonly maxItems?: number;
  /** Milliseconds the caller has left (Lambda's `getRemainingTimeInMillis`). @default unbounded */
  readonly timeLeftMs?: () => number;
  /**
   * The time of the erasure this call continues (the background continuation of a request that could not
   * finish): the marker keeps that time instead of moving to now. @default now (a new erasure)
   */
  readonly erasedAtMs?: number;
}

export interface EraseResult {
  /** Items removed by this call (the contract's `deleted`; the marker is not counted). */
  readonly deleted: number;
  /** Whether nothing of the profile is left but its marker. */
  readonly complete: boolean;
  /** The erasure time the marker holds (the latest erasure's). */
  readonly erasedAtMs: number;
}

/** What the write path learns of a set of profiles' markers. */
export interface Erasures {
  /** Erasure time, by profile id, of the profiles that have a (live) marker. */
  readonly at: ReadonlyMap<string, number>;
  /** Profiles whose marker could not be read after the retries (throttled): their records are retried. */
  readonly unknown: ReadonlySet<string>;
}

/**
 * Items one erasure call deletes at most: 40 pages of 250 keys (≈ 400 BatchWriteItem requests of 25): well
 * within the function's 10 seconds at the table's on-demand rates. A heavy profile (its caps allow 20,000
 * impressions a day, in buckets of up to 380 KB) holds far fewer items than impressions.
 */
export const ERASE_ITEMS_PER_CALL = 10_000;
/** The longest history retention a stage may set (infra/config.ts `historyRetentionDays`). */
export const MAX_RETENTION_DAYS = 3650;
/** Keys read per Query page of an erasure. */
const ERASE_PAGE = 250;
/** Time kept in hand when an erasure stops for the caller's deadline (a page's deletes, the response). */
export const ERASE_TIME_MARGIN_MS = 2_000;

/** The markers of `profileIds` (consistent reads: a marker written before is seen). */
export async function erasures(table: HistoryTable, profileIds: readonly string[]): Promise<Erasures> {
  const { client, tableName, policy, now } = table;
  const at = new Map<string, number>();
  const unknown = new Set<string>();
  if (!profileIds.length) return { at, unknown };
  const ids = [...new Set(profileIds)];
  const byKey = new Map(ids.map((id) => [erasureKey(id).pk, id]));
  const { items, unprocessed } = await batchGetAll(
    client,
    tableName,
    ids.map(erasureKey),
    {
      projection: `${ATTR.partitionKey}, #e, #x`,
      names: { '#e': ATTR.erasedAt, '#x': ATTR.ttl },
      consistent: true,
    },
    policy,
  );
  const nowMs = now();
  for (const item of items) {
    const id = byKey.get(String(item[ATTR.partitionKey]));
    const e = erasedAtOf(item, nowMs);
    if (id !== undefined && e !== undefined) at.set(id, e);
  }
  for (const key of unprocessed) {
    const id = byKey.get(String(key[ATTR.partitionKey]));
    if (id !== undefined) unknown.add(id);
  }
  return { at, unknown };
}

/** Writes the marker at `atMs`, or keeps a later one already there (erasures of two instances racing). */
async function mark(
  table: HistoryTable,
  profileId: string,
  atMs: number,
  retentionDays: number,
): Promise<number> {
  const put = new PutCommand({
    TableName: table.tableName,
    Item: erasureMarker(profileId, atMs, retentionDays),
    ConditionExpression: 'attribute_not_exists(#e) OR #e <= :e',
    ExpressionAttributeNames: { '#e': ATTR.erasedAt },
    ExpressionAttributeValues: { ':e': atMs },
  });
  try {
    await retryCall(() => table.client.send(put), table.policy);
    return atMs;
  } catch (err) {
    if (!conditionFailed(err)) throw err;
    const held = await erasures(table, [profileId]);
    return held.at.get(profileId) ?? atMs;
  }
}

/** Deletes one page of a profile's items (keys only, the marker kept): the keys deleted and where to go on. */
async function erasePage(
  table: HistoryTable,
  profileId: string,
  limit: number,
  start: Record<string, unknown> | undefined,
): Promise<{ deleted: number; next: Record<string, unknown> | undefined }> {
  const { client, tableName, policy } = table;
  // Consistent: every item written before the marker is seen (and so deleted or never stored after).
  const query = new QueryCommand({
    TableName: tableName,
    KeyConditionExpression: 'pk = :pk',
    ProjectionExpression: `${ATTR.partitionKey}, ${ATTR.sortKey}`,
    ExpressionAttributeValues: { ':pk': profileKey(profileId) },
    ExclusiveStartKey: start,
    ConsistentRead: true,
    Limit: limit,
  });
  const out = await retryCall(() => client.send(query), policy);
  const keys = (out.Items ?? [])
    .filter((it) => it[ATTR.sortKey] !== ERASURE_SORT_KEY)
    .map((it) => ({ pk: it[ATTR.partitionKey], sk: it[ATTR.sortKey] }));
  const failed = await batchWriteAll(
    client,
    tableName,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
    policy,
  );
  if (failed.length)
    throw new Error(`erasure of ${profileId}: ${failed.length} deletes failed after retries`);
  return { deleted: keys.length, next: out.LastEvaluatedKey };
}

/**
 * Erases a profile at the clock's now: the marker first, then at most `maxItems` of its other items (and
 * no more than the time left allows). Repeating it moves the marker to the later time and continues.
 */
export async function erase(
  table: HistoryTable,
  profileId: string,
  options: EraseOptions = {},
): Promise<EraseResult> {
  const maxItems = Math.max(1, options.maxItems ?? ERASE_ITEMS_PER_CALL);
  const timeLeft = options.timeLeftMs ?? (() => Number.POSITIVE_INFINITY);
  const erasedAtMs = await mark(
    table,
    profileId,
    options.erasedAtMs ?? table.now(),
    options.retentionDays ?? MAX_RETENTION_DAYS,
  );
  let deleted = 0;
  let start: Record<string, unknown> | undefined;
  do {
    if (deleted >= maxItems || timeLeft() < ERASE_TIME_MARGIN_MS)
      return { deleted, complete: false, erasedAtMs };
    const page = await erasePage(table, profileId, Math.min(ERASE_PAGE, maxItems - deleted), start);
    deleted += page.deleted;
    start = page.next;
  } while (start);
  return { deleted, complete: true, erasedAtMs };
}
