/** Frequency windows and exact counting over frequency-item members. Pure. */
import { DAY_MS, parseFrequencyMember } from './history-model.js';

export const WINDOWS = { '1h': 60 * 60 * 1000, '1d': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS } as const;
export type FrequencyWindow = keyof typeof WINDOWS;
export const DEFAULT_WINDOW: FrequencyWindow = '7d';

export const isWindow = (w: string): w is FrequencyWindow => Object.hasOwn(WINDOWS, w);

/** UTC days (yyyy-mm-dd) whose frequency items can hold members of `(asOf − window, asOf]`. */
export function windowDays(asOfMs: number, window: FrequencyWindow): { first: string; last: string } {
  const fromMs = asOfMs - WINDOWS[window] + 1;
  return {
    first: new Date(fromMs).toISOString().slice(0, 10),
    last: new Date(asOfMs).toISOString().slice(0, 10),
  };
}

export interface TitleCount {
  readonly count: number;
  readonly lastSeenAt: string | null;
}

/**
 * Counts distinct impressions (by eventId) with event time in `(asOf − window, asOf]` among the members of
 * one title's frequency items; `lastSeenAt` is the latest of them, or null.
 */
export function countWindow(members: Iterable<string>, asOfMs: number, window: FrequencyWindow): TitleCount {
  const fromMs = asOfMs - WINDOWS[window];
  const ids = new Set<string>();
  let last = -Infinity;
  for (const m of members) {
    const parsed = parseFrequencyMember(m);
    if (!parsed || parsed.timeMs <= fromMs || parsed.timeMs > asOfMs) continue;
    ids.add(parsed.eventId);
    if (parsed.timeMs > last) last = parsed.timeMs;
  }
  return { count: ids.size, lastSeenAt: ids.size ? new Date(last).toISOString() : null };
}
