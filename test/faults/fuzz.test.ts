/**
 * Property-based fuzzing of everything that reads untrusted input: the record decoder and classifier, and
 * every history API parameter and body through the real handler, and KPL framing and escape-heavy payloads
 * through filter-enrich with the strict in-memory Kinesis behind its real sinks. No input may crash them, produce a 5xx,
 * or yield anything but a reason of the contract or a 4xx that names the parameter.
 * `npm test` runs FUZZ_RUNS=2000 per property; `npm run test:faults` runs 100,000.
 *
 * Long campaigns run in chunks of `CHUNK` cases with a macrotask turn between chunks (`setImmediate`): a
 * property that holds the event loop for a whole campaign (≈ 50 s at 100,000 cases) starves vitest's worker
 * RPC, which then fails the run with `[vitest-worker]: Timeout calling "onTaskUpdate"`. Each chunk has its
 * own seed (FUZZ_SEED + chunk index), printed with any counterexample.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import agg from 'aws-kinesis-agg';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectAggregate, isAggregated } from '../../lambdas/adapters/kinesis-event.js';
import { fromRejectedWire } from '../../lambdas/adapters/stream-encoding.js';
import { classify, MAX_RECORD_BYTES } from '../../lambdas/domain/classify.js';
import { REJECTED_ROW_LIMITS } from '../../lambdas/domain/filter-enrich.js';
import { makeHandler as makeFilterEnrich } from '../../lambdas/filter-enrich/handler.js';
import { makeHandler } from '../../lambdas/history-api/handler.js';
import { MAX_INGEST_BODY_BYTES, MAX_INGEST_EVENTS } from '../../lambdas/history-api/requests.js';
import { CALLERS, KEY, POLICY } from '../support/api.js';
import { impression, kinesisEvent, NOW_MS, rawRecord } from '../support/factories.js';
import { filterEnrichDeps, streamSinks } from '../support/handlers.js';
import { KINESIS_LIMITS } from '../support/kinesis-limits.js';
import { aggregateBody, craftAggregate, frame, KPL_MAGIC, varintField } from '../support/kpl-framing.js';
import { memoryKinesis } from '../support/memory-aws.js';
import { DEFAULT_CLASSIFIER_CONFIG, DEFAULT_MAX_USER_RECORDS } from '../support/oracles.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? '2000');
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CHUNK = 500;
/** Time for a campaign: the suite's default, plus a generous 6 ms per case (2-core machines under load). */
const timeoutFor = (runs: number) => 60_000 + runs * 6;
let cases = 0;
const perProperty = new Map<string, number>();
afterAll(() => {
  const rows = [...perProperty].map(([name, n]) => `| ${name} | ${n} |`).join('\n');
  const table = `fuzzing (seed ${SEED}): ${cases} cases\n\n| property | cases |\n|---|---|\n${rows}\n`;
  process.stdout.write(`\n${table}`);
  // `npm run test:faults` (FAULT_REPORT set): the table beside the fault campaign's report.
  const report = process.env.FAULT_REPORT;
  if (report) {
    mkdirSync(path.dirname(report), { recursive: true });
    writeFileSync(path.join(path.dirname(report), 'fuzz.md'), table);
  }
});

/** Runs `runs` cases of a property in chunks, yielding to the event loop between chunks. */
async function assertInChunks<Ts>(
  name: string,
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
  runs: number,
): Promise<void> {
  for (let done = 0, chunk = 0; done < runs; done += CHUNK, chunk++) {
    await fc.assert(property as fc.IAsyncProperty<Ts>, {
      numRuns: Math.min(CHUNK, runs - done),
      seed: SEED + chunk,
    });
    perProperty.set(name, (perProperty.get(name) ?? 0) + Math.min(CHUNK, runs - done));
    await new Promise((r) => setImmediate(r));
  }
}

const REASON =
  /^(decode\.(not-json|too-large|not-object)|schema\.(missing-field|wrong-type|out-of-range|unknown-field|unsupported-version)(:[A-Za-z0-9_$.-]*(\[".*"\])*)?|time\.(future|too-late)|quality\.entity-mismatch)$/s;
// Quoted keys are JSON strings: no raw control characters or line breaks.
const printable = (s: string) => [...s].every((ch) => ch.charCodeAt(0) >= 0x20);

const check = (bytes: Uint8Array) => {
  cases++;
  const c = classify(bytes, NOW_MS, DEFAULT_CLASSIFIER_CONFIG);
  if (c.outcome === 'rejected') {
    expect(c.code).toMatch(REASON);
    expect(printable(c.code)).toBe(true);
  } else expect(['filtered', 'candidate']).toContain(c.outcome);
};

const hostile = fc.oneof(
  fc.constant('__proto__'),
  fc.constant('constructor'),
  fc.constant('prototype'),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
);

describe(`fuzzing the decoder and classifier (${RUNS} runs per property)`, () => {
  it('arbitrary bytes, including invalid UTF-8', { timeout: timeoutFor(RUNS) }, async () => {
    await assertInChunks(
      'classifier: arbitrary bytes',
      fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => check(b)),
      RUNS,
    );
  });

  it('events with any field replaced by any JSON, hostile keys added, or nested deeply', {
    timeout: timeoutFor(RUNS),
  }, async () => {
    const base = impression();
    const keys = Object.keys(base);
    const mutated = fc.oneof(
      fc
        .record({ k: fc.constantFrom(...keys), v: fc.jsonValue({ maxDepth: 4 }) })
        .map(({ k, v }) => ({ ...base, [k]: v })),
      fc
        .record({ k: hostile, v: fc.jsonValue({ maxDepth: 2 }) })
        .map(({ k, v }) =>
          JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'},${JSON.stringify(base).slice(1)}`),
        ),
      fc
        .dictionary(hostile, fc.string({ maxLength: 300 }), { maxKeys: 100 })
        .map((context) => ({ ...base, context })),
      fc
        .integer({ min: 1, max: 3000 })
        .map((depth) => ({ ...base, context: JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) })),
      fc
        .oneof(
          fc.double(),
          fc.bigInt().map((b) => Number(b)),
          fc.constant(1e308),
          fc.constant(-0),
        )
        .map((n) => ({
          ...base,
          position: n,
          visibility: { percent: n, durationMs: n },
        })),
    );
    await assertInChunks(
      'classifier: mutated events',
      fc.property(mutated, (value) => {
        const text = JSON.stringify(value);
        if (text !== undefined) check(Buffer.from(text));
      }),
      RUNS,
    );
  });

  it('oversized records are rejected as too large, whatever they hold', async () => {
    await assertInChunks(
      'classifier: oversized records',
      fc.property(
        fc.integer({ min: MAX_RECORD_BYTES + 1, max: MAX_RECORD_BYTES * 4 }),
        fc.integer({ min: 0, max: 255 }),
        (n, fill) => {
          cases++;
          const c = classify(new Uint8Array(n).fill(fill), NOW_MS, DEFAULT_CLASSIFIER_CONFIG);
          expect(c.outcome === 'rejected' && c.reason).toBe('decode.too-large');
        },
      ),
      Math.min(RUNS, 2000),
    );
  });

  it('leaves Object.prototype untouched', () => {
    check(Buffer.from('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe(`fuzzing the history API (${RUNS} runs per property)`, () => {
  // A caller on both allow-lists, so that every route's parsing is reached.
  const everything = 'arn:aws:iam::000000000000:root';
  let written: { profileId: string; records: readonly string[] }[] = [];
  const handler = makeHandler({
    store: {
      listHistory: async () => ({ impressions: [], last: null }),
      titleCounts: async () => new Map(),
      erase: async () => ({ deleted: 0, complete: true, erasedAtMs: 0 }),
    },
    cursorKeys: async () => ({ current: KEY }),
    authorization: { services: [everything], erasers: [everything] },
    ingest: async (profileId, records) => {
      written.push({ profileId, records });
      return { failed: 0 };
    },
  });
  const event = (
    method: string,
    rawPath: string,
    rawQueryString: string,
    body?: string,
    isBase64Encoded = false,
    userArn: string = everything,
  ) =>
    ({
      rawPath,
      rawQueryString,
      body,
      isBase64Encoded,
      requestContext: { http: { method }, requestId: 'r', authorizer: { iam: { userArn } } },
    }) as unknown as APIGatewayProxyEventV2;

  const expectProblemOrSuccess = (res: Awaited<ReturnType<typeof handler>>) => {
    const status = res.statusCode ?? 0;
    expect(status).toBeGreaterThanOrEqual(200);
    expect(status).toBeLessThan(500);
    if (status >= 400) {
      expect(res.headers?.['content-type']).toBe('application/problem+json');
      const problem = JSON.parse(String(res.body));
      expect(problem).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    }
    return status;
  };

  it("the ingest body: 202 with every event of the path's profile written once, or a 4xx and nothing written", {
    timeout: timeoutFor(RUNS),
  }, async () => {
    const base = impression({ profileId: 'p1' });
    const anEvent = fc.oneof(
      { weight: 6, arbitrary: fc.constant(base) },
      fc
        .record({ k: fc.constantFrom(...Object.keys(base)), v: fc.jsonValue({ maxDepth: 3 }) })
        .map(({ k, v }) => ({ ...base, [k]: v })),
      fc
        .record({ k: hostile, v: fc.jsonValue({ maxDepth: 2 }) })
        .map(({ k, v }) =>
          JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'},${JSON.stringify(base).slice(1)}`),
        ),
      fc
        .constantFrom('p2', 'P1', 'p1 ', '', 'p1\u0000', '__proto__')
        .map((profileId) => ({ ...base, profileId })),
      fc.jsonValue({ maxDepth: 3 }),
      fc
        .integer({ min: 1, max: 3000 })
        .map((depth) => ({ ...base, context: JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) })),
    );
    const body = fc.oneof(
      fc.array(anEvent, { maxLength: 8 }).map((events) => JSON.stringify({ events })),
      fc
        .record({ events: fc.array(anEvent, { maxLength: 3 }), more: fc.jsonValue() })
        .map((b) => JSON.stringify(b)),
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((j) => JSON.stringify(j) ?? ''),
    );
    // Bodies at the count and size limits are slow to build and check: fewer of them.
    const atLimits = fc.oneof(
      fc
        .integer({ min: MAX_INGEST_EVENTS - 2, max: MAX_INGEST_EVENTS + 2 })
        .map((n) => JSON.stringify({ events: Array(n).fill(base) })),
      fc.integer({ min: MAX_INGEST_BODY_BYTES - 64, max: MAX_INGEST_BODY_BYTES + 64 }).map((n) => {
        const head = JSON.stringify({ events: [{ ...base, context: { pad: '' } }] });
        return head.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, n - head.length))}"`);
      }),
    );
    const property = (bodies: fc.Arbitrary<string>) =>
      fc.asyncProperty(bodies, fc.boolean(), async (b, b64) => {
        cases++;
        written = [];
        const res = await handler(
          event('POST', '/v1/profiles/p1/impressions', '', b64 ? Buffer.from(b).toString('base64') : b, b64),
        );
        const status = expectProblemOrSuccess(res);
        if (status === 202) {
          const sent = (JSON.parse(b) as { events: unknown[] }).events;
          expect(written).toHaveLength(1);
          expect(written[0]!.profileId).toBe('p1');
          // Compared as text: a deep structural comparison of 3,000-deep events would overflow the stack.
          expect(written[0]!.records).toEqual(sent.map((e) => JSON.stringify(e)));
          for (const r of written[0]!.records) expect(JSON.parse(r).profileId).toBe('p1');
          expect(JSON.parse(String(res.body))).toEqual({ profileId: 'p1', accepted: sent.length });
        } else {
          expect(written).toEqual([]);
        }
      });
    await assertInChunks('API: ingest bodies', property(body), RUNS);
    await assertInChunks('API: ingest bodies at the limits', property(atLimits), Math.min(RUNS, 200));
  });

  it('any caller identity that is not on a list or a scoped client session: 403 on every route', {
    timeout: timeoutFor(RUNS),
  }, async () => {
    const arn = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc
        .tuple(
          fc.constantFrom('aws', 'aws-cn', 'x'),
          fc.stringMatching(/^\d{12}$/),
          fc.string({ maxLength: 40 }),
        )
        .map(([p, a, rest]) => `arn:${p}:sts::${a}:assumed-role/${rest}`),
      fc.stringMatching(/^arn:aws:(iam|sts)::\d{12}:[a-z-]+\/[\w+=,.@/-]{0,70}$/),
    );
    await assertInChunks(
      'API: caller identities',
      fc.asyncProperty(
        arn,
        fc.constantFrom(
          ['GET', '/v1/profiles/p1/impressions'],
          ['DELETE', '/v1/profiles/p1/impressions'],
          ['POST', '/v1/profiles/p1/impressions'],
          ['GET', '/v1/profiles/p1/frequency'],
        ),
        async (userArn, [method, path]) => {
          cases++;
          written = [];
          const denied = makeHandler({
            store: {
              listHistory: async () => ({ impressions: [], last: null }),
              titleCounts: async () => new Map(),
              erase: async () => ({ deleted: 0, complete: true, erasedAtMs: 0 }),
            },
            cursorKeys: async () => ({ current: KEY }),
            authorization: POLICY,
          });
          const res = await denied(event(method!, path!, '', undefined, false, userArn));
          const listed =
            [CALLERS.service, CALLERS.eraser].includes(userArn) || /ClientRole-ABC123\/p\./.test(userArn);
          if (!listed) expect(res.statusCode).toBe(403);
        },
      ),
      RUNS,
    );
  });

  it('every parameter and body: a 2xx or a 4xx problem that names what is wrong, never a 5xx', {
    timeout: timeoutFor(RUNS),
  }, async () => {
    const param = fc.constantFrom(
      'limit',
      'since',
      'until',
      'titleId',
      'cursor',
      'titleIds',
      'window',
      'x',
      '__proto__',
    );
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer().map(String),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('1h', '7d', '30d', '500', '0', '-1', '%', '%ZZ'),
    );
    const query = fc
      .array(fc.tuple(param, value), { maxLength: 6 })
      .map((kv) => kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
    const profile = fc.oneof(
      fc.constant('p1'),
      fc.string({ maxLength: 70 }).map(encodeURIComponent),
      fc.constant('%E0%A4%A'),
    );
    const suffix = fc.constantFrom('/impressions', '/frequency', '/frequency/check', '/x', '');
    const body = fc.option(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.jsonValue({ maxDepth: 4 }).map((j) => JSON.stringify(j) ?? ''),
        fc
          .array(
            fc.record({
              titleId: fc.string({ maxLength: 70 }),
              max: fc.oneof(fc.integer(), fc.double(), fc.string()),
              window: fc.string({ maxLength: 4 }),
            }),
            { maxLength: 120 },
          )
          .map((caps) => JSON.stringify({ caps })),
        fc.integer({ min: 64 * 1024 - 10, max: 70 * 1024 }).map((n) => `{"caps":"${'x'.repeat(n)}"}`),
      ),
      { nil: undefined },
    );
    await assertInChunks(
      'API: parameters and bodies',
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH'),
        profile,
        suffix,
        query,
        body,
        fc.boolean(),
        async (m, p, s, q, b, b64) => {
          cases++;
          const res = await handler(
            event(
              m,
              `/v1/profiles/${p}${s}`,
              q,
              b64 && b !== undefined ? Buffer.from(b).toString('base64') : b,
              b64,
            ),
          );
          expectProblemOrSuccess(res);
        },
      ),
      RUNS,
    );
  });
});

/** Handler-level properties cost a whole batch a case: a tenth of the campaign (FUZZ_RUNS scales them too). */
const BATCH_RUNS = Math.max(100, Math.round(RUNS / 10));
const FAST_RETRY = { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 };

/** Escape-heavy text: control characters (6 bytes once JSON-escaped), quotes, backslashes, astral characters. */
const escapeHeavy = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('"', '\\', 'é', '😀', '\u2028', 'x'),
  ),
  minLength: 1,
  maxLength: 16,
});

/** A payload: an impression, garbage, an escape-heavy text repeated to any size (up to ≈ 1 MiB), or a nested aggregate. */
const payload: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null).map(() => Buffer.from(JSON.stringify(impression()))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        escapeHeavy,
        fc.oneof(fc.integer({ min: 1, max: 2000 }), fc.constantFrom(16 * 1024 + 1, 300_000, 1_000_000)),
      )
      .map(([unit, size]) => {
        const one = Buffer.from(unit);
        return Buffer.concat(Array(Math.ceil(size / one.byteLength)).fill(one)).subarray(0, size);
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(escapeHeavy, fc.integer({ min: 1, max: 20_000 }))
      .map(([unit, n]) => Buffer.from(JSON.stringify({ ...impression(), pad: unit.repeat(n) }))),
  },
  {
    weight: 1,
    arbitrary: fc.constant(null).map(() =>
      craftAggregate({
        keys: ['p'],
        records: [{ keyIndex: 0, data: Buffer.from(JSON.stringify(impression())) }],
      }),
    ),
  },
);

const index = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }).map(BigInt) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
);

const userSpec = fc.record(
  {
    keyIndex: index,
    hashKeyIndex: index,
    data: payload,
    extra: fc.uint8Array({ maxLength: 12 }),
  },
  { requiredKeys: [] },
);

/** A KPL record: a crafted aggregate (any tables, indices, counts), bytes after the magic number, or a mutation. */
const kplRecord: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        keys: fc.array(fc.oneof(fc.constant('p'), fc.string({ maxLength: 300 })), { maxLength: 3 }),
        hashKeys: fc.array(fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map(String), { maxLength: 2 }),
        records: fc.array(userSpec, { maxLength: 12 }),
      })
      .map((spec) => craftAggregate(spec)),
  },
  {
    // Random fields with varints of 1 to 12 bytes (10 is protobuf's longest) around well-formed records.
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.array(
          fc.tuple(
            fc.integer({ min: 1, max: 40 }),
            fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
            fc.integer({ min: 1, max: 12 }),
          ),
          { maxLength: 4 },
        ),
        fc.array(userSpec, { maxLength: 6 }),
      )
      .map(([fields, records]) =>
        frame(
          Buffer.concat([
            ...fields.map(([num, v, width]) =>
              width <= 10
                ? varintField(num, v, width)
                : Buffer.from([num * 8, ...Array(width - 1).fill(0xff), 0x01]),
            ),
            aggregateBody({ keys: ['p'], records }),
          ]),
        ),
      ),
  },
  {
    // Near the cap: a count the framing must read exactly.
    weight: 1,
    arbitrary: fc.integer({ min: 995, max: 1005 }).map((n) =>
      craftAggregate({
        keys: ['p'],
        records: Array.from({ length: n }, () => ({ keyIndex: 0, data: Buffer.from('x') })),
      }),
    ),
  },
  {
    // A well-formed aggregate with bytes flipped or cut, its MD5 recomputed (or not) so the protobuf is reached.
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.array(userSpec, { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.option(fc.nat()),
        fc.boolean(),
      )
      .map(([records, flips, cut, rehash]) => {
        const body = aggregateBody({
          keys: ['p', 'q'],
          records: records.map((r) => ({ ...r, keyIndex: 0n })),
        });
        for (const [at, v] of flips) body[at % body.length] = v;
        const cutBody = cut === null ? body : body.subarray(0, cut % (body.length + 1));
        const framed = frame(cutBody);
        if (!rehash) framed[framed.length - 1]! ^= 0x01;
        return framed;
      }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([KPL_MAGIC, b])) },
);

/** A Kinesis record of the raw stream: mostly KPL framing, some plain (escape-heavy) payloads and impressions. */
const rawStreamRecord = fc.oneof({ weight: 3, arbitrary: kplRecord }, { weight: 1, arbitrary: payload });

/** The user records the KPL library finds in `data` (its own de-aggregation, the oracle), or undefined. */
function libraryUserRecords(data: Uint8Array): number | undefined {
  let n: number | undefined;
  agg.deaggregateSync(
    { partitionKey: 'k', sequenceNumber: '1', data: Buffer.from(data).toString('base64') } as never,
    true,
    (err, users) => {
      if (!err && users) n = users.length;
    },
  );
  return n;
}

describe(`fuzzing KPL framing and escape-heavy payloads through filter-enrich (${BATCH_RUNS} batches per property)`, () => {
  it('one outcome per user record, or one row per aggregate refused whole; the batch completes; rows and bytes bounded', {
    timeout: timeoutFor(BATCH_RUNS * 20),
  }, async () => {
    await assertInChunks(
      'filter-enrich: KPL framing, escape-heavy payloads',
      fc.asyncProperty(fc.array(rawStreamRecord, { minLength: 1, maxLength: 8 }), async (datas) => {
        cases++;
        // A record Kinesis would refuse never reaches the raw stream.
        const records = datas
          .filter((d) => d.byteLength + 'profile-1'.length <= KINESIS_LIMITS.maxRecordBytes)
          .map((d) => rawRecord(d));
        if (!records.length) return;
        const kinesis = memoryKinesis({ throttle: 0, partial: 0, seed: 1 });
        const { d, offered } = filterEnrichDeps(streamSinks(kinesis.client, { retry: FAST_RETRY }));
        const res = await makeFilterEnrich(d)(kinesisEvent(records));
        // Data errors never fail the batch (and the strict Kinesis refused nothing).
        expect(res.batchItemFailures).toEqual([]);

        const stored = kinesis.streams.get('rejected') ?? [];
        for (const s of stored)
          expect(s.data.byteLength + Buffer.byteLength(s.partitionKey)).toBeLessThanOrEqual(
            KINESIS_LIMITS.maxRecordBytes,
          );
        const rows = stored.map((s) => fromRejectedWire(JSON.parse(Buffer.from(s.data).toString())));
        expect(rows.length).toBeLessThanOrEqual(
          REJECTED_ROW_LIMITS.perBatch + REJECTED_ROW_LIMITS.perRecord + 1 + records.length,
        );

        const ids = [...offered.map((c) => c.recordId), ...rows.map((r) => r.sequence_number)];
        expect(new Set(ids).size).toBe(ids.length);
        for (const rec of records) {
          const seq = rec.sequenceNumber;
          const mine = rows.filter(
            (r) => r.sequence_number === seq || r.sequence_number.startsWith(`${seq}:`),
          );
          const enriched = offered.filter(
            (c) => c.recordId === seq || c.recordId.startsWith(`${seq}:`),
          ).length;
          expect(mine.length).toBeLessThanOrEqual(REJECTED_ROW_LIMITS.perRecord + 1);
          const whole = mine.filter(
            (r) => r.reason === 'decode.bad-aggregate' || r.reason === 'decode.aggregate-too-large',
          );
          const framing = isAggregated(rec.data) ? inspectAggregate(rec.data) : undefined;
          if (framing && ('bad' in framing || framing.userRecords > DEFAULT_MAX_USER_RECORDS)) {
            // Refused whole: one row, nothing of it enriched.
            expect(mine).toHaveLength(1);
            expect(whole).toHaveLength(1);
            expect(enriched).toBe(0);
            continue;
          }
          expect(whole).toEqual([]);
          // Accepted framing: the library agrees, and every one of its user records has one outcome.
          const users = framing ? libraryUserRecords(rec.data) : 1;
          expect(users).toBe(framing ? framing.userRecords : 1);
          const rejectedUsers = mine.reduce((n, r) => {
            const m = /^(\d+) rejected user records/.exec(r.detail ?? '');
            return n + (m ? Number(m[1]) : 1);
          }, 0);
          expect(enriched + rejectedUsers).toBe(users);
        }
      }),
      BATCH_RUNS,
    );
  });
});
