import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SAMPLE_SPAN_MS, sampleTime } from '../../bench/whole-handler.js';
import { DAY_MS } from '../../lambdas/domain/history-model.js';
import { mustInvalidate } from '../../lambdas/domain/rollup.js';

const dayStart = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
const HOUR_MS = 3_600_000;

// The whole-handler benchmark must measure the same writes whatever the hour of its run: on-time impressions
// (no rollup refresh), all in one UTC day, none in the future, for a run of up to an hour.
function holds(now: number) {
  const t = sampleTime(now);
  expect(t).toBeLessThanOrEqual(now);
  expect(dayStart(t - SAMPLE_SPAN_MS)).toBe(dayStart(t));
  for (const at of [now, now + HOUR_MS]) expect(mustInvalidate(dayStart(t), at)).toBe(false);
}

describe('whole-handler sample time', () => {
  it.each([
    '2026-12-04T23:01:11Z',
    '2026-12-04T21:59:59.999Z',
    '2026-12-04T22:00:00Z',
    '2026-12-04T22:59:59Z',
    '2026-12-05T00:00:00Z',
    '2026-12-05T00:00:01Z',
    '2026-12-05T12:03:28Z',
    '2028-02-29T23:59:58Z',
    '2027-01-01T00:10:00Z',
  ])('at %s the sample is on time, in one day and in the past', (iso) => holds(Date.parse(iso)));

  it('holds at any instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('2000-01-01'), max: Date.parse('2100-01-01') }), (now) => {
        holds(now);
      }),
      { numRuns: 2_000 },
    );
  });
});
