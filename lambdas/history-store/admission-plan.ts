/**
 * A batch's candidates as the items they touch (profile-day counters and buckets), and a bucket item's
 * state as admission reads it: what the write side (admit.ts) decides and writes from.
 */
import {
  BUCKET_MS,
  type BucketContents,
  bucketStart,
  DAY_MS,
  dayStart,
  dayUnits,
  type HistoryCandidate,
  type OfferedImpression,
  recordTag,
} from '../domain/history-model.js';
import {
  ATTR,
  attributeName,
  bucketSortKey,
  daySortKey,
  expiry,
  type Item,
  profileKey,
  type StoredImpression,
  storedImpression,
  tagsOfItem,
  valueSize,
} from './item-codec.js';

/**
 * Impressions per UpdateItem: each costs ≈ 41 characters of the 4 KB update and condition expressions and
 * two of the 300 operators/functions an expression may hold (DynamoDB developer guide, "Expression
 * parameters" limits).
 */
export const MAX_IMPRESSIONS_PER_WRITE = 80;

/** One impression to store, and the candidates (records of the batch) that carry it. */
export interface PlannedImpression extends OfferedImpression {
  /** Its attribute name. */
  readonly name: string;
  readonly value: StoredImpression;
  readonly bytes: number;
  /** Indexes into the candidates, in batch order; the first one's tag is written. */
  readonly members: number[];
}

export interface BucketPlan {
  readonly pk: string;
  readonly sk: string;
  readonly startMs: number;
  /** TTL, epoch seconds. */
  readonly x: number;
  /** In batch order of their first member. */
  readonly impressions: readonly PlannedImpression[];
}

/** Everything a batch offers for one profile and UTC day: the unit of the daily cap. */
export interface DayPlan {
  readonly pk: string;
  readonly sk: string;
  readonly x: number;
  readonly buckets: readonly BucketPlan[];
  /** Units of the daily cap the distinct impressions offered take (`dayUnits`: one each up to 256 bytes). */
  readonly size: number;
}

/**
 * Groups a batch's candidates by profile, day and bucket; candidates carrying the same impression (same
 * profile, eventId and event time) share one planned impression, in batch order.
 */
export function planAdmission(candidates: readonly HistoryCandidate[], retentionDays: number): DayPlan[] {
  const days = new Map<
    string,
    { pk: string; day: number; buckets: Map<number, Map<string, PlannedImpression>> }
  >();
  candidates.forEach((c, index) => {
    const pk = profileKey(c.profileId);
    const t = c.impression.eventTimeMs;
    const dayKey = `${pk}\u0000${dayStart(t)}`;
    let d = days.get(dayKey);
    if (!d) {
      d = { pk, day: dayStart(t), buckets: new Map() };
      days.set(dayKey, d);
    }
    let b = d.buckets.get(bucketStart(t));
    if (!b) {
      b = new Map();
      d.buckets.set(bucketStart(t), b);
    }
    const name = attributeName(c.impression.eventId, t);
    const known = b.get(name);
    if (known) {
      known.members.push(index);
      return;
    }
    const value = storedImpression.encode(c.impression, recordTag(c.recordId));
    b.set(name, { name, value, bytes: Buffer.byteLength(name) + valueSize(value), members: [index] });
  });
  return [...days.values()].map((d) => {
    const buckets = [...d.buckets].map(([startMs, imps]) => ({
      pk: d.pk,
      sk: bucketSortKey(startMs),
      startMs,
      x: expiry(startMs, BUCKET_MS, retentionDays),
      impressions: [...imps.values()],
    }));
    return {
      pk: d.pk,
      sk: daySortKey(d.day),
      x: expiry(d.day, DAY_MS, retentionDays),
      buckets,
      size: buckets.reduce((n, b) => n + b.impressions.reduce((k, i) => k + dayUnits(i.bytes), 0), 0),
    };
  });
}

/** The tag a planned impression is written with (its first member's record). */
export const plannedTag = (imp: PlannedImpression) => storedImpression.tag(imp.value);

/** What a bucket item holds, as far as admission is concerned. */
export interface BucketState extends BucketContents {
  /** Whether the item exists with its count `n` (the condition of an exact write depends on it). */
  readonly counted: boolean;
  /** Impressions held (`n`). */
  readonly n: number;
  /** Their bytes (`s`). */
  readonly s: number;
  /** Attribute name → tag of the record that stored it. */
  readonly tags: ReadonlyMap<string, string>;
}

export const EMPTY_BUCKET: BucketState = { counted: false, n: 0, s: 0, tags: new Map() };

export function bucketState(item: Readonly<Item> | undefined): BucketState {
  if (!item) return EMPTY_BUCKET;
  const tags = tagsOfItem(item);
  const n = item[ATTR.count];
  return {
    counted: n !== undefined,
    n: Number(n ?? tags.size),
    s: Number(item[ATTR.bytes] ?? 0),
    tags,
  };
}
