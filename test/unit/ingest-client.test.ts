/**
 * The ingest route's client: request bodies within the route's limits, the same body retried after
 * `Retry-After` on a 503 (bounded), signed requests, and the load generator's API sink.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INGEST_BODY_BYTES, MAX_INGEST_EVENTS } from '../../lambdas/domain/api-requests.js';
import { apiSink, ingestBodies, ingestClient } from '../../scripts/ingest-client.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
let server: Server;
let url: string;
let answers: number[] = [];
const seen: { path: string; body: string; authorization: string | undefined }[] = [];

const read = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await read(req);
    seen.push({ path: req.url ?? '', body, authorization: req.headers.authorization });
    const status = answers.shift() ?? 202;
    const n = (JSON.parse(body) as { events: unknown[] }).events.length;
    res.writeHead(status, status === 503 || status === 429 ? { 'retry-after': '1' } : {});
    res.end(JSON.stringify(status === 202 ? { accepted: n } : { status }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('ingest client', () => {
  it('splits a profile’s events into bodies of at most 500 events and 1 MiB', () => {
    const small = Array.from({ length: 1201 }, (_, i) => `{"i":${i}}`);
    expect(ingestBodies(small).map((b) => b.length)).toEqual([MAX_INGEST_EVENTS, MAX_INGEST_EVENTS, 201]);
    const big = Array.from({ length: 5 }, () => `"${'x'.repeat(300 * 1024)}"`);
    const bodies = ingestBodies(big);
    expect(bodies.map((b) => b.length)).toEqual([3, 2]);
    for (const b of bodies)
      expect(Buffer.byteLength(`{"events":[${b.join(',')}]}`)).toBeLessThanOrEqual(MAX_INGEST_BODY_BYTES);
  });

  it('signs with the given credentials and retries the same body after a 503, up to its attempts', async () => {
    seen.length = 0;
    answers = [503, 503];
    const waits: number[] = [];
    const send = ingestClient(url, {
      region: 'us-east-1',
      credentials,
      sleep: async (ms) => void waits.push(ms),
    });
    const out = await send('p1', [{ profileId: 'p1', n: 1 }]);
    expect(out).toEqual({ accepted: 1 });
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.body)).size).toBe(1);
    expect(seen[0]!.path).toBe('/v1/profiles/p1/impressions');
    expect(seen[0]!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(500);

    // A 429 (the profile's per-window limit) is waited out the same way.
    seen.length = 0;
    answers = [429];
    expect(await send('p1', [{ profileId: 'p1', n: 2 }])).toEqual({ accepted: 1 });
    expect(seen).toHaveLength(2);

    seen.length = 0;
    answers = [503, 503, 503];
    const limited = ingestClient(url, {
      region: 'us-east-1',
      credentials,
      attempts: 3,
      sleep: async () => {},
    });
    const refused = await limited('p1', [{ profileId: 'p1' }]);
    expect(refused.accepted).toBe(0);
    expect(refused.refused?.status).toBe(503);
    expect(seen).toHaveLength(3);
  });

  it('stops at the first batch refused with a 4xx, and reports what was accepted before it', async () => {
    seen.length = 0;
    answers = [202, 400];
    const send = ingestClient(url, { region: 'us-east-1', credentials, sleep: async () => {} });
    const events = Array.from({ length: 1200 }, (_, i) => ({ profileId: 'p1', i }));
    const out = await send('p1', events);
    expect(out.accepted).toBe(500);
    expect(out.refused?.status).toBe(400);
    expect(seen).toHaveLength(2);
  });

  it('the load generator’s sink sends each profile’s records to its own path and never sends what the API refuses', async () => {
    seen.length = 0;
    answers = [];
    const sink = apiSink<number>(ingestClient(url, { region: 'us-east-1', credentials }));
    const rec = (partitionKey: string, data: string, source: number) => ({
      partitionKey,
      data: Buffer.from(data),
      source,
    });
    const out = await sink([
      rec('p1', '{"profileId":"p1","a":1}', 0),
      rec('p2', '{"profileId":"p2"}', 1),
      rec('p1', 'not json', 2),
      rec('p1', '{"profileId":"p2"}', 3),
      rec('p1', '[1]', 4),
      rec('p1', '{"profileId":"p1","a":2}', 5),
    ]);
    expect(out).toEqual({ failed: [], refused: [2, 3, 4] });
    const byPath = Object.fromEntries(seen.map((s) => [s.path, JSON.parse(s.body).events]));
    expect(byPath).toEqual({
      '/v1/profiles/p1/impressions': [
        { profileId: 'p1', a: 1 },
        { profileId: 'p1', a: 2 },
      ],
      '/v1/profiles/p2/impressions': [{ profileId: 'p2' }],
    });
  });
});
