/**
 * The history figures of `npm run bench` (bench/history-wcu.ts), on small runs: the routes the cost model
 * prices are among those the read benchmark measures, and a check carries the rollup writes it makes.
 */
import { describe, expect, it } from 'vitest';
import {
  benchHistoryReads,
  benchHistoryWcu,
  CHECK_ROUTE,
  HISTORY_ROUTE,
  historyFigures,
} from '../../bench/history-wcu.js';

describe('history figures', () => {
  it('price a check and a history call from rows the read benchmark measures', async () => {
    const reads = await benchHistoryReads({ typicalPerDay: 30, heavyPerDay: 200, days: 9 });
    const writes = await benchHistoryWcu({ impressions: 2000, flushSeconds: [5] });
    const f = historyFigures(writes, reads);
    const row = (route: string) => reads.rows.find((r) => r.profile === 'typical' && r.route === route)!;
    expect(f.readUnits.check).toBe(row(CHECK_ROUTE).readUnits);
    expect(f.readUnits.checkWriteUnits).toBe(row(CHECK_ROUTE).writeUnits);
    expect(f.readUnits.history).toBe(row(HISTORY_ROUTE).readUnits);
    // The first check of a new day rolls up one more day: it writes, and reads less than counting buckets.
    expect(f.readUnits.checkWriteUnits).toBeGreaterThan(0);
    expect(f.readUnits.check).toBeLessThanOrEqual(
      row('GET frequency / POST check, window 7d, counting every bucket (before rollups)').readUnits + 1,
    );
    expect(f.wcuPerImpression).toBeGreaterThan(0);
  }, 60_000);
});
