/**
 * The load generator's API sink (`--via api`) on the history API client: each profile's records to its own
 * path, what the route cannot carry never sent, what the API did not accept reported as failed.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyClient } from '../../client/index.js';
import { apiSink } from '../../scripts/ingest-client.js';

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

describe('load generator API sink', () => {
  it('the load generator’s sink sends each profile’s records to its own path and never sends what the API refuses', async () => {
    seen.length = 0;
    answers = [];
    const sink = apiSink<number>(historyClient({ baseUrl: url, region: 'us-east-1', credentials }));
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

  it('reports the records of a profile after its first refused batch as failed, and sends no more of them', async () => {
    seen.length = 0;
    answers = [202, 400];
    const sink = apiSink<number>(
      historyClient({ baseUrl: url, region: 'us-east-1', credentials, retry: { sleep: async () => {} } }),
    );
    const records = Array.from({ length: 1200 }, (_, i) => ({
      partitionKey: 'p1',
      data: Buffer.from(JSON.stringify({ profileId: 'p1', i })),
      source: i,
    }));
    const out = await sink(records);
    expect(out.refused).toEqual([]);
    expect(out.failed).toEqual(records.slice(500).map((r) => r.source));
    expect(seen).toHaveLength(2);
  });
});
