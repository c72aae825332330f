/** Which days a window reads from rollups, and the keys of rollup items (pure). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WINDOWS } from '../../lambdas/domain/frequency.js';
import { DAY_MS, dayStart } from '../../lambdas/domain/history-model.js';
import {
  MAX_ROLLUP_PARTS,
  mergeRanges,
  mustInvalidate,
  planCounts,
  ROLLUP_BUDGET_BYTES,
  rollupDay,
  splitTally,
} from '../../lambdas/domain/rollup.js';
import {
  BUCKET_PREFIX,
  bucketSortKey,
  bucketSortKeyEnd,
  dayOfRollupSortKey,
  daySortKey,
  rollupPartSortKey,
  rollupSortKey,
  type StoredTally,
} from '../../lambdas/history-store/item-codec.js';
import { joinRollupParts } from '../../lambdas/history-store/rollup-items.js';

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

describe('rollups in parts', () => {
  const entries = (n: number): StoredTally => Array.from({ length: n }, (_, i) => [`title-${i}`, i + 1, i]);
  const size = (e: StoredTally[number]) => 20 + e[0].length;

  it('a large tally splits into parts within the item budget, in order, and joins back only whole', () => {
    const c = entries(8_000);
    const parts = splitTally(c, size, 100)!;
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts)
      expect(100 + p.reduce((n, e) => n + size(e), 0)).toBeLessThanOrEqual(ROLLUP_BUDGET_BYTES);
    expect(parts.flat()).toEqual(c);
    const head = { sk: 'R#2026-06-10', b: 'build', p: parts.length, c: parts[0] };
    const rest = new Map(parts.slice(1).map((c, i) => [i + 1, { c, b: 'build' }]));
    expect(joinRollupParts(head, rest)!.c).toEqual(c);
    // A part missing or of another build: not served (c is no list), to be rebuilt.
    const other = new Map(rest).set(1, { c: parts[1]!, b: 'other' });
    expect(Array.isArray(joinRollupParts(head, other)!.c)).toBe(false);
    rest.delete(parts.length - 1);
    expect(Array.isArray(joinRollupParts(head, rest)!.c)).toBe(false);
    expect(splitTally(entries(2_000_000), size, 100)).toBeUndefined(); // more than MAX_ROLLUP_PARTS
    expect(MAX_ROLLUP_PARTS).toBe(16);
  });

  it('part keys sort within their day, after the rollup item and before the next day', () => {
    const day = Date.parse('2026-06-10T00:00:00.000Z');
    const key = rollupPartSortKey(day, 3);
    expect(dayOfRollupSortKey(key)).toBe(day);
    expect(key > rollupSortKey(day) && key < `${rollupSortKey(day)}#~`).toBe(true);
    expect(key < rollupSortKey(day + DAY_MS)).toBe(true);
  });
});
