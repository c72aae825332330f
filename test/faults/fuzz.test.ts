/**
 * Property-based fuzzing of everything that reads untrusted input: the record decoder and classifier, and
 * every history API parameter and body through the real handler. No input may crash them, produce a 5xx,
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
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_INGEST_BODY_BYTES, MAX_INGEST_EVENTS } from '../../lambdas/domain/api-requests.js';
import { classify, DEFAULT_CLASSIFIER_CONFIG, MAX_RECORD_BYTES } from '../../lambdas/domain/classify.js';
import { makeHandler } from '../../lambdas/history-api/handler.js';
import { CALLERS, KEY, POLICY } from '../support/api.js';
import { impression, NOW_MS } from '../support/factories.js';

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
      erase: async () => 0,
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
              erase: async () => 0,
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
