/**
 * `HistoryStore.forgetFromRecord`: an impression is removed only when the history holds it under the tag of
 * exactly the record that offers it — a condition on a list element (`#a[8] = :tag`, a document path:
 * "Referring to item attributes when using expressions in DynamoDB", section "Document paths", DynamoDB
 * developer guide, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.Attributes.html);
 * the bucket's and the day's counts are given back what was removed, and an old day's rollup invalidated.
 */
import { describe, expect, it } from 'vitest';
import { DAY_MS, dayStart, type HistoryCandidate } from '../../lambdas/domain/history-model.js';
import { historyStore, ONE_SHOT_ALLOWANCE } from '../../lambdas/history-store/index.js';
import { impressionsOfItem, rollupSortKey } from '../../lambdas/history-store/item-codec.js';
import { memoryDynamo } from '../support/memory-aws.js';
import { DEFAULT_HISTORY_LIMITS } from '../support/oracles.js';

const FAST = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };
const SETTINGS = { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS };

const candidate = (eventId: string, eventTimeMs: number, recordId: string): HistoryCandidate => ({
  profileId: 'p-1',
  recordId,
  impression: {
    eventId,
    eventTimeMs,
    titleId: 't-1',
    artworkId: 'a-1',
    page: 'home',
    rowId: 'r-1',
    rowIndex: 0,
    position: 1,
    deviceType: 'tv',
    trackId: null,
  },
});

const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function setup() {
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
  // As the re-drive tool opens it: no daily allowance held, so the day counts equal what is stored.
  const store = historyStore(ddb.client, 'history', FAST, { dayAllowance: ONE_SHOT_ALLOWANCE });
  const items = () => [...ddb.table('history').values()];
  const stored = () => items().flatMap((i) => impressionsOfItem(i).map((x) => x.eventId));
  const counts = (prefix: string) =>
    items()
      .filter((i) => String(i.sk).startsWith(prefix))
      .reduce((n, i) => n + Number(i.n), 0);
  return { ddb, store, items, stored, counts };
}

describe('forgetting what a record stored', () => {
  it('removes an impression stored under the same record tag, keeps one stored under another, and gives the counts back', async () => {
    const { store, stored, counts, items } = setup();
    const t = Date.now() - 60_000;
    const first = [
      candidate(ID(1), t, '100'),
      candidate(ID(2), t + 1, '101'),
      candidate(ID(3), t + 2, '102'),
    ];
    await store.admit(first, SETTINGS);
    expect(stored().sort()).toEqual([ID(1), ID(2), ID(3)]);
    const bytesBefore = items().find((i) => String(i.sk).startsWith('B#'))!.s as number;

    // Re-put records: 100 and 101 are the same records (their tags match), 999 is another record of ID(3).
    const offered = [
      candidate(ID(1), t, '100'),
      candidate(ID(2), t + 1, '101'),
      candidate(ID(3), t + 2, '999'),
    ];
    const dry = await store.forgetFromRecord(offered, { dryRun: true });
    expect(dry).toMatchObject({ forgotten: 2, keptOtherRecord: 1, absent: 0, writes: 0 });
    expect(stored()).toHaveLength(3);

    const r = await store.forgetFromRecord(offered);
    expect(r).toMatchObject({ forgotten: 2, keptOtherRecord: 1, absent: 0 });
    expect(stored()).toEqual([ID(3)]);
    expect(counts('B#')).toBe(1);
    expect(counts('D#')).toBe(1);
    const bucket = items().find((i) => String(i.sk).startsWith('B#'))!;
    expect(bucket.s as number).toBeLessThan(bytesBefore);
    expect(bucket.s as number).toBeGreaterThan(0);

    // Again: nothing left under those tags.
    expect(await store.forgetFromRecord(offered)).toMatchObject({
      forgotten: 0,
      keptOtherRecord: 1,
      absent: 2,
    });
    expect(stored()).toEqual([ID(3)]);

    // Admitted again under new records' tags: accepted, and the counts match what is stored.
    const again = await store.admit(
      [candidate(ID(1), t, '200'), candidate(ID(2), t + 1, '201'), candidate(ID(3), t + 2, '202')],
      SETTINGS,
    );
    expect(again.admissions.map((a) => a.kind)).toEqual(['accepted', 'accepted', 'duplicate']);
    expect(counts('B#')).toBe(3);
    expect(counts('D#')).toBe(3);
  });

  it('invalidates the rollup of a day before yesterday when it forgets one of its impressions', async () => {
    const { store, ddb, stored } = setup();
    const old = dayStart(Date.now()) - 4 * DAY_MS + 3_600_000;
    await store.admit([candidate(ID(7), old, '300')], SETTINGS);
    const count = async () =>
      (await store.titleCounts('p-1', old - DAY_MS, Date.now(), ['t-1'])).get('t-1')!.count;
    expect(await count()).toBe(1);
    const rollupKey = JSON.stringify(
      [
        ['pk', 'P#p-1'],
        ['sk', rollupSortKey(dayStart(old))],
      ].sort(),
    );
    expect(ddb.table('history').get(rollupKey)?.c).toBeDefined();

    // Another record of the impression forgets nothing and leaves the rollup.
    expect(await store.forgetFromRecord([candidate(ID(7), old, '301')])).toMatchObject({ forgotten: 0 });
    expect(ddb.table('history').get(rollupKey)?.c).toBeDefined();

    expect(await store.forgetFromRecord([candidate(ID(7), old, '300')])).toMatchObject({ forgotten: 1 });
    expect(stored()).toEqual([]);
    expect(ddb.table('history').get(rollupKey)?.c).toBeUndefined();
    expect(await count()).toBe(0);
  });
});
