/**
 * The history table's data model (single table, pure key and item logic).
 *
 * Impressions are packed: one item per profile and 10-second bucket of event time,
 * `pk = P#<profileId>`, `sk = B#<bucket start, ISO>` (`#<n>` for an overflow part), holding each impression
 * as an attribute named `i<eventId>` whose value is the list of the fields the API serves. A page render is
 * a burst of impressions from one profile, so a batch usually writes a bucket once, with one `UpdateItem`
 * that sets many attributes: write units follow bytes, not impressions (≈ 0.1 WCU per impression instead of
 * ≥ 2 for an item per impression plus a counter).
 *
 * - Idempotent: an impression always lands in the same bucket under the same attribute name with the same
 *   value, so a retried, split or replayed batch rewrites what is there.
 * - Exact frequency: windows are counted from the stored impressions themselves (distinct eventIds with
 *   event time in the window), at millisecond boundaries; there are no counters to drift.
 * - Readers also deduplicate by eventId, so an overflow part written on a replay cannot show twice.
 * - TTL attribute `x` (epoch seconds): bucket start + retention.
 */
import type { EnrichedRecord } from './enrich.js';

export const DAY_MS = 24 * 60 * 60 * 1000;
export const BUCKET_MS = 10_000;
/**
 * Impressions per UpdateItem (keeps the update expression under DynamoDB's 4 KB limit). A batch with more
 * for one bucket writes the rest to the bucket's next parts, so no item is written twice in a batch (an
 * update is charged on the whole item).
 */
export const MAX_IMPRESSIONS_PER_WRITE = 200;

export const profileKey = (profileId: string) => `P#${profileId}`;
export const bucketStart = (timeMs: number) => Math.floor(timeMs / BUCKET_MS) * BUCKET_MS;
export const bucketSortKey = (startMs: number, part = 0) =>
  `B#${new Date(startMs).toISOString()}${part ? `#${part}` : ''}`;
/** Upper bound (inclusive) of the sort keys of a bucket and its overflow parts. */
export const bucketSortKeyEnd = (startMs: number) => `B#${new Date(startMs).toISOString()}#~`;
export const BUCKET_PREFIX = 'B#';
const ATTR_PREFIX = 'i';

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
 * Stored value: [ms after the bucket start, titleId, artworkId, page, rowId, rowIndex, position, deviceType,
 * trackId]. The attribute name carries the eventId (a UUID) in 22 base64url characters.
 */
export type StoredImpression = [
  number,
  string,
  string,
  string,
  string,
  number,
  number,
  string,
  number | null,
];

export const toStored = (i: Impression): StoredImpression => [
  i.eventTimeMs - bucketStart(i.eventTimeMs),
  i.titleId,
  i.artworkId,
  i.page,
  i.rowId,
  i.rowIndex,
  i.position,
  i.deviceType,
  i.trackId,
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

/** The bucket start of a stored item, from its sort key. */
export const bucketOfSortKey = (sk: string) => Date.parse(sk.slice(2, 26));

/** The impressions held by a stored item (attributes other than `i<eventId>` are keys and TTL). */
export function impressionsOfItem(item: Readonly<Record<string, unknown>>): Impression[] {
  const out: Impression[] = [];
  const start = bucketOfSortKey(String(item.sk));
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(ATTR_PREFIX) || !Array.isArray(value) || value.length !== 9) continue;
    const [t, titleId, artworkId, page, rowId, rowIndex, position, deviceType, trackId] =
      value as StoredImpression;
    out.push({
      eventId: eventIdOf(name),
      eventTimeMs: start + Number(t),
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

/** One UpdateItem: set these impressions on a bucket item (part), and the records they come from. */
export interface BucketWrite {
  readonly pk: string;
  readonly bucketStartMs: number;
  /** 0 for the bucket's item, n for its n-th overflow part. */
  readonly part: number;
  readonly impressions: ReadonlyMap<string, StoredImpression>;
  /** TTL, epoch seconds. */
  readonly x: number;
  readonly sources: readonly string[];
}

export interface EnrichedInput {
  readonly sequenceNumber: string;
  readonly record: EnrichedRecord;
}

/** `i` + the UUID's 16 bytes in base64url (23 characters instead of 37). */
export const attributeName = (eventId: string) =>
  `${ATTR_PREFIX}${Buffer.from(eventId.replace(/-/g, ''), 'hex').toString('base64url')}`;

export function eventIdOf(name: string): string {
  const hex = Buffer.from(name.slice(ATTR_PREFIX.length), 'base64url').toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Groups a batch's impressions by profile and bucket (an impression repeated in the batch is written once),
 * in writes of at most MAX_IMPRESSIONS_PER_WRITE impressions.
 */
export function planHistoryWrites(inputs: readonly EnrichedInput[], retentionDays: number): BucketWrite[] {
  const groups = new Map<
    string,
    { pk: string; start: number; imps: Map<string, StoredImpression>; sources: Map<string, string[]> }
  >();
  for (const { sequenceNumber, record } of inputs) {
    const imp = impressionOf(record);
    const pk = profileKey(record.profile_id);
    const start = bucketStart(imp.eventTimeMs);
    const key = `${pk}\u0000${start}`;
    let g = groups.get(key);
    if (!g) {
      g = { pk, start, imps: new Map(), sources: new Map() };
      groups.set(key, g);
    }
    g.imps.set(imp.eventId, toStored(imp));
    const srcs = g.sources.get(imp.eventId);
    if (srcs) srcs.push(sequenceNumber);
    else g.sources.set(imp.eventId, [sequenceNumber]);
  }
  const writes: BucketWrite[] = [];
  for (const g of groups.values()) {
    const ids = [...g.imps.keys()];
    for (let i = 0; i < ids.length; i += MAX_IMPRESSIONS_PER_WRITE) {
      const chunk = ids.slice(i, i + MAX_IMPRESSIONS_PER_WRITE);
      writes.push({
        pk: g.pk,
        bucketStartMs: g.start,
        part: i / MAX_IMPRESSIONS_PER_WRITE,
        impressions: new Map(chunk.map((id) => [id, g.imps.get(id)!])),
        x: Math.floor((g.start + BUCKET_MS + retentionDays * DAY_MS) / 1000),
        sources: chunk.flatMap((id) => g.sources.get(id)!),
      });
    }
  }
  return writes;
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
