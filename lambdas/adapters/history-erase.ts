/**
 * Erasure from the history (history API `DELETE`, `filtered.erased`; docs/privacy-erasure.md). An erasure
 * of profile P at time E first writes P's erasure marker (domain/erasure.ts: E, kept for the history's
 * retention), then deletes P's other items in batches, reading them by key only (a Query projecting `pk`
 * and `sk`: a heavy profile's buckets are never brought into the function; the read units are the items'
 * whatever the projection, what is transferred and held is the keys). One call's work is bounded (items
 * deleted, time left): what remains is already invisible to the readers (they answer only from after E)
 * and is removed by the next call, which is safe to repeat. `erasures` is the write path's read of the
 * markers: one consistent BatchGetItem per 100 profiles.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ERASURE_SORT_KEY, erasedAtOf, erasureKey, erasureMarker } from '../domain/erasure.js';
import { profileKey } from '../domain/history-model.js';
import { batchGetAll, batchWriteAll } from './dynamo-batch.js';
import { conditionFailed, type HistoryTable } from './history-table.js';
import { retryCall } from './retry.js';

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

export function historyErase({ client, tableName, policy, now }: HistoryTable) {
  /** Writes the marker at `atMs`, or keeps a later one already there (erasures of two instances racing). */
  async function mark(profileId: string, atMs: number, retentionDays: number): Promise<number> {
    const put = new PutCommand({
      TableName: tableName,
      Item: erasureMarker(profileId, atMs, retentionDays),
      ConditionExpression: 'attribute_not_exists(#e) OR #e <= :e',
      ExpressionAttributeNames: { '#e': 'e' },
      ExpressionAttributeValues: { ':e': atMs },
    });
    try {
      await retryCall(() => client.send(put), policy);
      return atMs;
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      const held = await erasures([profileId]);
      return held.at.get(profileId) ?? atMs;
    }
  }

  /** The markers of `profileIds` (consistent reads: a marker written before is seen). */
  async function erasures(profileIds: readonly string[]): Promise<Erasures> {
    const at = new Map<string, number>();
    const unknown = new Set<string>();
    if (!profileIds.length) return { at, unknown };
    const ids = [...new Set(profileIds)];
    const byKey = new Map(ids.map((id) => [erasureKey(id).pk, id]));
    const { items, unprocessed } = await batchGetAll(
      client,
      tableName,
      ids.map(erasureKey),
      { projection: 'pk, #e, #x', names: { '#e': 'e', '#x': 'x' }, consistent: true },
      policy,
    );
    const nowMs = now();
    for (const item of items) {
      const id = byKey.get(String(item.pk));
      const e = erasedAtOf(item, nowMs);
      if (id !== undefined && e !== undefined) at.set(id, e);
    }
    for (const key of unprocessed) {
      const id = byKey.get(String(key.pk));
      if (id !== undefined) unknown.add(id);
    }
    return { at, unknown };
  }

  return {
    erasures,

    /**
     * Erases a profile at the clock's now: the marker first, then at most `maxItems` of its other items (and
     * no more than the time left allows). Repeating it moves the marker to the later time and continues.
     */
    async erase(profileId: string, options: EraseOptions = {}): Promise<EraseResult> {
      const maxItems = Math.max(1, options.maxItems ?? ERASE_ITEMS_PER_CALL);
      const timeLeft = options.timeLeftMs ?? (() => Number.POSITIVE_INFINITY);
      const erasedAtMs = await mark(
        profileId,
        options.erasedAtMs ?? now(),
        options.retentionDays ?? MAX_RETENTION_DAYS,
      );
      const pk = profileKey(profileId);
      let deleted = 0;
      let start: Record<string, unknown> | undefined;
      do {
        if (deleted >= maxItems || timeLeft() < ERASE_TIME_MARGIN_MS)
          return { deleted, complete: false, erasedAtMs };
        // Consistent: every item written before the marker is seen (and so deleted or never stored after).
        const query = new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ProjectionExpression: 'pk, sk',
          ExpressionAttributeValues: { ':pk': pk },
          ExclusiveStartKey: start,
          ConsistentRead: true,
          Limit: Math.min(ERASE_PAGE, maxItems - deleted),
        });
        const out = await retryCall(() => client.send(query), policy);
        const keys = (out.Items ?? [])
          .filter((it) => it.sk !== ERASURE_SORT_KEY)
          .map((it) => ({ pk: it.pk, sk: it.sk }));
        const failed = await batchWriteAll(
          client,
          tableName,
          keys.map((Key) => ({ DeleteRequest: { Key } })),
          policy,
        );
        if (failed.length)
          throw new Error(`erasure of ${profileId}: ${failed.length} deletes failed after retries`);
        deleted += keys.length;
        start = out.LastEvaluatedKey;
      } while (start);
      return { deleted, complete: true, erasedAtMs };
    },
  };
}
