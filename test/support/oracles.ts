/**
 * Reference values and exact recomputations that only tests and benchmarks use: the deployed functions take
 * every value from their settings and count through the history store's rollups, never through these.
 */
import { DEFAULT_STAGE } from '../../infra/config.js';
import { type ClassifierConfig, EVENT_TIME_BOUNDS } from '../../lambdas/domain/classify.js';
import { type FrequencyWindow, type TitleCount, WINDOWS } from '../../lambdas/domain/frequency.js';
import {
  bucketStart,
  dayStart,
  type HistoryLimits,
  type Impression,
  impressionKey,
} from '../../lambdas/domain/history-model.js';

/** The default stage's classifier configuration (`DEFAULT_STAGE`), as filter-enrich's settings reader builds it. */
export const DEFAULT_CLASSIFIER_CONFIG: ClassifierConfig = {
  minVisiblePercent: DEFAULT_STAGE.minVisiblePercent,
  minVisibleMs: DEFAULT_STAGE.minVisibleMs,
  testProfiles: new Set(DEFAULT_STAGE.testProfiles),
  ...EVENT_TIME_BOUNDS,
};

/**
 * The expected frequency of stored impressions, counted exactly: per requested title, distinct impressions
 * (eventId and event time, `impressionKey`) with event time in `(asOf − window, asOf]`, and the latest such
 * time (`lastSeenAt`, null when there is none).
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

/** The default stage's cap on user records per KPL aggregate (`DEFAULT_STAGE`). */
export const DEFAULT_MAX_USER_RECORDS = DEFAULT_STAGE.maxUserRecordsPerAggregate;

/** The default stage's caps (`DEFAULT_STAGE`). */
export const DEFAULT_HISTORY_LIMITS: HistoryLimits = {
  perWindow: DEFAULT_STAGE.profileBurstPerWindow,
  perDay: DEFAULT_STAGE.profileBurstPerDay,
};

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
