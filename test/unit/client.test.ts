/**
 * The history API client against a local server: SigV4 signatures (recomputed from what arrived), the
 * credential chain, pages through the async iterator, the contract's retry rules with `Retry-After` (an
 * injected sleep and clock: nothing waits), RFC 9457 problems as typed errors, and the ingest and erasure
 * helpers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ApiProblem,
  BadRequestProblem,
  ClientProblem,
  ForbiddenProblem,
  type FrequencyWindow,
  type HistoryClientOptions,
  historyClient,
  INGEST_LIMITS,
  InternalServerProblem,
  ingestBatches,
  NotFoundProblem,
  ServerProblem,
  ServiceUnavailableProblem,
  TooManyRequestsProblem,
} from '../../client/index.js';
import { type FrequencyWindow as ServiceWindow, WINDOWS } from '../../lambdas/domain/frequency.js';
import { MAX_INGEST_BODY_BYTES, MAX_INGEST_EVENTS } from '../../lambdas/history-api/requests.js';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}
interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

let server: Server;
let port: number;
let seen: Seen[] = [];
let answer: (req: Seen, n: number) => Answer = () => ({ status: 200, body: {} });

const read = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const s: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: await read(req),
    };
    seen.push(s);
    const a = answer(s, seen.length);
    const problem = a.status >= 400 && typeof a.body === 'object';
    res.writeHead(a.status, {
      'content-type': problem ? 'application/problem+json' : 'application/json',
      ...a.headers,
    });
    res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body ?? {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => {
  seen = [];
  vi.unstubAllEnvs();
});

const waits: number[] = [];
const client = (o: Partial<HistoryClientOptions> = {}) =>
  historyClient({
    baseUrl: `http://127.0.0.1:${port}`,
    region: 'eu-west-1',
    credentials,
    retry: { sleep: async (ms) => void waits.push(ms), random: () => 0, ...o.retry },
    ...o,
  });

const problem = (status: number, title: string, detail: string) => ({
  status,
  body: { type: 'about:blank', title, status, detail },
});

/** Signs the request again from what the server received (only the headers it says it signed). */
async function verify(s: Seen, creds = credentials, region = 'eu-west-1'): Promise<boolean> {
  const auth = String(s.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  // The payload hash is computed again from the body, not taken from the request's own header.
  for (const h of signedHeaders) if (h !== 'x-amz-content-sha256') headers[h] = String(s.headers[h]);
  const url = new URL(s.url, `http://${s.headers.host}`);
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => {
    query[k] = v;
  });
  const date = String(s.headers['x-amz-date']);
  const signingDate = new Date(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  const again = await new SignatureV4({
    credentials: creds,
    region,
    service: 'execute-api',
    sha256: Sha256,
  }).sign(
    {
      method: s.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers,
      body: s.body || undefined,
    },
    { signingDate },
  );
  return again.headers.authorization === auth;
}

describe('history API client: signing', () => {
  it('signs every request with SigV4 for execute-api, verifiably from what arrived', async () => {
    answer = (s) =>
      s.method === 'GET'
        ? { status: 200, body: { profileId: 'p1', items: [], nextCursor: null } }
        : { status: 202, body: { profileId: 'p1', accepted: 1 } };
    const api = client();
    await api.historyPage('p1', { limit: 10, since: new Date(Date.UTC(2026, 0, 1)), titleId: 't 1' });
    await api.ingest('p1', [{ profileId: 'p1', n: 1 }]);
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(String(s.headers.authorization)).toContain('x-amz-date');
      expect(await verify(s)).toBe(true);
    }
    expect(seen[0]!.url).toBe(
      '/v1/profiles/p1/impressions?limit=10&since=2026-01-01T00%3A00%3A00.000Z&titleId=t+1',
    );
    expect(seen[1]!.headers['content-type']).toBe('application/json');
    // The check is not vacuous: another body, or other credentials, do not verify.
    expect(await verify({ ...seen[1]!, body: seen[1]!.body.replace('1', '2') })).toBe(false);
    expect(await verify(seen[0]!, { ...credentials, secretAccessKey: 'other' })).toBe(false);
  });

  it('uses the standard credential chain when no credentials are given, with the session token', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENV');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'env-token');
    answer = () => ({ status: 200, body: { profileId: 'p1', items: [], nextCursor: null } });
    await client({ credentials: undefined }).historyPage('p1');
    const s = seen[0]!;
    expect(s.headers.authorization).toMatch(/Credential=AKIDFROMENV\//);
    expect(s.headers['x-amz-security-token']).toBe('env-token');
    expect(
      await verify(s, {
        accessKeyId: 'AKIDFROMENV',
        secretAccessKey: 'env-secret',
        sessionToken: 'env-token',
      } as never),
    ).toBe(true);
  });

  it('takes the region from an execute-api URL, and sends unsigned requests when asked', async () => {
    answer = () => ({ status: 403, body: { message: 'Forbidden' } });
    const r = await client({ sign: false, region: undefined }).request('GET', '/v1/profiles/p1/impressions');
    expect(r.status).toBe(403);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(() =>
      historyClient({ baseUrl: 'https://abc.execute-api.ap-south-2.amazonaws.com', credentials }),
    ).not.toThrow();
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    expect(() => historyClient({ baseUrl: 'https://api.example.com', credentials })).toThrow(/region/);
  });

  it('reaches a local emulator host (*.localhost) on loopback with the signed Host', async () => {
    answer = () => ({ status: 200, body: { profileId: 'p1', items: [], nextCursor: null } });
    const api = historyClient({
      baseUrl: `http://abc123.execute-api.localhost:${port}`,
      region: 'eu-west-1',
      credentials,
    });
    await api.historyPage('p1');
    expect(seen[0]!.headers.host).toBe(`abc123.execute-api.localhost:${port}`);
    expect(await verify(seen[0]!)).toBe(true);
  });
});

describe('history API client: routes', () => {
  it('walks the history page by page with the cursor, the same filters on every page', async () => {
    const pages: Record<string, { items: { eventId: string }[]; nextCursor: string | null }> = {
      '': { items: [{ eventId: 'e1' }, { eventId: 'e2' }], nextCursor: 'c1' },
      c1: { items: [{ eventId: 'e3' }], nextCursor: 'c2' },
      c2: { items: [], nextCursor: null },
    };
    answer = (s) => {
      const cursor = new URL(s.url, 'http://x').searchParams.get('cursor') ?? '';
      return { status: 200, body: { profileId: 'p1', ...pages[cursor] } };
    };
    const api = client();
    const got: string[][] = [];
    for await (const page of api.history('p1', { limit: 2, titleId: 't1' }))
      got.push(page.items.map((i) => i.eventId));
    expect(got).toEqual([['e1', 'e2'], ['e3'], []]);
    expect(seen.map((s) => s.url)).toEqual([
      '/v1/profiles/p1/impressions?limit=2&titleId=t1',
      '/v1/profiles/p1/impressions?limit=2&titleId=t1&cursor=c1',
      '/v1/profiles/p1/impressions?limit=2&titleId=t1&cursor=c2',
    ]);
    seen = [];
    const ids: string[] = [];
    for await (const item of api.impressions('p1', { limit: 2 })) ids.push(item.eventId);
    expect(ids).toEqual(['e1', 'e2', 'e3']);
    // The iterator asks for a page only when the loop wants it.
    seen = [];
    for await (const _ of api.history('p1')) break;
    expect(seen).toHaveLength(1);
  });

  it('frequency, check, ingest and erase call their routes with the contract’s shapes', async () => {
    answer = (s) => ({
      status: s.method === 'GET' || s.url.endsWith('/check') ? 200 : 202,
      body: { route: s.url },
    });
    const api = client();
    await api.frequency('p/1', ['t1', 't2'], '30d');
    await api.check('p1', [{ titleId: 't1', max: 3, window: '7d' }]);
    await api.ingest('p1', ['{"profileId":"p1","raw":true}', { profileId: 'p1', n: 2 }]);
    await api.erase('p1');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /v1/profiles/p%2F1/frequency?titleIds=t1%2Ct2&window=30d',
      'POST /v1/profiles/p1/frequency/check',
      'POST /v1/profiles/p1/impressions',
      'DELETE /v1/profiles/p1/impressions',
    ]);
    expect(JSON.parse(seen[1]!.body)).toEqual({ caps: [{ titleId: 't1', max: 3, window: '7d' }] });
    expect(seen[2]!.body).toBe('{"events":[{"profileId":"p1","raw":true},{"profileId":"p1","n":2}]}');
    for (const s of seen) expect(await verify(s)).toBe(true);
  });

  it('splits events into bodies within the ingest limits, and ingestAll stops at the first refusal', async () => {
    const small = Array.from({ length: 1201 }, (_, i) => `{"i":${i}}`);
    expect(ingestBatches(small).map((b) => b.length)).toEqual([500, 500, 201]);
    const big = Array.from({ length: 5 }, () => `"${'é'.repeat(150 * 1024)}"`);
    const batches = ingestBatches(big);
    expect(batches.map((b) => b.length)).toEqual([3, 2]);
    for (const b of batches)
      expect(Buffer.byteLength(`{"events":[${b.join(',')}]}`)).toBeLessThanOrEqual(INGEST_LIMITS.bodyBytes);

    answer = (_s, n) =>
      n === 1 ? { status: 202, body: { accepted: 500 } } : problem(400, 'Bad Request', 'events[3]: x');
    const events = Array.from({ length: 1200 }, (_, i) => ({ profileId: 'p1', i }));
    const out = await client().ingestAll('p1', events);
    expect(out.accepted).toBe(500);
    expect(out.refused).toBeInstanceOf(BadRequestProblem);
    expect(seen).toHaveLength(2);
  });

  it('repeats the erasure until it is complete, and gives up after its bound', async () => {
    answer = (_s, n) => ({ status: 202, body: { profileId: 'p1', deleted: 10, complete: n >= 3 } });
    waits.length = 0;
    expect(await client().eraseCompletely('p1', { intervalMs: 250 })).toEqual({
      profileId: 'p1',
      deleted: 30,
      requests: 3,
    });
    expect(waits).toEqual([250, 250]);
    seen = [];
    answer = () => ({ status: 202, body: { profileId: 'p1', deleted: 0, complete: false } });
    await expect(client().eraseCompletely('p1', { maxRequests: 4 })).rejects.toThrow(/incomplete after 4/);
    expect(seen).toHaveLength(4);
  });
});

describe('history API client: retries and problems', () => {
  it('waits out Retry-After on a 429 and a 503 and sends the same body again', async () => {
    answer = (_s, n) =>
      n === 1
        ? { ...problem(429, 'Too Many Requests', 'burst cap'), headers: { 'retry-after': '7' } }
        : n === 2
          ? { ...problem(503, 'Service Unavailable', 'try again'), headers: { 'retry-after': '2' } }
          : { status: 202, body: { profileId: 'p1', accepted: 1 } };
    waits.length = 0;
    expect(await client().ingest('p1', [{ profileId: 'p1' }])).toEqual({ profileId: 'p1', accepted: 1 });
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.body)).size).toBe(1);
    expect(waits).toEqual([7000, 2000]);
  });

  it('jitters above Retry-After (never below), reads an HTTP-date Retry-After with the injected clock', async () => {
    const now = Date.UTC(2031, 5, 1, 12, 0, 0);
    answer = (_s, n) =>
      n === 1
        ? { status: 503, headers: { 'retry-after': new Date(now + 4_000).toUTCString() }, body: 'busy' }
        : { status: 200, body: { profileId: 'p1', items: [], nextCursor: null } };
    const mine: number[] = [];
    await client({
      retry: { sleep: async (ms) => void mine.push(ms), random: () => 0.999, now: () => now },
    }).historyPage('p1');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toBeGreaterThanOrEqual(4000);
    expect(mine[0]).toBeLessThanOrEqual(6000);
  });

  it('is bounded: after the last attempt the 503 is thrown as a typed problem with its Retry-After', async () => {
    answer = () => ({
      ...problem(503, 'Service Unavailable', 'not all events were put'),
      headers: { 'retry-after': '1' },
    });
    const err = await client({ retry: { attempts: 3, sleep: async () => {} } })
      .ingest('p1', [{ profileId: 'p1' }])
      .catch((e: unknown) => e);
    expect(seen).toHaveLength(3);
    expect(err).toBeInstanceOf(ServiceUnavailableProblem);
    expect(err).toBeInstanceOf(ServerProblem);
    expect(err).toMatchObject({
      status: 503,
      title: 'Service Unavailable',
      detail: 'not all events were put',
      retryAfterSeconds: 1,
    });
  });

  it('backs off with jitter when a 503 has no Retry-After', async () => {
    answer = () => ({ status: 503, body: 'Service Unavailable' });
    const mine: number[] = [];
    await client({ retry: { attempts: 4, sleep: async (ms) => void mine.push(ms), random: () => 0.5 } })
      .historyPage('p1')
      .catch(() => undefined);
    expect(mine).toEqual([100, 200, 400]);
  });

  it.each([
    [400, BadRequestProblem, 'limit: must be an integer 1–500'],
    [403, ForbiddenProblem, 'this caller may not read profile p1'],
    [404, NotFoundProblem, 'no route GET /v2'],
  ])(
    'never retries a %i, and throws it typed with type, title, status, detail',
    async (status, Class, detail) => {
      answer = () => ({ ...problem(status, 'Some Title', detail), headers: { 'retry-after': '1' } });
      const err = await client()
        .historyPage('p1')
        .catch((e: unknown) => e);
      expect(seen).toHaveLength(1);
      expect(err).toBeInstanceOf(Class);
      expect(err).toBeInstanceOf(ClientProblem);
      expect(err).toBeInstanceOf(ApiProblem);
      expect(err).toMatchObject({ type: 'about:blank', title: 'Some Title', status, detail, method: 'GET' });
    },
  );

  it('a 500 is not retried; an answer that is not a problem document still becomes a typed problem', async () => {
    answer = () => problem(500, 'Internal Server Error', 'request id r-1');
    await expect(client().check('p1', [])).rejects.toBeInstanceOf(InternalServerProblem);
    expect(seen).toHaveLength(1);
    seen = [];
    answer = () => ({ status: 403, body: { message: 'Missing Authentication Token' } });
    const err = await client()
      .erase('p1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenProblem);
    expect(err).toMatchObject({
      type: 'about:blank',
      title: 'Forbidden',
      status: 403,
      detail: 'Missing Authentication Token',
    });
    answer = () => ({ status: 429, body: 'slow down' });
    const tooMany = await client({ retry: { attempts: 1 } })
      .frequency('p1', ['t1'])
      .catch((e: unknown) => e);
    expect(tooMany).toBeInstanceOf(TooManyRequestsProblem);
    expect(tooMany).toMatchObject({ detail: 'slow down' });
  });

  it('retries a network error on an idempotent call (bounded), and throws it from request() at once', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const mine: number[] = [];
    const api = client({
      baseUrl: `http://127.0.0.1:${deadPort}`,
      retry: { attempts: 3, sleep: async (ms) => void mine.push(ms), random: () => 1 },
    });
    await expect(api.erase('p1')).rejects.toThrow();
    expect(mine).toEqual([200, 400]);
    mine.length = 0;
    await expect(api.request('GET', '/v1/profiles/p1/impressions')).rejects.toThrow();
    expect(mine).toEqual([]);
  });

  it('request() answers with the raw response and retries only when asked', async () => {
    answer = () => ({ ...problem(503, 'Service Unavailable', 'x'), headers: { 'retry-after': '1' } });
    const api = client({ retry: { sleep: async () => {} } });
    const r = await api.request('POST', '/v1/profiles/p1/impressions', { body: '{"events":[]}' });
    expect(r.status).toBe(503);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.headers['retry-after']).toBe('1');
    expect(r.json()).toMatchObject({ status: 503 });
    expect(seen).toHaveLength(1);
    seen = [];
    const again = await api.request('GET', '/v1/profiles/p1/impressions', { retry: true });
    expect(again.status).toBe(503);
    expect(seen).toHaveLength(5);
  });
});

describe('history API client: standalone', () => {
  it('imports nothing of the service, the infrastructure or the tools: only itself, node: and the signing packages', () => {
    const allowed = new Set([
      '@aws-crypto/sha256-js',
      '@aws-sdk/credential-providers',
      '@smithy/signature-v4',
      '@smithy/types',
    ]);
    const dir = new URL('../../client/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    let scanned = 0;
    for (const f of files) {
      const text = readFileSync(new URL(f, dir), 'utf8');
      const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
      scanned += specifiers.length;
      for (const s of specifiers)
        expect(s.startsWith('./') || s.startsWith('node:') || allowed.has(s), `${f} imports ${s}`).toBe(true);
    }
    // The scan sees the imports it checks (index.ts alone has several).
    expect(scanned).toBeGreaterThanOrEqual(8);
  });

  it('keeps its own copy of the contract in step with the service: ingest limits and frequency windows', () => {
    expect(INGEST_LIMITS).toEqual({ events: MAX_INGEST_EVENTS, bodyBytes: MAX_INGEST_BODY_BYTES });
    // Both ways assignable: the client's window type is exactly the service's.
    const clientWindows: readonly FrequencyWindow[] = Object.keys(WINDOWS) as ServiceWindow[];
    const serviceWindows: readonly ServiceWindow[] = ['1h', '1d', '7d', '30d'] satisfies FrequencyWindow[];
    expect([...clientWindows].sort()).toEqual([...serviceWindows].sort());
  });
});
