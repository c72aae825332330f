/**
 * Write units per record at the caps: DynamoDB charges every write to an item, a failed conditional write
 * included, on the item's whole size (1 WCU per KB), so a bucket item near its byte budget would make every
 * record offered to it (a new impression, a producer's duplicate, a redelivery, a burst) cost that item.
 * The byte budget bounds what one record can cost; a store remembers large buckets' states, so duplicates,
 * redeliveries and bursts it can decide cost no bucket write at all; and one profile's throttled writes
 * fail only that profile's records (docs/history-model.md, "Write units per record").
 */
import { describe, expect, it } from 'vitest';
import { type HistoryCandidate, ITEM_BUDGET_BYTES } from '../../lambdas/domain/history-model.js';
import { historyStore } from '../../lambdas/history-store/index.js';
import { impressionsOfItem } from '../../lambdas/history-store/item-codec.js';
import { memoryDynamo } from '../support/memory-aws.js';
import { DEFAULT_HISTORY_LIMITS } from '../support/oracles.js';

const FAST = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };
const DAY = Date.parse('2026-11-26T00:00:00Z');
const NOW = () => DAY + 12 * 3_600_000;
const SETTINGS = { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS };
const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
/**
 * The most one record may cost: the item at its byte budget plus its keys and counters, in 1 KB units (the
 * budget of 128 KB: 129; before it, a 380 KB budget let one record cost 379).
 */
const WCU_BOUND = 130;

/** An impression with every string at the contract's maximal length in 4-byte characters (≈ 1.4 KB stored). */
const maximal = (profileId: string, n: number, recordId = `r${n}`): HistoryCandidate => ({
  profileId,
  recordId,
  impression: {
    eventId: ID(n),
    eventTimeMs: DAY + 3_600_000 + (n % 1000),
    titleId: '😀'.repeat(64),
    artworkId: '😀'.repeat(64),
    page: '😀'.repeat(64),
    rowId: '😀'.repeat(128),
    rowIndex: 999,
    position: 999,
    deviceType: 'console',
    trackId: Number.MAX_SAFE_INTEGER,
  },
});

/** A realistic impression (≈ 90 bytes stored). */
const small = (profileId: string, n: number): HistoryCandidate => ({
  profileId,
  recordId: `${profileId}-${n}`,
  impression: {
    eventId: ID(n),
    eventTimeMs: DAY + 3_600_000 + n,
    titleId: `title-${n % 50}`,
    artworkId: `title-${n % 50}-art-1`,
    page: 'home',
    rowId: 'trending-now',
    rowIndex: 2,
    position: n % 40,
    deviceType: 'tv',
    trackId: 17,
  },
});

function setup() {
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
  const store = () => historyStore(ddb.client, 'history', FAST, { nowMs: NOW });
  /** WCU of one admit call, per record offered. */
  const wcuPerRecord = async (s: ReturnType<typeof store>, batch: HistoryCandidate[]) => {
    const before = ddb.capacity.wcu;
    const out = await s.admit(batch, SETTINGS);
    return { units: (ddb.capacity.wcu - before) / batch.length, out };
  };
  return { ddb, store, wcuPerRecord };
}

describe('write units per record at the caps', () => {
  it('one record at a time into a bucket until its byte budget: no record costs more than the budget', async () => {
    const { ddb, store, wcuPerRecord } = setup();
    const s = store();
    let most = 0;
    let stored = 0;
    let n = 0;
    // One maximal impression per batch: the bucket grows to its budget, then every further one is a burst.
    let bursts = 0;
    for (; n < 400 && bursts < 5; n++) {
      const { units, out } = await wcuPerRecord(s, [maximal('hostile', n)]);
      most = Math.max(most, units);
      if (out.admissions[0]!.kind === 'accepted') stored++;
      else {
        expect(out.admissions[0]!.kind).toBe('burst');
        bursts++;
      }
    }
    const item = [...ddb.table('history').values()].find((i) => String(i.sk).startsWith('B#'))!;
    expect(impressionsOfItem(item).length).toBe(stored);
    expect(bursts).toBe(5);
    expect(stored).toBeGreaterThan(50);
    expect(ITEM_BUDGET_BYTES).toBeLessThanOrEqual((WCU_BOUND - 1) * 1024);
    expect(most).toBeLessThanOrEqual(WCU_BOUND);
    // Past the budget, bursts, producer duplicates and redeliveries are decided from the remembered state:
    // no bucket write, only the day counter's check (a small item).
    const bucketWcu = () => ddb.capacity.wcuByItemKind.B ?? 0;
    const before = bucketWcu();
    const late: number[] = [];
    for (let k = 0; k < 20; k++) {
      late.push((await wcuPerRecord(s, [maximal('hostile', 1000 + k)])).units); // burst
      late.push((await wcuPerRecord(s, [maximal('hostile', k, `other${k}`)])).units); // producer duplicate
      late.push((await wcuPerRecord(s, [maximal('hostile', k)])).units); // redelivery
    }
    expect(bucketWcu() - before).toBe(0);
    expect(Math.max(...late)).toBeLessThanOrEqual(1);
    const outcomes = await s.admit(
      [maximal('hostile', 2000), maximal('hostile', 3, 'x'), maximal('hostile', 3)],
      SETTINGS,
    );
    expect(outcomes.admissions.map((a) => a.kind)).toEqual(['burst', 'duplicate', 'accepted']);
  });

  it('a cold instance pays a full bucket at most once, then decides from what it remembers', async () => {
    const { store, wcuPerRecord } = setup();
    const filler = store();
    for (let n = 0; n < 300; n += 10)
      await filler.admit(
        Array.from({ length: 10 }, (_, k) => maximal('hostile', n + k)),
        SETTINGS,
      );
    const cold = store();
    const first = await wcuPerRecord(cold, [maximal('hostile', 5000)]);
    expect(first.out.admissions[0]!.kind).toBe('burst');
    expect(first.units).toBeLessThanOrEqual(WCU_BOUND);
    const next = await wcuPerRecord(cold, [maximal('hostile', 5001)]);
    expect(next.out.admissions[0]!.kind).toBe('burst');
    expect(next.units).toBeLessThanOrEqual(1);
  });

  it('a full window of realistic impressions still fits the budget (1,000 kept, the rest bursts)', async () => {
    const { store } = setup();
    const s = store();
    const out = await s.admit(
      Array.from({ length: 1200 }, (_, n) => small('busy', n)),
      SETTINGS,
    );
    const kinds = out.admissions.map((a) => a.kind);
    expect(kinds.filter((k) => k === 'accepted').length).toBe(1000);
    expect(kinds.slice(1000).every((k) => k === 'burst')).toBe(true);
  });

  it('what a store remembers never outlives a forget (redrive) or an erasure', async () => {
    const { store } = setup();
    const warm = store();
    // A large bucket (> 4 KB), remembered by the warm store once a write to it failed its condition.
    await warm.admit(
      Array.from({ length: 60 }, (_, n) => small('p', n)),
      SETTINGS,
    );
    await warm.admit([small('p', 1)], SETTINGS);
    // The redrive tool forgets record p-7's impression; its re-put (a new record) must be stored again.
    const tool = store();
    expect((await tool.forgetFromRecord([small('p', 7)])).forgotten).toBe(1);
    const reput = { ...small('p', 7), recordId: 'reput-7' };
    expect((await warm.admit([reput], SETTINGS)).admissions[0]!.kind).toBe('accepted');
    // An erasure deletes the day counter: afterwards nothing remembered counts.
    await tool.erase('p');
    expect((await warm.admit([small('p', 3)], SETTINGS)).admissions[0]!.kind).toBe('accepted');
  });

  it('the daily cap counts bytes too: an impression takes one unit per 256 bytes it stores', async () => {
    const { store } = setup();
    const limits = { perWindow: 1000, perDay: 60 };
    const s = store();
    const big = await s.admit(
      Array.from({ length: 20 }, (_, n) => maximal('wide', n)),
      { ...SETTINGS, limits },
    );
    // ≈ 1.4 KB each: 6 units, so 10 of them fill a cap of 60; the rest are bursts of the day.
    expect(big.stored).toBe(10);
    expect(big.admissions.slice(10).every((a) => a.kind === 'burst')).toBe(true);
    const few = await s.admit(
      Array.from({ length: 80 }, (_, n) => small('narrow', n)),
      { ...SETTINGS, limits },
    );
    expect(few.stored).toBe(60);
  });

  it("one profile's throttled writes fail only that profile's records", async () => {
    const { ddb, store } = setup();
    const original = ddb.client.send.bind(ddb.client);
    let throttled = 0;
    ddb.client.send = ((cmd: { input: { Key?: { pk?: string } } }) => {
      if (cmd.input.Key?.pk === 'P#hot') {
        throttled++;
        return Promise.reject(
          Object.assign(new Error('throttled'), {
            name: 'ProvisionedThroughputExceededException',
            $metadata: { httpStatusCode: 400 },
          }),
        );
      }
      return original(cmd as never);
    }) as typeof ddb.client.send;
    const batch = [small('a', 1), small('hot', 2), small('b', 3), small('hot', 4), small('c', 5)];
    const out = await store().admit(batch, SETTINGS);
    expect(throttled).toBeGreaterThan(0);
    expect(out.admissions.map((a) => a.kind)).toEqual([
      'accepted',
      'failed',
      'accepted',
      'failed',
      'accepted',
    ]);
  });

  it("a profile throttled for a while is retried within the call (bounded): nobody's records fail", async () => {
    const { ddb, store } = setup();
    const original = ddb.client.send.bind(ddb.client);
    let throttled = 0;
    ddb.client.send = ((cmd: { input: { Key?: { pk?: string } } }) => {
      if (cmd.input.Key?.pk === 'P#hot' && throttled < 2) {
        throttled++;
        return Promise.reject(
          Object.assign(new Error('throttled'), {
            name: 'ProvisionedThroughputExceededException',
            $metadata: { httpStatusCode: 400 },
          }),
        );
      }
      return original(cmd as never);
    }) as typeof ddb.client.send;
    const batch = [small('a', 1), small('hot', 2), small('b', 3), small('hot', 4)];
    const out = await store().admit(batch, SETTINGS);
    expect(throttled).toBe(2);
    expect(out.admissions.every((a) => a.kind === 'accepted')).toBe(true);
  });
});
