/**
 * Realistic impression traffic, deterministic for a seed: many members browsing at once. A few hundred
 * sessions are open at any time (a session: one profile of an account, on one device, browsing 1-4 pages);
 * the stream interleaves them, one row view at a time (the 4-8 titles a row shows, or 10-40 when the member
 * scrolls it), as apps flush impressions while their members scroll. A page has 6-14 rows and never shows
 * a title twice; titles are drawn with a Zipf-like popularity from the catalog; devices and countries come
 * in plausible proportions; visibility leaves some artwork not viewable; and a configurable share of bad
 * records covers every reject and filter reason of the contract. Every record carries the outcome the
 * pipeline must give it, so a run can be reconciled.
 *
 * No profile exceeds the contract's per-profile caps (`quality.profile-burst`: 1,000 per 10 s of
 * eventTime, 20,000 per UTC day): the generator keeps each profile under PROFILE_CAPS, with margin, and
 * ends a session that would go past them.
 */
import { createHash } from 'node:crypto';
import type { FilterReason, RejectReason } from '../lambdas/domain/classify.js';
import type { ImpressionEvent } from '../lambdas/domain/event-schema.js';

export type ExpectedOutcome = 'enriched' | FilterReason | `rejected.${RejectReason}`;

/** The bad kinds the generator injects (duplicates are injected separately, by resending accepted ids). */
export const BAD_KINDS = [
  'filtered.test-profile',
  'rejected.decode.not-json',
  'rejected.decode.too-large',
  'rejected.decode.not-object',
  'rejected.decode.bad-aggregate',
  'rejected.schema.missing-field',
  'rejected.schema.wrong-type',
  'rejected.schema.out-of-range',
  'rejected.schema.unknown-field',
  'rejected.schema.unsupported-version',
  'rejected.time.future',
  'rejected.time.too-late',
  'rejected.quality.entity-mismatch',
] as const satisfies readonly ExpectedOutcome[];

/** A bad kind the generator injects: one of BAD_KINDS, or `filtered.erased` given an erased profile. */
export type BadKind = (typeof BAD_KINDS)[number] | 'filtered.erased';

export interface GeneratedRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly expected: ExpectedOutcome;
  /** Present for records the pipeline accepts: what the history API will show. */
  readonly profileId?: string;
  readonly eventId?: string;
  readonly eventTimeMs?: number;
}

/**
 * What the generator allows one profile, by eventTime: at most `per5s` in any 5-second bucket (so at most
 * 3 × per5s = 900 in any 10-second window, under the contract's 1,000) and `perDay` per UTC day (under 20,000).
 */
export const PROFILE_CAPS = { per5s: 300, perDay: 19_000 } as const;

export interface TrafficOptions {
  readonly seed: number;
  /** Size of the profile population (4 profiles per account). @default 100000 */
  readonly profiles?: number;
  /** Sessions browsing at the same time. @default 400 */
  readonly sessions?: number;
  /** Title ids in popularity order, most popular first (the catalog). */
  readonly titleIds: readonly string[];
  /** Share of records that are bad (every kind in BAD_KINDS, evenly). @default 0.02 */
  readonly badShare?: number;
  /** Share of accepted impressions that a producer sends again with the same eventId. @default 0.01 */
  readonly duplicateShare?: number;
  /** The deployment's deny-listed test profile, for `filtered.test-profile`. */
  readonly testProfile: string;
  /**
   * A profile erased (history API `DELETE`) at `erasedAtMs` before the traffic starts: with it, the bad kinds
   * include `filtered.erased`, impressions of that profile from before its erasure (still valid events).
   */
  readonly erasedProfile?: { readonly profileId: string; readonly erasedAtMs: number };
  /** Viewability thresholds of the deployment. @default 50 / 1000 */
  readonly minVisiblePercent?: number;
  readonly minVisibleMs?: number;
  /** Clock used for event times. */
  readonly nowMs?: () => number;
  /**
   * Share of sessions whose app is on `impression/1-1-0` and sends `device.locale`; the others send
   * `impression/1-0-0`, as a fleet mid-upgrade does. @default 0.5
   */
  readonly localeShare?: number;
}

/** mulberry32: small, fast, good enough for traffic shapes, and reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted<T>(rand: () => number, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rand() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** Zipf-like sampler over ranks 0..n-1 with exponent s (inverse CDF over precomputed weights). */
export function zipf(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** s;
    cdf[k] = sum;
  }
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const DEVICES = [
  ['tv', 45],
  ['mobile', 30],
  ['web', 12],
  ['tablet', 8],
  ['console', 5],
] as const;
const COUNTRIES = [
  ['US', 35],
  ['BR', 10],
  ['GB', 8],
  ['IN', 8],
  ['DE', 6],
  ['MX', 6],
  ['FR', 5],
  ['JP', 5],
  ['CA', 5],
  ['KR', 4],
  ['ES', 4],
  ['AU', 4],
] as const;
const PAGES = [
  ['home', 60],
  ['search', 15],
  ['title-details', 15],
  ['kids', 10],
] as const;
/** The device locale (BCP 47) an app of a country reports, for `impression/1-1-0`. */
const COUNTRY_LOCALES: Readonly<Record<(typeof COUNTRIES)[number][0], string>> = {
  US: 'en-US',
  BR: 'pt-BR',
  GB: 'en-GB',
  IN: 'hi-IN',
  DE: 'de-DE',
  MX: 'es-MX',
  FR: 'fr-FR',
  JP: 'ja-JP',
  CA: 'fr-CA',
  KR: 'ko-KR',
  ES: 'es-ES',
  AU: 'en-AU',
};
const ROW_TYPES = ['continue-watching', 'trending', 'top-10', 'because-you-watched', 'new-releases', 'genre'];

function uuid(rand: () => number): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () =>
      Math.floor(rand() * 16)
        .toString(16)
        .toLowerCase(),
    ).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rand() * 4)]}${hex(3)}-${hex(12)}`;
}

const encoder = new TextEncoder();

interface Session {
  readonly profileId: string;
  readonly accountId: string;
  readonly sessionId: string;
  readonly device: (typeof DEVICES)[number][0];
  readonly country: (typeof COUNTRIES)[number][0];
  /** `device.locale` of an app on `impression/1-1-0`; undefined for an app on 1-0-0. */
  readonly locale: string | undefined;
  pagesLeft: number;
  page: (typeof PAGES)[number][0];
  rowsLeft: number;
  row: number;
  /** Titles already on the current page (a page shows a title once). */
  onPage: Set<string>;
}

/** The generator's draws and the state its steps share. */
interface TrafficRun {
  readonly rand: () => number;
  readonly now: () => number;
  readonly options: TrafficOptions;
  readonly kinds: readonly BadKind[];
  readonly badShare: number;
  readonly duplicateShare: number;
  readonly minPct: number;
  readonly minMs: number;
  readonly titleRank: () => number;
  /** Whether one more impression of a profile at an eventTime stays within PROFILE_CAPS (and counts it). */
  readonly withinCaps: (profileId: string, eventTimeMs: number) => boolean;
  /** Raw JSON of recent viewable impressions, the pool producer duplicates are drawn from. */
  readonly recentAccepted: string[];
  /** Row views in a row that emitted nothing because their profile was at a cap. */
  idleRowViews: number;
}

/**
 * Per profile: records per 5-s bucket and per UTC day of eventTime (see PROFILE_CAPS). Event times jitter
 * back up to 2 s, so a profile's records straddle bucket boundaries: count each bucket, keep the recent ones.
 */
function capTracker(): (profileId: string, eventTimeMs: number) => boolean {
  const usage = new Map<string, { buckets: Map<number, number>; days: Map<number, number> }>();
  return (profileId, eventTimeMs) => {
    const bucket = Math.floor(eventTimeMs / 5000);
    const day = Math.floor(eventTimeMs / 86_400_000);
    let u = usage.get(profileId);
    if (!u) {
      u = { buckets: new Map(), days: new Map() };
      usage.set(profileId, u);
    }
    const inBucket = u.buckets.get(bucket) ?? 0;
    const inDay = u.days.get(day) ?? 0;
    if (inBucket >= PROFILE_CAPS.per5s || inDay >= PROFILE_CAPS.perDay) return false;
    u.buckets.set(bucket, inBucket + 1);
    u.days.set(day, inDay + 1);
    if (u.buckets.size > 8) for (const k of u.buckets.keys()) if (k < bucket - 4) u.buckets.delete(k);
    if (u.days.size > 3) for (const k of u.days.keys()) if (k < day - 1) u.days.delete(k);
    return true;
  };
}

/** A new member session: a profile drawn from the population, its device, country and app version. */
function newSession(rand: () => number, profiles: number, localeShare: number): Session {
  const i = Math.floor(rand() * profiles);
  const sessionId = uuid(rand);
  const device = weighted(rand, DEVICES);
  const country = weighted(rand, COUNTRIES);
  // The app's version follows from the session id (no draw of its own, so a seed's traffic keeps its shape).
  const upgraded = Number.parseInt(sessionId.slice(0, 4), 16) / 0x10000 < localeShare;
  return {
    profileId: `p${String(i).padStart(7, '0')}`,
    accountId: `a${String(i >> 2).padStart(7, '0')}`,
    sessionId,
    device,
    country,
    locale: upgraded ? COUNTRY_LOCALES[country] : undefined,
    pagesLeft: 1 + Math.floor(rand() * 4),
    page: weighted(rand, PAGES),
    rowsLeft: 6 + Math.floor(rand() * 9),
    row: 0,
    onPage: new Set(),
  };
}

/**
 * An endless generator of records: interleaved sessions of pages, with bad records and producer duplicates
 * mixed in. The impressions of one row view of one profile are emitted together, as an app flushes them.
 */
export function* traffic(options: TrafficOptions): Generator<GeneratedRecord> {
  const rand = prng(options.seed);
  const profiles = options.profiles ?? 100_000;
  const localeShare = options.localeShare ?? 0.5;
  const run: TrafficRun = {
    rand,
    now: options.nowMs ?? Date.now,
    options,
    kinds: options.erasedProfile ? [...BAD_KINDS, 'filtered.erased'] : BAD_KINDS,
    badShare: options.badShare ?? 0.02,
    duplicateShare: options.duplicateShare ?? 0.01,
    minPct: options.minVisiblePercent ?? 50,
    minMs: options.minVisibleMs ?? 1000,
    titleRank: zipf(options.titleIds.length, 1.1, rand),
    withinCaps: capTracker(),
    recentAccepted: [],
    idleRowViews: 0,
  };
  const sessions = Array.from({ length: Math.max(1, options.sessions ?? 400) }, () =>
    newSession(rand, profiles, localeShare),
  );
  while (true) {
    // Bounded work: a population too small for the clock (every profile at a cap) is an error, not a hang.
    if (run.idleRowViews > 20_000)
      throw new Error(
        `traffic: all ${profiles} profiles are at their per-profile caps; use a larger population or a moving clock`,
      );
    const slot = Math.floor(rand() * sessions.length);
    const s = sessions[slot]!;
    const capped = yield* rowView(run, s);
    if (!nextRow(rand, s, capped)) sessions[slot] = newSession(rand, profiles, localeShare);
  }
}

/** One row view of a session: its impressions (and the bad records and duplicates among them); true if capped. */
function* rowView(run: TrafficRun, s: Session): Generator<GeneratedRecord, boolean> {
  const { rand } = run;
  const rowType = ROW_TYPES[Math.floor(rand() * ROW_TYPES.length)]!;
  // A row shows a few titles; sometimes the member scrolls it and sees many more.
  const positions = rand() < 0.25 ? 10 + Math.floor(rand() * 31) : 4 + Math.floor(rand() * 5);
  // Most artwork a client reports was on screen long enough; some was scrolled past or half hidden.
  const viewableShare = 0.8 + rand() * 0.15;
  run.idleRowViews++;
  for (let pos = 0; pos < positions; pos++) {
    const eventTimeMs = run.now() - Math.floor(rand() * 2000);
    if (!run.withinCaps(s.profileId, eventTimeMs)) return true;
    run.idleRowViews = 0;
    if (rand() < run.badShare) {
      yield bad(rand, run.now, run.options, run.kinds[Math.floor(rand() * run.kinds.length)]!, s.profileId);
      continue;
    }
    if (run.recentAccepted.length && rand() < run.duplicateShare) {
      const raw = run.recentAccepted[Math.floor(rand() * run.recentAccepted.length)]!;
      const parsed = JSON.parse(raw) as ImpressionEvent;
      // The retry of another profile's impression counts against that profile's caps, not this one's.
      if (!run.withinCaps(parsed.profileId, Date.parse(parsed.eventTime))) continue;
      yield { partitionKey: parsed.profileId, data: encoder.encode(raw), expected: 'filtered.duplicate' };
      continue;
    }
    const titleId = pickTitle(run, s.onPage);
    if (titleId === undefined) continue; // a page full of the catalog's head: leave the slot empty
    s.onPage.add(titleId);
    yield impression(run, s, { rowType, pos, titleId, eventTimeMs, viewableShare });
  }
  return false;
}

/** A title of the catalog's popularity not yet on the page (20 tries), or undefined. */
function pickTitle(run: TrafficRun, onPage: ReadonlySet<string>): string | undefined {
  const { titleIds } = run.options;
  let titleId = titleIds[run.titleRank()]!;
  for (let tries = 0; onPage.has(titleId) && tries < 20; tries++) titleId = titleIds[run.titleRank()]!;
  return onPage.has(titleId) ? undefined : titleId;
}

interface Slot {
  readonly rowType: string;
  readonly pos: number;
  readonly titleId: string;
  readonly eventTimeMs: number;
  readonly viewableShare: number;
}

/** The impression of a title at a row position, with the outcome its visibility gives it. */
function impression(run: TrafficRun, s: Session, slot: Slot): GeneratedRecord {
  const { rand } = run;
  const { rowType, pos, titleId, eventTimeMs } = slot;
  const visible = rand() < slot.viewableShare;
  const percent = visible ? (rand() < 0.8 ? 100 : 50 + Math.floor(rand() * 50)) : Math.floor(rand() * 50);
  const durationMs = visible ? 1000 + Math.floor(rand() * 9000) : Math.floor(rand() * 1500);
  const event: ImpressionEvent = {
    schema: s.locale ? 'impression/1-1-0' : 'impression/1-0-0',
    eventId: uuid(rand),
    eventTime: new Date(eventTimeMs).toISOString(),
    profileId: s.profileId,
    accountId: s.accountId,
    sessionId: s.sessionId,
    device: {
      type: s.device,
      os: s.device === 'tv' ? 'tizen' : s.device === 'mobile' ? 'ios' : 'web',
      appVersion: s.locale ? '16.5.0' : '16.4.0',
      ...(s.locale ? { locale: s.locale } : {}),
    },
    country: s.country,
    page: s.page,
    row: { index: s.row, id: `${rowType}-${s.row}`, type: rowType },
    position: pos,
    titleId,
    entityId: titleId,
    artworkId: `${titleId}-art-${Math.floor(rand() * 3)}`,
    trackId: 1000 + Math.floor(rand() * 20),
    visibility: { percent, durationMs },
    context: clientContext(rand, s.device, s.sessionId),
  };
  const raw = JSON.stringify(event);
  const viewable = percent >= run.minPct && durationMs >= run.minMs;
  if (viewable) {
    run.recentAccepted.push(raw);
    if (run.recentAccepted.length > 5000) run.recentAccepted.splice(0, 1000);
  }
  return {
    partitionKey: s.profileId,
    data: encoder.encode(raw),
    expected: viewable ? 'enriched' : 'filtered.not-viewable',
    ...(viewable ? { profileId: s.profileId, eventId: event.eventId, eventTimeMs } : {}),
  };
}

/** Next row, or next page; false when the session ends (and another member starts browsing). */
function nextRow(rand: () => number, s: Session, capped: boolean): boolean {
  s.row++;
  if (--s.rowsLeft > 0 && !capped) return true;
  if (--s.pagesLeft > 0 && !capped) {
    Object.assign(s, {
      page: weighted(rand, PAGES),
      rowsLeft: 6 + Math.floor(rand() * 9),
      row: 0,
      onPage: new Set<string>(),
    });
    return true;
  }
  return false;
}

const NETWORKS = ['wifi', 'ethernet', '5g', '4g'];
const LOCALES = ['en-US', 'pt-BR', 'en-GB', 'hi-IN', 'de-DE', 'es-MX', 'fr-FR', 'ja-JP', 'ko-KR'];

/** Client context as apps send it (≈ 600 bytes), which brings a record to the ≈ 1.2 KB of production events. */
function clientContext(rand: () => number, device: string, sessionId: string): Record<string, string> {
  const cell = Math.floor(rand() * 8);
  return {
    experiment: rand() < 0.5 ? 'A' : 'B',
    abCells: `ui-ranking-2026q4:${cell},artwork-personalization-v7:${(cell * 3) % 5},row-dedup-v2:${cell % 2}`,
    locale: LOCALES[Math.floor(rand() * LOCALES.length)]!,
    network: NETWORKS[Math.floor(rand() * NETWORKS.length)]!,
    uiBuild: `${device}-ui-2026.11.${10 + Math.floor(rand() * 15)}-release-${Math.floor(rand() * 1e6).toString(16)}`,
    screen: device === 'tv' ? '3840x2160' : device === 'mobile' ? '1170x2532' : '1920x1080',
    layout: `lolomo-v3;billboard=${rand() < 0.5 ? 'on' : 'off'};rows=${10 + Math.floor(rand() * 30)}`,
    requestId: `${sessionId.slice(0, 8)}-${Math.floor(rand() * 1e9).toString(36)}`,
    renderPath: 'bootstrap>home>lolomo>row>boxart>artwork-loader>impression-tracker',
    artworkFormat: rand() < 0.7 ? 'boxshot-16x9-webp' : 'boxshot-2x3-jpeg',
    playbackContext: `autoplay=${rand() < 0.3};preview=${rand() < 0.6};muted=true`,
    deviceModel:
      device === 'tv'
        ? 'QN90C-2025-firmware-1642.3'
        : device === 'mobile'
          ? 'iPhone16,2-iOS-18.1.1'
          : 'desktop',
    pageToken: Array.from({ length: 6 }, () => Math.floor(rand() * 2 ** 31).toString(36)).join('.'),
  };
}

function bad(
  rand: () => number,
  now: () => number,
  options: TrafficOptions,
  kind: BadKind,
  profileId: string,
): GeneratedRecord {
  const base = {
    schema: 'impression/1-0-0',
    eventId: uuid(rand),
    eventTime: new Date(now() - 1000).toISOString(),
    profileId,
    accountId: 'a-bad',
    sessionId: 's-bad',
    device: { type: 'web' },
    country: 'US',
    page: 'home',
    row: { index: 0, id: 'r' },
    position: 0,
    titleId: options.titleIds[0]!,
    artworkId: 'x',
    visibility: { percent: 100, durationMs: 5000 },
  };
  const json = (v: unknown) => encoder.encode(JSON.stringify(v));
  const out = (data: Uint8Array, pk = profileId): GeneratedRecord => ({
    partitionKey: pk,
    data,
    expected: kind,
  });
  switch (kind) {
    case 'filtered.test-profile':
      return out(json({ ...base, profileId: options.testProfile }), options.testProfile);
    case 'filtered.erased': {
      // An impression of the erased profile from before its erasure (a late retry of its app).
      const erased = options.erasedProfile!;
      const eventTime = new Date(erased.erasedAtMs - 1000 - Math.floor(rand() * 60_000)).toISOString();
      return out(json({ ...base, profileId: erased.profileId, eventTime }), erased.profileId);
    }
    case 'rejected.decode.not-json':
      return out(encoder.encode(`{"eventId": "${base.eventId}", truncated`));
    case 'rejected.decode.too-large':
      return out(json({ ...base, context: { blob: 'x'.repeat(17 * 1024) } }));
    case 'rejected.decode.not-object':
      return out(json([base]));
    case 'rejected.decode.bad-aggregate':
      return out(badAggregate(rand, profileId, json(base)));
    case 'rejected.schema.missing-field': {
      const { titleId: _t, ...rest } = base;
      return out(json(rest));
    }
    case 'rejected.schema.wrong-type':
      return out(json({ ...base, position: '3' }));
    case 'rejected.schema.out-of-range':
      return out(json({ ...base, visibility: { percent: 140, durationMs: 5000 } }));
    case 'rejected.schema.unknown-field':
      return out(json({ ...base, debug: true }));
    case 'rejected.schema.unsupported-version':
      return out(json({ ...base, schema: 'impression/2-0-0' }));
    case 'rejected.time.future':
      return out(json({ ...base, eventTime: new Date(now() + 3_600_000).toISOString() }));
    case 'rejected.time.too-late':
      return out(json({ ...base, eventTime: new Date(now() - 8 * 86_400_000).toISOString() }));
    case 'rejected.quality.entity-mismatch':
      return out(json({ ...base, entityId: 'another-title' }));
  }
}

const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
};

/**
 * A KPL aggregate (magic bytes, protobuf `AggregatedRecord`, MD5: the KPL's aggregation-format.md) of one
 * user record that cannot be de-aggregated as a whole, one of three ways: its partition-key index is outside
 * the key table, it holds zero user records, or its MD5 does not match.
 */
function badAggregate(rand: () => number, partitionKey: string, data: Uint8Array): Uint8Array {
  const variant = Math.floor(rand() * 3);
  const key = encoder.encode(partitionKey);
  // Record { partition_key_index = 0 (or 5: outside the table of 1), data }
  const record = [0x08, variant === 0 ? 5 : 0, 0x1a, ...varint(data.byteLength), ...data];
  const body = Uint8Array.from([
    0x0a,
    ...varint(key.byteLength),
    ...key,
    ...(variant === 1 ? [] : [0x1a, ...varint(record.length), ...record]),
  ]);
  const md5 = createHash('md5').update(body).digest();
  if (variant === 2) md5[0] = md5[0]! ^ 0xff;
  return Uint8Array.from([0xf3, 0x89, 0x9a, 0xc2, ...body, ...md5]);
}

/** Counts of expected outcomes, keyed like the pipeline's metrics. */
export function tally(records: Iterable<Pick<GeneratedRecord, 'expected'>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[r.expected] = (out[r.expected] ?? 0) + 1;
  return out;
}
