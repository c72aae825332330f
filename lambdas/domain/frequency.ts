/** Frequency windows and exact counting over stored impressions. Pure. */
import { DAY_MS, type Impression, impressionKey } from './history-model.js';

export const WINDOWS = { '1h': 60 * 60 * 1000, '1d': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS } as const;
export type FrequencyWindow = keyof typeof WINDOWS;
export const DEFAULT_WINDOW: FrequencyWindow = '7d';

export const isWindow = (w: string): w is FrequencyWindow => Object.hasOwn(WINDOWS, w);

export interface TitleCount {
  readonly count: number;
  readonly lastSeenAt: string | null;
}

/** The API's form of a title's tally (`lastSeenAt` in RFC 3339, null when never seen). */
export const toTitleCount = (t: { count: number; lastSeenMs: number | null }): TitleCount => ({
  count: t.count,
  lastSeenAt: t.lastSeenMs === null ? null : new Date(t.lastSeenMs).toISOString(),
});

/**
 * Per requested title: distinct impressions (eventId and event time, `impressionKey`) with event time in `(asOf − window, asOf]`, and
 * the latest such time (`lastSeenAt`, null when there is none).
 */
export function countWindow(
  impressions: Iterable<Impression>,
  titleIds: readonly string[],
  asOfMs: number,
  window: FrequencyWindow,
): Map<string, TitleCount> {
  const fromMs = asOfMs - WINDOWS[window];
  const wanted = new Set(titleIds);
  const seen = new Map<string, { ids: Set<string>; last: number }>();
  for (const i of impressions) {
    if (!wanted.has(i.titleId) || i.eventTimeMs <= fromMs || i.eventTimeMs > asOfMs) continue;
    let s = seen.get(i.titleId);
    if (!s) {
      s = { ids: new Set(), last: -Infinity };
      seen.set(i.titleId, s);
    }
    s.ids.add(impressionKey(i));
    if (i.eventTimeMs > s.last) s.last = i.eventTimeMs;
  }
  const out = new Map<string, TitleCount>();
  for (const t of titleIds) {
    const s = seen.get(t);
    out.set(
      t,
      s ? { count: s.ids.size, lastSeenAt: new Date(s.last).toISOString() } : { count: 0, lastSeenAt: null },
    );
  }
  return out;
}
