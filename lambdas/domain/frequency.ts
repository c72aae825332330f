/** The frequency windows of the contract and the API's form of a title's tally. Pure. */
import { DAY_MS } from './history-model.js';

export const WINDOWS = { '1h': 60 * 60 * 1000, '1d': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS } as const;
export type FrequencyWindow = keyof typeof WINDOWS;

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
