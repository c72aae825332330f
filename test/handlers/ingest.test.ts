/**
 * The ingest route (`POST /v1/profiles/{profileId}/impressions`) through the real handler and the real
 * raw-stream writer over a mocked Kinesis client: per-event profile checks with nothing written on a bad
 * request, partition key = the profile, only failed entries retried, and 503 + Retry-After when the
 * stream throttles.
 */
import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../lambdas/history-api/handler.js';
import { INGEST_RETRY, rawStreamWriter } from '../../lambdas/history-api/raw-stream.js';
import { MAX_INGEST_BODY_BYTES } from '../../lambdas/history-api/requests.js';
import { INGEST_WINDOW_MS, ingestLimiter, ingestWindowSortKey } from '../../lambdas/history-store/index.js';
import { apiEvent, CALLERS, fakeStore, keyring, POLICY, parse } from '../support/api.js';
import { impression } from '../support/factories.js';
import { memoryDynamo } from '../support/memory-aws.js';

const kinesis = mockClient(KinesisClient);
// The unit project shares modules between files (isolate: false): put the real client back.
afterAll(() => kinesis.restore());
const calls = () =>
  kinesis.commandCalls(PutRecordsCommand).map((c) => c.args[0].input as PutRecordsCommandInput);
const noSleep = { ...INGEST_RETRY, sleep: async () => {} };

const handler = () =>
  makeHandler({
    store: fakeStore([]),
    cursorKeys: keyring,
    authorization: POLICY,
    ingest: rawStreamWriter(new KinesisClient({ region: 'eu-west-1' }), 'raw', noSleep),
  });

const post = (profileId: string, body: unknown, userArn: string = CALLERS.client(profileId)) =>
  apiEvent('POST', `/v1/profiles/${profileId}/impressions`, {
    body: typeof body === 'string' ? body : JSON.stringify(body),
    userArn,
  });

const ok = (n: number) => ({
  FailedRecordCount: 0,
  Records: Array.from({ length: n }, (_, i) => ({ SequenceNumber: String(i), ShardId: 'shardId-0' })),
});

beforeEach(() => kinesis.reset());

describe('ingest route', () => {
  it('puts every event unchanged on the raw stream under the profile, and answers 202 with the count', async () => {
    kinesis.on(PutRecordsCommand).resolves(ok(3));
    const events = [
      impression({ profileId: 'p1' }),
      impression({ profileId: 'p1' }),
      impression({ profileId: 'p1' }),
    ];
    const r = await handler()(post('p1', { events }));
    expect(r.statusCode).toBe(202);
    expect(parse(r)).toEqual({ profileId: 'p1', accepted: 3 });
    const [input] = calls();
    expect(input!.StreamName).toBe('raw');
    expect(input!.Records!.map((x) => x.PartitionKey)).toEqual(['p1', 'p1', 'p1']);
    expect(input!.Records!.map((x) => JSON.parse(Buffer.from(x.Data!).toString('utf8')))).toEqual(events);
  });

  it('a service may ingest for any profile (a backend that relays devices’ events)', async () => {
    kinesis.on(PutRecordsCommand).resolves(ok(1));
    const r = await handler()(post('p9', { events: [impression({ profileId: 'p9' })] }, CALLERS.service));
    expect(r.statusCode).toBe(202);
  });

  it('refuses a batch with one event of another profile with a 400 naming its index, and writes nothing', async () => {
    kinesis.on(PutRecordsCommand).resolves(ok(3));
    const events = [
      impression({ profileId: 'p1' }),
      impression({ profileId: 'p2' }),
      impression({ profileId: 'p1' }),
    ];
    const r = await handler()(post('p1', { events }));
    expect(r.statusCode).toBe(400);
    expect(r.headers?.['content-type']).toBe('application/problem+json');
    expect(parse(r).detail).toContain('events[1].profileId');
    expect(calls()).toHaveLength(0);
  });

  it.each([
    ['no events', { events: [] }, 'events'],
    ['501 events', { events: Array(501).fill(impression({ profileId: 'p1' })) }, 'events'],
    ['events not an array', { events: {} }, 'events'],
    ['an event that is not an object', { events: [impression({ profileId: 'p1' }), 'x'] }, 'events[1]'],
    [
      'an event without profileId',
      { events: [(({ profileId, ...e }) => e)(impression())] },
      'events[0].profileId',
    ],
    ['a profileId of another type', { events: [{ ...impression(), profileId: 1 }] }, 'events[0].profileId'],
    ['another key in the body', { events: [impression({ profileId: 'p1' })], x: 1 }, 'body.x'],
    ['a body that is not JSON', '{"events":[', 'body'],
  ])('400 for %s, naming %s, nothing written', async (_name, body, parameter) => {
    const r = await handler()(post('p1', body));
    expect(r.statusCode).toBe(400);
    expect(parse(r).detail).toContain(parameter);
    expect(calls()).toHaveLength(0);
  });

  it('413 for a body over 1 MiB, nothing written', async () => {
    const big = {
      events: [{ ...impression({ profileId: 'p1' }), context: { pad: 'x'.repeat(MAX_INGEST_BODY_BYTES) } }],
    };
    const r = await handler()(post('p1', big));
    expect(r.statusCode).toBe(413);
    expect(calls()).toHaveLength(0);
  });

  it('413 for an event that Kinesis would refuse once serialized again, though its body was within 1 MiB', async () => {
    // `1E9` (3 bytes in the body) is written `1000000000` (10 bytes) on the stream.
    const numbers = Array.from({ length: 250_000 }, () => '1E9').join(',');
    const body = `{"events":[${JSON.stringify(impression({ profileId: 'p1' })).replace(/}$/, `,"pad":[${numbers}]}`)}]}`;
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_INGEST_BODY_BYTES);
    const r = await handler()(post('p1', body));
    expect(r.statusCode).toBe(413);
    expect(String(r.body)).toMatch(/events\[0\]/);
    expect(calls()).toHaveLength(0);
  });

  it('415 for a body that is not application/json (a charset parameter is fine), nothing written', async () => {
    const body = JSON.stringify({ events: [impression({ profileId: 'p1' })] });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', null]) {
      const r = await handler()(
        apiEvent('POST', '/v1/profiles/p1/impressions', { body, userArn: CALLERS.client('p1'), contentType }),
      );
      expect(r.statusCode).toBe(415);
    }
    expect(calls()).toHaveLength(0);
    const charset = await handler()(
      apiEvent('POST', '/v1/profiles/p1/impressions', {
        body,
        userArn: CALLERS.client('p1'),
        contentType: 'Application/JSON; charset=utf-8',
      }),
    );
    // Parsed and put on the stream (what the stream answers is the other tests' concern).
    expect(charset.statusCode).not.toBe(415);
    expect(calls().length).toBeGreaterThan(0);
  });

  it('a client session may not write another profile’s impressions (403), nothing written', async () => {
    const r = await handler()(
      post('p2', { events: [impression({ profileId: 'p2' })] }, CALLERS.client('p1')),
    );
    expect(r.statusCode).toBe(403);
    expect(calls()).toHaveLength(0);
  });

  it('retries only the entries a partial failure left out, then answers 202', async () => {
    kinesis
      .on(PutRecordsCommand)
      .resolvesOnce({
        FailedRecordCount: 2,
        Records: [
          { SequenceNumber: '1', ShardId: 's' },
          { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' },
          { SequenceNumber: '3', ShardId: 's' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
        ],
      })
      .resolves(ok(2));
    const events = [1, 2, 3, 4].map((position) => impression({ profileId: 'p1', position }));
    const r = await handler()(post('p1', { events }));
    expect(r.statusCode).toBe(202);
    const [first, second] = calls();
    expect(first!.Records).toHaveLength(4);
    expect(second!.Records!.map((x) => JSON.parse(Buffer.from(x.Data!).toString()).position)).toEqual([2, 4]);
  });

  it('answers 503 with Retry-After when the stream keeps throttling, after a bounded number of attempts', async () => {
    kinesis.on(PutRecordsCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ProvisionedThroughputExceededException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const r = await handler()(post('p1', { events: [impression({ profileId: 'p1' })] }));
    expect(r.statusCode).toBe(503);
    expect(r.headers?.['retry-after']).toBe('1');
    expect(parse(r)).toMatchObject({ status: 503, title: 'Service Unavailable' });
    expect(calls()).toHaveLength(INGEST_RETRY.attempts);
  });

  it('answers 503 with Retry-After when entries still fail after the last attempt', async () => {
    kinesis.on(PutRecordsCommand).resolves({
      FailedRecordCount: 1,
      Records: [{ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' }],
    });
    const r = await handler()(post('p1', { events: [impression({ profileId: 'p1' })] }));
    expect(r.statusCode).toBe(503);
    expect(r.headers?.['retry-after']).toBe('1');
  });

  it('answers 503, not 500, when the put fails for any other reason', async () => {
    kinesis
      .on(PutRecordsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const r = await handler()(post('p1', { events: [impression({ profileId: 'p1' })] }));
    expect(r.statusCode).toBe(503);
    expect(r.body).not.toContain('denied');
  });
});

describe('ingest route: per-profile limit (429 before the stream)', () => {
  // A clock the test moves: 2026-03-01T12:00:00.000Z, the start of a 10-second window.
  const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
  const setup = (perWindow = 1000) => {
    const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
    const clock = { now: T0 };
    const h = makeHandler({
      store: fakeStore([]),
      cursorKeys: keyring,
      authorization: POLICY,
      ingest: rawStreamWriter(new KinesisClient({ region: 'eu-west-1' }), 'raw', noSleep),
      ingestLimit: ingestLimiter(ddb.client, 'history', { perWindow, now: () => clock.now }),
      nowMs: () => clock.now,
    });
    return { ddb, clock, h };
  };
  const batch = (profileId: string, n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => impression({ profileId, position: from + i }));
  const putCount = () => calls().reduce((n, c) => n + (c.Records?.length ?? 0), 0);

  beforeEach(() =>
    kinesis.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ok(input.Records!.length)),
  );

  it('1,000 events within 10 s pass; the next request is a 429 with Retry-After and puts nothing; the next window passes', async () => {
    const { ddb, clock, h } = setup();
    // Two requests of 500 in the first window, 9.2 s apart.
    expect((await h(post('p1', { events: batch('p1', 500) }))).statusCode).toBe(202);
    clock.now = T0 + 9_200;
    expect((await h(post('p1', { events: batch('p1', 500, 500) }))).statusCode).toBe(202);
    expect(putCount()).toBe(1000);

    const refused = await h(post('p1', { events: batch('p1', 1, 1000) }));
    expect(refused.statusCode).toBe(429);
    expect(refused.headers?.['content-type']).toBe('application/problem+json');
    expect(parse(refused)).toMatchObject({ status: 429, title: 'Too Many Requests' });
    // 0.8 s left in the window: whole seconds, rounded up.
    expect(refused.headers?.['retry-after']).toBe('1');
    expect(putCount()).toBe(1000);
    // The refused request added nothing to the window's counter.
    expect(
      ddb.table('history').get(
        JSON.stringify(
          [
            ['pk', 'P#p1'],
            ['sk', ingestWindowSortKey(T0)],
          ].sort(),
        ),
      )?.n,
    ).toBe(1000);

    // Another profile is not affected.
    expect((await h(post('p2', { events: batch('p2', 500) }))).statusCode).toBe(202);

    clock.now = T0 + INGEST_WINDOW_MS;
    const next = await h(post('p1', { events: batch('p1', 500, 1001) }));
    expect(next.statusCode).toBe(202);
    expect(putCount()).toBe(2000);
  });

  it('a request that would take the window over the cap is refused whole, even if part of it would fit', async () => {
    const { clock, h } = setup();
    expect((await h(post('p1', { events: batch('p1', 500) }))).statusCode).toBe(202);
    expect((await h(post('p1', { events: batch('p1', 499, 500) }))).statusCode).toBe(202);
    clock.now = T0 + 2_500;
    const r = await h(post('p1', { events: batch('p1', 2, 999) }));
    expect(r.statusCode).toBe(429);
    expect(r.headers?.['retry-after']).toBe('8');
    expect(putCount()).toBe(999);
    // One more event still fits.
    expect((await h(post('p1', { events: batch('p1', 1, 999) }))).statusCode).toBe(202);
    expect(putCount()).toBe(1000);
  });

  it('a request larger than a configured cap is refused without counting', async () => {
    const { ddb, h } = setup(10);
    const r = await h(post('p1', { events: batch('p1', 11) }));
    expect(r.statusCode).toBe(429);
    expect(putCount()).toBe(0);
    expect(ddb.capacity.writes).toBe(0);
    expect((await h(post('p1', { events: batch('p1', 10) }))).statusCode).toBe(202);
  });

  it('answers 503 and puts nothing when the counter cannot be written (throttled after retries)', async () => {
    const ddb = memoryDynamo({ throttle: 1, partial: 0, seed: 1 });
    const h = makeHandler({
      store: fakeStore([]),
      cursorKeys: keyring,
      authorization: POLICY,
      ingest: rawStreamWriter(new KinesisClient({ region: 'eu-west-1' }), 'raw', noSleep),
      ingestLimit: ingestLimiter(ddb.client, 'history', {
        perWindow: 1000,
        now: () => T0,
        policy: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
      }),
    });
    const r = await h(post('p1', { events: batch('p1', 1) }));
    expect(r.statusCode).toBe(503);
    expect(r.headers?.['retry-after']).toBe('1');
    expect(putCount()).toBe(0);
  });
});
