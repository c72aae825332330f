/**
 * The history store's read side over the in-memory table that charges DynamoDB's read units: a list reads
 * what its limit needs and at most LIST_SCAN_BYTES (+ one item) per call, and its cursor positions walk the
 * whole history exactly once ("Bounded work per request", history API contract).
 */
import { describe, expect, it } from 'vitest';
import { type HistoryCandidate, newestFirst } from '../../lambdas/domain/history-model.js';
import { historyStore, LIST_SCAN_BYTES } from '../../lambdas/history-store/index.js';
import { memoryDynamo } from '../support/memory-aws.js';
import { DEFAULT_HISTORY_LIMITS } from '../support/oracles.js';

const NOW = Date.parse('2026-06-15T12:00:00.000Z');

async function profile(perBucket: number, buckets: number, titleOf: (i: number) => string) {
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
  const store = historyStore(ddb.client, 'history');
  const candidates: HistoryCandidate[] = [];
  for (let b = 0; b < buckets; b++) {
    for (let i = 0; i < perBucket; i++) {
      const n = b * perBucket + i;
      candidates.push({
        profileId: 'p',
        recordId: String(n),
        impression: {
          eventId: `${String(n).padStart(8, '0')}-0000-4000-8000-000000000000`,
          eventTimeMs: NOW - b * 60_000 - i * 7,
          titleId: titleOf(n),
          artworkId: 'a',
          page: 'home',
          rowId: 'r',
          rowIndex: 0,
          position: i % 40,
          deviceType: 'tv',
          trackId: null,
        },
      });
    }
  }
  for (let i = 0; i < candidates.length; i += 500)
    await store.admit(candidates.slice(i, i + 500), { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS });
  return { ddb, store, candidates };
}

const base = { profileId: 'p', since: null, until: null, titleId: null, after: null };

describe('history list: bounded reads', () => {
  it('reads only the items its limit needs, newest first', async () => {
    const { ddb, store, candidates } = await profile(30, 100, () => 't');
    const before = ddb.capacity.readItems;
    const page = await store.listHistory({ ...base, limit: 50 });
    // 50 impressions need 4 of the ≈ 200 items (items of 1 and 29); pages at most double: ≤ 5 read.
    expect(ddb.capacity.readItems - before).toBeLessThanOrEqual(5);
    const newest = candidates
      .map((c) => c.impression)
      .sort(newestFirst)
      .slice(0, 50);
    expect(page.impressions.map((i) => i.eventId)).toEqual(newest.map((i) => i.eventId));
    expect(page.last).not.toBeNull();
  });

  it('stops a filtered list at the byte budget with a cursor, and the cursors walk every match exactly once', async () => {
    // One impression in 500 is of the rare title: a full scan would read the whole profile.
    const { ddb, store, candidates } = await profile(500, 40, (n) => (n % 500 === 7 ? 'rare' : 'common'));
    const expected = candidates
      .filter((c) => c.impression.titleId === 'rare')
      .map((c) => c.impression.eventId);
    const got: string[] = [];
    let after = null;
    let calls = 0;
    do {
      const before = ddb.capacity.readBytes;
      const page = await store.listHistory({ ...base, titleId: 'rare', limit: 50, after });
      const read = ddb.capacity.readBytes - before;
      // At most the budget plus the one item that crossed it (an item is < 400 KB).
      expect(read).toBeLessThan(LIST_SCAN_BYTES + 400 * 1024);
      got.push(...page.impressions.map((i) => i.eventId));
      after = page.last;
      calls++;
    } while (after && calls < 100);
    expect(calls).toBeGreaterThan(1);
    expect(got).toEqual(expected);
  });
});
