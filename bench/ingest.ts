/**
 * Ingest route cost and throughput per function instance: the real history-api handler (authorization, body
 * parsing and the per-event profile check, serialization), the deployed per-profile ingest limit (one
 * conditional UpdateItem on the window counter, history-store/ingest-limit.ts) and the real raw-stream writer, over
 * real DynamoDB and Kinesis SDK clients whose HTTP handler answers in-process, so the SDK's serialization,
 * signing and parsing are measured too, but no network. What the function writes to stdout/stderr (its
 * log lines: CloudWatch Logs ingestion) is counted per request. Realistic ≈ 1.2 KB events from the load
 * generator, one profile per request (as the route requires), batches of 1 to 500 events.
 *
 * A Lambda instance serves one request at a time, so its throughput is batch / (CPU time + the
 * `PutRecords` round trip): reported CPU-bound (measured here, on one core of this machine) and with the
 * round trip added as a stated assumption (`putLatencyMs`), scaled to the function's 1,024 MB (Lambda
 * allocates CPU in proportion to memory, one full vCPU at 1,769 MB: Lambda developer guide, "Configure
 * Lambda function memory").
 */
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DEFAULT_STAGE } from '../infra/config.js';
import { cursorKey } from '../lambdas/domain/cursor.js';
import { makeHandler } from '../lambdas/history-api/handler.js';
import { rawStreamWriter } from '../lambdas/history-api/raw-stream.js';
import { ingestLimiter } from '../lambdas/history-store/index.js';
import { sampleCatalog } from '../ops/seed.js';
import { traffic } from '../scripts/traffic.js';
import { outputCounter } from './whole-handler.js';

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
  /**
   * Billed duration of one request on the function's memory: CPU stretched by its vCPU share, plus the
   * assumed round trips (the limit's UpdateItem, then PutRecords), rounded up to the millisecond as Lambda
   * bills; and the GB-seconds that makes.
   */
  readonly billedMsPerRequest: number;
  readonly gbSecondsPerRequest: number;
  /** AWS requests per ingest request, by operation (the limit's UpdateItem, PutRecords). */
  readonly awsRequestsPerRequest: Readonly<Record<string, number>>;
  /** Bytes the function wrote to stdout/stderr per request (its own log lines; platform lines not included). */
  readonly logBytesPerRequest: number;
}

export interface IngestBenchResult {
  readonly eventBytesAvg: number;
  readonly putLatencyMs: number;
  /** Assumed round trip of the ingest limit's conditional UpdateItem, ms. */
  readonly limitLatencyMs: number;
  /** Write units of the limit's window counter per request (a small item: 1). */
  readonly limitWcuPerRequest: number;
  readonly memoryMb: number;
  readonly runs: number;
  readonly rows: readonly IngestBenchRow[];
}

const LAMBDA_FULL_VCPU_MB = 1769;

/** Requests the in-process AWS answered, by operation (X-Amz-Target). */
const answered: Record<string, number> = {};

/**
 * An HTTP handler that accepts every record of a PutRecords request and every UpdateItem (the limit's
 * counter stays under its cap), in-process.
 */
const acceptingHandler = {
  async handle(request: { body?: unknown; headers?: Record<string, string> }) {
    const target = Object.entries(request.headers ?? {}).find(
      ([k]) => k.toLowerCase() === 'x-amz-target',
    )?.[1];
    const op = target?.split('.').pop() ?? 'unknown';
    answered[op] = (answered[op] ?? 0) + 1;
    const raw = request.body;
    const text =
      typeof raw === 'string' ? raw : Buffer.from((raw ?? new Uint8Array()) as Uint8Array).toString('utf8');
    const input = JSON.parse(text || '{}') as { Records?: unknown[] };
    const records = (input.Records ?? []).map((_, i) => ({
      SequenceNumber: String(i),
      ShardId: 'shardId-000000000000',
    }));
    const dynamo = op === 'UpdateItem';
    const body = dynamo ? '{}' : JSON.stringify({ FailedRecordCount: 0, Records: records });
    return {
      // The shape of @smithy/protocol-http's HttpResponse, which the SDK's deserializer reads.
      response: {
        statusCode: 200,
        reason: 'OK',
        headers: {
          'content-type': dynamo ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
          'content-length': String(Buffer.byteLength(body)),
        },
        body: Readable.from([Buffer.from(body)]),
      },
    };
  },
  updateHttpClientConfig() {},
  httpHandlerConfigs: () => ({}),
};

const PROFILE_ID = 'p0000001';
const SERVICE_ARN = 'arn:aws:sts::123456789012:assumed-role/Relay/bench';

/** Realistic events of the load generator, all of one profile (as the route requires). */
function sampleEvents(count: number): object[] {
  const gen = traffic({
    seed: 5,
    titleIds: sampleCatalog().map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0,
    duplicateShare: 0,
  });
  const events: object[] = [];
  while (events.length < count) {
    const e = JSON.parse(Buffer.from(gen.next().value!.data).toString('utf8')) as Record<string, unknown>;
    events.push({ ...e, profileId: PROFILE_ID });
  }
  return events;
}

/** The history API's handler with its real ingest limit and raw-stream writer, over the accepting handler. */
function ingestHandler(): ReturnType<typeof makeHandler> {
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const kinesis = new KinesisClient({
    region: 'us-east-1',
    credentials,
    requestHandler: acceptingHandler as never,
  });
  const dynamo = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials, requestHandler: acceptingHandler as never }),
  );
  return makeHandler({
    store: {
      listHistory: async () => ({ impressions: [], last: null }),
      titleCounts: async () => new Map(),
      erase: async () => ({ deleted: 0, complete: true, erasedAtMs: 0 }),
    },
    cursorKeys: async () => ({ current: cursorKey(Buffer.from('k'.repeat(64))) }),
    authorization: { services: ['arn:aws:iam::123456789012:role/Relay'], erasers: [] },
    ingest: rawStreamWriter(kinesis, 'raw'),
    ingestLimit: ingestLimiter(dynamo, 'history', { perWindow: DEFAULT_STAGE.profileBurstPerWindow }),
  });
}

/** An ingest request of a service (IAM-authorized) with the given body. */
const ingestRequest = (body: string) =>
  ({
    rawPath: `/v1/profiles/${PROFILE_ID}/impressions`,
    rawQueryString: '',
    body,
    isBase64Encoded: false,
    headers: { 'content-type': 'application/json' },
    requestContext: {
      http: { method: 'POST' },
      requestId: 'bench',
      authorizer: { iam: { userArn: SERVICE_ARN } },
    },
  }) as unknown as APIGatewayProxyEventV2;

interface IngestRun {
  readonly handler: ReturnType<typeof makeHandler>;
  readonly output: ReturnType<typeof outputCounter>;
  readonly runs: number;
  readonly putLatencyMs: number;
  readonly limitLatencyMs: number;
  readonly memoryMb: number;
}

/** One batch size: the median CPU time of a request over `runs` runs after a warm-up, and what it costs. */
async function measureBatch(run: IngestRun, events: readonly object[], n: number): Promise<IngestBenchRow> {
  const { handler, output, runs, memoryMb } = run;
  const body = JSON.stringify({ events: events.slice(0, n) });
  const event = ingestRequest(body);
  const perRun = Math.max(20, Math.round(4000 / n));
  const samples: number[] = [];
  const before = { ...answered };
  let logBefore = 0;
  output.swallow();
  try {
    for (let i = 0; i < perRun; i++) await handler(event); // warm-up
    for (const k of Object.keys(answered)) before[k] = answered[k]!;
    logBefore = output.bytes;
    for (let r = 0; r < runs; r++) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < perRun; i++) {
        const res = await handler(event);
        if (res.statusCode !== 202) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`);
      }
      const used = process.cpuUsage(t0);
      samples.push((used.user + used.system) / 1000 / perRun);
    }
  } finally {
    output.restore();
  }
  const requests = runs * perRun;
  samples.sort((a, b) => a - b);
  const cpuMs = samples[Math.floor(samples.length / 2)]!;
  const cpuShare = Math.min(1, memoryMb / LAMBDA_FULL_VCPU_MB);
  const requestMs = cpuMs / cpuShare + run.limitLatencyMs + run.putLatencyMs;
  const billedMs = Math.ceil(requestMs);
  return {
    batchEvents: n,
    bodyBytes: Buffer.byteLength(body),
    cpuMsPerRequest: Number(cpuMs.toFixed(3)),
    cpuBoundEventsPerSec: Math.round((n * 1000) / cpuMs),
    perInstanceEventsPerSec: Math.round((n * 1000) / requestMs),
    perInstanceRequestsPerSec: Number((1000 / requestMs).toFixed(1)),
    billedMsPerRequest: billedMs,
    gbSecondsPerRequest: (billedMs / 1000) * (memoryMb / 1024),
    awsRequestsPerRequest: Object.fromEntries(
      Object.entries(answered).map(([op, c]) => [op, (c - (before[op] ?? 0)) / requests]),
    ),
    logBytesPerRequest: (output.bytes - logBefore) / requests,
  };
}

export async function benchIngest(
  options: {
    runs?: number;
    batchSizes?: readonly number[];
    putLatencyMs?: number;
    limitLatencyMs?: number;
    memoryMb?: number;
  } = {},
): Promise<IngestBenchResult> {
  const batchSizes = options.batchSizes ?? [1, 10, 25, 100, 500];
  const run: IngestRun = {
    handler: ingestHandler(),
    // What the function writes (its log lines) is counted, not shown.
    output: outputCounter(),
    runs: options.runs ?? 7,
    putLatencyMs: options.putLatencyMs ?? 20,
    limitLatencyMs: options.limitLatencyMs ?? 5,
    memoryMb: options.memoryMb ?? 1024,
  };
  const events = sampleEvents(Math.max(...batchSizes));
  const eventBytesAvg = events.reduce((n, e) => n + JSON.stringify(e).length, 0) / events.length;
  const rows: IngestBenchRow[] = [];
  for (const n of batchSizes) rows.push(await measureBatch(run, events, n));
  return {
    eventBytesAvg: Math.round(eventBytesAvg),
    putLatencyMs: run.putLatencyMs,
    limitLatencyMs: run.limitLatencyMs,
    // The window counter item (key, count, expiry) is well under 1 KB: one write unit per request.
    limitWcuPerRequest: 1,
    memoryMb: run.memoryMb,
    runs: run.runs,
    rows,
  };
}

if (process.argv[1]?.endsWith('ingest.ts')) {
  benchIngest().then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
}
