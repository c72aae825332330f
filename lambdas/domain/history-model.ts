/**
 * The history table's data model (single table, pure key, item and admission logic). Full design, sizes and
 * costs: `docs/history-model.md`.
 *
 * Impressions are packed: one item per profile and 10-second bucket of event time, `pk = P#<profileId>`,
 * `sk = B#<bucket start, ISO>`, holding each impression as an attribute named `i` + the eventId (22 base64url
 * characters) + the event time's offset in the bucket (base 36), whose value is the list of the fields the
 * API serves and a tag of the Kinesis record that stored it. The item also counts its impressions (`n`) and
 * their bytes (`s`); TTL `x`. One counter item per profile and UTC day (`sk = D#<date>`, `n`) enforces the
 * daily cap: a reservation, raised in blocks before impressions are stored (adapters/day-allowance.ts).
 *
 * - Duplicates (`filtered.duplicate`): the attribute name is the identity of the contract's rule (profile,
 *   eventId, event time), so a bucket write that finds the attribute already present has found either a
 *   redelivery of the same Kinesis record (same tag: same outcome again) or a producer's retry (other tag).
 * - Caps (`quality.profile-burst`): a bucket holds at most `perWindow` impressions and `ITEM_BUDGET_BYTES`
 *   of them (so an item never reaches DynamoDB's 400 KB), a profile-day at most `perDay`; the writes are
 *   conditional on the counts, so the caps hold exactly across batches and concurrent writers.
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

/**
 * Impressions per UpdateItem: each costs ≈ 41 characters of the 4 KB update and condition expressions and
 * two of the 300 operators/functions an expression may hold (DynamoDB developer guide, "Expression
 * parameters" limits).
 */
export const MAX_IMPRESSIONS_PER_WRITE = 80;

/** Per-profile caps of the event contract (`quality.profile-burst`). */
export interface HistoryLimits {
  /** Impressions per profile within one 10-second window of event time. @default 1000 */
  readonly perWindow: number;
  /** Impressions per profile within one UTC day of event time. @default 20000 */
  readonly perDay: number;
}
export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { perWindow: 1000, perDay: 20_000 };

export const profileKey = (profileId: string) => `P#${profileId}`;
export const bucketStart = (timeMs: number) => Math.floor(timeMs / BUCKET_MS) * BUCKET_MS;
export const dayStart = (timeMs: number) => Math.floor(timeMs / DAY_MS) * DAY_MS;
export const bucketSortKey = (startMs: number) => `B#${new Date(startMs).toISOString()}`;
/** Upper bound (inclusive) of the sort keys of a bucket (and of the overflow parts of earlier versions). */
export const bucketSortKeyEnd = (startMs: number) => `B#${new Date(startMs).toISOString()}#~`;
export const daySortKey = (dayStartMs: number) => `D#${new Date(dayStartMs).toISOString().slice(0, 10)}`;
export const BUCKET_PREFIX = 'B#';
const ATTR_PREFIX = 'i';
/** TTL (epoch seconds) of the items of a bucket or day starting at `startMs` and lasting `widthMs`. */
export const expiry = (startMs: number, widthMs: number, retentionDays: number) =>
  Math.floor((startMs + widthMs + retentionDays * DAY_MS) / 1000);

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

/**
 * Stored value: [titleId, artworkId, page, rowId, rowIndex, position, deviceType, trackId, tag]. The event
 * time is in the attribute name (bucket start + offset), the tag names the Kinesis record that stored it.
 */
export type StoredImpression = [
  string,
  string,
  string,
  string,
  number,
  number,
  string,
  number | null,
  string,
];

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

export const toStored = (i: Impression, tag: string): StoredImpression => [
  i.titleId,
  i.artworkId,
  i.page,
  i.rowId,
  i.rowIndex,
  i.position,
  i.deviceType,
  i.trackId,
  tag,
];

/**
 * Tag of one Kinesis user record (sequence number and sub-sequence number, see `recordId`): 48 bits of its
 * SHA-256 in 8 base64url characters. Two different records of the same impression share a tag with
 * probability 2^-48, and then the later one is taken for a redelivery (enriched again, stored once).
 */
export const recordTag = (recordId: string) =>
  createHash('sha256').update(recordId).digest().subarray(0, 6).toString('base64url');

/** `i` + the UUID's 16 bytes in base64url + the event time's offset in its bucket, base 36. */
export const attributeName = (eventId: string, eventTimeMs: number) =>
  `${ATTR_PREFIX}${Buffer.from(eventId.replace(/-/g, ''), 'hex').toString('base64url')}${(eventTimeMs - bucketStart(eventTimeMs)).toString(36)}`;

const uuidOf = (b64: string) => {
  const hex = Buffer.from(b64, 'base64url').toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** The eventId and bucket offset of an impression attribute's name; undefined for other attributes. */
export function parseAttributeName(name: string): { eventId: string; offsetMs: number } | undefined {
  if (name.length < 24 || !name.startsWith(ATTR_PREFIX)) return undefined;
  const offsetMs = Number.parseInt(name.slice(23), 36);
  if (!Number.isInteger(offsetMs) || offsetMs < 0 || offsetMs >= BUCKET_MS) return undefined;
  return { eventId: uuidOf(name.slice(1, 23)), offsetMs };
}

/** The bucket start of a stored item, from its sort key. */
export const bucketOfSortKey = (sk: string) => Date.parse(sk.slice(2, 26));

/** The impressions held by a stored item (other attributes are keys, counters and TTL). */
export function impressionsOfItem(item: Readonly<Record<string, unknown>>): Impression[] {
  const out: Impression[] = [];
  const sk = String(item.sk);
  if (!sk.startsWith(BUCKET_PREFIX)) return out;
  const start = bucketOfSortKey(sk);
  for (const [name, value] of Object.entries(item)) {
    if (!Array.isArray(value) || value.length !== 9) continue;
    const attr = parseAttributeName(name);
    if (!attr) continue;
    const [titleId, artworkId, page, rowId, rowIndex, position, deviceType, trackId] =
      value as StoredImpression;
    out.push({
      eventId: attr.eventId,
      eventTimeMs: start + attr.offsetMs,
      titleId: String(titleId),
      artworkId: String(artworkId),
      page: String(page),
      rowId: String(rowId),
      rowIndex: Number(rowIndex),
      position: Number(position),
      deviceType: String(deviceType),
      trackId: trackId === null || trackId === undefined ? null : Number(trackId),
    });
  }
  return out;
}

/**
 * DynamoDB's size of an attribute value ("Item sizes and formats", DynamoDB developer guide): strings in
 * UTF-8 bytes, numbers ≈ 1 byte per two significant digits + 1, lists and maps 3 bytes + 1 per element.
 */
export function valueSize(v: unknown): number {
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (typeof v === 'number') {
    const digits = String(Math.abs(v)).replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length || 1;
    return Math.ceil(digits / 2) + 1;
  }
  if (Array.isArray(v)) return 3 + v.reduce((n: number, x) => n + valueSize(x) + 1, 0);
  if (v instanceof Set) return [...v].reduce((n: number, x) => n + valueSize(x), 0);
  if (typeof v === 'object') {
    return (
      3 +
      Object.entries(v as Record<string, unknown>).reduce(
        (n, [k, x]) => n + Buffer.byteLength(k) + valueSize(x) + 1,
        0,
      )
    );
  }
  throw new Error(`no size for ${typeof v}`);
}

/** DynamoDB's size of an item: attribute names and values. */
export const itemSize = (item: Readonly<Record<string, unknown>>) =>
  Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + valueSize(v), 0);

/** One impression a batch offers to the history (a record that passed every other check). */
export interface HistoryCandidate {
  readonly profileId: string;
  /** Identity of the Kinesis user record (`recordId`): tagged on the stored value. */
  readonly recordId: string;
  readonly impression: Impression;
}

/** One impression to store, and the candidates (records of the batch) that carry it. */
export interface PlannedImpression {
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
    const value = toStored(c.impression, recordTag(c.recordId));
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

/** What a bucket item holds, as far as admission is concerned. */
export interface BucketState {
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

export function bucketState(item: Readonly<Record<string, unknown>> | undefined): BucketState {
  if (!item) return EMPTY_BUCKET;
  const tags = new Map<string, string>();
  for (const [name, value] of Object.entries(item)) {
    if (Array.isArray(value) && value.length === 9 && parseAttributeName(name))
      tags.set(name, String(value[8]));
  }
  return { counted: item.n !== undefined, n: Number(item.n ?? tags.size), s: Number(item.s ?? 0), tags };
}

export type BurstKind = 'window' | 'storage' | 'day';

export interface BucketDecision {
  /** Absent impressions that fit the caps, in order: to be written. */
  readonly write: readonly PlannedImpression[];
  /** Absent impressions past a cap. */
  readonly burst: ReadonlyMap<string, BurstKind>;
}

/**
 * Against a bucket's stored state: the absent impressions are written in batch order while they fit the
 * window cap, the item's byte budget and the day's remaining room (`day.left`, decremented); the rest of
 * the absent ones are a burst. Present ones are neither (their tag decides, see `admissionOf`).
 */
export function decideBucket(
  impressions: readonly PlannedImpression[],
  state: BucketState,
  limits: HistoryLimits,
  day: { left: number },
): BucketDecision {
  let n = state.n;
  let s = state.s;
  const write: PlannedImpression[] = [];
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

/**
 * Which of a stream's accepted impressions (in stream order, producer duplicates already left out) the caps
 * reject as `quality.profile-burst`: the expectation a load generator or a reconciliation needs.
 */
export function pastCaps(
  impressions: readonly { readonly profileId: string; readonly eventTimeMs: number }[],
  limits: HistoryLimits = DEFAULT_HISTORY_LIMITS,
): boolean[] {
  const windows = new Map<string, number>();
  const days = new Map<string, number>();
  return impressions.map(({ profileId, eventTimeMs }) => {
    const w = `${profileId}\u0000${bucketStart(eventTimeMs)}`;
    const d = `${profileId}\u0000${dayStart(eventTimeMs)}`;
    const inWindow = windows.get(w) ?? 0;
    const inDay = days.get(d) ?? 0;
    if (inWindow >= limits.perWindow || inDay >= limits.perDay) return true;
    windows.set(w, inWindow + 1);
    days.set(d, inDay + 1);
    return false;
  });
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
