/**
 * The history table's item layout, in one place: keys, attribute names, the stored impression tuple, the
 * stored tally of a rollup and the erasure marker. Everything in the store that reads or writes an item
 * goes through these names and functions. The layout is documented in `docs/history-model.md`, "Item
 * layout".
 *
 * Items of one profile share `pk = P#<profileId>`; the sort key tells the kind: `B#<bucket start, ISO>`
 * (a bucket: 10 s of event time), `D#<YYYY-MM-DD>` (the day counter of the daily cap), `R#<YYYY-MM-DD>`
 * and `R#<YYYY-MM-DD>#<k>` (a day's rollup and its parts), `E#` (the erasure marker), `I#<window start, ISO>` (an
 * ingest window's counter: `ingest-limit.ts`). The key attributes and the TTL attribute are the table's own
 * declaration (`table-schema.ts`), which the stack creates the table from.
 */
import { BUCKET_MS, bucketStart, DAY_MS, type Impression } from '../domain/history-model.js';
import type { Tally } from '../domain/rollup.js';
import { HISTORY_TABLE_SCHEMA } from './table-schema.js';

/** A stored item as the document client reads it. */
export type Item = Record<string, unknown>;

/** Attribute names of the history items (one letter each: every name is stored, and billed, in every item). */
export const ATTR = {
  partitionKey: HISTORY_TABLE_SCHEMA.partitionKey.name,
  sortKey: HISTORY_TABLE_SCHEMA.sortKey.name,
  /** TTL, epoch seconds (every item). */
  ttl: HISTORY_TABLE_SCHEMA.ttlAttribute,
  /** Bucket: impressions held. Day counter: units of the daily cap reserved. */
  count: 'n',
  /** Bucket: bytes of the impressions held (`ITEM_BUDGET_BYTES`). */
  bytes: 's',
  /** Day counter: generation, a random token set when the item is created (day-allowance.ts). */
  generation: 'g',
  /** Day counter: forget token, set by `forgetFromRecord` (bucket-memory.ts). */
  forget: 'f',
  /** Rollup and its parts: the stored tally (`StoredTally`). */
  tally: 'c',
  /** Rollup and its parts: the token of the read that built it. */
  build: 'b',
  /** Rollup: the token of the last write that invalidated it. */
  dirty: 'd',
  /** Rollup: items of a split rollup (absent: 1). */
  parts: 'p',
  /** Erasure marker: the latest erasure time, epoch ms. */
  erasedAt: 'e',
} as const;

// ---- keys ----

export const profileKey = (profileId: string) => `P#${profileId}`;

/** The prefix of each kind of item's sort key: the sort key tells the kind. */
export const SORT_KEY_PREFIX = {
  bucket: 'B#',
  dayCounter: 'D#',
  /** A day's rollup and its parts. */
  rollup: 'R#',
  ingestWindow: 'I#',
  /** The whole sort key: a profile has one marker. */
  erasure: 'E#',
} as const;
export type ItemKind = keyof typeof SORT_KEY_PREFIX;
const KINDS = Object.entries(SORT_KEY_PREFIX) as [ItemKind, string][];

/** The kind of a stored item, from its sort key; undefined for an item of no kind the store writes. */
export function itemKind(item: Readonly<Item>): ItemKind | undefined {
  const sk = item[ATTR.sortKey];
  if (typeof sk !== 'string') return undefined;
  return KINDS.find(([, prefix]) => sk.startsWith(prefix))?.[0];
}

export const BUCKET_PREFIX = SORT_KEY_PREFIX.bucket;
export const bucketSortKey = (startMs: number) => `${BUCKET_PREFIX}${new Date(startMs).toISOString()}`;
/** Upper bound (inclusive) of the sort keys of a bucket: a query range over buckets ends here. */
export const bucketSortKeyEnd = (startMs: number) => `${bucketSortKey(startMs)}#~`;
/** The bucket start of a stored item, from its sort key. */
export const bucketOfSortKey = (sk: string) => Date.parse(sk.slice(2, 26));
/** An ingest window's counter (the ingest route's per-profile limit, `ingest-limit.ts`). */
export const ingestWindowSortKey = (windowStartMs: number) =>
  `${SORT_KEY_PREFIX.ingestWindow}${new Date(windowStartMs).toISOString()}`;
export const daySortKey = (dayStartMs: number) =>
  `${SORT_KEY_PREFIX.dayCounter}${new Date(dayStartMs).toISOString().slice(0, 10)}`;

export const ROLLUP_PREFIX = SORT_KEY_PREFIX.rollup;
export const rollupSortKey = (dayStartMs: number) =>
  `${ROLLUP_PREFIX}${new Date(dayStartMs).toISOString().slice(0, 10)}`;
/** The day of a rollup's sort key, or of one of its parts (`R#<YYYY-MM-DD>#<k>`). */
export const dayOfRollupSortKey = (sk: string) =>
  Date.parse(`${sk.slice(ROLLUP_PREFIX.length, ROLLUP_PREFIX.length + 10)}T00:00:00.000Z`);
/** Sort key of part `k` (1, 2, …) of a day's rollup; part 0 is the rollup item itself. */
export const rollupPartSortKey = (dayStartMs: number, k: number) => `${rollupSortKey(dayStartMs)}#${k}`;
/** Upper bound (inclusive) of the sort keys of a day's rollup and its parts. */
export const rollupSortKeyEnd = (dayStartMs: number) => `${rollupSortKey(dayStartMs)}#~`;
/** Which part of its day's rollup an item of sort key `sk` is: 0 the rollup item, NaN none. */
export function rollupPartOf(sk: string): number {
  const day = rollupSortKey(dayOfRollupSortKey(sk));
  return sk === day ? 0 : Number(sk.slice(day.length + 1));
}

export const ERASURE_SORT_KEY = SORT_KEY_PREFIX.erasure;

/** TTL (epoch seconds) of the items of a bucket or day starting at `startMs` and lasting `widthMs`. */
export const expiry = (startMs: number, widthMs: number, retentionDays: number) =>
  Math.floor((startMs + widthMs + retentionDays * DAY_MS) / 1000);

// ---- impression attributes ----

const IMPRESSION_ATTR_PREFIX = 'i';

/** `i` + the UUID's 16 bytes in base64url + the event time's offset in its bucket, base 36. */
export const attributeName = (eventId: string, eventTimeMs: number) =>
  `${IMPRESSION_ATTR_PREFIX}${Buffer.from(eventId.replace(/-/g, ''), 'hex').toString('base64url')}${(eventTimeMs - bucketStart(eventTimeMs)).toString(36)}`;

const uuidOf = (b64: string) => {
  const hex = Buffer.from(b64, 'base64url').toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** The eventId and bucket offset of an impression attribute's name; undefined for other attributes. */
export function parseAttributeName(name: string): { eventId: string; offsetMs: number } | undefined {
  if (name.length < 24 || !name.startsWith(IMPRESSION_ATTR_PREFIX)) return undefined;
  const offsetMs = Number.parseInt(name.slice(23), 36);
  if (!Number.isInteger(offsetMs) || offsetMs < 0 || offsetMs >= BUCKET_MS) return undefined;
  return { eventId: uuidOf(name.slice(1, 23)), offsetMs };
}

/**
 * Stored value of an impression: one Binary attribute value, packed, because its bytes are what a bucket
 * write is billed on (1 KB write units on the item's size) and what the table stores; the packed form takes
 * 12 bytes fewer per impression than the same fields as a DynamoDB list (3 bytes per list and 1 per element,
 * the tag in base64url, numbers in DynamoDB's decimal form), and the history's write units at the default
 * client flush fall from 0.270 to 0.249 per impression (`npm run bench`, BENCHMARKS.md "History writes").
 *
 * Layout: the tag (`TAG_BYTES` raw bytes of `recordTag`, the Kinesis record that stored it), then unsigned
 * LEB128 varints `rowIndex`, `position`, `trackId + 1` (0: no trackId), then `titleId`, `artworkId`, `page`,
 * `rowId`, `deviceType`, each a varint byte length and its UTF-8 bytes. The event time is in the attribute
 * name (bucket start + offset). The name's prefix `i` names this layout: another layout would take another
 * prefix, so that both can be read while the old items expire.
 */
export type StoredImpression = Uint8Array;

/** Bytes of the tag at the start of a stored impression (the 48 bits `recordTag` spells in base64url). */
export const TAG_BYTES = 6;
/** The smallest packed impression: the tag, three one-byte varints, five empty strings' lengths. */
const MIN_STORED_BYTES = TAG_BYTES + 3 + 5;
/** A varint longer than this does not hold a safe integer (7 bits a byte: 8 bytes hold 2^56). */
const MAX_VARINT_BYTES = 8;

/** Whether an attribute's value has the shape of a stored impression. */
export const isStoredImpression = (value: unknown): value is StoredImpression =>
  value instanceof Uint8Array && value.byteLength >= MIN_STORED_BYTES;

function pushVarint(out: number[], n: number) {
  let x = n;
  while (x >= 0x80) {
    out.push((x % 0x80) | 0x80);
    x = Math.floor(x / 0x80);
  }
  out.push(x);
}

/** Reads a packed impression's fields in order; undefined at the first that does not parse. */
class PackedReader {
  private at: number;
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
  ) {
    this.at = start;
  }
  varint(): number | undefined {
    let n = 0;
    let scale = 1;
    for (let k = 0; k < MAX_VARINT_BYTES && this.at < this.bytes.length; k++) {
      const b = this.bytes[this.at++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return Number.isSafeInteger(n) || n === Number.MAX_SAFE_INTEGER + 1 ? n : undefined;
      scale *= 0x80;
    }
    return undefined;
  }
  string(): string | undefined {
    const length = this.varint();
    if (length === undefined || this.at + length > this.bytes.length) return undefined;
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.at, length).toString('utf8');
    this.at += length;
    return text;
  }
  get done() {
    return this.at === this.bytes.length;
  }
}

export const storedImpression = {
  encode(i: Impression, tag: string): StoredImpression {
    const out = [...Buffer.from(tag, 'base64url')];
    if (out.length !== TAG_BYTES) throw new Error(`a record tag is ${TAG_BYTES} bytes in base64url: ${tag}`);
    pushVarint(out, i.rowIndex);
    pushVarint(out, i.position);
    pushVarint(out, i.trackId === null ? 0 : i.trackId + 1);
    for (const text of [i.titleId, i.artworkId, i.page, i.rowId, i.deviceType]) {
      const bytes = Buffer.from(text, 'utf8');
      pushVarint(out, bytes.length);
      for (const b of bytes) out.push(b);
    }
    return Uint8Array.from(out);
  },
  /**
   * The impression of attribute `attr` (parsed) holding `value`, in the bucket starting at
   * `bucketStartMs`; undefined when the value does not parse (it is not read as an impression).
   */
  decode(
    attr: { readonly eventId: string; readonly offsetMs: number },
    value: StoredImpression,
    bucketStartMs: number,
  ): Impression | undefined {
    const r = new PackedReader(value, TAG_BYTES);
    const rowIndex = r.varint();
    const position = r.varint();
    const track = r.varint();
    const [titleId, artworkId, page, rowId, deviceType] = [
      r.string(),
      r.string(),
      r.string(),
      r.string(),
      r.string(),
    ];
    if (
      rowIndex === undefined ||
      position === undefined ||
      track === undefined ||
      titleId === undefined ||
      artworkId === undefined ||
      page === undefined ||
      rowId === undefined ||
      deviceType === undefined ||
      !r.done
    )
      return undefined;
    return {
      eventId: attr.eventId,
      eventTimeMs: bucketStartMs + attr.offsetMs,
      titleId,
      artworkId,
      page,
      rowId,
      rowIndex,
      position,
      deviceType,
      trackId: track === 0 ? null : track - 1,
    };
  },
  /** The tag of the record that stored it. */
  tag: (value: StoredImpression): string =>
    Buffer.from(value.buffer, value.byteOffset, TAG_BYTES).toString('base64url'),
  /** What it holds of the impression, without the tag (the lake keeps no record identity to rebuild it). */
  untagged: (value: StoredImpression): Uint8Array => value.subarray(TAG_BYTES),
};

/** The impressions held by a stored item (other attributes are keys, counters and TTL). */
export function impressionsOfItem(item: Readonly<Item>): Impression[] {
  const out: Impression[] = [];
  const sk = String(item[ATTR.sortKey]);
  if (!sk.startsWith(BUCKET_PREFIX)) return out;
  const start = bucketOfSortKey(sk);
  for (const [name, value] of Object.entries(item)) {
    if (!isStoredImpression(value)) continue;
    const attr = parseAttributeName(name);
    const impression = attr && storedImpression.decode(attr, value, start);
    if (impression) out.push(impression);
  }
  return out;
}

/** Attribute name → tag of the record that stored it, for every impression an item holds. */
export function tagsOfItem(item: Readonly<Item>): Map<string, string> {
  const tags = new Map<string, string>();
  for (const [name, value] of Object.entries(item)) {
    if (isStoredImpression(value) && parseAttributeName(name)) tags.set(name, storedImpression.tag(value));
  }
  return tags;
}

// ---- day counter ----

/** The generation of a day counter as read (or as an UpdateItem returned it, `ALL_NEW`). */
export const generationOf = (item: Readonly<Item> | undefined) => {
  const g = item?.[ATTR.generation];
  return typeof g === 'string' ? g : undefined;
};

/** The validity token of a profile-day counter: its generation `g` and forget token `f`. */
export function counterToken(counter: Readonly<Item> | undefined): string | undefined {
  const g = generationOf(counter);
  if (g === undefined) return undefined;
  const f = counter?.[ATTR.forget];
  return `${g}|${typeof f === 'string' ? f : ''}`;
}

// ---- rollup tally ----

/**
 * The stored form of a day's tally: a list of `[titleId, count, lastSeenMs]`. A list, not a map keyed by
 * title: the SDK's `marshall` builds maps as plain objects, so a title named like an `Object.prototype`
 * member breaks it (`constructor` or `toString`: the call throws; `__proto__`: the entry is dropped on
 * `unmarshall`), while a title as a string inside a list is just a string.
 */
export type StoredTally = [string, number, number][];
export const encodeTally = (t: Tally): StoredTally =>
  [...t].map(([title, v]) => [title, v.count, v.lastSeenMs ?? 0]);
/** The tally of a stored list; undefined when an entry is not `[titleId, count, lastSeenMs]`. */
export function decodeTally(c: readonly unknown[]): Tally | undefined {
  const counts: Tally = new Map();
  for (const v of c) {
    if (!Array.isArray(v) || v.length !== 3 || typeof v[0] !== 'string') return undefined;
    counts.set(v[0], { count: Number(v[1]), lastSeenMs: Number(v[2]) });
  }
  return counts;
}

// ---- erasure marker ----

/** The key of a profile's erasure marker. */
export const erasureKey = (profileId: string) => ({ pk: profileKey(profileId), sk: ERASURE_SORT_KEY });

/** The marker of an erasure of `profileId` at `atMs`, kept for `retentionDays` (TTL, epoch seconds). */
export const erasureMarker = (profileId: string, atMs: number, retentionDays: number) => ({
  ...erasureKey(profileId),
  [ATTR.erasedAt]: atMs,
  [ATTR.ttl]: Math.floor((atMs + retentionDays * DAY_MS) / 1000),
});

/**
 * The erasure time of a marker as read, or undefined (no marker, or one whose TTL has passed: DynamoDB
 * deletes expired items within days, not at once, and may still return them).
 */
export function erasedAtOf(item: Readonly<Item> | undefined, nowMs: number) {
  if (item === undefined) return undefined;
  const e = Number(item[ATTR.erasedAt]);
  const x = Number(item[ATTR.ttl]);
  if (!Number.isFinite(e)) return undefined;
  if (Number.isFinite(x) && x * 1000 <= nowMs) return undefined;
  return e;
}

// ---- sizes ----

/**
 * DynamoDB's size of an attribute value ("Item sizes and formats", DynamoDB developer guide): strings in
 * UTF-8 bytes, numbers ≈ 1 byte per two significant digits + 1, lists and maps 3 bytes + 1 per element.
 */
export function valueSize(v: unknown): number {
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (v instanceof Uint8Array) return v.byteLength;
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
export const itemSize = (item: Readonly<Item>) =>
  Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + valueSize(v), 0);
