/**
 * Realistic impression traffic, deterministic for a seed: accounts with profiles browse sessions of pages
 * made of rows of titles (a page ≈ 10 rows × 10–40 positions), titles drawn with a Zipf-like popularity from
 * the catalog, devices and countries in plausible proportions, visibility that leaves some artwork not
 * viewable, and a configurable share of bad records covering every reject and filter reason of the
 * contract. Every record carries the outcome the pipeline must give it, so a run can be reconciled.
 */
import type { FilterReason, RejectReason } from '../lambdas/domain/classify.js';
import type { ImpressionEvent } from '../lambdas/domain/event-schema.js';

export type ExpectedOutcome = 'enriched' | FilterReason | `rejected.${RejectReason}`;

/** The bad kinds the generator injects (duplicates are injected separately, by resending accepted ids). */
export const BAD_KINDS = [
  'filtered.test-profile',
  'rejected.decode.not-json',
  'rejected.decode.too-large',
  'rejected.decode.not-object',
  'rejected.schema.missing-field',
  'rejected.schema.wrong-type',
  'rejected.schema.out-of-range',
  'rejected.schema.unknown-field',
  'rejected.schema.unsupported-version',
  'rejected.time.future',
  'rejected.time.too-late',
  'rejected.quality.entity-mismatch',
] as const satisfies readonly ExpectedOutcome[];

export interface GeneratedRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly expected: ExpectedOutcome;
  /** Present for records the pipeline accepts: what the history API will show. */
  readonly profileId?: string;
  readonly eventId?: string;
  readonly eventTimeMs?: number;
}

export interface TrafficOptions {
  readonly seed: number;
  /** @default 2000 */
  readonly profiles?: number;
  /** Title ids in popularity order, most popular first (the catalog). */
  readonly titleIds: readonly string[];
  /** Share of records that are bad (every kind in BAD_KINDS, evenly). @default 0.02 */
  readonly badShare?: number;
  /** Share of accepted impressions that a producer sends again with the same eventId. @default 0.01 */
  readonly duplicateShare?: number;
  /** The deployment's deny-listed test profile, for `filtered.test-profile`. */
  readonly testProfile: string;
  /** Viewability thresholds of the deployment. @default 50 / 1000 */
  readonly minVisiblePercent?: number;
  readonly minVisibleMs?: number;
  /** Clock used for event times. */
  readonly nowMs?: () => number;
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

/**
 * An endless generator of records: sessions of pages, with bad records and producer duplicates mixed in.
 * Page impressions of one profile are emitted together, as an app flushes them.
 */
export function* traffic(options: TrafficOptions): Generator<GeneratedRecord> {
  const rand = prng(options.seed);
  const now = options.nowMs ?? Date.now;
  const profiles = options.profiles ?? 2000;
  const badShare = options.badShare ?? 0.02;
  const duplicateShare = options.duplicateShare ?? 0.01;
  const minPct = options.minVisiblePercent ?? 50;
  const minMs = options.minVisibleMs ?? 1000;
  const titleRank = zipf(options.titleIds.length, 1.1, rand);
  const recentAccepted: string[] = [];

  const profileOf = (i: number) => ({
    profileId: `p${String(i).padStart(7, '0')}`,
    accountId: `a${String(i >> 2).padStart(7, '0')}`,
  });

  while (true) {
    const who = profileOf(Math.floor(rand() * profiles));
    const sessionId = uuid(rand);
    const device = weighted(rand, DEVICES);
    const country = weighted(rand, COUNTRIES);
    const pages = 1 + Math.floor(rand() * 4);
    for (let pg = 0; pg < pages; pg++) {
      const page = weighted(rand, PAGES);
      const rows = 6 + Math.floor(rand() * 9);
      for (let r = 0; r < rows; r++) {
        const rowType = ROW_TYPES[Math.floor(rand() * ROW_TYPES.length)]!;
        const positions = 10 + Math.floor(rand() * 31);
        // Most artwork a client reports was on screen long enough; some was scrolled past or half hidden.
        const viewableShare = 0.8 + rand() * 0.15;
        for (let pos = 0; pos < positions; pos++) {
          if (rand() < badShare) {
            yield bad(rand, now, options, BAD_KINDS[Math.floor(rand() * BAD_KINDS.length)]!, who.profileId);
            continue;
          }
          if (recentAccepted.length && rand() < duplicateShare) {
            const raw = recentAccepted[Math.floor(rand() * recentAccepted.length)]!;
            const parsed = JSON.parse(raw) as ImpressionEvent;
            yield {
              partitionKey: parsed.profileId,
              data: encoder.encode(raw),
              expected: 'filtered.duplicate',
            };
            continue;
          }
          const titleId = options.titleIds[titleRank()]!;
          const visible = rand() < viewableShare;
          const percent = visible
            ? rand() < 0.8
              ? 100
              : 50 + Math.floor(rand() * 50)
            : Math.floor(rand() * 50);
          const durationMs = visible ? 1000 + Math.floor(rand() * 9000) : Math.floor(rand() * 1500);
          const eventTimeMs = now() - Math.floor(rand() * 2000);
          const event: ImpressionEvent = {
            schema: 'impression/1-0-0',
            eventId: uuid(rand),
            eventTime: new Date(eventTimeMs).toISOString(),
            profileId: who.profileId,
            accountId: who.accountId,
            sessionId,
            device: {
              type: device,
              os: device === 'tv' ? 'tizen' : device === 'mobile' ? 'ios' : 'web',
              appVersion: '16.4.0',
            },
            country,
            page,
            row: { index: r, id: `${rowType}-${r}`, type: rowType },
            position: pos,
            titleId,
            entityId: titleId,
            artworkId: `${titleId}-art-${Math.floor(rand() * 3)}`,
            trackId: 1000 + Math.floor(rand() * 20),
            visibility: { percent, durationMs },
            context: clientContext(rand, device, sessionId),
          };
          const raw = JSON.stringify(event);
          const viewable = percent >= minPct && durationMs >= minMs;
          if (viewable) {
            recentAccepted.push(raw);
            if (recentAccepted.length > 5000) recentAccepted.splice(0, 1000);
          }
          yield {
            partitionKey: who.profileId,
            data: encoder.encode(raw),
            expected: viewable ? 'enriched' : 'filtered.not-viewable',
            ...(viewable ? { profileId: who.profileId, eventId: event.eventId, eventTimeMs } : {}),
          };
        }
      }
    }
  }
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
  kind: (typeof BAD_KINDS)[number],
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
    case 'rejected.decode.not-json':
      return out(encoder.encode(`{"eventId": "${base.eventId}", truncated`));
    case 'rejected.decode.too-large':
      return out(json({ ...base, context: { blob: 'x'.repeat(17 * 1024) } }));
    case 'rejected.decode.not-object':
      return out(json([base]));
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

/** Counts of expected outcomes, keyed like the pipeline's metrics. */
export function tally(records: Iterable<Pick<GeneratedRecord, 'expected'>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[r.expected] = (out[r.expected] ?? 0) + 1;
  return out;
}
