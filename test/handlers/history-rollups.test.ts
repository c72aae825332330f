/**
 * Per-day title rollups of the history (`titleCounts`): exact against counting every bucket of the window
 * (`impressionsBetween` + `countWindow`), invalidated by late writes, never stored stale when a writer races
 * a reader, unchanged by redeliveries and producer retries, bounded per request, erased with the profile.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FrequencyWindow, toTitleCount, WINDOWS } from '../../lambdas/domain/frequency.js';
import { BUCKET_MS, DAY_MS, dayStart, type HistoryCandidate } from '../../lambdas/domain/history-model.js';
import { MAX_BUILDS_PER_REQUEST } from '../../lambdas/domain/rollup.js';
import { historyStore } from '../../lambdas/history-store/index.js';
import { bucketSortKey, itemSize, rollupSortKey } from '../../lambdas/history-store/item-codec.js';
import { memoryDynamo } from '../support/memory-aws.js';
import { countWindow, DEFAULT_HISTORY_LIMITS } from '../support/oracles.js';

const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const SETTINGS = { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS };
const TITLES = ['t0', 't1', 't2', 't3', 'never'];
const ALL_WINDOWS = Object.keys(WINDOWS) as FrequencyWindow[];

const uuid = (n: number) => `${String(n).padStart(8, '0')}-0000-4000-8000-000000000000`;
const candidate = (
  recordId: string,
  eventId: string,
  eventTimeMs: number,
  titleId: string,
): HistoryCandidate => ({
  profileId: 'p',
  recordId,
  impression: {
    eventId,
    eventTimeMs,
    titleId,
    artworkId: 'a',
    page: 'home',
    rowId: 'r',
    rowIndex: 0,
    position: 1,
    deviceType: 'tv',
    trackId: null,
  },
});

function setup(client?: (c: DynamoDBDocumentClient) => DynamoDBDocumentClient) {
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
  const clock = { now: NOW };
  const options = { nowMs: () => clock.now };
  const store = historyStore(client ? client(ddb.client) : ddb.client, 'history', undefined, options);
  const writer = historyStore(ddb.client, 'history', undefined, options);
  const rollup = (day: number) =>
    [...ddb.table('history').values()].find((i) => i.pk === 'P#p' && i.sk === rollupSortKey(day));
  const built = () => [...ddb.table('history').values()].filter((i) => String(i.sk).startsWith('R#') && i.c);
  /** The bucket-counting implementation: every bucket of the window, distinct eventIds. */
  const reference = async (w: FrequencyWindow) =>
    countWindow(
      await writer.impressionsBetween('p', clock.now - WINDOWS[w] + 1, clock.now),
      TITLES,
      clock.now,
      w,
    );
  const counts = async (w: FrequencyWindow) => {
    const got = await store.titleCounts('p', clock.now - WINDOWS[w] + 1, clock.now, TITLES);
    return new Map([...got].map(([t, c]) => [t, toTitleCount(c)]));
  };
  return { ddb, clock, store, writer, rollup, built, reference, counts };
}

type Env = ReturnType<typeof setup>;
const expectExact = async (env: Env) => {
  for (const w of ALL_WINDOWS) expect(await env.counts(w), w).toEqual(await env.reference(w));
};

const admitAll = async (env: Env, cs: readonly HistoryCandidate[]) => {
  for (let i = 0; i < cs.length; i += 500) await env.writer.admit(cs.slice(i, i + 500), SETTINGS);
};

/** One impression a day on `days` days back from NOW, title t<day % 4>, at 10:00 UTC. */
const daily = (days: number, from = 0) =>
  Array.from({ length: days }, (_, d) =>
    candidate(`r${from + d}`, uuid(from + d), dayStart(NOW) - d * DAY_MS + 10 * 3_600_000, `t${d % 4}`),
  );

describe('title rollups', () => {
  it('agree with counting every bucket, for random histories, windows, late events, redeliveries and producer retries', async () => {
    const entry = fc.record({
      daysBack: fc.integer({ min: 0, max: 33 }),
      msInDay: fc.integer({ min: 0, max: DAY_MS - 1 }),
      title: fc.integer({ min: 0, max: 3 }),
      reuseId: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 120 }),
        fc.array(entry, { maxLength: 20 }),
        fc.integer({ min: 0, max: DAY_MS - 1 }),
        fc.integer({ min: 0, max: 3 * DAY_MS }),
        async (history, late, asOfInDay, laterBy) => {
          const env = setup();
          env.clock.now = dayStart(NOW) + asOfInDay;
          let n = 0;
          const make = (es: typeof history) => {
            const out: HistoryCandidate[] = [];
            for (const e of es) {
              const t = dayStart(env.clock.now) - e.daysBack * DAY_MS + e.msInDay;
              // An eventId reused at another time of its UTC day, for the same title, in another bucket: another
              // impression (the duplicate rule is profile, eventId and event time), counted as the list shows it.
              const prev = e.reuseId
                ? out.find(
                    (c) =>
                      dayStart(c.impression.eventTimeMs) === dayStart(t) &&
                      Math.abs(c.impression.eventTimeMs - t) >= BUCKET_MS,
                  )
                : undefined;
              out.push(
                candidate(
                  `r${n++}`,
                  prev?.impression.eventId ?? uuid(n),
                  t,
                  prev?.impression.titleId ?? `t${e.title}`,
                ),
              );
            }
            return out;
          };
          const first = make(history);
          await admitAll(env, first);
          await expectExact(env); // cold: builds some rollups
          await expectExact(env); // warmer: rollups used
          env.clock.now += laterBy; // days move from recent to rollup days
          await admitAll(env, make(late)); // late events invalidate
          await admitAll(env, first); // a redelivered batch: same records
          await admitAll(
            env,
            first.slice(0, 10).map((c) => ({ ...c, recordId: `retry-${c.recordId}` })),
          ); // producer retries: duplicates
          await expectExact(env);
          await expectExact(env);
          await new Promise<void>((r) => setImmediate(r));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('are built by readers for whole days before yesterday, at most a few per request, then serve reads', async () => {
    const env = setup();
    await admitAll(env, daily(30));
    expect(env.built()).toHaveLength(0); // the writer never builds
    const before = env.ddb.capacity.rcu;
    await expectExact(env);
    expect(env.built().length).toBeGreaterThan(0);
    expect(env.built().length).toBeLessThanOrEqual(MAX_BUILDS_PER_REQUEST * ALL_WINDOWS.length);
    const cold = env.ddb.capacity.rcu - before;
    for (let i = 0; i < 8; i++) await expectExact(env);
    // 30d window at 12:00: 29 whole days before it, of which days −2 … −29 (28) are rollup days.
    expect(env.built()).toHaveLength(28);
    const reads = env.ddb.capacity.reads;
    const start = env.ddb.capacity.rcu;
    await env.counts('30d');
    // The erasure marker's GetItem, one rollup query and two bucket queries (the partial edge day;
    // yesterday and today).
    expect(env.ddb.capacity.reads - reads).toBe(4);
    expect(env.ddb.capacity.rcu - start).toBeLessThan(cold / 4);
    expect(env.rollup(dayStart(NOW) - DAY_MS)).toBeUndefined(); // yesterday: buckets only
  });

  it('a late impression is added to its day’s built rollup (a delta): the next read stays warm and exact', async () => {
    const env = setup();
    await admitAll(env, daily(10));
    for (let i = 0; i < 3; i++) await expectExact(env);
    const day = dayStart(NOW) - 5 * DAY_MS;
    const built = env.rollup(day)!;
    expect(built.c).toBeDefined();
    const warm = env.ddb.capacity.rcu;
    await env.counts('7d');
    const warmRcu = env.ddb.capacity.rcu - warm;
    const late = candidate('late', uuid(999), day + 3_600_000, 't1');
    const r = await env.writer.admit([late], SETTINGS);
    expect(r.stored).toBe(1);
    const added = env.rollup(day)!;
    expect(added.c).toBeDefined();
    expect(added.b).not.toBe(built.b);
    expect(added.d).not.toBe(built.d); // a reader that read the buckets before it cannot store over it
    const before = env.ddb.capacity.rcu;
    const served = await env.counts('7d');
    const readRcu = env.ddb.capacity.rcu - before;
    expect(served.get('t1')!.count).toBe((await env.reference('7d')).get('t1')!.count);
    expect(env.rollup(day)!.b).toBe(added.b); // served as it is, not rebuilt
    expect(readRcu).toBeLessThanOrEqual(warmRcu + 1);
    await expectExact(env);
    // A redelivery of the same record (its first attempt may have died before its delta) invalidates.
    await env.writer.admit([late], SETTINGS);
    const dirty = env.rollup(day)!;
    expect(dirty.c).toBeUndefined();
    expect(typeof dirty.d).toBe('string');
    await expectExact(env);
    expect(env.rollup(day)?.c).toBeDefined();
    expect(env.rollup(day)?.d).toBe(dirty.d); // kept: the next invalidation replaces it
  });

  it('a late impression whose rollup changed between the writer’s read and its delta: nothing lost, never stale', async () => {
    const env = setup();
    await admitAll(env, daily(10));
    for (let i = 0; i < 3; i++) await expectExact(env);
    const day = dayStart(NOW) - 5 * DAY_MS;
    const armed = { on: true };
    const racing = historyStore(
      {
        send: async (cmd: unknown) => {
          const out = await env.ddb.client.send(cmd as UpdateCommand);
          if (armed.on && cmd instanceof UpdateCommand && String(cmd.input.Key?.sk).startsWith('B#')) {
            armed.on = false;
            // After the bucket write and before the delta: another writer adds a late impression of the same
            // day to the rollup (a new build token).
            await env.writer.admit([candidate('other', uuid(998), day + 7_200_000, 't1')], SETTINGS);
            expect(env.rollup(day)?.c).toBeDefined();
          }
          return out;
        },
      } as unknown as DynamoDBDocumentClient,
      'history',
      undefined,
      { nowMs: () => env.clock.now },
    );
    const r = await racing.admit([candidate('late', uuid(999), day + 3_600_000, 't1')], SETTINGS);
    expect(r.stored).toBe(1);
    expect(armed.on).toBe(false);
    // The delta's condition (the build it read) failed: the day was invalidated instead of overwriting the
    // other writer's delta.
    expect(env.rollup(day)?.c).toBeUndefined();
    await expectExact(env);
    await expectExact(env);
  });

  it('an on-time impression (today, yesterday) writes no rollup item', async () => {
    const env = setup();
    const before = env.ddb.capacity.writes;
    const r = await env.writer.admit(daily(2), SETTINGS);
    expect(r.stored).toBe(2);
    expect(env.ddb.capacity.writes - before).toBe(r.writes);
    expect([...env.ddb.table('history').values()].filter((i) => String(i.sk).startsWith('R#'))).toHaveLength(
      0,
    );
    expect(env.ddb.capacity.wcuByItemKind.R).toBeUndefined();
  });

  it('a writer that stores into a day between the reader’s bucket read and its put: no stale rollup is stored', async () => {
    const racing = {
      armed: false,
      day: 0,
      n: 0,
      writer: undefined as ReturnType<typeof historyStore> | undefined,
    };
    const env = setup(
      (inner) =>
        ({
          send: async (cmd: unknown) => {
            const out = await inner.send(cmd as QueryCommand);
            if (
              racing.armed &&
              cmd instanceof QueryCommand &&
              cmd.input.ConsistentRead &&
              cmd.input.ExpressionAttributeValues?.[':lo'] === bucketSortKey(racing.day)
            ) {
              racing.armed = false; // the build's bucket read is done; the writer lands before the put
              racing.n++;
              await racing.writer!.admit(
                [candidate(`race${racing.n}`, uuid(700 + racing.n), racing.day + racing.n * 7_200_000, 't2')],
                SETTINGS,
              );
            }
            return out;
          },
        }) as unknown as DynamoDBDocumentClient,
    );
    racing.writer = env.writer;
    await admitAll(env, daily(4));
    const day = dayStart(NOW) - 3 * DAY_MS; // the only rollup day of a 7d window with 3 days of history
    for (const existing of [false, true]) {
      // First with no rollup item (condition: none exists), then with an invalidated one (its token).
      // A redelivery invalidates the built rollup (a first delivery would add to it).
      const late2 = candidate('late2', uuid(778), day + 60_000, 't3');
      if (existing) for (let k = 0; k < 2; k++) await env.writer.admit([late2], SETTINGS);
      expect(env.rollup(day)?.c).toBeUndefined();
      racing.armed = true;
      racing.day = day;
      const answer = await env.counts('7d');
      expect(racing.armed).toBe(false);
      expect(env.rollup(day)?.c, 'a rollup that misses the racing impression was stored').toBeUndefined();
      expect(answer.get('t2')!.count).toBeLessThan((await env.reference('7d')).get('t2')!.count);
      await expectExact(env); // built now, with the racing impressions
      expect(env.rollup(day)?.c).toBeDefined();
      await expectExact(env);
      if (!existing) await env.writer.admit([candidate('late3', uuid(779), day + 120_000, 't2')], SETTINGS);
    }
  });

  it('builds read the day with strongly consistent queries, which reflect all prior successful writes (DynamoDB developer guide, "DynamoDB read consistency"; the stand-in is always consistent)', async () => {
    const queries: { lo: string; consistent: boolean }[] = [];
    const env = setup(
      (inner) =>
        ({
          send: async (cmd: unknown) => {
            if (cmd instanceof QueryCommand)
              queries.push({
                lo: String(cmd.input.ExpressionAttributeValues?.[':lo']),
                consistent: cmd.input.ConsistentRead === true,
              });
            return inner.send(cmd as QueryCommand);
          },
        }) as unknown as DynamoDBDocumentClient,
    );
    await admitAll(env, daily(10));
    await env.counts('7d');
    const built = env.built().map((i) => String(i.sk).slice(2));
    expect(built).toHaveLength(MAX_BUILDS_PER_REQUEST);
    for (const day of built) {
      const q = queries.find((x) => x.lo === bucketSortKey(Date.parse(`${day}T00:00:00.000Z`)));
      expect(q?.consistent, day).toBe(true);
    }
  });

  it('erasure removes the rollups with the buckets', async () => {
    const env = setup();
    await admitAll(env, daily(10));
    for (let i = 0; i < 3; i++) await expectExact(env);
    expect(env.built().length).toBeGreaterThan(0);
    const items = [...env.ddb.table('history').values()].filter((i) => i.pk === 'P#p');
    // Buckets, day counters and rollups: every item of the profile, each counted once.
    expect(items.some((i) => String(i.sk).startsWith('B#'))).toBe(true);
    const readBefore = env.ddb.capacity.readBytes;
    const returnedBefore = env.ddb.capacity.returnedBytes;
    const { deleted, complete } = await env.writer.erase('p');
    // The erasure's Query reads every item (that is charged) but returns only the keys; it reads the
    // erasure marker it wrote first, too, and keeps it.
    const left = () => [...env.ddb.table('history').values()].filter((i) => i.pk === 'P#p');
    const [marker] = left();
    const size = (xs: Record<string, unknown>[]) => xs.reduce((n, i) => n + itemSize(i), 0);
    expect(env.ddb.capacity.readBytes - readBefore).toBe(size([...items, marker!]));
    expect(env.ddb.capacity.returnedBytes - returnedBefore).toBe(
      size([...items, marker!].map((i) => ({ pk: i.pk, sk: i.sk }))),
    );
    expect(deleted).toBe(items.length);
    expect(complete).toBe(true);
    expect(left().map((i) => i.sk)).toEqual(['E#']);
    for (const c of (await env.counts('30d')).values()) expect(c).toEqual({ count: 0, lastSeenAt: null });
  });
  it('titles named like Object.prototype members (__proto__, constructor, toString) count exactly, through the SDK’s marshalling, from buckets and from rollups', async () => {
    const env = setup();
    const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 't0'];
    // Two impressions a day of each title, on the 10 days back from NOW.
    const cs = Array.from({ length: 10 }, (_, d) =>
      odd.flatMap((title, k) =>
        [0, 1].map((j) =>
          candidate(
            `o${d}-${k}-${j}`,
            uuid(10_000 + d * 100 + k * 10 + j),
            dayStart(NOW) - d * DAY_MS + (10 + j) * 3_600_000,
            title,
          ),
        ),
      ),
    ).flat();
    await admitAll(env, cs);
    const from = NOW - WINDOWS['30d'] + 1;
    for (let round = 0; round < 4; round++) {
      const got = await env.store.titleCounts('p', from, NOW, odd);
      for (const title of odd) expect(got.get(title)?.count, `${title} round ${round}`).toBe(20);
    }
    // Rollups were built and stored (none refused by the SDK), and they hold every title.
    expect(env.built().length).toBeGreaterThanOrEqual(MAX_BUILDS_PER_REQUEST);
  });
  it('the same eventId at two event times (two days, and two buckets of one day) is two impressions: the list and every window’s count agree', async () => {
    const env = setup();
    const id = uuid(4242);
    const times = [
      dayStart(NOW) - 5 * DAY_MS + 3_600_000, // a rollup day
      dayStart(NOW) - 5 * DAY_MS + 7_200_000, // the same day, another bucket
      dayStart(NOW) - 3 * DAY_MS + 3_600_000, // another rollup day
      dayStart(NOW) + 3_600_000, // today (buckets)
    ];
    await admitAll(
      env,
      times.map((t, k) => candidate(`same-${k}`, id, t, 't0')),
    );
    const listed = await env.store.listHistory({
      profileId: 'p',
      since: null,
      until: null,
      after: null,
      titleId: 't0',
      limit: 100,
    });
    expect(listed.impressions.map((i) => i.eventTimeMs).sort()).toEqual([...times].sort());
    for (let round = 0; round < 3; round++) {
      const got = await env.store.titleCounts('p', NOW - WINDOWS['7d'] + 1, NOW, ['t0']);
      expect(got.get('t0')?.count, `round ${round}`).toBe(listed.impressions.length);
      await expectExact(env);
    }
  });
});
