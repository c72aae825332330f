/**
 * `npm run redrive`: the on-failure record format (Lambda developer guide, "Capturing discarded batches for a
 * Kinesis Data Streams event source", https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html),
 * reading exactly a range back within the retention, and re-driving batches that the real filter-enrich
 * handler, driven by the fault tests' event-source mapping driver, sent to the on-failure destination: the
 * records are handed back to filter-enrich's entry point, the one the handler calls, as a redelivery (same
 * sequence numbers, same arrival times) —
 * twice, without anything counted twice, nothing the batch stored forgotten, late impressions judged by
 * their original arrival.
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { StreamRecord } from '../../lambdas/adapters/kinesis-event.js';
import { aggregate } from '../../lambdas/adapters/kpl-aggregate.js';
import { fromEnrichedWire } from '../../lambdas/adapters/stream-encoding.js';
import { titleCatalog } from '../../lambdas/adapters/title-catalog.js';
import type { FilterEnrichPorts, RawRecord } from '../../lambdas/domain/filter-enrich.js';
import { DAY_MS, dayStart } from '../../lambdas/domain/history-model.js';
import {
  type FilterEnrich,
  type FilterEnrichDeps,
  makeFilterEnrich,
  makeHandler,
} from '../../lambdas/filter-enrich/handler.js';
import { historyStore, ONE_SHOT_ALLOWANCE } from '../../lambdas/history-store/index.js';
import { impressionsOfItem, rollupSortKey } from '../../lambdas/history-store/item-codec.js';
import {
  fetchRange,
  type KinesisBatchInfo,
  parseFailureMessage,
  RangeExpiredError,
  type RedriveOptions,
  redriveQueue,
} from '../../ops/redrive-core.js';
import { sampleCatalog } from '../../ops/seed.js';
import { type GeneratedRecord, traffic } from '../../scripts/traffic.js';
import { drive } from '../support/esm-driver.js';
import { impression } from '../support/factories.js';
import { streamSinks } from '../support/handlers.js';
import { memoryDynamo } from '../support/memory-aws.js';
import { memoryQueues, memoryStreams, type StoredRecord } from '../support/ops-aws.js';
import {
  countWindow,
  DEFAULT_CLASSIFIER_CONFIG,
  DEFAULT_HISTORY_LIMITS,
  DEFAULT_MAX_USER_RECORDS,
} from '../support/oracles.js';

const FAST = { attempts: 4, baseDelayMs: 0, maxDelayMs: 0 };
const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/';
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/on-failure';

// The example invocation record of the Lambda developer guide, verbatim.
const DOCUMENTED = `{
    "requestContext": {
        "requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
        "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 1
    },
    "responseContext": {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled"
    },
    "version": "1.0",
    "timestamp": "2019-11-14T00:38:06.021Z",
    "KinesisBatchInfo": {
        "shardId": "shardId-000000000001",
        "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
        "endSequenceNumber": "49601189658422359378836298522902373528957594348623495186",
        "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
        "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z",
        "batchSize": 500,
        "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/mystream"
    }
}`;

/** An on-failure record in the documented format for a batch of stored records. */
function failureMessage(
  stream: string,
  batch: readonly Pick<StoredRecord, 'SequenceNumber' | 'ApproximateArrivalTimestamp'>[],
) {
  const doc = JSON.parse(DOCUMENTED) as { KinesisBatchInfo: KinesisBatchInfo };
  return JSON.stringify({
    ...doc,
    KinesisBatchInfo: {
      shardId: 'shardId-000000000000',
      startSequenceNumber: batch[0]!.SequenceNumber,
      endSequenceNumber: batch.at(-1)!.SequenceNumber,
      approximateArrivalOfFirstRecord: batch[0]!.ApproximateArrivalTimestamp.toISOString(),
      approximateArrivalOfLastRecord: batch.at(-1)!.ApproximateArrivalTimestamp.toISOString(),
      batchSize: batch.length,
      streamArn: `${ARN}${stream}`,
    },
  });
}

const asRaw = (r: StoredRecord): RawRecord => ({
  sequenceNumber: r.SequenceNumber,
  partitionKey: r.PartitionKey,
  data: r.Data,
  arrivalMs: r.ApproximateArrivalTimestamp.getTime(),
});

/** A stand-in for filter-enrich that records the batches it is given and leaves those `fail` names for retry. */
function recording(fail: (r: StreamRecord) => boolean = () => false) {
  const batches: (readonly StreamRecord[])[] = [];
  const process: FilterEnrich = async (records) => {
    batches.push(records);
    return { retry: records.filter(fail).map((r) => r.sequenceNumber) };
  };
  return { batches, process };
}

const redriveRaw = (
  q: ReturnType<typeof memoryQueues>,
  k: ReturnType<typeof memoryStreams>,
  more: Pick<RedriveOptions, 'process'> & Partial<Pick<RedriveOptions, 'dryRun' | 'nowMs'>>,
) =>
  redriveQueue({
    sqs: q.client,
    kinesis: k.client,
    queueUrl: QUEUE,
    streams: new Set(['raw']),
    retry: FAST,
    ...more,
  });

/**
 * The real filter-enrich over in-memory streams and tables, the history written as deployed: its Lambda
 * handler (what the mapping driver invokes) and its entry point (what the tool hands records to).
 */
const pipeline = (
  k: ReturnType<typeof memoryStreams>,
  ddb: ReturnType<typeof memoryDynamo>,
  testProfiles: ReadonlySet<string>,
  titles: FilterEnrichPorts['titles'],
  history = historyStore(ddb.client, 'history', FAST),
) => {
  const deps: FilterEnrichDeps = {
    ...streamSinks(k.client, { retry: FAST }),
    maxUserRecordsPerAggregate: DEFAULT_MAX_USER_RECORDS,
    config: { ...DEFAULT_CLASSIFIER_CONFIG, testProfiles: new Set(testProfiles) },
    ports: { titles },
    history,
    historySettings: { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS },
  };
  return { handler: makeHandler(deps), filterEnrich: makeFilterEnrich(deps) };
};

/** The real handler over in-memory streams and tables, the enriched stream refusing writes while `down`. */
function enrichedOutage(now?: () => number) {
  const enriched = { down: false };
  const k = memoryStreams({ failPut: (stream) => enriched.down && stream === 'enriched', now });
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 5 });
  const pipelineStore = historyStore(ddb.client, 'history', FAST);
  return {
    k,
    q: memoryQueues(),
    ddb,
    fe: pipeline(k, ddb, new Set(), async () => new Map(), pipelineStore),
    pipelineStore,
    store: historyStore(ddb.client, 'history', FAST, { dayAllowance: ONE_SHOT_ALLOWANCE }),
    enriched,
  };
}

async function putOn(kinesis: ReturnType<typeof memoryStreams>, stream: string, n: number) {
  for (let i = 0; i < n; i += 500) {
    const records = Array.from({ length: Math.min(500, n - i) }, (_, k) => ({
      PartitionKey: `p${(i + k) % 7}`,
      Data: Buffer.from(`record ${i + k}`),
    }));
    await kinesis.client.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
  }
  return kinesis.records(stream);
}

describe('the on-failure record', () => {
  it('reads the documented example of the Lambda developer guide', () => {
    const r = parseFailureMessage(DOCUMENTED);
    expect(r).toEqual({
      info: expect.objectContaining({
        shardId: 'shardId-000000000001',
        startSequenceNumber: '49601189658422359378836298521827638475320189012309704722',
        endSequenceNumber: '49601189658422359378836298522902373528957594348623495186',
        batchSize: 500,
        streamArn: 'arn:aws:kinesis:us-east-2:123456789012:stream/mystream',
      }),
    });
  });

  it.each([
    ['not JSON', 'nope', 'not JSON'],
    ['no batch info', '{"requestContext":{}}', 'no KinesisBatchInfo'],
    ['a bad shard id', { shardId: '../x' }, 'shardId'],
    ['a non-numeric sequence number', { startSequenceNumber: '12a' }, 'startSequenceNumber'],
    ['an end before the start', { endSequenceNumber: '1' }, 'endSequenceNumber'],
    ['a stream ARN of another service', { streamArn: 'arn:aws:sqs:us-east-1:123456789012:q' }, 'streamArn'],
    ['a batch size over 10,000', { batchSize: 10_001 }, 'batchSize'],
    [
      'an arrival time that is not a time',
      { approximateArrivalOfFirstRecord: 'soon' },
      'approximateArrivalOfFirstRecord',
    ],
  ])('names what is wrong with %s', (_, change, reason) => {
    const doc = JSON.parse(DOCUMENTED) as { KinesisBatchInfo: Record<string, unknown> };
    const body =
      typeof change === 'string'
        ? change
        : JSON.stringify({ ...doc, KinesisBatchInfo: { ...doc.KinesisBatchInfo, ...change } });
    const r = parseFailureMessage(body);
    expect('invalid' in r && r.invalid).toContain(reason);
  });
});

describe('reading a range back', () => {
  const info = (
    records: readonly StoredRecord[],
    from: number,
    to: number,
    over: Partial<KinesisBatchInfo> = {},
  ): KinesisBatchInfo => {
    const parsed = parseFailureMessage(failureMessage('raw', records.slice(from, to + 1)));
    if (!('info' in parsed)) throw new Error(parsed.invalid);
    return { ...parsed.info, ...over };
  };

  it('returns exactly the records from the start to the end sequence number inclusive, across pages', async () => {
    const k = memoryStreams({ pageSize: 7 });
    const records = await putOn(k, 'raw', 40);
    const got = await fetchRange(k.client, 'raw', info(records, 5, 29), {
      retentionHours: 24,
      nowMs: Date.now(),
    });
    expect(got.map((r) => r.sequenceNumber)).toEqual(records.slice(5, 30).map((r) => r.SequenceNumber));
    expect(got.map((r) => Buffer.from(r.data).toString())).toEqual(
      records.slice(5, 30).map((r) => Buffer.from(r.Data).toString()),
    );
    expect(got[0]!.partitionKey).toBe(records[5]!.PartitionKey);
  });

  it('refuses a range that arrived longer ago than the stream retention, before reading', async () => {
    const k = memoryStreams();
    const records = await putOn(k, 'raw', 10);
    const old = new Date(Date.now() - 25 * 3_600_000).toISOString();
    await expect(
      fetchRange(k.client, 'raw', info(records, 0, 4, { approximateArrivalOfFirstRecord: old }), {
        retentionHours: 24,
        nowMs: Date.now(),
      }),
    ).rejects.toThrow(/longer ago than the stream's retention \(24 h\)/);
  });

  it('refuses a range whose first records were trimmed, instead of re-driving part of it', async () => {
    const k = memoryStreams();
    const records = await putOn(k, 'raw', 20);
    k.trim('raw', 8);
    await expect(
      fetchRange(k.client, 'raw', info(records, 5, 12), { retentionHours: 24, nowMs: Date.now() }),
    ).rejects.toBeInstanceOf(RangeExpiredError);
  });

  it('refuses a shard that no longer exists and a range whose end is not in the shard', async () => {
    const k = memoryStreams();
    const records = await putOn(k, 'raw', 10);
    await expect(
      fetchRange(k.client, 'raw', info(records, 0, 3, { shardId: 'shardId-000000000009' }), {
        retentionHours: 24,
        nowMs: Date.now(),
      }),
    ).rejects.toThrow(/cannot be read/);
    await expect(
      fetchRange(
        k.client,
        'raw',
        info(records, 2, 3, { endSequenceNumber: `${records.at(-1)!.SequenceNumber}0` }),
        {
          retentionHours: 24,
          nowMs: Date.now(),
        },
      ),
    ).rejects.toThrow(/could not be read whole \(8 records found\)/);
  });
});

describe('re-driving a queue', () => {
  it('leaves expired, unreadable and foreign messages in the queue, visible again, and re-drives the rest', async () => {
    const k = memoryStreams();
    const q = memoryQueues();
    const records = await putOn(k, 'raw', 30);
    await q.send(QUEUE, failureMessage('raw', records.slice(0, 10)));
    await q.send(QUEUE, 'not a failure record');
    await q.send(QUEUE, failureMessage('someone-elses', records.slice(0, 2)));
    // A stream of the same name in another account is not this deployment's either.
    await q.send(
      QUEUE,
      failureMessage('raw', records.slice(0, 2)).replace(
        '123456789012:stream/raw',
        '999999999999:stream/raw',
      ),
    );
    const old = { ...records[10]!, ApproximateArrivalTimestamp: new Date(Date.now() - 48 * 3_600_000) };
    await q.send(QUEUE, failureMessage('raw', [old, records[11]!]));
    const p = recording();
    const s = await redriveRaw(q, k, p);
    expect(s.outcomes).toMatchObject({ redriven: 1, unreadable: 1, 'other-stream': 2, expired: 1 });
    expect(s.messages).toBe(5);
    expect(s.recordsProcessed).toBe(10);
    // Handed back as the mapping delivers them: same sequence numbers, data and arrival times; nothing re-put.
    expect(p.batches).toHaveLength(1);
    expect(
      p.batches[0]!.map((r) => [
        r.sequenceNumber,
        r.partitionKey,
        Buffer.from(r.data).toString(),
        r.arrivalMs,
      ]),
    ).toEqual(
      records
        .slice(0, 10)
        .map((r) => [
          r.SequenceNumber,
          r.PartitionKey,
          Buffer.from(r.Data).toString(),
          r.ApproximateArrivalTimestamp.getTime(),
        ]),
    );
    expect(k.records('raw')).toHaveLength(30);
    // The four left are visible again (not waiting out a visibility timeout).
    expect(q.messages(QUEUE).map((m) => m.receipt)).toEqual([undefined, undefined, undefined, undefined]);
    expect(s.problems).toHaveLength(4);
  });

  it('keeps a message whose records the handler reports for retry, and deletes it once they are done', async () => {
    let failing = true;
    const k = memoryStreams();
    const q = memoryQueues();
    const records = await putOn(k, 'raw', 8);
    await q.send(QUEUE, failureMessage('raw', records.slice(0, 6)));
    const p = recording((r) => failing && Buffer.from(r.data).toString() === 'record 3');
    const s = await redriveRaw(q, k, p);
    expect(s.outcomes['process-failed']).toBe(1);
    expect(s).toMatchObject({ recordsFetched: 6, recordsProcessed: 5, recordsFailed: 1 });
    expect(q.messages(QUEUE)).toHaveLength(1);
    // A handler that throws leaves every record for retry.
    const thrown = await redriveRaw(q, k, {
      process: async () => {
        throw new Error('boom');
      },
    });
    expect(thrown).toMatchObject({ recordsProcessed: 0, recordsFailed: 6 });
    expect(thrown.outcomes['process-failed']).toBe(1);
    // Once the handler is done with all of them, the same message is re-driven whole and deleted.
    failing = false;
    const again = await redriveRaw(q, k, p);
    expect(again.outcomes.redriven).toBe(1);
    expect(q.messages(QUEUE)).toHaveLength(0);
    expect(k.records('raw')).toHaveLength(8);
  });

  it('deletes expired messages only when asked to, after reporting them', async () => {
    const k = memoryStreams();
    const q = memoryQueues();
    const records = await putOn(k, 'raw', 4);
    const old = { ...records[0]!, ApproximateArrivalTimestamp: new Date(Date.now() - 48 * 3_600_000) };
    await q.send(QUEUE, failureMessage('raw', [old, records[1]!]));
    const opts = {
      sqs: q.client,
      kinesis: k.client,
      queueUrl: QUEUE,
      streams: new Set(['raw']),
      process: recording().process,
    };
    expect((await redriveQueue(opts)).outcomes.expired).toBe(1);
    expect(q.messages(QUEUE)).toHaveLength(1);
    const s = await redriveQueue({ ...opts, deleteExpired: true });
    expect(s.outcomes['expired-deleted']).toBe(1);
    expect(s.problems[0]).toMatch(/deleted \(--delete-expired\)/);
    expect(q.messages(QUEUE)).toHaveLength(0);
    expect(k.records('raw')).toHaveLength(4);
  });

  it('changes nothing in a dry run', async () => {
    const k = memoryStreams();
    const q = memoryQueues();
    const records = await putOn(k, 'raw', 12);
    await q.send(QUEUE, failureMessage('raw', records.slice(2, 9)));
    const p = recording();
    const s = await redriveQueue({
      sqs: q.client,
      kinesis: k.client,
      queueUrl: QUEUE,
      streams: new Set(['raw']),
      dryRun: true,
      process: p.process,
    });
    expect(s.outcomes['would-redrive']).toBe(1);
    expect(s.recordsFetched).toBe(7);
    expect(p.batches).toHaveLength(0);
    expect(k.records('raw')).toHaveLength(12);
    expect(q.messages(QUEUE)).toHaveLength(1);
  });
});

describe('re-driving batches filter-enrich gave up on (real handler, fault-test ESM driver)', () => {
  it('brings every impression back once, and a second re-drive of the same messages counts nothing twice', async () => {
    const N = 1200;
    const k = memoryStreams({ pageSize: 50 });
    const q = memoryQueues();
    const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 3 });
    const catalog = sampleCatalog(200);
    for (const t of catalog) ddb.table('catalog').set(JSON.stringify([['titleId', t.titleId]]), { ...t });
    const gen = traffic({
      seed: 11,
      titleIds: catalog.map((t) => t.titleId),
      testProfile: 'bot',
      badShare: 0.05,
    });
    const labels: GeneratedRecord[] = Array.from({ length: N }, () => gen.next().value as GeneratedRecord);
    for (let i = 0; i < N; i += 500)
      await k.client.send(
        new PutRecordsCommand({
          StreamName: 'raw',
          Records: labels.slice(i, i + 500).map((l) => ({ PartitionKey: l.partitionKey, Data: l.data })),
        }),
      );

    // The title catalog is down while batches 3 to 6 (of 100 records) are processed.
    const titles = titleCatalog(ddb.client, 'catalog', { retry: FAST }).titles;
    let catalogDown = false;
    const fe = pipeline(k, ddb, new Set(['bot']), async (ids) => {
      if (catalogDown) throw Object.assign(new Error('catalog unavailable'), { name: 'InternalServerError' });
      return titles(ids);
    });
    const original = k.records('raw').slice(0, N);
    const down = new Set(original.slice(300, 700).map((r) => r.SequenceNumber));
    const mapping = { batchSize: 100, maxRetries: 2, bisectOnError: true };
    const first = await drive(
      original.map(asRaw),
      async (event: KinesisStreamEvent) => {
        catalogDown = down.has(event.Records[0]!.kinesis.sequenceNumber);
        return fe.handler(event);
      },
      mapping,
    );
    catalogDown = false;
    expect(first.onFailure).toHaveLength(4);
    expect(first.onFailure.flat()).toHaveLength(400);

    // What the mapping's on-failure destination would have received: the documented record per batch.
    const bySeq = new Map(original.map((r) => [r.SequenceNumber, r]));
    const bodies = first.onFailure.map((batch) =>
      failureMessage(
        'raw',
        batch.map((r) => bySeq.get(r.sequenceNumber)!),
      ),
    );
    for (const b of bodies) await q.send(QUEUE, b);

    // The handler as the tool runs it: the same function, given the records back as a redelivery.
    const redriveAndProcess = async () => {
      const before = k.records('raw').length;
      const s = await redriveRaw(q, k, { process: fe.filterEnrich });
      expect(k.records('raw')).toHaveLength(before);
      return { s };
    };

    const enrichedBeforeOnce = k.records('enriched').length;
    const once = await redriveAndProcess();
    expect(once.s.outcomes.redriven).toBe(4);
    expect(once.s).toMatchObject({ recordsProcessed: 400, recordsFailed: 0 });
    const enrichedByOnce = k
      .records('enriched')
      .slice(enrichedBeforeOnce)
      .map((r) => fromEnrichedWire(JSON.parse(Buffer.from(r.Data).toString())).event_id);
    expect(q.messages(QUEUE)).toHaveLength(0);

    // Every impression the traffic should have accepted is on the enriched stream exactly once.
    const enrichedIds = () =>
      k.records('enriched').map((r) => fromEnrichedWire(JSON.parse(Buffer.from(r.Data).toString())).event_id);
    const expected = labels.filter((l) => l.expected === 'enriched');
    expect(enrichedIds().sort()).toEqual(expected.map((e) => e.eventId!).sort());
    const historyCopies = () => {
      const copies = new Map<string, number>();
      for (const item of ddb.table('history').values())
        for (const i of impressionsOfItem(item)) copies.set(i.eventId, (copies.get(i.eventId) ?? 0) + 1);
      return copies;
    };
    const copies = historyCopies();
    expect(new Set(copies.keys())).toEqual(new Set(expected.map((e) => e.eventId!)));
    expect([...copies.values()].every((n) => n === 1)).toBe(true);

    const frequencies = async () => {
      const store = historyStore(ddb.client, 'history', FAST);
      const out: Record<string, number> = {};
      for (const p of new Set(expected.map((e) => e.profileId!))) {
        const imps = await store.impressionsBetween(p, Date.now() - 8 * 86_400_000, Date.now() + 600_000);
        const counts = countWindow(
          imps,
          [...new Set(imps.map((i) => i.titleId))],
          Date.now() + 600_000,
          '30d',
        );
        out[p] = [...counts.values()].reduce((n, c) => n + c.count, 0);
      }
      return out;
    };
    const freqBefore = await frequencies();
    const perProfile: Record<string, number> = {};
    for (const e of expected) perProfile[e.profileId!] = (perProfile[e.profileId!] ?? 0) + 1;
    expect(freqBefore).toEqual(perProfile);

    // The same messages re-driven again (e.g. an operator re-runs after the deletes were lost).
    for (const b of bodies) await q.send(QUEUE, b);
    const enrichedBefore = k.records('enriched').length;
    const rejectedBefore = k.records('rejected').length;
    const historyBefore = JSON.stringify([...ddb.table('history').entries()].sort());
    const twice = await redriveAndProcess();
    expect(twice.s.outcomes.redriven).toBe(4);
    // A redelivery of the same records: the same outcomes again. The history table is unchanged, tags
    // included, and so are the counts; the enriched stream gets one more copy of the same impressions
    // (its consumers are idempotent by eventId).
    expect(JSON.stringify([...ddb.table('history').entries()].sort())).toBe(historyBefore);
    expect(await frequencies()).toEqual(freqBefore);
    const window = labels.slice(300, 700);
    const again = k
      .records('enriched')
      .slice(enrichedBefore)
      .map((r) => fromEnrichedWire(JSON.parse(Buffer.from(r.Data).toString())).event_id);
    // (A retry in the window of an impression accepted from a later record stays a duplicate both times.)
    expect(again.sort()).toEqual(enrichedByOnce.sort());
    expect(again.length).toBeGreaterThan(300);
    // Rejected records are rejected again, with the same reasons.
    const rejectedAgain = k
      .records('rejected')
      .slice(rejectedBefore)
      .map((r) => JSON.parse(Buffer.from(r.Data).toString()) as { reason: string });
    expect(rejectedAgain).toHaveLength(window.filter((l) => l.expected.startsWith('rejected.')).length);
  });
});

describe('re-driving a batch that failed after its history write (real handler, fault-test ESM driver)', () => {
  it('forgets nothing: what its own records stored is enriched again, so the lake gets what the history counts; an earlier acceptance stays a duplicate; twice counts nothing twice', async () => {
    const { k, q, ddb, fe, store, enriched } = enrichedOutage();
    const mapping = { batchSize: 100, maxRetries: 2, bisectOnError: true };
    const profileId = 'p-redrive';
    const now = Date.now();
    const oldDay = dayStart(now) - 3 * DAY_MS;
    // Six impressions of today, two of a day three days ago (whose rollup readers may have built).
    const events = [
      ...Array.from({ length: 6 }, (_, i) =>
        impression({
          profileId,
          titleId: `t-${i % 2}`,
          entityId: `t-${i % 2}`,
          eventTime: new Date(now - 5000 + i).toISOString(),
        }),
      ),
      ...Array.from({ length: 2 }, (_, i) =>
        impression({
          profileId,
          titleId: 't-0',
          entityId: 't-0',
          eventTime: new Date(oldDay + 3_600_000 + i).toISOString(),
        }),
      ),
    ];
    // One impression accepted earlier from another record (and enriched then): the batch holds a retry of it.
    const earlier = impression({
      profileId,
      titleId: 't-1',
      entityId: 't-1',
      eventTime: new Date(now - 9000).toISOString(),
    });
    const put = (evs: readonly ReturnType<typeof impression>[]) =>
      k.client.send(
        new PutRecordsCommand({
          StreamName: 'raw',
          Records: evs.map((e) => ({ PartitionKey: e.profileId, Data: Buffer.from(JSON.stringify(e)) })),
        }),
      );
    await put([earlier]);
    expect((await drive(k.records('raw').map(asRaw), fe.handler, mapping)).onFailure).toHaveLength(0);
    expect(k.records('enriched')).toHaveLength(1);

    // The batch: the enriched stream refuses every write for the whole retry budget, after the history write.
    await put([...events, earlier]);
    const batch = k.records('raw').slice(1);
    enriched.down = true;
    const first = await drive(batch.map(asRaw), fe.handler, mapping);
    enriched.down = false;
    expect(first.onFailure.flat()).toHaveLength(9);
    const copies = () => {
      const out = new Map<string, number>();
      for (const item of ddb.table('history').values())
        for (const i of impressionsOfItem(item)) out.set(i.eventId, (out.get(i.eventId) ?? 0) + 1);
      return out;
    };
    const all = [...events, earlier].map((e) => e.eventId).sort();
    expect([...copies().keys()].sort()).toEqual(all);
    // A reader builds the old day's rollup from what is stored.
    const total = async () =>
      [
        ...(await store.titleCounts(profileId, now - 8 * DAY_MS, now + 600_000, ['t-0', 't-1'])).values(),
      ].reduce((n, c) => n + c.count, 0);
    expect(await total()).toBe(9);
    const rollup = () =>
      ddb.table('history').get(
        JSON.stringify(
          [
            ['pk', `P#${profileId}`],
            ['sk', rollupSortKey(oldDay)],
          ].sort(),
        ),
      );
    expect(rollup()?.c).toBeDefined();

    // A dry run changes nothing.
    const historyBefore = JSON.stringify([...ddb.table('history').entries()].sort());
    await q.send(QUEUE, failureMessage('raw', batch));
    const dry = await redriveRaw(q, k, { process: fe.filterEnrich, dryRun: true });
    expect(dry.outcomes['would-redrive']).toBe(1);
    expect(JSON.stringify([...ddb.table('history').entries()].sort())).toBe(historyBefore);
    expect(k.records('enriched')).toHaveLength(1);

    const withoutRollups = () =>
      JSON.stringify([...ddb.table('history').entries()].filter(([key]) => !key.includes('R#')).sort());
    const withoutRollupsBefore = withoutRollups();
    const once = await redriveRaw(q, k, { process: fe.filterEnrich });
    expect(once.outcomes.redriven).toBe(1);
    expect(once).toMatchObject({ recordsProcessed: 9, recordsFailed: 0 });
    expect(k.records('raw')).toHaveLength(10);

    const enrichedIds = () =>
      k.records('enriched').map((r) => fromEnrichedWire(JSON.parse(Buffer.from(r.Data).toString())).event_id);
    // Every impression the history counts is now on the enriched stream (on its way to the lake): the eight
    // of the batch enriched again under their own records' tags, the earlier one once, from its own record
    // (the batch's retry of it stays a duplicate).
    expect(enrichedIds().sort()).toEqual(all);
    // The history is as the failed batch left it, tags included (the write to the old day conservatively
    // marks its rollup for a rebuild; the counts are the same).
    expect(withoutRollups()).toBe(withoutRollupsBefore);
    expect([...copies().values()].every((n) => n === 1)).toBe(true);
    expect(await total()).toBe(9);
    const items = [...ddb.table('history').values()];
    for (const b of items.filter((i) => String(i.sk).startsWith('B#')))
      expect(b.n).toBe(impressionsOfItem(b).length);

    // The same message re-driven again: the same outcomes, the history unchanged, one more copy of the
    // eight on the enriched stream (absorbed downstream like any redelivery).
    await q.send(QUEUE, failureMessage('raw', batch));
    const enrichedBefore = k.records('enriched').length;
    const twice = await redriveRaw(q, k, { process: fe.filterEnrich });
    expect(twice.outcomes.redriven).toBe(1);
    expect(k.records('enriched')).toHaveLength(enrichedBefore + 8);
    expect(new Set(enrichedIds())).toEqual(new Set(all));
    expect(withoutRollups()).toBe(withoutRollupsBefore);
    expect(await total()).toBe(9);
  });

  it('judges a late impression by its original arrival: accepted 6 d 23 h late, it stays accepted when re-driven 2 h later', async () => {
    // The test's clock: the arrival, and the re-drive two hours later.
    const clock = { now: Date.UTC(2026, 5, 10, 12, 0, 0) };
    const { k, q, ddb, enriched } = enrichedOutage(() => clock.now);
    const fe = pipeline(k, ddb, new Set(), async () => new Map(), historyStore(ddb.client, 'history', FAST));
    const mapping = { batchSize: 100, maxRetries: 1, bisectOnError: false };
    const late = impression({
      profileId: 'p-late',
      eventTime: new Date(clock.now - (6 * 24 + 23) * 3_600_000).toISOString(),
    });
    await k.client.send(
      new PutRecordsCommand({
        StreamName: 'raw',
        Records: [{ PartitionKey: late.profileId, Data: Buffer.from(JSON.stringify(late)) }],
      }),
    );
    enriched.down = true;
    const first = await drive(k.records('raw').map(asRaw), fe.handler, mapping);
    enriched.down = false;
    expect(first.onFailure.flat()).toHaveLength(1);
    const stored = () =>
      [...ddb.table('history').values()].flatMap((item) => impressionsOfItem(item)).map((i) => i.eventId);
    expect(stored()).toEqual([late.eventId]);

    clock.now += 2 * 3_600_000;
    await q.send(QUEUE, failureMessage('raw', k.records('raw')));
    const s = await redriveRaw(q, k, { process: fe.filterEnrich, nowMs: () => clock.now });
    expect(s.outcomes.redriven).toBe(1);
    // Still in the history, and now enriched; not one rejected row (a re-put would have been 7 d 1 h late).
    expect(stored()).toEqual([late.eventId]);
    expect(
      k.records('enriched').map((r) => fromEnrichedWire(JSON.parse(Buffer.from(r.Data).toString())).event_id),
    ).toEqual([late.eventId]);
    expect(k.records('rejected')).toHaveLength(0);
  });
});

describe('re-driving a KPL aggregate that failed after its history write', () => {
  it('hands the aggregate back whole: each user record is found under its sub-sequence tag and enriched again', async () => {
    const { k, q, fe, enriched } = enrichedOutage();
    enriched.down = true;
    const mapping = { batchSize: 100, maxRetries: 1, bisectOnError: false };
    const events = Array.from({ length: 3 }, (_, i) =>
      impression({ profileId: 'p-kpl', eventTime: new Date(Date.now() - 4000 + i).toISOString() }),
    );
    const [packed] = await aggregate(
      events.map((e) => ({ partitionKey: e.profileId, data: Buffer.from(JSON.stringify(e)) })),
    );
    await k.client.send(
      new PutRecordsCommand({
        StreamName: 'raw',
        Records: [{ PartitionKey: packed!.partitionKey, Data: packed!.data }],
      }),
    );
    const first = await drive(k.records('raw').map(asRaw), fe.handler, mapping);
    expect(first.onFailure.flat()).toHaveLength(1);
    enriched.down = false;
    await q.send(QUEUE, failureMessage('raw', k.records('raw').slice(0, 1)));
    const s = await redriveRaw(q, k, { process: fe.filterEnrich });
    expect(s).toMatchObject({ recordsProcessed: 1, recordsFailed: 0 });
    expect(k.records('raw')).toHaveLength(1);
    const ids = k
      .records('enriched')
      .map((r) => fromEnrichedWire(JSON.parse(Buffer.from(r.Data).toString())).event_id);
    expect(ids.sort()).toEqual(events.map((e) => e.eventId).sort());
  });
});
