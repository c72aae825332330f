/**
 * Daily caps counted in blocks (lambdas/history-store/day-allowance.ts): a profile-day's counter is raised by a
 * batch's need plus a block, and later batches count against the block in memory. The counter never falls
 * below what is stored (the cap is never passed), the cap stays exact within one instance and across
 * instances that keep running, an instance that goes away leaves it stricter by at most what it held, and
 * most batches write no counter at all.
 */
import { describe, expect, it } from 'vitest';
import type { HistoryCandidate, HistoryLimits } from '../../lambdas/domain/history-model.js';
import { dayAllowances } from '../../lambdas/history-store/day-allowance.js';
import { historyStore, ONE_SHOT_ALLOWANCE, type StoreOptions } from '../../lambdas/history-store/index.js';
import { daySortKey, impressionsOfItem } from '../../lambdas/history-store/item-codec.js';
import { memoryDynamo } from '../support/memory-aws.js';

const FAST = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };
const DAY = Date.parse('2026-11-26T00:00:00Z');
/** The stores' clock: noon of DAY, so DAY is today and its rollups never need invalidating, whatever the real date. */
const NOW = () => DAY + 12 * 3_600_000;
const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

let record = 0;
/** `n` new impressions of `profileId`, one Kinesis record each, in the bucket starting `bucket` × 10 s into the day. */
const offer = (profileId: string, n: number, bucket: number, firstId: number): HistoryCandidate[] =>
  Array.from({ length: n }, (_, i) => ({
    profileId,
    recordId: String(++record),
    impression: {
      eventId: ID(firstId + i),
      eventTimeMs: DAY + bucket * 10_000 + i,
      titleId: 't-1',
      artworkId: 'a-1',
      page: 'home',
      rowId: 'r-1',
      rowIndex: 0,
      position: i,
      deviceType: 'tv',
      trackId: null,
    },
  }));

function table() {
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
  const items = () => [...ddb.table('history').values()];
  const stored = (profileId: string) =>
    items()
      .filter((i) => i.pk === `P#${profileId}`)
      .reduce((n, i) => n + impressionsOfItem(i).length, 0);
  const counter = (profileId: string) =>
    Number(items().find((i) => i.pk === `P#${profileId}` && i.sk === daySortKey(DAY))?.n ?? 0);
  const store = (options: StoreOptions = {}) =>
    historyStore(ddb.client, 'history', FAST, { nowMs: NOW, ...options });
  return { ddb, stored, counter, store };
}

const settings = (limits: HistoryLimits) => ({ retentionDays: 30, limits });
const heldFor = (s: ReturnType<ReturnType<typeof table>['store']>, profileId: string) =>
  s.heldDayAllowance().find((h) => h.pk === `P#${profileId}`)?.units ?? 0;

describe('daily caps counted in blocks', () => {
  it('writes the day counter once per block, not once per batch', async () => {
    const t = table();
    const store = t.store({ dayAllowance: { block: 200 } });
    let writes = 0;
    for (let b = 0; b < 30; b++) {
      const r = await store.admit(offer('p', 10, b, b * 10), settings({ perWindow: 1000, perDay: 20_000 }));
      expect(r.admissions.every((a) => a.kind === 'accepted')).toBe(true);
      writes += r.writes;
    }
    // 30 bucket writes; the counter raised by 10 + 200 at batch 1 and again at batch 22.
    expect(writes).toBe(32);
    expect(t.stored('p')).toBe(300);
    expect(t.counter('p')).toBe(420);
    expect(t.counter('p') - heldFor(store, 'p')).toBe(t.stored('p'));

    // The same traffic, counted without blocks: one counter write per batch.
    const exact = table();
    const oneShot = exact.store({ dayAllowance: ONE_SHOT_ALLOWANCE });
    let exactWrites = 0;
    for (let b = 0; b < 30; b++)
      exactWrites += (
        await oneShot.admit(offer('p', 10, b, b * 10), settings({ perWindow: 1000, perDay: 20_000 }))
      ).writes;
    expect(exactWrites).toBe(60);
    expect(exact.counter('p')).toBe(300);
  });

  it("checks the counters of a batch's held allowances in one BatchGetItem, not a GetItem each", async () => {
    const { ddb, store } = table();
    const s = store();
    const limits = { perWindow: 1000, perDay: 20_000 };
    const profiles = Array.from({ length: 150 }, (_, k) => `p${k}`);
    await s.admit(
      profiles.flatMap((p, k) => offer(p, 2, 0, k * 10)),
      settings(limits),
    );
    expect(profiles.every((p) => heldFor(s, p) > 0)).toBe(true);
    const before = { ...ddb.requests };
    const r = await s.admit(
      profiles.flatMap((p, k) => offer(p, 2, 1, 5000 + k * 10)),
      settings(limits),
    );
    expect(r.stored).toBe(300);
    // 150 counters: two BatchGetItems of at most 100 keys; no GetItem, and no counter write (the blocks hold).
    expect((ddb.requests.BatchGet ?? 0) - (before.BatchGet ?? 0)).toBe(2);
    expect((ddb.requests.Get ?? 0) - (before.Get ?? 0)).toBe(0);
    expect((ddb.requests.Update ?? 0) - (before.Update ?? 0)).toBe(150);
    expect(profiles.every((p) => heldFor(s, p) > 0)).toBe(true);
  });

  it('reads a counter the batch read left unprocessed on its own, and drops an allowance whose counter is gone', async () => {
    const ddb = memoryDynamo({ throttle: 0, partial: 1, seed: 1 });
    ddb.state.faultsOn = false;
    const s = historyStore(ddb.client, 'history', FAST, { nowMs: NOW });
    const limits = { perWindow: 1000, perDay: 20_000 };
    await s.admit([...offer('a', 2, 0, 0), ...offer('b', 2, 0, 100)], settings(limits));
    // Every key of a batch read comes back unprocessed: each counter is read with a GetItem instead.
    ddb.state.faultsOn = true;
    ddb.table('history').delete(JSON.stringify(Object.entries({ pk: 'P#b', sk: daySortKey(DAY) }).sort()));
    const before = { ...ddb.requests };
    const r = await s.admit([...offer('a', 2, 1, 200), ...offer('b', 2, 1, 300)], settings(limits));
    ddb.state.faultsOn = false;
    expect(r.stored).toBe(4);
    expect((ddb.requests.Get ?? 0) - (before.Get ?? 0)).toBeGreaterThanOrEqual(2);
    // b's counter was gone: its allowance was dropped and the counter raised again (a new generation).
    const counterB = [...ddb.table('history').values()].find(
      (i) => i.pk === 'P#b' && i.sk === daySortKey(DAY),
    );
    expect(Number(counterB?.n)).toBeGreaterThanOrEqual(2);
  });

  it('keeps what a batch reserved and did not store (duplicates, redeliveries) for the next batch', async () => {
    const t = table();
    const store = t.store({ dayAllowance: { block: 5 } });
    const limits = { perWindow: 1000, perDay: 1000 };
    const batch = offer('p', 10, 0, 0);
    await store.admit(batch, settings(limits));
    expect(t.counter('p')).toBe(15);
    // Redelivered: nothing new is stored; its need (10, more than the 5 held) is reserved, 5 + 10 held after.
    const again = await store.admit(batch, settings(limits));
    expect(again.admissions.every((a) => a.kind === 'accepted')).toBe(true);
    expect(t.stored('p')).toBe(10);
    expect(t.counter('p') - heldFor(store, 'p')).toBe(10);
    // What the redelivery reserved is used by the next batch without a counter write.
    const before = t.counter('p');
    const next = await store.admit(offer('p', 10, 1, 100), settings(limits));
    expect(next.writes).toBe(1);
    expect(t.counter('p')).toBe(before);
  });

  it('is exact at the cap within one instance: the first perDay in stream order are kept', async () => {
    const t = table();
    const store = t.store({ dayAllowance: { block: 200 } });
    const limits = { perWindow: 1000, perDay: 1000 }; // block capped at 1 % of the cap: 10
    const kinds: string[] = [];
    for (let b = 0; b < 12; b++) {
      const r = await store.admit(offer('p', 100, b, b * 100), settings(limits));
      kinds.push(...r.admissions.map((a) => a.kind));
    }
    expect(kinds.slice(0, 1000).every((k) => k === 'accepted')).toBe(true);
    expect(kinds.slice(1000).every((k) => k === 'burst')).toBe(true);
    expect(t.stored('p')).toBe(1000);
    expect(t.counter('p')).toBe(1000);
  });

  it('never passes the cap across instances, and is exact while they keep running', async () => {
    const t = table();
    const a = t.store({ dayAllowance: { block: 50 } });
    const b = t.store({ dayAllowance: { block: 50 } });
    const limits = { perWindow: 1000, perDay: 5000 };
    let id = 0;
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        [a, b].map((s, k) => {
          const batch = offer('p', 70, round * 2 + k, id);
          id += 70;
          return s.admit(batch, settings(limits));
        }),
      );
      expect(t.stored('p')).toBeLessThanOrEqual(5000);
      expect(t.counter('p')).toBeLessThanOrEqual(5000);
      expect(t.counter('p') - heldFor(a, 'p') - heldFor(b, 'p')).toBe(t.stored('p'));
    }
    expect(t.stored('p')).toBe(5000);
  });

  it('loses nothing when one store admits two batches of a profile-day at once', async () => {
    const t = table();
    const store = t.store({ dayAllowance: { block: 50 } });
    const limits = { perWindow: 1000, perDay: 20_000 };
    for (let round = 0; round < 10; round++) {
      await Promise.all([
        store.admit(offer('p', 30, round * 2, round * 100), settings(limits)),
        store.admit(offer('p', 30, round * 2 + 1, round * 100 + 50), settings(limits)),
      ]);
      expect(t.counter('p') - heldFor(store, 'p')).toBe(t.stored('p'));
    }
    expect(t.stored('p')).toBe(600);
  });

  it('leaves the cap stricter by at most one block when an instance goes away', async () => {
    const t = table();
    const limits = { perWindow: 1000, perDay: 20_000 };
    const gone = t.store({ dayAllowance: { block: 200 } });
    await gone.admit(offer('p', 30, 0, 0), settings(limits));
    const lost = heldFor(gone, 'p');
    expect(lost).toBe(200);
    // A new instance fills the day: it gets the cap less what the first one held.
    const next = t.store({ dayAllowance: { block: 200 } });
    for (let b = 1; b <= 25; b++) await next.admit(offer('p', 1000, b, b * 1000), settings(limits));
    expect(t.stored('p')).toBe(20_000 - lost);
    expect(t.counter('p')).toBe(20_000);
  });

  for (const eraser of ['the same store', 'another instance (the API)'] as const)
    it(`an allowance held across an erasure (by ${eraser}) does not let the profile pass its daily cap`, async () => {
      const t = table();
      const limits = { perWindow: 1000, perDay: 20_000 };
      const store = t.store({ dayAllowance: { block: 200 } });
      await store.admit(offer('p', 10, 0, 0), settings(limits));
      expect(heldFor(store, 'p')).toBe(200);
      const erasing = eraser === 'the same store' ? store : t.store();
      await erasing.erase('p');
      expect(t.stored('p')).toBe(0);
      expect(t.counter('p')).toBe(0);
      // More than the day's cap, through the instance that held the allowance.
      for (let b = 1; b <= 21; b++) await store.admit(offer('p', 1000, b, b * 1000), settings(limits));
      expect(t.stored('p')).toBe(20_000);
      expect(t.counter('p')).toBe(20_000);
    });

  it('holds a bounded number of profile-days, least recently used out first', () => {
    const held = dayAllowances({ maxEntries: 2 });
    held.keep('a', 1, 'g1');
    held.keep('b', 2, 'g1');
    held.keep('a', 3, 'g1'); // a is now the most recent, holding 1 + 3
    held.keep('c', 4, 'g1');
    expect(held.held().map((h) => h.units)).toEqual([4, 4]);
    expect(held.take('b').units).toBe(0);
    expect(held.take('a')).toEqual({ units: 4, generation: 'g1' });
    expect(held.take('a').units).toBe(0);
    // Units of another counter generation replace what was held from the old one.
    held.keep('d', 5, 'g1');
    held.keep('d', 2, 'g2');
    expect(held.take('d')).toEqual({ units: 2, generation: 'g2' });
    expect(held.blockFor(20_000)).toBe(200);
    expect(held.blockFor(1_000)).toBe(10);
    expect(dayAllowances({ block: 0 }).blockFor(20_000)).toBe(0);
  });

  it('gives back what it did not store when it holds nothing (one-shot tools)', async () => {
    const t = table();
    const tool = t.store({ dayAllowance: ONE_SHOT_ALLOWANCE });
    const batch = offer('p', 10, 0, 0);
    await tool.admit(batch, settings({ perWindow: 1000, perDay: 20_000 }));
    await tool.admit(batch, settings({ perWindow: 1000, perDay: 20_000 }));
    expect(tool.heldDayAllowance()).toEqual([]);
    expect(t.counter('p')).toBe(10);
  });
});
