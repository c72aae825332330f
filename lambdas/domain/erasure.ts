/**
 * The erasure marker of a profile (`filtered.erased`, history API `DELETE`): one item under the profile's
 * partition, `sk = E#`, holding the latest erasure time `e` (epoch ms) and a TTL `x` of the history's
 * retention. The erasure writes it before it deletes anything and never deletes it; the write path reads it
 * (consistently) to refuse impressions of the profile with `eventTime ≤ e`, and the read side answers only
 * from impressions after `e`, so that a profile erased in part (a `DELETE` answered `complete: false`) reads
 * as a new one at once. Its sort key is outside the bucket (`B#`), day (`D#`) and rollup (`R#`) ranges
 * that the readers query, so no history read ever returns it.
 */
import { DAY_MS, profileKey } from './history-model.js';

export const ERASURE_SORT_KEY = 'E#';

/** The key of a profile's erasure marker. */
export const erasureKey = (profileId: string) => ({ pk: profileKey(profileId), sk: ERASURE_SORT_KEY });

/** The marker of an erasure of `profileId` at `atMs`, kept for `retentionDays` (TTL, epoch seconds). */
export const erasureMarker = (profileId: string, atMs: number, retentionDays: number) => ({
  ...erasureKey(profileId),
  e: atMs,
  x: Math.floor((atMs + retentionDays * DAY_MS) / 1000),
});

/**
 * The erasure time of a marker as read, or undefined (no marker, or one whose TTL has passed: DynamoDB
 * deletes expired items within days, not at once, and may still return them).
 */
export function erasedAtOf(item: Readonly<Record<string, unknown>> | undefined, nowMs: number) {
  if (item === undefined) return undefined;
  const e = Number(item.e);
  const x = Number(item.x);
  if (!Number.isFinite(e)) return undefined;
  if (Number.isFinite(x) && x * 1000 <= nowMs) return undefined;
  return e;
}

/** Whether an impression of event time `eventTimeMs` is one the erasure at `erasedAtMs` covers. */
export const isErased = (eventTimeMs: number, erasedAtMs: number | undefined) =>
  erasedAtMs !== undefined && eventTimeMs <= erasedAtMs;
