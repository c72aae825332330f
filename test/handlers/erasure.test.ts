/**
 * An erasure stays erased (`filtered.erased`, history API `DELETE`): impressions of the erased profile up to
 * the erasure that are still on the stream (a retried batch, a second delivery, a redrive) are neither
 * stored nor enriched; later ones are accepted; a heavy profile's erasure is bounded per request and
 * resumable, and both GET routes answer as for a new profile at once.
 */
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  applyErasures,
  historyCandidate,
  planBatch,
  type RawRecord,
} from '../../lambdas/domain/filter-enrich.js';
import { makeHandler } from '../../lambdas/filter-enrich/handler.js';
import type { ContinueErasure, ErasureContinuation } from '../../lambdas/history-api/erase-continuation.js';
import { makeHandler as makeApiHandler } from '../../lambdas/history-api/handler.js';
import { historyStore } from '../../lambdas/history-store/index.js';
import { ERASURE_SORT_KEY, impressionsOfItem } from '../../lambdas/history-store/item-codec.js';
import { apiEvent, CALLERS, keyring, POLICY, parse } from '../support/api.js';
import { drive } from '../support/esm-driver.js';
import { impression, kinesisEvent, NOW_MS, rawRecord } from '../support/factories.js';
import { filterEnrichDeps } from '../support/handlers.js';
import { memoryDynamo } from '../support/memory-aws.js';
import { DEFAULT_CLASSIFIER_CONFIG } from '../support/oracles.js';

const FAST = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };
const SETTINGS = { retentionDays: 30, limits: { perWindow: 1000, perDay: 20_000 } };
/** The deployed event source mapping's retry settings (infra/config.ts `consumer`). */
const MAPPING = { batchSize: 100, maxRetries: 10, bisectOnError: true } as const;

let seq = 1000;
const nextSeq = () => String(++seq);

/** filter-enrich and the history API over one in-memory history table, with a clock the test moves. */
function pipeline(options: { maxItems?: number; continueErasure?: ContinueErasure } = {}) {
  const clock = { ms: NOW_MS };
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 7 });
  const store = historyStore(ddb.client, 'history', FAST, { nowMs: () => clock.ms });
  const { d, enriched, rejected } = filterEnrichDeps({ history: store, historySettings: SETTINGS });
  const filterEnrich = makeHandler(d);
  const api = makeApiHandler({
    store,
    cursorKeys: keyring,
    authorization: POLICY,
    nowMs: () => clock.ms,
    erasure: { retentionDays: 30, ...(options.maxItems ? { maxItems: options.maxItems } : {}) },
    ...(options.continueErasure ? { continueErasure: options.continueErasure } : {}),
  });
  const items = (profileId: string) =>
    [...ddb.table('history').values()].filter((i) => i.pk === `P#${profileId}`);
  const stored = (profileId: string) => items(profileId).flatMap((i) => impressionsOfItem(i));
  const erase = async (profileId: string, context?: { getRemainingTimeInMillis: () => number }) => {
    const r = await api(
      apiEvent('DELETE', `/v1/profiles/${profileId}/impressions`, { userArn: CALLERS.eraser }),
      context ? { awsRequestId: 'r', ...context } : undefined,
    );
    expect(r.statusCode).toBe(202);
    return parse(r) as { profileId: string; deleted: number; complete: boolean };
  };
  const list = async (profileId: string) =>
    parse(await api(apiEvent('GET', `/v1/profiles/${profileId}/impressions`))) as {
      items: { eventId: string }[];
      nextCursor: string | null;
    };
  const frequency = async (profileId: string, titleId: string, window = '7d') =>
    parse(
      await api(apiEvent('GET', `/v1/profiles/${profileId}/frequency?titleIds=${titleId}&window=${window}`)),
    ).titles[0] as { count: number; lastSeenAt: string | null };
  return { clock, ddb, store, api, filterEnrich, enriched, rejected, items, stored, erase, list, frequency };
}

/** A Kinesis record of an impression of `profileId` at `eventTimeMs`, arriving at `arrivalMs`. */
const record = (profileId: string, eventTimeMs: number, arrivalMs = eventTimeMs + 1_000, titleId = 'tt-1') =>
  rawRecord(
    impression({ profileId, titleId, entityId: titleId, eventTime: new Date(eventTimeMs).toISOString() }),
    {
      sequenceNumber: nextSeq(),
      arrivalMs,
    },
  );

/** The same user record put on the stream again (a redrive): a new sequence number, its original arrival. */
const reput = (r: RawRecord): RawRecord => ({ ...r, sequenceNumber: nextSeq() });

const eventIdsOn = (sink: { rows: () => { event_id: string }[] }) => sink.rows().map((r) => r.event_id);
const idOf = (r: RawRecord) => JSON.parse(Buffer.from(r.data).toString('utf8')).eventId as string;
const plan = (records: readonly RawRecord[]) =>
  planBatch(records, DEFAULT_CLASSIFIER_CONFIG, { titles: async () => new Map() });

describe('filtered.erased: what the stream still holds of an erased profile is never stored again', () => {
  it('a retried batch after DELETE re-creates nothing, and an impression after the erasure is stored', async () => {
    const p = pipeline();
    const batch = [0, 1, 2].map((k) => record('erased-1', NOW_MS - 60_000 + k * 15_000));
    expect((await p.filterEnrich(kinesisEvent(batch))).batchItemFailures).toEqual([]);
    expect(p.stored('erased-1')).toHaveLength(3);
    p.clock.ms = NOW_MS + 5_000;
    const del = await p.erase('erased-1');
    expect(del).toEqual({ profileId: 'erased-1', deleted: 4, complete: true }); // 3 buckets, 1 day counter
    p.enriched.reset();

    const later = record('erased-1', NOW_MS + 6_000);
    // The same batch delivered again (the checkpoint had not moved), with a post-erasure impression.
    const res = await p.filterEnrich(kinesisEvent([...batch, later]));
    expect(res.batchItemFailures).toEqual([]);
    expect(p.stored('erased-1').map((i) => i.eventId)).toEqual([idOf(later)]);
    expect(eventIdsOn(p.enriched)).toEqual([idOf(later)]);
    expect(p.rejected.rows()).toEqual([]);
    expect((await p.list('erased-1')).items.map((i) => i.eventId)).toEqual(eventIdsOn(p.enriched));
    p.clock.ms = NOW_MS + 10_000;
    expect(await p.frequency('erased-1', 'tt-1')).toMatchObject({ count: 1 });
  });

  it('the outcome of each record is filtered.erased, counted as a filter reason', async () => {
    const p = pipeline();
    const r = record('erased-2', NOW_MS - 1_000);
    p.clock.ms = NOW_MS + 1_000;
    await p.erase('erased-2');
    const planned = await plan([r]);
    const { at } = await p.store.erasures(['erased-2', 'never-erased']);
    expect([...at]).toEqual([['erased-2', NOW_MS + 1_000]]);
    const applied = applyErasures(planned, at);
    expect(applied.outcomes).toEqual([{ outcome: 'filtered', reason: 'filtered.erased' }]);
    expect(applied.enriched).toEqual([]);
    // An impression exactly at the erasure is covered; one a millisecond later is not.
    const at1 = { ...planned.enriched[0]!, eventTimeMs: NOW_MS + 1_000 };
    const at2 = { ...planned.enriched[0]!, eventTimeMs: NOW_MS + 1_001 };
    expect(applyErasures({ ...planned, enriched: [at1] }, at).enriched).toEqual([]);
    expect(applyErasures({ ...planned, enriched: [at2] }, at).enriched).toEqual([at2]);
  });

  it('a redrive after the erasure stores nothing and enriches nothing', async () => {
    const p = pipeline();
    const batch = [0, 1].map((k) => record('erased-3', NOW_MS - 30_000 + k * 10_000));
    await p.filterEnrich(kinesisEvent(batch));
    p.clock.ms = NOW_MS + 10_000;
    await p.erase('erased-3');
    p.enriched.reset();
    // What `npm run redrive` does: forget what the records stored, then put them on the stream again.
    const planned = await plan(batch);
    await p.store.forgetFromRecord(planned.enriched.map(historyCandidate));
    const res = await p.filterEnrich(kinesisEvent(batch.map(reput)));
    expect(res.batchItemFailures).toEqual([]);
    expect(p.stored('erased-3')).toEqual([]);
    expect(p.enriched.rows()).toEqual([]);
    expect(p.items('erased-3').map((i) => i.sk)).toEqual([ERASURE_SORT_KEY]);
  });

  it('through the event source mapping: a batch delivered again after DELETE re-creates nothing', async () => {
    const p = pipeline();
    const records = Array.from({ length: 6 }, (_, k) => record('erased-4', NOW_MS - 100_000 + k * 11_000));
    let erased = false;
    const report = await drive(
      records,
      async (event) => {
        const out = await p.filterEnrich(event);
        // The erasure lands between the first delivery of the batch and its second.
        if (!erased) {
          erased = true;
          p.clock.ms = NOW_MS + 1_000;
          await p.erase('erased-4');
          p.enriched.reset();
        }
        return out;
      },
      { ...MAPPING, duplicateDelivery: true },
    );
    expect(report.onFailure).toEqual([]);
    expect(report.invocations).toBe(2);
    expect(p.stored('erased-4')).toEqual([]);
    expect(p.enriched.rows()).toEqual([]);
    expect((await p.list('erased-4')).items).toEqual([]);
  });

  it('an erasure between the history write and the enriched stream: nothing reaches the lake or the reads', async () => {
    const p = pipeline();
    const { d, enriched, rejected } = filterEnrichDeps({
      history: {
        erasures: p.store.erasures,
        admit: async (candidates, settings) => {
          const r = await p.store.admit(candidates, settings);
          p.clock.ms = NOW_MS + 2_000;
          await p.store.erase('erased-5', { retentionDays: 30 });
          return r;
        },
      },
      historySettings: SETTINGS,
    });
    const racing = makeHandler(d);
    const other = record('kept-5', NOW_MS - 2_000);
    const res = await racing(kinesisEvent([record('erased-5', NOW_MS - 1_000), other]));
    expect(res.batchItemFailures).toEqual([]);
    // The erasure deleted what the batch stored before it; the impression is not enriched.
    expect(p.stored('erased-5')).toEqual([]);
    expect(eventIdsOn(enriched)).toEqual([idOf(other)]);
    expect(rejected.rows()).toEqual([]);
    expect((await p.list('erased-5')).items).toEqual([]);
    expect(p.stored('kept-5')).toHaveLength(1);
  });

  it('a marker that cannot be read (throttled) leaves the records of that profile for retry, unstored', async () => {
    const p = pipeline();
    const original = p.ddb.client.send.bind(p.ddb.client);
    p.ddb.client.send = ((cmd: unknown) => {
      if (cmd instanceof BatchGetCommand)
        return Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
      return original(cmd as never);
    }) as typeof p.ddb.client.send;
    const r = record('unread-6', NOW_MS - 1_000);
    const res = await p.filterEnrich(kinesisEvent([r]));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: r.sequenceNumber }]);
    expect(p.stored('unread-6')).toEqual([]);
    expect(p.enriched.rows()).toEqual([]);
  });

  it('a second erasure moves the marker forward; what came between is erased too', async () => {
    const p = pipeline();
    p.clock.ms = NOW_MS;
    await p.erase('erased-7');
    const between = record('erased-7', NOW_MS + 1_000);
    await p.filterEnrich(kinesisEvent([between]));
    expect(p.stored('erased-7')).toHaveLength(1);
    p.clock.ms = NOW_MS + 60_000;
    expect(await p.erase('erased-7')).toEqual({ profileId: 'erased-7', deleted: 2, complete: true });
    const marker = p.items('erased-7').find((i) => i.sk === ERASURE_SORT_KEY);
    expect(marker?.e).toBe(NOW_MS + 60_000);
    expect(marker?.x).toBe(Math.floor((NOW_MS + 60_000 + 30 * 86_400_000) / 1000));
    p.enriched.reset();
    await p.filterEnrich(kinesisEvent([reput(between)]));
    expect(p.stored('erased-7')).toEqual([]);
    expect(p.enriched.rows()).toEqual([]);
  });
});

describe('DELETE of a heavy profile: bounded per request, resumable, invisible at once', () => {
  /** A profile with `n` impressions, each in its own bucket (n bucket items and one day counter). */
  async function heavy(p: ReturnType<typeof pipeline>, profileId: string, n: number) {
    const records = Array.from({ length: n }, (_, k) => record(profileId, NOW_MS - 3_600_000 + k * 10_000));
    for (let i = 0; i < records.length; i += 100)
      expect((await p.filterEnrich(kinesisEvent(records.slice(i, i + 100)))).batchItemFailures).toEqual([]);
    expect(p.stored(profileId)).toHaveLength(n);
  }

  it('answers complete: false past its bound, reads show a new profile at once, and a repeat completes it', async () => {
    const p = pipeline({ maxItems: 40 });
    await heavy(p, 'heavy-1', 150);
    expect((await p.list('heavy-1')).items.length).toBeGreaterThan(0);
    p.clock.ms = NOW_MS + 1_000;
    const first = await p.erase('heavy-1');
    expect(first).toEqual({ profileId: 'heavy-1', deleted: 40, complete: false });
    // 151 items minus 40: still stored, but neither GET route shows them.
    expect(p.items('heavy-1')).toHaveLength(151 - 40 + 1);
    expect(await p.list('heavy-1')).toEqual({ profileId: 'heavy-1', items: [], nextCursor: null });
    for (const w of ['1h', '1d', '7d', '30d'])
      expect(await p.frequency('heavy-1', 'tt-1', w)).toEqual({
        titleId: 'tt-1',
        count: 0,
        lastSeenAt: null,
      });
    // A post-erasure impression is served at once, alone.
    const later = record('heavy-1', NOW_MS + 2_000);
    await p.filterEnrich(kinesisEvent([later]));
    expect((await p.list('heavy-1')).items).toHaveLength(1);
    // The rest, removed by repeated DELETEs (each at most 40 items) until one says complete.
    p.clock.ms = NOW_MS + 3_000;
    const rest = p.items('heavy-1').length - 1;
    const answers: { deleted: number; complete: boolean }[] = [];
    do answers.push(await p.erase('heavy-1'));
    while (!answers.at(-1)!.complete && answers.length < 10);
    expect(answers.at(-1)!.complete).toBe(true);
    expect(answers.every((a) => a.deleted <= 40)).toBe(true);
    expect(answers.slice(0, -1).every((a) => !a.complete && a.deleted === 40)).toBe(true);
    expect(answers.reduce((n, a) => n + a.deleted, 0)).toBe(rest);
    expect(p.items('heavy-1').map((i) => i.sk)).toEqual([ERASURE_SORT_KEY]);
    expect((await p.list('heavy-1')).items).toEqual([]);
    expect(await p.erase('heavy-1')).toEqual({ profileId: 'heavy-1', deleted: 0, complete: true });
  });

  it('the rest is removed in the background: the request hands it to an asynchronous round of the same function, at the erasure time', async () => {
    // The invocations the function would make of itself (InvocationType Event), run here one by one.
    const queued: Omit<ErasureContinuation, 'source'>[] = [];
    const p = pipeline({ maxItems: 40, continueErasure: async (next) => void queued.push(next) });
    await heavy(p, 'heavy-3', 150);
    p.clock.ms = NOW_MS + 1_000;
    expect(await p.erase('heavy-3')).toEqual({ profileId: 'heavy-3', deleted: 40, complete: false });
    expect(queued).toEqual([{ profileId: 'heavy-3', erasedAtMs: NOW_MS + 1_000, round: 1 }]);
    // Later, rounds run: each at the original erasure time (the marker does not move), each handing on.
    p.clock.ms = NOW_MS + 60_000;
    const rounds: unknown[] = [];
    while (queued.length)
      rounds.push(
        await p.api(
          { source: 'impressions.history-api.erasure', ...queued.shift()! },
          {
            awsRequestId: `round-${rounds.length}`,
            getRemainingTimeInMillis: () => 9_000,
          },
        ),
      );
    expect(rounds.length).toBe(3); // 111 items left: 40 + 40 + 31
    expect(rounds.at(-1)).toMatchObject({ complete: true });
    expect(p.items('heavy-3').map((i) => i.sk)).toEqual([ERASURE_SORT_KEY]);
    expect(p.items('heavy-3')[0]!.e).toBe(NOW_MS + 1_000);
    // An impression after the erasure time is accepted as before.
    await p.filterEnrich(kinesisEvent([record('heavy-3', NOW_MS + 61_000)]));
    expect((await p.list('heavy-3')).items).toHaveLength(1);
  });

  it('a background round that cannot hand on (no continuation) stops; a repeated DELETE still completes it', async () => {
    const p = pipeline({ maxItems: 40 });
    await heavy(p, 'heavy-4', 100);
    p.clock.ms = NOW_MS + 1_000;
    const round = await p.api(
      {
        source: 'impressions.history-api.erasure',
        profileId: 'heavy-4',
        erasedAtMs: NOW_MS + 1_000,
        round: 1,
      },
      { awsRequestId: 'round', getRemainingTimeInMillis: () => 9_000 },
    );
    expect(round).toMatchObject({ deleted: 40, complete: false });
    let answer = await p.erase('heavy-4');
    while (!answer.complete) answer = await p.erase('heavy-4');
    expect(p.items('heavy-4').map((i) => i.sk)).toEqual([ERASURE_SORT_KEY]);
  });

  it('stops when the invocation is running out of time, and says so', async () => {
    const p = pipeline();
    await heavy(p, 'heavy-2', 300);
    // 3 s left before the first page (of 250 keys), 1 s before the second: it is not started.
    const times = [3_000, 1_000];
    const context = { getRemainingTimeInMillis: () => times.shift() ?? 0 };
    p.clock.ms = NOW_MS + 1_000;
    expect(await p.erase('heavy-2', context)).toEqual({
      profileId: 'heavy-2',
      deleted: 250,
      complete: false,
    });
    expect(await p.list('heavy-2')).toEqual({ profileId: 'heavy-2', items: [], nextCursor: null });
    expect(await p.erase('heavy-2')).toEqual({ profileId: 'heavy-2', deleted: 301 - 250, complete: true });
    expect(p.items('heavy-2').map((i) => i.sk)).toEqual([ERASURE_SORT_KEY]);
  });
});
