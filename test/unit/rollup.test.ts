/** Which days a window reads from rollups, and the keys of rollup items (pure). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WINDOWS } from '../../lambdas/domain/frequency.js';
import {
  BUCKET_PREFIX,
  bucketSortKey,
  bucketSortKeyEnd,
  DAY_MS,
  daySortKey,
  dayStart,
} from '../../lambdas/domain/history-model.js';
import {
  dayOfRollupSortKey,
  mergeRanges,
  mustInvalidate,
  planCounts,
  rollupDay,
  rollupSortKey,
} from '../../lambdas/domain/rollup.js';

const NOW = Date.parse('2026-06-15T12:00:00.000Z');

describe('rollup planning', () => {
  it('rollup days and bucket ranges cover the window exactly once; rollup days are whole and before yesterday', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -40 * DAY_MS, max: DAY_MS }),
        fc.constantFrom(...Object.values(WINDOWS)),
        fc.integer({ min: 0, max: 3 * DAY_MS }),
        (offset, width, readerAhead) => {
          const toMs = NOW + offset;
          const fromMs = toMs - width + 1;
          const nowMs = toMs + readerAhead;
          const { days, ranges } = planCounts(fromMs, toMs, nowMs);
          const parts = [...days.map((d) => ({ fromMs: d, toMs: d + DAY_MS - 1 })), ...ranges].sort(
            (a, b) => a.fromMs - b.fromMs,
          );
          expect(parts[0]!.fromMs).toBe(fromMs);
          expect(parts.at(-1)!.toMs).toBe(toMs);
          for (let i = 1; i < parts.length; i++) expect(parts[i]!.fromMs).toBe(parts[i - 1]!.toMs + 1);
          for (const d of days) {
            expect(dayStart(d)).toBe(d);
            expect(rollupDay(d, nowMs)).toBe(true);
            expect(d).toBeLessThan(dayStart(nowMs) - DAY_MS);
            // The writer invalidates every day a reader may roll up, even with its clock an hour behind.
            expect(mustInvalidate(d, nowMs - 59 * 60_000)).toBe(true);
          }
          expect(mergeRanges(parts)).toEqual([{ fromMs, toMs }]);
        },
      ),
    );
  });

  it('today and yesterday are never rolled up; the day before is', () => {
    expect(rollupDay(dayStart(NOW), NOW)).toBe(false);
    expect(rollupDay(dayStart(NOW) - DAY_MS, NOW)).toBe(false);
    expect(rollupDay(dayStart(NOW) - 2 * DAY_MS, NOW)).toBe(true);
    expect(mustInvalidate(dayStart(NOW) - DAY_MS, NOW)).toBe(false);
  });

  it('rollup keys never fall in a bucket query range nor collide with day counters', () => {
    const day = dayStart(NOW) - 3 * DAY_MS;
    const key = rollupSortKey(day);
    expect(key).toBe('R#2026-06-12');
    expect(dayOfRollupSortKey(key)).toBe(day);
    expect(key).not.toBe(daySortKey(day));
    // The widest bucket ranges the store queries: a whole profile's list and any bucket's range.
    expect(key > `${BUCKET_PREFIX}~` || key < BUCKET_PREFIX).toBe(true);
    expect(key > bucketSortKeyEnd(day) || key < bucketSortKey(day)).toBe(true);
  });
});
