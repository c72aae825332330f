/**
 * The history's rules, independent of how the store lays them out (the store: `lambdas/history-store/`,
 * design, sizes and costs: `docs/history-model.md`): impressions and their identity, the per-profile caps
 * and how a bucket's offer is decided against them, a candidate's outcome, and the order of pages.
 *
 * - Duplicates (`filtered.duplicate`): an impression's identity is the contract's rule (profile, eventId,
 *   event time), so a write that finds it already stored has found either a redelivery of the same Kinesis
 *   record (same tag: same outcome again) or a producer's retry (other tag).
 * - Caps (`quality.profile-burst`): a 10-second window of event time holds at most `perWindow` impressions
 *   and `ITEM_BUDGET_BYTES` of them (so its item never reaches DynamoDB's 400 KB), a profile-day at most
 *   `perDay` units; the store's writes are conditional on the counts, so the caps hold exactly across
 *   batches and concurrent writers.
 * - Exact frequency: windows are counted from the stored impressions (distinct eventIds with event time in
 *   the window) at millisecond boundaries; readers also deduplicate by eventId.
 */
import { createHash } from 'node:crypto';
import type { EnrichedRecord } from './enrich.js';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** Bucket width: the contract's burst window (10 s of event time), tuned with `bench/history-wcu.ts`. */
export const BUCKET_MS = 10_000;
/**
 * Bytes of impression attributes one bucket item may hold. Every write to an item is charged on its whole
 * size (1 WCU per KB of the larger of the item before and after, a failed conditional write included), so
 * this budget bounds the write units any one record can cost (≈ 129: docs/history-model.md, "Write units
 * per record"). A full window of realistic impressions (1,000 of ≈ 85–110 bytes) fits; within the
 * contract's field limits an impression takes up to ≈ 1.4 KB, so hostile field sizes fill it sooner: past
 * this budget impressions are rejected as `quality.profile-burst` (storage), deterministically, since items
 * only grow until their TTL.
 */
export const ITEM_BUDGET_BYTES = 128 * 1024;
/**
 * Bytes of one unit of the daily cap. An impression takes `dayUnits(bytes)` units of its profile-day's cap
 * (`perDay`): one for any impression up to this size (realistic ones take ≈ 85–110 bytes), more for hostile
 * field sizes, so a profile-day holds at most `perDay` × 256 bytes of impressions (≈ 5.1 MB at the default
 * cap) whatever the fields: what bounds the bytes a frequency window reads (docs/history-model.md, "Read
 * and write units per request at the caps").
 */
export const DAY_UNIT_BYTES = 256;
/** Units of the daily cap one impression of `bytes` stored bytes takes. */
export const dayUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / DAY_UNIT_BYTES));

/** Per-profile caps of the event contract (`quality.profile-burst`). */
export interface HistoryLimits {
  /** Impressions per profile within one 10-second window of event time (the stage's `profileBurstPerWindow`). */
  readonly perWindow: number;
  /** Impressions per profile within one UTC day of event time (the stage's `profileBurstPerDay`). */
  readonly perDay: number;
}

export const bucketStart = (timeMs: number) => Math.floor(timeMs / BUCKET_MS) * BUCKET_MS;
export const dayStart = (timeMs: number) => Math.floor(timeMs / DAY_MS) * DAY_MS;

/** One impression as the API serves it. */
export interface Impression {
  readonly eventId: string;
  readonly eventTimeMs: number;
  readonly titleId: string;
  readonly artworkId: string;
  readonly page: string;
  readonly rowId: string;
  readonly rowIndex: number;
  readonly position: number;
  readonly deviceType: string;
  readonly trackId: number | null;
}

export function impressionOf(r: EnrichedRecord): Impression {
  return {
    eventId: r.event_id,
    eventTimeMs: Date.parse(r.event_time),
    titleId: r.title_id,
    artworkId: r.artwork_id,
    page: r.page,
    rowId: r.row_id,
    rowIndex: r.row_index,
    position: r.position,
    deviceType: r.device_type,
    trackId: r.track_id,
  };
}

/**
 * The identity of an impression within a profile (the event contract's duplicate rule: eventId and event
 * time): what the history list shows once and the counts count once.
 */
export const impressionKey = (i: { readonly eventId: string; readonly eventTimeMs: number }) =>
  `${i.eventId}|${i.eventTimeMs}`;

/**
 * Tag of one Kinesis user record (sequence number and sub-sequence number, see `recordId`): 48 bits of its
 * SHA-256 in 8 base64url characters. Two different records of the same impression share a tag with
 * probability 2^-48, and then the later one is taken for a redelivery (enriched again, stored once).
 */
export const recordTag = (recordId: string) =>
  createHash('sha256').update(recordId).digest().subarray(0, 6).toString('base64url');

/** One impression a batch offers to the history (a record that passed every other check). */
export interface HistoryCandidate {
  readonly profileId: string;
  /** Identity of the Kinesis user record (`recordId`): tagged on the stored value. */
  readonly recordId: string;
  readonly impression: Impression;
}

export type BurstKind = 'window' | 'storage' | 'day';

/** An impression offered to a bucket, as admission sees it: its identity in the bucket and its bytes. */
export interface OfferedImpression {
  /** Identity within the bucket (the store's attribute name). */
  readonly name: string;
  /** Bytes it takes of the bucket's budget. */
  readonly bytes: number;
}

/** What a bucket holds, as far as the caps are concerned. */
export interface BucketContents {
  /** Impressions held. */
  readonly n: number;
  /** Their bytes. */
  readonly s: number;
  /** Identity → tag of the record that stored it. */
  readonly tags: ReadonlyMap<string, string>;
}

export interface BucketDecision<P extends OfferedImpression = OfferedImpression> {
  /** Absent impressions that fit the caps, in order: to be written. */
  readonly write: readonly P[];
  /** Absent impressions past a cap. */
  readonly burst: ReadonlyMap<string, BurstKind>;
}

/**
 * Against a bucket's stored contents: the absent impressions are written in batch order while they fit the
 * window cap, the item's byte budget and the day's remaining room (`day.left`, decremented); the rest of
 * the absent ones are a burst. Present ones are neither (their tag decides, see `admissionOf`).
 */
export function decideBucket<P extends OfferedImpression>(
  impressions: readonly P[],
  state: BucketContents,
  limits: HistoryLimits,
  day: { left: number },
): BucketDecision<P> {
  let n = state.n;
  let s = state.s;
  const write: P[] = [];
  const burst = new Map<string, BurstKind>();
  for (const imp of impressions) {
    if (state.tags.has(imp.name)) continue;
    if (n >= limits.perWindow) burst.set(imp.name, 'window');
    else if (s + imp.bytes > ITEM_BUDGET_BYTES) burst.set(imp.name, 'storage');
    else if (day.left < dayUnits(imp.bytes)) burst.set(imp.name, 'day');
    else {
      write.push(imp);
      n++;
      s += imp.bytes;
      day.left -= dayUnits(imp.bytes);
    }
  }
  return { write, burst };
}

export type Admission =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'burst'; readonly detail: string }
  | { readonly kind: 'failed' };

/**
 * A candidate's outcome from the tag stored for its impression: its own record's tag → accepted (first
 * delivery or redelivery: the same outcome again); another record's → a producer's retry; none → past a
 * cap, or not written (failed, retried).
 */
export function admissionOf(
  candidate: HistoryCandidate,
  storedTag: string | undefined,
  burst: BurstKind | undefined,
  limits: HistoryLimits,
): Admission {
  if (storedTag !== undefined)
    return storedTag === recordTag(candidate.recordId) ? { kind: 'accepted' } : { kind: 'duplicate' };
  if (burst === undefined) return { kind: 'failed' };
  const t = candidate.impression.eventTimeMs;
  const detail =
    burst === 'window'
      ? `more than ${limits.perWindow} impressions of the profile in the 10-second window from ${new Date(bucketStart(t)).toISOString()}`
      : burst === 'day'
        ? `more than ${limits.perDay} impressions of the profile on ${new Date(t).toISOString().slice(0, 10)} (or their ${limits.perDay * DAY_UNIT_BYTES} bytes)`
        : `the profile's impressions of the 10-second window from ${new Date(bucketStart(t)).toISOString()} exceed ${ITEM_BUDGET_BYTES} bytes of storage`;
  return { kind: 'burst', detail };
}

/** Newest first; ties by eventId, descending, so that pages are stable. */
export const newestFirst = (a: Impression, b: Impression) =>
  b.eventTimeMs - a.eventTimeMs || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0);

/** Position of the last impression of a page: the next page starts strictly after it. */
export interface PagePosition {
  readonly eventTimeMs: number;
  readonly eventId: string;
}

export const isAfter = (i: Impression, p: PagePosition) =>
  i.eventTimeMs < p.eventTimeMs || (i.eventTimeMs === p.eventTimeMs && i.eventId < p.eventId);

export const encodePosition = (p: PagePosition) => `${p.eventTimeMs}|${p.eventId}`;
export function decodePosition(text: string): PagePosition | undefined {
  const bar = text.indexOf('|');
  const t = Number(text.slice(0, bar));
  return bar > 0 && Number.isSafeInteger(t) ? { eventTimeMs: t, eventId: text.slice(bar + 1) } : undefined;
}
