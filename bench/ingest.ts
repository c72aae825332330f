/**
 * Ingest route throughput per function instance: the real history-api handler (authorization, body
 * parsing and the per-event profile check, serialization) and the real raw-stream writer over a real
 * Kinesis SDK client whose HTTP handler answers `PutRecords` in-process, so the SDK's serialization,
 * signing and parsing are measured too, but no network. Realistic ≈ 1.2 KB events from the load
 * generator, one profile per request (as the route requires), batches of 1 to 500 events.
 *
 * A Lambda instance serves one request at a time, so its throughput is batch / (CPU time + the
 * `PutRecords` round trip): reported CPU-bound (measured here, on one core of this machine) and with the
 * round trip added as a stated assumption (`putLatencyMs`), scaled to the function's 1,024 MB (Lambda
 * allocates CPU in proportion to memory, one full vCPU at 1,769 MB: Lambda developer guide, "Configure
 * Lambda function memory").
 */
import { Readable } from 'node:stream';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { cursorKey } from '../lambdas/domain/cursor.js';
import { makeHandler } from '../lambdas/history-api/handler.js';
import { rawStreamWriter } from '../lambdas/history-api/raw-stream.js';
import { sampleCatalog } from '../scripts/seed-catalog.js';
import { traffic } from '../scripts/traffic.js';

export interface IngestBenchRow {
  readonly batchEvents: number;
  readonly bodyBytes: number;
  /** Median CPU time of one request, ms (this machine, one core). */
  readonly cpuMsPerRequest: number;
  /** Events per second of one instance with no I/O wait (this machine's core). */
  readonly cpuBoundEventsPerSec: number;
  /** Events per second of one 1,024 MB instance with the assumed PutRecords round trip. */
  readonly perInstanceEventsPerSec: number;
  readonly perInstanceRequestsPerSec: number;
}

export interface IngestBenchResult {
  readonly eventBytesAvg: number;
  readonly putLatencyMs: number;
  readonly memoryMb: number;
  readonly runs: number;
  readonly rows: readonly IngestBenchRow[];
}

const LAMBDA_FULL_VCPU_MB = 1769;

/** A Kinesis HTTP handler that accepts every record of a PutRecords request, in-process. */
const acceptingHandler = {
  async handle(request: { body?: unknown }) {
    const raw = request.body;
    const text =
      typeof raw === 'string' ? raw : Buffer.from((raw ?? new Uint8Array()) as Uint8Array).toString('utf8');
    const input = JSON.parse(text || '{}') as { Records?: unknown[] };
    const records = (input.Records ?? []).map((_, i) => ({
      SequenceNumber: String(i),
      ShardId: 'shardId-000000000000',
    }));
    const body = JSON.stringify({ FailedRecordCount: 0, Records: records });
    return {
      // The shape of @smithy/protocol-http's HttpResponse, which the SDK's deserializer reads.
      response: {
        statusCode: 200,
        reason: 'OK',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'content-length': String(Buffer.byteLength(body)),
        },
        body: Readable.from([Buffer.from(body)]),
      },
    };
  },
  updateHttpClientConfig() {},
  httpHandlerConfigs: () => ({}),
};

export async function benchIngest(
  options: { runs?: number; batchSizes?: readonly number[]; putLatencyMs?: number; memoryMb?: number } = {},
): Promise<IngestBenchResult> {
  const runs = options.runs ?? 7;
  const batchSizes = options.batchSizes ?? [1, 25, 100, 500];
  const putLatencyMs = options.putLatencyMs ?? 20;
  const memoryMb = options.memoryMb ?? 1024;
  const profileId = 'p0000001';
  const gen = traffic({
    seed: 5,
    titleIds: sampleCatalog().map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0,
    duplicateShare: 0,
  });
  const events: object[] = [];
  while (events.length < Math.max(...batchSizes)) {
    const e = JSON.parse(Buffer.from(gen.next().value!.data).toString('utf8')) as Record<string, unknown>;
    events.push({ ...e, profileId });
  }
  const eventBytesAvg = events.reduce((n, e) => n + JSON.stringify(e).length, 0) / events.length;

  const kinesis = new KinesisClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: acceptingHandler as never,
  });
  const service = 'arn:aws:sts::123456789012:assumed-role/Relay/bench';
  const handler = makeHandler({
    store: {
      listHistory: async () => ({ impressions: [], last: null }),
      titleCounts: async () => new Map(),
      erase: async () => ({ deleted: 0, complete: true, erasedAtMs: 0 }),
    },
    cursorKeys: async () => ({ current: cursorKey(Buffer.from('k'.repeat(64))) }),
    authorization: { services: ['arn:aws:iam::123456789012:role/Relay'], erasers: [] },
    ingest: rawStreamWriter(kinesis, 'raw'),
  });
  const request = (body: string) =>
    ({
      rawPath: `/v1/profiles/${profileId}/impressions`,
      rawQueryString: '',
      body,
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST' },
        requestId: 'bench',
        authorizer: { iam: { userArn: service } },
      },
    }) as unknown as APIGatewayProxyEventV2;

  const cpuShare = Math.min(1, memoryMb / LAMBDA_FULL_VCPU_MB);
  const rows: IngestBenchRow[] = [];
  for (const n of batchSizes) {
    const body = JSON.stringify({ events: events.slice(0, n) });
    const event = request(body);
    const perRun = Math.max(20, Math.round(4000 / n));
    for (let i = 0; i < perRun; i++) await handler(event); // warm-up
    const samples: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < perRun; i++) {
        const res = await handler(event);
        if (res.statusCode !== 202) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`);
      }
      const used = process.cpuUsage(t0);
      samples.push((used.user + used.system) / 1000 / perRun);
    }
    samples.sort((a, b) => a - b);
    const cpuMs = samples[Math.floor(samples.length / 2)]!;
    const requestMs = cpuMs / cpuShare + putLatencyMs;
    rows.push({
      batchEvents: n,
      bodyBytes: Buffer.byteLength(body),
      cpuMsPerRequest: Number(cpuMs.toFixed(3)),
      cpuBoundEventsPerSec: Math.round((n * 1000) / cpuMs),
      perInstanceEventsPerSec: Math.round((n * 1000) / requestMs),
      perInstanceRequestsPerSec: Number((1000 / requestMs).toFixed(1)),
    });
  }
  return { eventBytesAvg: Math.round(eventBytesAvg), putLatencyMs, memoryMb, runs, rows };
}

if (process.argv[1]?.endsWith('ingest.ts')) {
  benchIngest().then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
}
