import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import agg from 'aws-kinesis-agg';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  countUserRecords,
  inspectAggregate,
  isAggregated,
  toRawRecords,
} from '../../lambdas/adapters/kinesis-event.js';
import { aggregate } from '../../lambdas/adapters/kpl-aggregate.js';
import { REJECTED_ROW_LIMITS } from '../../lambdas/domain/filter-enrich.js';
import type { HistoryCandidate } from '../../lambdas/domain/history-model.js';
import { type FilterEnrichDeps, makeHandler } from '../../lambdas/filter-enrich/handler.js';
import { historyStore } from '../../lambdas/history-store/index.js';
import { impression, kinesisEvent, kinesisRecord, rawRecord } from '../support/factories.js';
import { filterEnrichDeps, streamSinks } from '../support/handlers.js';
import { frame } from '../support/kpl-framing.js';
import { memoryDynamo } from '../support/memory-aws.js';
import { DEFAULT_MAX_USER_RECORDS } from '../support/oracles.js';

const kinesisMock = mockClient(KinesisClient);
// The unit project shares modules between files (isolate: false): put the real client back.
afterAll(() => kinesisMock.restore());

/** The Kinesis sinks over the mocked client: these tests read the stream side's bytes. */
const kinesis = new KinesisClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});

/** filter-enrich over the mocked Kinesis client, with empty stores and the given overrides. */
const filterEnrich = (overrides: Partial<FilterEnrichDeps>, sinks: Parameters<typeof streamSinks>[1] = {}) =>
  makeHandler(filterEnrichDeps({ ...streamSinks(kinesis, sinks), ...overrides }).d);

beforeEach(() => {
  kinesisMock.reset();
  kinesisMock.on(PutRecordsCommand).callsFake((input) => ({
    FailedRecordCount: 0,
    Records: input.Records.map((_: unknown, i: number) => ({ SequenceNumber: String(i), ShardId: 's' })),
  }));
});

describe('KPL-aggregated records on the raw stream', () => {
  it('de-aggregates into user records that keep the parent sequence number', async () => {
    const events = [impression(), impression(), impression()];
    const [packed] = await aggregate(
      events.map((e) => ({ partitionKey: e.profileId, data: Buffer.from(JSON.stringify(e)) })),
    );
    expect(isAggregated(packed!.data)).toBe(true);
    const parent = rawRecord(packed!.data, { sequenceNumber: '777' });
    const users = toRawRecords(kinesisRecord(parent), DEFAULT_MAX_USER_RECORDS);
    expect(users.map((u) => [u.sequenceNumber, u.subSequenceNumber])).toEqual([
      ['777', 0],
      ['777', 1],
      ['777', 2],
    ]);
    expect(users.map((u) => JSON.parse(Buffer.from(u.data).toString()).eventId)).toEqual(
      events.map((e) => e.eventId),
    );
  });

  it('keeps a corrupt aggregate whole, so it is rejected with a reason', async () => {
    const [packed] = await aggregate([
      { partitionKey: 'p', data: Buffer.from(JSON.stringify(impression())) },
    ]);
    const corrupt = Buffer.from(packed!.data);
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] ?? 0) ^ 0xff; // break the checksum
    const users = toRawRecords(kinesisRecord(rawRecord(corrupt)), DEFAULT_MAX_USER_RECORDS);
    expect(users).toHaveLength(1);
    expect(users[0]!.subSequenceNumber).toBeUndefined();
    expect(users[0]!.badAggregate).toBe('MD5 mismatch');
  });

  it('enriches every user record, rejects the bad one with its sub-sequence, and tags history with user-record ids', async () => {
    const good = [impression(), impression()];
    const [packed] = await aggregate([
      ...good.map((e) => ({ partitionKey: e.profileId, data: Buffer.from(JSON.stringify(e)) })),
      { partitionKey: 'profile-1', data: Buffer.from('nope') },
      { partitionKey: 'profile-1', data: Buffer.from(JSON.stringify(good[0])) },
    ]);
    const store = historyStore(memoryDynamo({ throttle: 0, partial: 0, seed: 1 }).client, 'history');
    const offered: HistoryCandidate[] = [];
    const { d } = filterEnrichDeps({
      ...streamSinks(kinesis),
      history: {
        admit: (candidates, settings) => {
          offered.push(...candidates);
          return store.admit(candidates, settings);
        },
        erasures: store.erasures,
      },
    });
    const handler = makeHandler(d);
    const res = await handler(kinesisEvent([rawRecord(packed!.data, { sequenceNumber: '900' })]));
    expect(res.batchItemFailures).toEqual([]);
    const puts = kinesisMock.commandCalls(PutRecordsCommand);
    const enriched = puts.find((c) => c.args[0].input.StreamName === 'enriched')!.args[0].input.Records!;
    expect(enriched.map((r) => JSON.parse(Buffer.from(r.Data!).toString()).event_id)).toEqual(
      good.map((e) => e.eventId),
    );
    const rejected = puts.find((c) => c.args[0].input.StreamName === 'rejected')!.args[0].input.Records!;
    expect(JSON.parse(Buffer.from(rejected[0]!.Data!).toString())).toMatchObject({
      reason: 'decode.not-json',
      sequence_number: '900:2',
    });
    expect(offered.map((c) => c.recordId)).toEqual(['900:0', '900:1', '900:3']);
  });
});

describe('decode.aggregate-too-large: user records per aggregate are capped', () => {
  const packOf = async (n: number) => {
    const [packed] = await aggregate(
      Array.from({ length: n }, () => ({ partitionKey: 'p', data: Buffer.from('x') })),
    );
    return packed!.data;
  };

  it('counts the user records from the framing, without decoding them', async () => {
    expect(countUserRecords(await packOf(7))).toBe(7);
    expect(countUserRecords(Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 0xff, ...new Array(16).fill(0)]))).toBe(
      undefined,
    );
  });

  it('never throws on arbitrary bytes behind the magic number, and agrees with the library on valid aggregates', async () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const n = countUserRecords(Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), bytes]));
        expect(n === undefined || (Number.isInteger(n) && n >= 0)).toBe(true);
      }),
    );
    for (const n of [1, 2, 50, 300]) expect(countUserRecords(await packOf(n))).toBe(n);
  });

  it('accepts a framing only where the library de-aggregates exactly the user records it counted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (body) => {
        const data = frame(body);
        const framing = inspectAggregate(data);
        let users: { partitionKey: string }[] | undefined;
        agg.deaggregateSync(
          { partitionKey: 'k', sequenceNumber: '1', data: data.toString('base64') } as never,
          true,
          (err, out) => {
            users = err ? undefined : out;
          },
        );
        if ('userRecords' in framing) {
          expect(users?.length).toBe(framing.userRecords);
          for (const u of users!) expect(typeof u.partitionKey).toBe('string');
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('rejects an aggregate over the cap as one row, and keeps the rest of the batch', async () => {
    const big = rawRecord(await packOf(1001));
    const atCap = rawRecord(await packOf(1000));
    const good = rawRecord(impression());
    const res = await filterEnrich({})(kinesisEvent([big, atCap, good]));
    expect(res.batchItemFailures).toEqual([]);
    const rows = kinesisMock
      .commandCalls(PutRecordsCommand)
      .filter((c) => c.args[0].input.StreamName === 'rejected')
      .flatMap((c) => c.args[0].input.Records!.map((r) => JSON.parse(Buffer.from(r.Data!).toString())));
    expect(rows.filter((r) => r.reason === 'decode.aggregate-too-large')).toEqual([
      expect.objectContaining({
        sequence_number: big.sequenceNumber,
        detail: expect.stringContaining('1001'),
      }),
    ]);
    // The aggregate at the cap is de-aggregated: 1,000 one-byte user records, each rejected as not JSON, in
    // at most REJECTED_ROW_LIMITS.perRecord rows of their own and one row for the rest.
    const notJson = rows.filter((r) => r.reason === 'decode.not-json');
    expect(notJson).toHaveLength(REJECTED_ROW_LIMITS.perRecord + 1);
    expect(notJson.at(-1).detail).toContain(
      `${1000 - REJECTED_ROW_LIMITS.perRecord} rejected user records of Kinesis record ${atCap.sequenceNumber}`,
    );
    const enriched = kinesisMock
      .commandCalls(PutRecordsCommand)
      .find((c) => c.args[0].input.StreamName === 'enriched')!;
    expect(enriched.args[0].input.Records).toHaveLength(1);
  });

  it('keeps the work of a 1 MiB aggregate of one-byte records bounded: one row, one request', async () => {
    const hostile = rawRecord(await packOf(150_000));
    const started = performance.now();
    const res = await filterEnrich({})(kinesisEvent([hostile]));
    expect(res.batchItemFailures).toEqual([]);
    const calls = kinesisMock.commandCalls(PutRecordsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input.Records).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('honours the configured cap', async () => {
    const res = await filterEnrich({ maxUserRecordsPerAggregate: 2 })(
      kinesisEvent([rawRecord(await packOf(3))]),
    );
    expect(res.batchItemFailures).toEqual([]);
    const row = JSON.parse(
      Buffer.from(
        kinesisMock.commandCalls(PutRecordsCommand)[0]!.args[0].input.Records![0]!.Data!,
      ).toString(),
    );
    expect(row.reason).toBe('decode.aggregate-too-large');
  });
});

describe('KPL-aggregated records on the enriched stream', () => {
  it('filter-enrich writes one aggregate per profile, and a consumer de-aggregates it', async () => {
    const events = [impression(), impression(), impression({ profileId: 'profile-2' })];
    const handler = filterEnrich({}, { aggregateEnriched: true });
    const res = await handler(kinesisEvent(events.map((e) => rawRecord(e, { partitionKey: e.profileId }))));
    expect(res.batchItemFailures).toEqual([]);
    const put = kinesisMock
      .commandCalls(PutRecordsCommand)
      .find((c) => c.args[0].input.StreamName === 'enriched')!;
    const records = put.args[0].input.Records!;
    expect(records.map((r) => r.PartitionKey).sort()).toEqual(['profile-1', 'profile-2']);
    expect(records.every((r) => isAggregated(r.Data!))).toBe(true);

    const users = records.flatMap((r, i) =>
      toRawRecords(
        kinesisRecord(rawRecord(r.Data!, { sequenceNumber: String(i + 1) })),
        DEFAULT_MAX_USER_RECORDS,
      ),
    );
    expect(users.map((u) => JSON.parse(Buffer.from(u.data).toString()).event_id).sort()).toEqual(
      events.map((e) => e.eventId).sort(),
    );
  });

  it('reports the Kinesis record of an aggregate whose write failed, for all its user records', async () => {
    kinesisMock.reset();
    kinesisMock.on(PutRecordsCommand).callsFake((input) => ({
      FailedRecordCount: input.StreamName === 'enriched' ? input.Records.length : 0,
      Records: input.Records.map(() =>
        input.StreamName === 'enriched'
          ? { ErrorCode: 'InternalFailure', ErrorMessage: 'x' }
          : { SequenceNumber: '1', ShardId: 's' },
      ),
    }));
    const events = [impression(), impression()];
    const handler = filterEnrich(
      {},
      { aggregateEnriched: true, retry: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 } },
    );
    const records = events.map((e) => rawRecord(e));
    const res = await handler(kinesisEvent(records));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      records.map((r) => r.sequenceNumber).sort(),
    );
  });
});
