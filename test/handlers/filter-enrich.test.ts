import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler, makeFilterEnrich, makeHandler } from '../../lambdas/filter-enrich/handler.js';
import {
  FILTER_ENRICH_ENV,
  filterEnrichEnvironment,
  filterEnrichSettings,
} from '../../lambdas/filter-enrich/settings.js';
import { historyStore } from '../../lambdas/history-store/index.js';
import { impressionsOfItem } from '../../lambdas/history-store/item-codec.js';
import { impression, kinesisEvent, rawRecord } from '../support/factories.js';
import { filterEnrichDeps, noErasures } from '../support/handlers.js';
import { memoryDynamo } from '../support/memory-aws.js';

const FAST = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };

/** The in-memory enriched and rejected sinks of the handler under test (see `withHistory`). */
let out: Pick<ReturnType<typeof filterEnrichDeps>, 'enriched' | 'rejected'>;
const putsTo = (stream: 'enriched' | 'rejected') => out[stream].puts;
const rowsOn = (stream: 'enriched' | 'rejected') => out[stream].rows();
const resetSinks = () => {
  out.enriched.reset();
  out.rejected.reset();
};

/** filter-enrich over an in-memory history table (the real store and its conditional writes). */
function withHistory(limits = { perWindow: 1000, perDay: 20_000 }) {
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
  const store = historyStore(ddb.client, 'history', FAST);
  const { d, enriched, rejected } = filterEnrichDeps({
    history: store,
    historySettings: { retentionDays: 30, limits },
  });
  out = { enriched, rejected };
  const stored = () =>
    [...ddb.table('history').values()].flatMap((item) => impressionsOfItem(item).map((i) => i.eventId));
  return { ddb, store, handler: makeHandler(d), stored };
}

const outcomeOf = (stream: 'enriched' | 'rejected') => rowsOn(stream).map((r) => r.event_id ?? r.reason);

describe('filter-enrich handler', () => {
  it('writes history, enriched and rejected records and reports no failures for data errors', async () => {
    const { handler, stored } = withHistory();
    const good = rawRecord(impression());
    const bad = rawRecord('garbage');
    const res = await handler(kinesisEvent([good, bad]));
    expect(res.batchItemFailures).toEqual([]);
    const enriched = putsTo('enriched');
    expect(enriched).toHaveLength(1);
    expect(enriched[0]![0]!.partitionKey).toBe('profile-1');
    expect(rowsOn('rejected')[0]).toMatchObject({
      reason: 'decode.not-json',
      raw: 'garbage',
      sequence_number: bad.sequenceNumber,
    });
    expect(stored()).toEqual([JSON.parse(Buffer.from(good.data).toString()).eventId]);
  });

  it('reports exactly the records whose enriched write never succeeded; their redelivery is enriched again, not a duplicate', async () => {
    const { handler } = withHistory();
    out.enriched.failWhen((e) => e.record.position === 7);
    const ok = rawRecord(impression());
    const failing = rawRecord(impression({ position: 7 }));
    const res = await handler(kinesisEvent([ok, failing]));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: failing.sequenceNumber }]);
    resetSinks();
    const again = await handler(kinesisEvent([failing]));
    expect(again.batchItemFailures).toEqual([]);
    expect(rowsOn('enriched').map((r) => r.position)).toEqual([7]);
  });

  it('reports the whole batch when the history table refuses access, never dropping it', async () => {
    const { d } = filterEnrichDeps({
      history: {
        admit: async () => {
          throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
        },
        erasures: noErasures,
      },
    });
    const records = [rawRecord(impression()), rawRecord('x')];
    const res = await makeHandler(d)(kinesisEvent(records));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.sequenceNumber));
  });

  it('is its entry point behind a decoded event: given the records themselves (as redrive reads them), it leaves for retry exactly what the handler reports', async () => {
    const ok = rawRecord(impression());
    const failing = rawRecord(impression({ position: 7 }));
    // The same deployment twice over, each with its own history: once as the Lambda handler, once as the entry point.
    const deployment = () => {
      const fe = filterEnrichDeps({
        history: historyStore(memoryDynamo({ throttle: 0, partial: 0, seed: 1 }).client, 'history', FAST),
      });
      fe.enriched.failWhen((e) => e.record.position === 7);
      return fe;
    };
    const reported = await makeHandler(deployment().d)(kinesisEvent([ok, failing]));
    const { retry } = await makeFilterEnrich(deployment().d)([ok, failing]);
    expect(retry).toEqual([failing.sequenceNumber]);
    expect(reported.batchItemFailures).toEqual(retry.map((itemIdentifier) => ({ itemIdentifier })));
    // A batch-wide fault leaves every record, in the order given.
    const down = filterEnrichDeps({
      history: {
        admit: async () => {
          throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
        },
        erasures: noErasures,
      },
    }).d;
    expect((await makeFilterEnrich(down)([failing, ok])).retry).toEqual([
      failing.sequenceNumber,
      ok.sequenceNumber,
    ]);
  });

  it('reports only the records of a profile whose history writes stay throttled', async () => {
    const { ddb, handler } = withHistory();
    ddb.state.faultsOn = false;
    const stuck = rawRecord(impression({ profileId: 'stuck' }));
    const fine = rawRecord(impression());
    const original = ddb.client.send.bind(ddb.client);
    ddb.client.send = ((cmd: { input: { Key?: { pk?: string } } }) => {
      if (cmd.input.Key?.pk === 'P#stuck')
        return Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
      return original(cmd as never);
    }) as typeof ddb.client.send;
    const res = await handler(kinesisEvent([fine, stuck]));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: stuck.sequenceNumber }]);
    expect(rowsOn('enriched').map((r) => r.profile_id)).toEqual(['profile-1']);
  });
});

describe('filtered.duplicate: the same eventId, profile and event time, under another record', () => {
  const t = '2026-06-15T11:59:53.250Z';

  it('filters a producer retry in a later batch and within the batch, and enriches a redelivery again', async () => {
    const { handler, stored } = withHistory();
    const e = impression({ eventTime: t });
    const first = rawRecord(e);
    const retryInBatch = rawRecord(e);
    await handler(kinesisEvent([first, retryInBatch]));
    expect(outcomeOf('enriched')).toEqual([e.eventId]);
    resetSinks();
    const retryLater = rawRecord(e);
    // The same batch again (a redelivery), then a later producer retry.
    await handler(kinesisEvent([first, retryInBatch]));
    await handler(kinesisEvent([retryLater]));
    expect(outcomeOf('enriched')).toEqual([e.eventId]);
    expect(stored()).toEqual([e.eventId]);
  });

  it('detects duplicates where an endpoint does not return the item with a failed condition (reads it consistently instead)', async () => {
    // AWS returns the item with ConditionalCheckFailedException when asked (UpdateItem API reference,
    // ReturnValuesOnConditionCheckFailure); an endpoint that does not must not change any outcome.
    const { ddb, handler } = withHistory();
    const original = ddb.client.send.bind(ddb.client);
    ddb.client.send = (async (cmd: never) => {
      try {
        return await original(cmd);
      } catch (err) {
        if ((err as Error).name === 'ConditionalCheckFailedException')
          delete (err as { Item?: unknown }).Item;
        throw err;
      }
    }) as typeof ddb.client.send;
    const e = impression({ eventTime: t });
    await handler(kinesisEvent([rawRecord(e), rawRecord(impression({ eventTime: t }))]));
    const reads = ddb.capacity.reads;
    await handler(kinesisEvent([rawRecord(e), rawRecord(impression({ eventTime: t }))]));
    expect(ddb.capacity.reads).toBeGreaterThan(reads);
    expect(rowsOn('enriched')).toHaveLength(3);
  });

  it('is not a duplicate under another profile or at another event time (same or other bucket)', async () => {
    const { handler, stored } = withHistory();
    const e = impression({ eventTime: t });
    const variants = [
      e,
      { ...e, profileId: 'profile-2' },
      { ...e, eventTime: '2026-06-15T11:59:53.251Z' },
      { ...e, eventTime: '2026-06-15T11:59:43.250Z' },
    ];
    await handler(kinesisEvent(variants.slice(0, 2).map((v) => rawRecord(v))));
    await handler(kinesisEvent(variants.slice(2).map((v) => rawRecord(v))));
    expect(outcomeOf('enriched')).toEqual(variants.map((v) => v.eventId));
    expect(stored()).toHaveLength(4);
    // Each of them retried by its producer is a duplicate of its own.
    resetSinks();
    await handler(kinesisEvent(variants.map((v) => rawRecord(v))));
    expect(putsTo('enriched')).toHaveLength(0);
  });
});

describe('quality.profile-burst: caps per profile and window, and per day', () => {
  const base = Date.parse('2026-06-15T11:59:50.000Z');
  const burst = (profileId: string, n: number, from = base, stepMs = 5) =>
    Array.from({ length: n }, (_, i) =>
      rawRecord(impression({ profileId, eventTime: new Date(from + i * stepMs).toISOString() }), {
        partitionKey: profileId,
      }),
    );

  it('rejects what passes 1,000 impressions in a 10-second window, across batches, and never fails another profile', async () => {
    const { handler } = withHistory();
    const heavy = burst('heavy', 1200, base, 5);
    const other = burst('light', 3, base, 5);
    const r1 = await handler(kinesisEvent([...heavy.slice(0, 600), ...other]));
    const r2 = await handler(kinesisEvent(heavy.slice(600)));
    expect([...r1.batchItemFailures, ...r2.batchItemFailures]).toEqual([]);
    const enriched = rowsOn('enriched');
    expect(enriched.filter((r) => r.profile_id === 'heavy')).toHaveLength(1000);
    expect(enriched.filter((r) => r.profile_id === 'light')).toHaveLength(3);
    const rejected = rowsOn('rejected');
    expect(rejected).toHaveLength(200);
    expect(rejected.every((r) => r.reason === 'quality.profile-burst')).toBe(true);
    // The first 1,000 in stream order are the ones kept.
    expect(new Set(rejected.map((r) => r.sequence_number))).toEqual(
      new Set(heavy.slice(1000).map((r) => r.sequenceNumber)),
    );
  });

  it('gives a redelivered burst batch the same outcomes', async () => {
    const { handler } = withHistory({ perWindow: 5, perDay: 100 });
    const batch = burst('p', 8);
    await handler(kinesisEvent(batch));
    const first = [outcomeOf('enriched'), outcomeOf('rejected')];
    resetSinks();
    await handler(kinesisEvent(batch));
    expect([outcomeOf('enriched'), outcomeOf('rejected')]).toEqual(first);
    expect(first[0]).toHaveLength(5);
  });

  it('caps a profile per UTC day of event time across windows and batches, exactly', async () => {
    const { handler, ddb } = withHistory({ perWindow: 50, perDay: 120 });
    // 3 windows × 50, in three batches: 150 offered, 120 kept, a retry of a kept one stays a duplicate.
    for (let w = 0; w < 3; w++) await handler(kinesisEvent(burst('p', 50, base - 60_000 + w * 10_000, 10)));
    expect(rowsOn('enriched')).toHaveLength(120);
    expect(rowsOn('rejected').map((r) => r.reason)).toEqual(new Array(30).fill('quality.profile-burst'));
    expect(rowsOn('rejected')[0].detail).toContain('more than 120 impressions of the profile on 2026-06-15');
    const day = ddb.table('history').get(
      JSON.stringify(
        [
          ['pk', 'P#p'],
          ['sk', 'D#2026-06-15'],
        ].sort(),
      ),
    );
    expect(day?.n).toBe(120);
  });
});

describe('rejected rows are put under a bounded key of our own', () => {
  it('never uses the producer’s key, which the row keeps cut to 256 characters', async () => {
    const { handler } = withHistory();
    const longKey = 'k'.repeat(300);
    const res = await handler(kinesisEvent([rawRecord('not json', { partitionKey: longKey })]));
    expect(res.batchItemFailures).toEqual([]);
    const put = putsTo('rejected')[0]![0]!;
    expect(put.partitionKey).toMatch(/^r-[A-Za-z0-9_-]{8}$/);
    expect(put.row.partition_key).toBe('k'.repeat(256));
  });
});

describe('settings', () => {
  const env = {
    ENRICHED_STREAM_NAME: 'e',
    REJECTED_STREAM_NAME: 'r',
    CATALOG_TABLE_NAME: 'c',
    HISTORY_TABLE_NAME: 'h',
    RETENTION_DAYS: '30',
    PROFILE_BURST_PER_WINDOW: '1000',
    PROFILE_BURST_PER_DAY: '20000',
    MAX_USER_RECORDS_PER_AGGREGATE: '1000',
    MIN_VISIBLE_PERCENT: '50',
    MIN_VISIBLE_MS: '1000',
    TEST_PROFILES: '',
    AGGREGATE_ENRICHED: 'false',
  };
  const settingsOf = (overrides: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries({ ...env, ...overrides })) vi.stubEnv(k, v);
    return filterEnrichSettings();
  };
  afterEach(() => vi.unstubAllEnvs());
  it('reads every setting strictly at cold start, naming a missing or malformed one', () => {
    expect(settingsOf({}).historySettings.limits).toEqual({ perWindow: 1000, perDay: 20000 });
    expect(() => settingsOf({ PROFILE_BURST_PER_DAY: undefined })).toThrow(/PROFILE_BURST_PER_DAY/);
    expect(() => settingsOf({ MAX_USER_RECORDS_PER_AGGREGATE: '1e3' })).toThrow(
      /MAX_USER_RECORDS_PER_AGGREGATE/,
    );
    expect(() => settingsOf({ RETENTION_DAYS: '0' })).toThrow(/RETENTION_DAYS/);
    expect(() => settingsOf({ HISTORY_TABLE_NAME: '' })).toThrow(/HISTORY_TABLE_NAME/);
  });
  it('has no defaults of its own: every declared setting is required, and a malformed value is named', () => {
    for (const name of Object.values(FILTER_ENRICH_ENV))
      expect(() => settingsOf({ [name]: undefined }), name).toThrow(new RegExp(name));
    expect(() => settingsOf({ MIN_VISIBLE_PERCENT: 'fifty' })).toThrow(/MIN_VISIBLE_PERCENT/);
    expect(() => settingsOf({ MIN_VISIBLE_PERCENT: '101' })).toThrow(/MIN_VISIBLE_PERCENT/);
    expect(() => settingsOf({ AGGREGATE_ENRICHED: 'ja' })).toThrow(/AGGREGATE_ENRICHED/);
  });
  it('reads back what the stack writes', () => {
    const values = {
      enrichedStreamName: 'e',
      rejectedStreamName: 'r',
      catalogTableName: 'c',
      historyTableName: 'h',
      retentionDays: 30,
      profileBurstPerWindow: 7,
      profileBurstPerDay: 70,
      maxUserRecordsPerAggregate: 500,
      minVisiblePercent: 62.5,
      minVisibleMs: 0,
      testProfiles: ['bot-1', 'bot-2'],
      aggregateEnriched: true,
    };
    const s = settingsOf(filterEnrichEnvironment(values));
    expect(s).toMatchObject({
      enrichedStreamName: 'e',
      historySettings: { retentionDays: 30, limits: { perWindow: 7, perDay: 70 } },
      maxUserRecordsPerAggregate: 500,
      aggregateEnriched: true,
      config: { minVisiblePercent: 62.5, minVisibleMs: 0, testProfiles: new Set(['bot-1', 'bot-2']) },
    });
  });
  it('fails the cold start of the deployed handler, naming the missing setting', () => {
    for (const k of Object.values(FILTER_ENRICH_ENV)) vi.stubEnv(k, undefined);
    expect(() => handler(kinesisEvent([]))).toThrow(/ENRICHED_STREAM_NAME/);
  });
});
