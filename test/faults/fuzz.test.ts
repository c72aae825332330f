/**
 * Property-based fuzzing of everything that reads untrusted input: the record decoder and classifier, and
 * every history API parameter and body through the real handler. No input may crash them, produce a 5xx,
 * or yield anything but a reason of the contract or a 4xx that names the parameter.
 * `npm test` runs FUZZ_RUNS=2000 per property; `npm run test:faults` runs 100,000.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { classify, DEFAULT_CLASSIFIER_CONFIG, MAX_RECORD_BYTES } from '../../lambdas/domain/classify.js';
import { makeHandler } from '../../lambdas/history-api/handler.js';
import { impression, NOW_MS } from '../support/factories.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? '2000');
let cases = 0;
afterAll(() => process.stdout.write(`\nfuzzing: ${cases} cases\n`));

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
  it('arbitrary bytes, including invalid UTF-8', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => check(b)),
      { numRuns: RUNS },
    );
  });

  it('events with any field replaced by any JSON, hostile keys added, or nested deeply', () => {
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
    fc.assert(
      fc.property(mutated, (value) => {
        const text = JSON.stringify(value);
        if (text !== undefined) check(Buffer.from(text));
      }),
      { numRuns: RUNS },
    );
  });

  it('oversized records are rejected as too large, whatever they hold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_RECORD_BYTES + 1, max: MAX_RECORD_BYTES * 4 }),
        fc.integer({ min: 0, max: 255 }),
        (n, fill) => {
          cases++;
          const c = classify(new Uint8Array(n).fill(fill), NOW_MS, DEFAULT_CLASSIFIER_CONFIG);
          expect(c.outcome === 'rejected' && c.reason).toBe('decode.too-large');
        },
      ),
      { numRuns: Math.min(RUNS, 2000) },
    );
  });

  it('leaves Object.prototype untouched', () => {
    check(Buffer.from('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe(`fuzzing the history API (${RUNS} runs per property)`, () => {
  const handler = makeHandler({
    store: {
      listHistory: async () => ({ impressions: [], last: null }),
      impressionsBetween: async () => [],
      erase: async () => 0,
    },
    cursorKey: async () => Buffer.from('k'.repeat(64)),
  });
  const event = (
    method: string,
    rawPath: string,
    rawQueryString: string,
    body?: string,
    isBase64Encoded = false,
  ) =>
    ({
      rawPath,
      rawQueryString,
      body,
      isBase64Encoded,
      requestContext: { http: { method }, requestId: 'r' },
    }) as unknown as APIGatewayProxyEventV2;

  it('every parameter and body: a 2xx or a 4xx problem that names what is wrong, never a 5xx', async () => {
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
    await fc.assert(
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
          const status = res.statusCode ?? 0;
          expect(status).toBeGreaterThanOrEqual(200);
          expect(status).toBeLessThan(500);
          if (status >= 400) {
            expect(res.headers?.['content-type']).toBe('application/problem+json');
            const problem = JSON.parse(String(res.body));
            expect(problem).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
