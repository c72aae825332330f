/**
 * History writes on realistic traffic over simulated time: DynamoDB write units per accepted impression,
 * duplicate detection and the daily cap included, measured through the real write path
 * (`historyStore(...).admit`, the conditional bucket and day-counter updates filter-enrich issues) over an
 * in-memory table that charges each request by DynamoDB's rules (1 KB units on the larger of the item
 * before and after; a failed conditional write on the existing item). And the read side: read units of each
 * history API route for a typical and a cap-limited heavy profile.
 *
 * Traffic: members browse in sessions of minutes (pages of rows; a row every 2–6 s, a page every 10–40 s),
 * their apps flush what was seen every F seconds (one PutRecords per flush, so records arrive at flush time,
 * 1 % resent by the producer), and the event source mapping cuts batches as deployed (`infra/config.ts`:
 * batch size, batching window, parallelization factor — lanes by partition key).
 */
import { DEFAULT_STAGE } from '../infra/config.js';
import type { ImpressionEvent } from '../lambdas/domain/event-schema.js';
import {
  BUCKET_MS,
  bucketStart,
  type HistoryCandidate,
  type Impression,
} from '../lambdas/domain/history-model.js';
import { type HistoryStore, historyStore, itemSize } from '../lambdas/history-store/index.js';
// The item layout, to read the in-memory table's items as the store wrote them.
import { ATTR, itemKind, profileKey, SORT_KEY_PREFIX } from '../lambdas/history-store/item-codec.js';
import { sampleCatalog } from '../ops/seed.js';
import { prng, traffic } from '../scripts/traffic.js';
import { memoryDynamo } from '../test/support/memory-aws.js';
import { countWindow } from '../test/support/oracles.js';

export { itemSize, valueSize } from '../lambdas/history-store/index.js';

/** DynamoDB's per-item storage overhead (indexing), added to every item's size for storage billing. */
const ITEM_OVERHEAD_BYTES = 100;
/** The client flush interval the figures assume unless told otherwise: the SDK default the docs recommend. */
export const DEFAULT_FLUSH_SECONDS = 5;
/** WCU per accepted impression at the default client flush the design aims for (the target docs/cost.md states, beside ≤ $100 per billion). */
export const HISTORY_WCU_TARGET = 0.25;
const wcu = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
/** The default stage's history settings. */
const LIMITS = { perWindow: DEFAULT_STAGE.profileBurstPerWindow, perDay: DEFAULT_STAGE.profileBurstPerDay };
const SETTINGS = { retentionDays: DEFAULT_STAGE.historyRetentionDays, limits: LIMITS };

export interface FlushRun {
  readonly flushSeconds: number;
  readonly impressions: number;
  readonly producerDuplicates: number;
  readonly batches: number;
  readonly writes: number;
  readonly failedConditions: number;
  readonly wcu: number;
  readonly wcuPerImpression: number;
  /**
   * Read units of the write path per impression: the erasure markers filter-enrich reads before and after
   * the history writes (consistent, one unit per profile even when there is none), the counters of held
   * daily allowances, and the items a failed conditional write reads back.
   */
  readonly rcuPerImpression: number;
  /** Of which the daily cap's counter items. */
  readonly dayCounterWcuPerImpression: number;
  /** Of which conditional writes that found a duplicate or a full bucket (charged, then retried). */
  readonly failedConditionWcu: number;
  /** Impressions per bucket write, on average. */
  readonly impressionsPerWrite: number;
  readonly avgItemBytes: number;
  /** Bytes the table holds per impression stored: bucket and day-counter items, with DynamoDB's 100 bytes of per-item overhead. */
  readonly storedBytesPerImpression: number;
}

export interface WcuBenchResult {
  readonly impressions: number;
  readonly batches: number;
  readonly batchSize: number;
  readonly bucketSeconds: number;
  /** The default client flush interval's run (5 s). */
  readonly design: {
    readonly wcu: number;
    readonly wcuPerImpression: number;
    readonly writes: number;
    readonly avgItemBytes: number;
  };
  readonly byFlushInterval: readonly FlushRun[];
  /** Where the traffic sits in simulated time. */
  readonly simulated: SimulatedTraffic;
  readonly naive: { readonly wcu: number; readonly wcuPerImpression: number; readonly writes: number };
  readonly ratio: number;
  readonly target: number;
}

interface Seen {
  readonly profileId: string;
  readonly viewMs: number;
  readonly event: ImpressionEvent;
}

/** Simulated time of a replay's traffic: how long sessions last and how many impressions a second of it holds. */
export interface SimulatedTraffic {
  readonly sessions: number;
  /** Median over sessions of the time from a session's first view to its last, in seconds. */
  readonly medianSessionSeconds: number;
  /** Impressions per second of simulated time between the 10th and 90th percentile view times. */
  readonly impressionsPerSecond: number;
  /** The rate the replay intends. */
  readonly intendedPerSecond: number;
}

/**
 * Viewable impressions of realistic sessions, with view times of a member scrolling. The generator
 * interleaves its concurrent sessions a row view at a time; each session keeps its own clock (its rows and
 * pages follow one another at a member's pace), and sessions start as a Poisson process at the rate that
 * yields `ratePerSec` impressions a second of simulated time.
 */
function sessions(count: number, seed: number, ratePerSec: number): Seen[] {
  const rand = prng(seed);
  const catalog = sampleCatalog();
  const gen = traffic({
    seed,
    titleIds: catalog.map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0,
    duplicateShare: 0,
    // Enough concurrent sessions that their starts span longer than the part of a session the sample
    // holds: a member sees ≈ 1.5 viewable impressions a second, so the intended rate keeps ≈ 700 open.
    sessions: Math.max(400, Math.round(ratePerSec)),
  });
  // Each session's own clock, from its first view.
  const clocks = new Map<string, { clock: number; lastRow: string }>();
  const rel: { offsetMs: number; event: ImpressionEvent }[] = [];
  while (rel.length < count) {
    const r = gen.next().value!;
    if (r.expected !== 'enriched') continue;
    const e = JSON.parse(Buffer.from(r.data).toString('utf8')) as ImpressionEvent;
    let s = clocks.get(e.sessionId);
    if (!s) {
      s = { clock: 0, lastRow: '' };
      clocks.set(e.sessionId, s);
    }
    const row = `${e.page}/${e.row.index}`;
    if (row !== s.lastRow) {
      s.clock += e.row.index === 0 && s.lastRow ? 10_000 + rand() * 30_000 : 2000 + rand() * 4000;
      s.lastRow = row;
    } else s.clock += 50 + rand() * 150;
    rel.push({ offsetMs: s.clock, event: e });
  }
  if (clocks.size === 0) throw new Error('no sessions');
  // Session starts, in order of first appearance: a Poisson process whose mean gap carries a session's
  // impressions (as many as this sample holds of it) at `ratePerSec`.
  const perSession = rel.length / clocks.size;
  const starts = new Map<string, number>();
  let start = 0;
  for (const id of clocks.keys()) {
    start += (-Math.log(1 - rand()) * 1000 * perSession) / ratePerSec;
    starts.set(id, start);
  }
  return rel.map(({ offsetMs, event }) => ({
    profileId: event.profileId,
    viewMs: Math.round(starts.get(event.sessionId)! + offsetMs),
    event,
  }));
}

/** How the replay's traffic sits in simulated time (what holds the replay to its intended rate). */
export function simulatedTraffic(seen: readonly Seen[], intendedPerSecond: number): SimulatedTraffic {
  const span = new Map<string, { first: number; last: number }>();
  for (const s of seen) {
    const x = span.get(s.event.sessionId);
    if (!x) span.set(s.event.sessionId, { first: s.viewMs, last: s.viewMs });
    else {
      x.first = Math.min(x.first, s.viewMs);
      x.last = Math.max(x.last, s.viewMs);
    }
  }
  const durations = [...span.values()].map((x) => x.last - x.first).sort((a, b) => a - b);
  const times = seen.map((s) => s.viewMs).sort((a, b) => a - b);
  const lo = times[Math.floor(times.length * 0.1)]!;
  const hi = times[Math.floor(times.length * 0.9)]!;
  const inside = times.filter((t) => t >= lo && t <= hi).length;
  return {
    sessions: span.size,
    medianSessionSeconds: (durations[Math.floor(durations.length / 2)] ?? 0) / 1000,
    impressionsPerSecond: hi > lo ? (inside * 1000) / (hi - lo) : Number.POSITIVE_INFINITY,
    intendedPerSecond,
  };
}

interface Arrival {
  readonly arrivalMs: number;
  readonly recordId: string;
  readonly candidate: HistoryCandidate;
  readonly duplicate: boolean;
}

/** What reaches the stream when every app flushes every `flushMs`, with 1 % resent by the producer. */
function arrivals(seen: readonly Seen[], flushMs: number, seed: number): Arrival[] {
  const rand = prng(seed + 1);
  const phase = new Map<string, number>();
  const out: Arrival[] = [];
  let n = 0;
  for (const s of seen) {
    let p = phase.get(s.event.sessionId);
    if (p === undefined) {
      p = rand() * flushMs;
      phase.set(s.event.sessionId, p);
    }
    const flushAt = Math.ceil((s.viewMs - p) / flushMs) * flushMs + p;
    const impression: Impression = {
      eventId: s.event.eventId,
      eventTimeMs: s.viewMs,
      titleId: s.event.titleId,
      artworkId: s.event.artworkId,
      page: s.event.page,
      rowId: s.event.row.id,
      rowIndex: s.event.row.index,
      position: s.event.position,
      deviceType: s.event.device.type,
      trackId: s.event.trackId ?? null,
    };
    const candidate = { profileId: s.profileId, recordId: String(n++), impression };
    out.push({ arrivalMs: flushAt, recordId: candidate.recordId, candidate, duplicate: false });
    if (rand() < 0.01) {
      const again = { ...candidate, recordId: String(n++) };
      out.push({ arrivalMs: flushAt + flushMs, recordId: again.recordId, candidate: again, duplicate: true });
    }
  }
  return out.sort((a, b) => a.arrivalMs - b.arrivalMs);
}

const hash = (s: string) => {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
};

/** Batches as the event source mapping cuts them: per lane (partition key hash), window or size. */
function batches(xs: readonly Arrival[]): Arrival[][] {
  const { batchSize, maxBatchingWindowSeconds, parallelizationFactor } = DEFAULT_STAGE.consumer;
  const lanes: Arrival[][] = Array.from({ length: parallelizationFactor }, () => []);
  for (const x of xs) lanes[hash(x.candidate.profileId) % parallelizationFactor]!.push(x);
  const out: { closeMs: number; batch: Arrival[] }[] = [];
  for (const lane of lanes) {
    let cur: Arrival[] = [];
    for (const x of lane) {
      if (
        cur.length &&
        (cur.length === batchSize || x.arrivalMs >= cur[0]!.arrivalMs + maxBatchingWindowSeconds * 1000)
      ) {
        out.push({ closeMs: cur.at(-1)!.arrivalMs, batch: cur });
        cur = [];
      }
      cur.push(x);
    }
    if (cur.length) out.push({ closeMs: cur.at(-1)!.arrivalMs, batch: cur });
  }
  return out.sort((a, b) => a.closeMs - b.closeMs).map((b) => b.batch);
}

async function replay(seen: readonly Seen[], flushSeconds: number, seed: number): Promise<FlushRun> {
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed });
  // The writer's clock is the simulated time (a batch is processed when it closes): late-event rollup
  // invalidations happen as they would.
  const clock = { now: 0 };
  const store = historyStore(ddb.client, 'history', undefined, { nowMs: () => clock.now });
  const all = batches(arrivals(seen, flushSeconds * 1000, seed));
  let impressions = 0;
  let k = 0;
  for (const b of all) {
    clock.now = b.at(-1)!.arrivalMs;
    const candidates = b.map((x) => x.candidate);
    // As filter-enrich does (lambdas/filter-enrich/handler.ts): the batch's profiles' erasure markers read
    // before the history writes and again after them.
    const profiles = [...new Set(candidates.map((c) => c.profileId))];
    await store.erasures(profiles);
    const r = await store.admit(candidates, SETTINGS);
    await store.erasures(profiles);
    impressions += r.stored;
    if (++k % 50 === 0) await new Promise<void>((res) => setImmediate(res));
  }
  const allItems = [...ddb.table('history').values()];
  const items = allItems.filter((i) => itemKind(i) === 'bucket');
  const bucketWrites = ddb.capacity.writes;
  return {
    flushSeconds,
    impressions,
    producerDuplicates: all.flat().filter((x) => x.duplicate).length,
    batches: all.length,
    writes: bucketWrites,
    failedConditions: ddb.capacity.failedConditions,
    wcu: ddb.capacity.wcu,
    wcuPerImpression: ddb.capacity.wcu / impressions,
    rcuPerImpression: ddb.capacity.rcu / impressions,
    // The in-memory table counts write units by the first letter of the sort key.
    dayCounterWcuPerImpression:
      (ddb.capacity.wcuByItemKind[SORT_KEY_PREFIX.dayCounter.charAt(0)] ?? 0) / impressions,
    failedConditionWcu: ddb.capacity.failedConditionWcu,
    impressionsPerWrite: impressions / bucketWrites,
    avgItemBytes: Math.round(items.reduce((n, i) => n + itemSize(i), 0) / items.length),
    storedBytesPerImpression:
      allItems.reduce((n, i) => n + itemSize(i) + ITEM_OVERHEAD_BYTES, 0) / impressions,
  };
}

export async function benchHistoryWcu(
  options: {
    impressions?: number;
    flushSeconds?: readonly number[];
    seed?: number;
    ratePerSec?: number;
  } = {},
): Promise<WcuBenchResult> {
  const total = options.impressions ?? 60_000;
  const seed = options.seed ?? 21;
  const ratePerSec = options.ratePerSec ?? 1000;
  const seen = sessions(total, seed, ratePerSec);
  const byFlushInterval: FlushRun[] = [];
  for (const f of options.flushSeconds ?? [1, 5, 15, 30]) byFlushInterval.push(await replay(seen, f, seed));
  const design = byFlushInterval.find((r) => r.flushSeconds === DEFAULT_FLUSH_SECONDS) ?? byFlushInterval[0]!;
  // Naive: an item per impression (the API's fields) and a counter per profile, title and day. The
  // comparison layout, not the store's: only what any layout of this table shares comes from the store (the
  // key and TTL attributes, a profile's partition key); its sort keys `I#…` (an impression) and `C#…` (a
  // counter) are its own.
  const { partitionKey: pk, sortKey: sk, ttl: x } = ATTR;
  let naiveWcu = 0;
  for (const s of seen) {
    const profile = profileKey(s.profileId);
    naiveWcu += wcu(
      itemSize({ [pk]: profile, [sk]: `I#${s.event.eventTime}#${s.event.eventId}`, ...s.event, [x]: 1 }),
    );
    naiveWcu += wcu(itemSize({ [pk]: profile, [sk]: `C#${s.event.titleId}#2026-06-15`, count: 12, [x]: 1 }));
  }
  return {
    impressions: design.impressions,
    batches: design.batches,
    batchSize: DEFAULT_STAGE.consumer.batchSize,
    bucketSeconds: BUCKET_MS / 1000,
    design: {
      wcu: design.wcu,
      wcuPerImpression: design.wcuPerImpression,
      writes: design.writes,
      avgItemBytes: design.avgItemBytes,
    },
    byFlushInterval,
    simulated: simulatedTraffic(seen, ratePerSec),
    naive: { wcu: naiveWcu, wcuPerImpression: naiveWcu / seen.length, writes: 2 * seen.length },
    ratio: design.wcuPerImpression / (naiveWcu / seen.length),
    target: HISTORY_WCU_TARGET,
  };
}

export interface ReadRow {
  readonly profile: 'typical' | 'heavy';
  readonly route: string;
  readonly requests: number;
  readonly items: number;
  readonly bytes: number;
  readonly readUnits: number;
  /** Write units the read caused (rollups it stored). */
  readonly writeUnits: number;
}

export interface ReadBenchResult {
  readonly typicalPerDay: number;
  readonly heavyPerDay: number;
  readonly rows: readonly ReadRow[];
  /** Read units of one 30-day check, per impression stored in 30 days, typical profile. */
  readonly note: string;
}

/**
 * Read units of each history API route, through the store the API uses (`listHistory`, `titleCounts` for
 * frequency and check: cold, then with its rollups built; and counting every bucket, as before rollups),
 * over an in-memory table that charges queries by DynamoDB's rules (4 KB units on the bytes read, halved
 * for eventual consistency) and the rollups a read stores (`writeUnits`). Profiles: a typical one (`typicalPerDay` impressions a day for 30 days, sessions of ≈ 250) and a heavy one at the
 * contract's caps (`heavyPerDay`: every day full, in windows of the 10-second cap).
 */
export async function benchHistoryReads(
  options: { typicalPerDay?: number; heavyPerDay?: number; days?: number } = {},
): Promise<ReadBenchResult> {
  const typicalPerDay = options.typicalPerDay ?? 300;
  const heavyPerDay = options.heavyPerDay ?? LIMITS.perDay;
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 3 });
  const now = Date.parse('2026-06-30T12:00:00.000Z');
  const clock = { now };
  const bench: ReadBench = {
    ddb,
    clock,
    now,
    store: historyStore(ddb.client, 'history', undefined, { nowMs: () => clock.now }),
    titles: sampleCatalog()
      .slice(0, 100)
      .map((t) => t.titleId),
    rand: prng(5),
    days: options.days ?? 30,
    written: 0,
    rows: [],
  };
  // A typical member's bucket holds ≈ 30 impressions (what the time replay measures).
  await writeDays(bench, 'typical', typicalPerDay, 30);
  await writeDays(bench, 'heavy', heavyPerDay, LIMITS.perWindow);
  clock.now = now;
  for (const profile of ['typical', 'heavy'] as const) await measureRoutes(bench, profile);
  return {
    typicalPerDay,
    heavyPerDay,
    rows: bench.rows,
    note: 'frequency and check read the same per window: rollups of whole days before yesterday, buckets for the rest; a check with several windows costs the sum of its windows',
  };
}

/** The read benchmark's table, store, simulated clock and traffic source, and the rows it measured. */
interface ReadBench {
  readonly ddb: ReturnType<typeof memoryDynamo>;
  readonly clock: { now: number };
  /** The instant the reads are made at (the last day's end). */
  readonly now: number;
  readonly store: HistoryStore;
  readonly titles: readonly string[];
  readonly rand: () => number;
  readonly days: number;
  /** Impressions written so far (their record and event ids). */
  written: number;
  readonly rows: ReadRow[];
}

/** `days` days of `perDay` impressions of one profile, each day written on time, in windows a minute apart. */
async function writeDays(b: ReadBench, profileId: string, perDay: number, perWindow: number): Promise<void> {
  for (let d = 0; d < b.days; d++) {
    // Each day's impressions end at this time of day, in windows a minute apart, `perWindow` per window.
    const dayEndMs = b.now - d * 86_400_000;
    const windows = Math.ceil(perDay / perWindow);
    const batch: HistoryCandidate[] = [];
    for (let i = 0; i < perDay; i++) {
      const window = Math.floor(i / perWindow);
      const t =
        bucketStart(dayEndMs) -
        (windows - 1 - window) * 60_000 +
        (i % perWindow) * Math.floor(BUCKET_MS / perWindow);
      const titleId = b.titles[Math.floor(b.rand() * b.titles.length)]!;
      const recordId = String(b.written++);
      batch.push({
        profileId,
        recordId,
        impression: {
          eventId: `${String(b.written).padStart(8, '0')}-0000-4000-8000-000000000000`,
          eventTimeMs: Math.min(t, b.now),
          titleId,
          artworkId: `${titleId}-art-1`,
          page: 'home',
          rowId: `trending-${window % 10}`,
          rowIndex: window % 10,
          position: i % 40,
          deviceType: 'tv',
          trackId: 1000 + (i % 20),
        },
      });
    }
    b.clock.now = Math.min(dayEndMs + 60_000, b.now); // written on time, as the day goes
    for (let i = 0; i < batch.length; i += 500) {
      await b.store.admit(batch.slice(i, i + 500), SETTINGS);
      await new Promise<void>((res) => setImmediate(res));
    }
  }
}

/** The units one read issues: the table's counters before and after it. */
async function measure(
  b: ReadBench,
  profile: 'typical' | 'heavy',
  route: string,
  fn: () => Promise<unknown>,
): Promise<void> {
  const before = { ...b.ddb.capacity };
  await fn();
  const after = b.ddb.capacity;
  b.rows.push({
    profile,
    route,
    requests: after.reads - before.reads,
    items: after.readItems - before.readItems,
    bytes: after.readBytes - before.readBytes,
    readUnits: after.rcu - before.rcu,
    writeUnits: after.wcu - before.wcu,
  });
}

const READ_WINDOWS = { '1h': 3_600_000, '1d': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

/** Every route for one profile: history pages, each window counted every way, and a new day's first check. */
async function measureRoutes(b: ReadBench, profile: 'typical' | 'heavy'): Promise<void> {
  const { store, now, titles } = b;
  const history = b.ddb.table('history');
  const dropRollups = () => {
    for (const [k, item] of history)
      if (item[ATTR.partitionKey] === profileKey(profile) && itemKind(item) === 'rollup') history.delete(k);
  };
  const base = { profileId: profile, since: null, until: null, titleId: null, after: null };
  await measure(b, profile, 'GET impressions, limit 50', () => store.listHistory({ ...base, limit: 50 }));
  await measure(b, profile, 'GET impressions, limit 500', () => store.listHistory({ ...base, limit: 500 }));
  await measure(b, profile, 'GET impressions, titleId never seen (one page)', () =>
    store.listHistory({ ...base, titleId: 'no-such-title', limit: 50 }),
  );
  for (const [w, ms] of Object.entries(READ_WINDOWS)) {
    const read = () => store.titleCounts(profile, now - ms + 1, now, titles);
    await measure(
      b,
      profile,
      `GET frequency / POST check, window ${w}, counting every bucket (before rollups)`,
      async () =>
        countWindow(await store.impressionsBetween(profile, now - ms + 1, now), titles, now, w as '30d'),
    );
    dropRollups();
    await measure(b, profile, `GET frequency / POST check, window ${w}, first read of a cold profile`, read);
    // Steady state: the reads that follow build the rest (at most MAX_BUILDS_PER_REQUEST each).
    for (let i = 0; i < 10; i++) await read();
    await measure(b, profile, `GET frequency / POST check, window ${w}, steady state (rollups built)`, read);
  }
  // The first check of the next day, from the steady state: the day that became "before yesterday" is
  // rolled up by this read (one day's buckets read, one rollup written). A typical member renders ≈ 1.2
  // pages a day (300 impressions, ≈ 250 a page), so nearly every check is a day's first.
  b.clock.now = now + 86_400_000;
  await measure(b, profile, NEW_DAY_CHECK_ROUTE, () =>
    store.titleCounts(profile, b.clock.now - READ_WINDOWS['7d'] + 1, b.clock.now, titles),
  );
  b.clock.now = now;
}

/** The routes whose units price one frequency check, and one history call (typical profile). */
export const NEW_DAY_CHECK_ROUTE = 'GET frequency / POST check, window 7d, first read of a new day';
export const CHECK_ROUTE = NEW_DAY_CHECK_ROUTE;
export const HISTORY_ROUTE = 'GET impressions, limit 50';

/**
 * The `history` section of bench/results/latest.json, the keys the cost model reads: write units and stored
 * bytes per accepted impression at the default client flush interval (the other intervals alongside), and
 * read units per check and per history call of a typical profile (every route and profile alongside).
 */
export function historyFigures(w: WcuBenchResult, r: ReadBenchResult) {
  const design = w.byFlushInterval.find((f) => f.flushSeconds === DEFAULT_FLUSH_SECONDS);
  if (!design) throw new Error(`no run at the default flush interval of ${DEFAULT_FLUSH_SECONDS} s`);
  const typical = (route: string) => {
    const row = r.rows.find((x) => x.profile === 'typical' && x.route === route);
    if (!row) throw new Error(`no read figure for ${route}`);
    return row;
  };
  const check = typical(CHECK_ROUTE);
  return {
    defaultFlushSeconds: DEFAULT_FLUSH_SECONDS,
    wcuPerImpression: design.wcuPerImpression,
    rcuPerImpression: design.rcuPerImpression,
    bytesPerImpression: design.storedBytesPerImpression,
    readUnits: {
      check: check.readUnits,
      checkWriteUnits: check.writeUnits,
      history: typical(HISTORY_ROUTE).readUnits,
    },
    assumptions: {
      check: `${CHECK_ROUTE} (the day before yesterday rolled up by this read), typical profile (${r.typicalPerDay} impressions a day for 30 days, ≈ 1.2 page renders a day: nearly every check is a day's first)`,
      history: `${HISTORY_ROUTE}, typical profile`,
      flush: `clients flush every ${DEFAULT_FLUSH_SECONDS} s`,
    },
    target: w.target,
    bucketSeconds: w.bucketSeconds,
    simulated: w.simulated,
    byFlushInterval: w.byFlushInterval,
    naive: w.naive,
    reads: r,
  };
}

export type HistoryFigures = ReturnType<typeof historyFigures>;

if (process.argv[1]?.endsWith('history-wcu.ts')) {
  const reads = process.argv.includes('--reads');
  (reads ? benchHistoryReads().then((r) => r.rows) : benchHistoryWcu().then((r) => r.byFlushInterval)).then(
    (rows) => {
      for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    },
  );
}
