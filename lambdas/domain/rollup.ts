/**
 * Per-day title rollups of the history (pure: which days a window reads from rollups, when a writer must
 * invalidate one, tallies). Their items are the store's (`lambdas/history-store/rollup-items.ts`); design
 * and costs: `docs/history-model.md`, "Reads".
 *
 * A rollup holds, for one profile and UTC day of event time, the count and latest time of each title.
 * Rollups are built by readers, only for days before yesterday (UTC), and invalidated by the writer when it
 * stores an impression into such a day (a late event, a retried batch, a rebuild). A reader stores a rollup
 * only on the condition that it was not invalidated since it read the buckets, so a rollup is never stored
 * stale.
 */
import { DAY_MS, dayStart, type Impression, impressionKey } from './history-model.js';

/** Today and yesterday (UTC) are always counted from the buckets: they change with every batch. */
export const RECENT_DAYS = 2;
/**
 * The writer invalidates as if its clock were this much ahead, so that a bucket write that lands late (a
 * throttled retry, a slow invocation, clocks apart) still invalidates every day a reader may have rolled up.
 * Longer than any function's timeout (15 minutes at most).
 */
export const INVALIDATION_MARGIN_MS = 60 * 60 * 1000;
/** Missing rollups one request builds at most (each costs a consistent read of that day's buckets). */
export const MAX_BUILDS_PER_REQUEST = 4;
/**
 * Bytes of one rollup item: a larger day's tally is split into parts of at most this size (the rollup item
 * and `R#<day>#1`, `#2`, …), at most `MAX_ROLLUP_PARTS` of them.
 */
export const ROLLUP_BUDGET_BYTES = 64 * 1024;
/**
 * Items one day's rollup may take (≤ 1 MB): enough for any profile-day within the daily cap's bytes (20,000
 * distinct titles of ≈ 20 characters take ≈ 10 parts). A larger one is not stored (that day keeps being
 * counted from its buckets).
 */
export const MAX_ROLLUP_PARTS = 16;

/**
 * Splits a stored tally (its entries) into parts whose items (`overhead` bytes of keys and tokens each) stay within
 * `ROLLUP_BUDGET_BYTES`; undefined when more than `MAX_ROLLUP_PARTS` would be needed.
 */
export function splitTally<E>(
  c: readonly E[],
  entryBytes: (e: E) => number,
  overhead: number,
): E[][] | undefined {
  const parts: E[][] = [[]];
  let bytes = overhead;
  for (const e of c) {
    const n = entryBytes(e);
    if (bytes + n > ROLLUP_BUDGET_BYTES && parts.at(-1)!.length) {
      parts.push([]);
      bytes = overhead;
    }
    parts.at(-1)!.push(e);
    bytes += n;
  }
  return parts.length > MAX_ROLLUP_PARTS ? undefined : parts;
}

/** TTL of the rollup of a day without buckets (a day with buckets expires with its first bucket). */
export const EMPTY_ROLLUP_DAYS = 30;

/** Whether a reader at `nowMs` may serve (and build) the rollup of the day starting at `dayStartMs`. */
export const rollupDay = (dayStartMs: number, nowMs: number) =>
  dayStartMs <= dayStart(nowMs) - RECENT_DAYS * DAY_MS;
/** Whether a writer at `nowMs` storing into that day must invalidate its rollup. */
export const mustInvalidate = (dayStartMs: number, nowMs: number) =>
  rollupDay(dayStartMs, nowMs + INVALIDATION_MARGIN_MS);

/** Inclusive range of event times (ms). */
export interface TimeRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * How `[fromMs, toMs]` is read at `nowMs`: the whole days inside it that may have rollups (ascending), and
 * the rest (the partial edge days and the recent days), counted from the buckets.
 */
export function planCounts(
  fromMs: number,
  toMs: number,
  nowMs: number,
): { days: number[]; ranges: TimeRange[] } {
  const days: number[] = [];
  if (fromMs > toMs) return { days, ranges: [] };
  const first = dayStart(fromMs) === fromMs ? fromMs : dayStart(fromMs) + DAY_MS;
  for (let d = first; d + DAY_MS - 1 <= toMs && rollupDay(d, nowMs); d += DAY_MS) days.push(d);
  if (!days.length) return { days, ranges: [{ fromMs, toMs }] };
  const ranges: TimeRange[] = [];
  if (fromMs < days[0]!) ranges.push({ fromMs, toMs: days[0]! - 1 });
  const end = days.at(-1)! + DAY_MS;
  if (end <= toMs) ranges.push({ fromMs: end, toMs });
  return { days, ranges };
}

/** Sorted, with adjacent or overlapping ranges joined (one query each). */
export function mergeRanges(ranges: readonly TimeRange[]): TimeRange[] {
  const out: TimeRange[] = [];
  for (const r of [...ranges].sort((a, b) => a.fromMs - b.fromMs)) {
    const last = out.at(-1);
    if (last && r.fromMs <= last.toMs + 1)
      out[out.length - 1] = { fromMs: last.fromMs, toMs: Math.max(last.toMs, r.toMs) };
    else out.push(r);
  }
  return out;
}

export interface TitleTally {
  readonly count: number;
  /** Latest event time counted, null when none. */
  readonly lastSeenMs: number | null;
}
export type Tally = Map<string, TitleTally>;

/**
 * Per title (all titles when `titleIds` is null): distinct impressions with event time in `[fromMs, toMs]`,
 * and the latest such time. An impression is what the duplicate rule accepts (profile, eventId and event
 * time), so the same eventId at two event times is two impressions, as the history list shows them.
 */
export function tally(
  impressions: Iterable<Impression>,
  fromMs: number,
  toMs: number,
  titleIds: ReadonlySet<string> | null,
): Tally {
  const ids = new Map<string, Set<string>>();
  const out: Tally = new Map();
  for (const i of impressions) {
    if (i.eventTimeMs < fromMs || i.eventTimeMs > toMs || (titleIds && !titleIds.has(i.titleId))) continue;
    let s = ids.get(i.titleId);
    if (!s) {
      s = new Set();
      ids.set(i.titleId, s);
    }
    const id = impressionKey(i);
    if (s.has(id)) continue;
    s.add(id);
    const t = out.get(i.titleId);
    out.set(i.titleId, {
      count: (t?.count ?? 0) + 1,
      lastSeenMs: Math.max(t?.lastSeenMs ?? i.eventTimeMs, i.eventTimeMs),
    });
  }
  return out;
}

/** Adds `from` into `into` (counts summed, latest times kept), for `titleIds` only when given. */
export function addTally(
  into: Tally,
  from: ReadonlyMap<string, TitleTally>,
  titleIds?: ReadonlySet<string>,
): void {
  for (const [title, t] of from) {
    if (titleIds && !titleIds.has(title)) continue;
    const a = into.get(title);
    if (!a) {
      into.set(title, t);
      continue;
    }
    const last =
      a.lastSeenMs === null
        ? t.lastSeenMs
        : t.lastSeenMs === null
          ? a.lastSeenMs
          : Math.max(a.lastSeenMs, t.lastSeenMs);
    into.set(title, { count: a.count + t.count, lastSeenMs: last });
  }
}
