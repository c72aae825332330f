/**
 * The write-unit replay's simulated time (bench/history-wcu.ts): each session keeps its own clock while the
 * generator interleaves sessions a row view at a time, so a session spans minutes of simulated time, not
 * the whole replay, and the replay carries the rate it intends. The write units it reports depend on both
 * (how many of a member's impressions share a 10-second bucket and a flush).
 */
import { describe, expect, it } from 'vitest';
import { benchHistoryWcu } from '../../bench/history-wcu.js';

describe('write-unit replay clock', () => {
  it('keeps sessions to minutes of simulated time at the intended impressions per second', async () => {
    const r = await benchHistoryWcu({ impressions: 20_000, flushSeconds: [5], ratePerSec: 1000 });
    const s = r.simulated;
    expect(s.intendedPerSecond).toBe(1000);
    expect(s.sessions).toBeGreaterThan(100);
    // A member scrolls a row every 2–6 s and a page every 10–40 s: the part of a session a sample holds
    // lasts seconds to minutes, never the replay's whole span.
    expect(s.medianSessionSeconds).toBeGreaterThan(5);
    expect(s.medianSessionSeconds).toBeLessThan(10 * 60);
    // Impressions per second of simulated time, away from the replay's ramp-up and ramp-down.
    expect(s.impressionsPerSecond).toBeGreaterThan(0.6 * 1000);
    expect(s.impressionsPerSecond).toBeLessThan(1.5 * 1000);
    // A member's impressions fill buckets at the member's pace: several per bucket write at 5-s flushes.
    expect(r.byFlushInterval[0]!.impressionsPerWrite).toBeGreaterThan(5);
  }, 120_000);
});
