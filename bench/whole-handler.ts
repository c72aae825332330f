/**
 * Whole filter-enrich handler: the deployed entry point (`handler` of lambdas/filter-enrich/handler.ts,
 * wired from its environment exactly as in Lambda, real AWS SDK v3 clients from lambdas/adapters/clients.ts)
 * on Lambda-shaped Kinesis events, with every AWS call answered at once by a local HTTP server in a worker
 * thread. So the loop includes event decoding, the domain code, KPL aggregation, UTF-8 encoding, SDK
 * marshalling, SigV4 signing, HTTP on loopback and the metrics/log lines — everything but the network and
 * the services' own latency. Compared with the decode+parse+stringify baseline measured in the same run.
 *
 * The server answers generically by operation (X-Amz-Target), so the harness keeps working when the handler
 * calls other DynamoDB or Kinesis operations: PutRecords succeeds for every entry; BatchGetItem returns the
 * sample catalog's item for a `titleId` key, a day counter it created for its key, and nothing for any other
 * key; UpdateItem succeeds, except every
 * 15th optimistic bucket write (about as often as producer retries make one fail on traffic over time,
 * bench/history-wcu.ts), which fails its condition with the item as stored (ConditionalCheckFailedException
 * with `Item`, as `ReturnValuesOnConditionCheckFailure: ALL_OLD` asks; UpdateItem API reference): its first
 * impression stored by another record, so the handler files a duplicate and writes the rest with the exact
 * condition; a day counter's raise (`ReturnValues: ALL_NEW`) answers the counter with the generation it was
 * created with, and a later BatchGetItem of it finds it, as DynamoDB would (so the handler holds its daily
 * allowances from batch to batch as a warm instance does); PutItem, GetItem, Query, BatchWriteItem and
 * TransactWriteItems return "nothing there before, nothing left unprocessed".
 *
 * `tsx bench/whole-handler.ts [--runs n] [--batches n] [--batch-size n] [--per-profile n]` prints the result as JSON; run it under
 * `node --cpu-prof --import tsx` to profile (see BENCHMARKS.md).
 */
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import * as path from 'node:path';
import type { KinesisStreamEvent } from 'aws-lambda';
import { DEFAULT_STAGE } from '../infra/config.js';
import { BUCKET_MS, DAY_MS, type HistoryCandidate } from '../lambdas/domain/history-model.js';
import { INVALIDATION_MARGIN_MS } from '../lambdas/domain/rollup.js';
import type { FilterEnrichDeps } from '../lambdas/filter-enrich/handler.js';
import { filterEnrichEnvironment } from '../lambdas/filter-enrich/settings.js';
import { ATTR, SORT_KEY_PREFIX, TAG_BYTES } from '../lambdas/history-store/item-codec.js';
import {
  type AgainstBaseline,
  baselinePass,
  type SampleBatch,
  type Spread,
  sampleBatch,
  stats,
} from './enrich.js';

export interface WholeHandlerResult extends AgainstBaseline {
  readonly handlerEventsPerSec: Spread;
  /** Distinct profiles (partition keys) in the batch: what sets the number of history writes. */
  readonly profilesPerBatch: number;
  /** At most this many records of one profile per batch (null: the load generator's whole sessions). */
  readonly recordsPerProfile: number | null;
  /** Handler throughput over the baseline's, medians of the same run. */
  readonly ratio: number;
  /** CPU time per event, µs, of the handler and of the baseline (process CPU: the instant AWS runs apart). */
  readonly handlerCpuUsPerEvent: number;
  readonly baselineCpuUsPerEvent: number;
  /** Baseline CPU over handler CPU: the ratio without the waits for the instant AWS (scheduling on a busy machine). */
  readonly cpuRatio: number;
  /**
   * The history writes alone: the candidates the handler offered for the batch, offered again to the deployed
   * wiring's history store (same SDK client, same instant AWS, same settings), CPU µs per event of the
   * batch, and the requests it made per batch. What is left of the handler is everything else: decoding, the
   * domain code, the enriched and rejected stream writes, metrics.
   */
  readonly historyWrites: {
    readonly cpuUsPerEvent: number;
    readonly requestsPerBatch: number;
    /** The requests per batch by operation (and `ConditionalCheckFailed`: the writes whose condition failed). */
    readonly operationsPerBatch: Readonly<Record<string, number>>;
    /** CPU µs per request: what one conditional UpdateItem costs through the SDK, HTTP included. */
    readonly cpuUsPerRequest: number;
  };
  /**
   * The rest of the handler, measured: the deployed wiring with only the history port swapped for one that
   * accepts every candidate at once (decoding, domain code, enriched and rejected stream writes through the
   * SDK, metrics), baseline CPU over its CPU, in the same run.
   */
  readonly restCpuRatio: number;
  readonly restCpuUsPerEvent: number;
  /**
   * Baseline CPU over the history writes' CPU alone: the highest ratio the handler could reach if everything
   * but its history requests cost nothing.
   */
  readonly ceilingCpuRatio: number;
  /** AWS requests the handler made per batch, by operation. */
  readonly requestsPerBatch: Readonly<Record<string, number>>;
  /** Bytes the handler wrote to stdout/stderr per batch (EMF metric and log lines: CloudWatch Logs ingestion). */
  readonly logBytesPerBatch: number;
  /**
   * Where the handler's time goes: a CPU profile (V8 sampling, node:inspector) of the handler alone, self
   * time per part as a share of the handler's samples, each part also in baseline units (its µs per event
   * over the baseline's µs per event). Absent when not asked for.
   */
  readonly profile?: readonly { part: string; share: number; baselineUnits: number }[];
  readonly target: number;
}

/**
 * What the instant AWS knows of the history items, from the store's codec: it answers the store as the table
 * would, so it reads and writes the store's own attribute names and sort-key prefixes. Plain data: the child
 * gets it in its first message.
 */
const HISTORY_LAYOUT = {
  pk: ATTR.partitionKey,
  sk: ATTR.sortKey,
  ttl: ATTR.ttl,
  count: ATTR.count,
  bytes: ATTR.bytes,
  generation: ATTR.generation,
  dayCounterPrefix: SORT_KEY_PREFIX.dayCounter,
  bucketPrefix: SORT_KEY_PREFIX.bucket,
  tagBytes: TAG_BYTES,
} as const;

// The instant AWS: plain JS run in a child process (its CPU is not the handler's, as on AWS).
const SERVER = `
const http = require('node:http');
let catalog = new Map();
// The history items' attribute names and sort-key prefixes (HISTORY_LAYOUT), from the first message.
let L;
const counts = {};
// Day counters the handler created: key → generation.
const counters = new Map();
const FAIL_EVERY = 15;
let bucketWrites = 0;
const item = (t) => ({
  titleId: { S: t.titleId }, name: { S: t.name }, type: { S: t.type },
  genres: { L: t.genres.map((g) => ({ S: g })) }, maturityRating: { S: t.maturityRating },
});
const answer = (op, body) => {
  switch (op) {
    case 'PutRecords': {
      const n = JSON.parse(body).Records.length;
      const Records = [];
      for (let i = 0; i < n; i++) Records.push({ SequenceNumber: String(1e20 + i), ShardId: 'shardId-000000000000' });
      return { FailedRecordCount: 0, Records };
    }
    case 'PutRecord': return { SequenceNumber: '1', ShardId: 'shardId-000000000000' };
    case 'BatchGetItem': {
      const Responses = {};
      for (const [table, req] of Object.entries(JSON.parse(body).RequestItems)) {
        Responses[table] = req.Keys.flatMap((k) =>
          k.titleId && catalog.has(k.titleId.S) ? [item(catalog.get(k.titleId.S))]
          : k[L.sk] && counters.has(k[L.pk].S + k[L.sk].S) ? [{ [L.pk]: k[L.pk], [L.sk]: k[L.sk], [L.count]: { N: '1' }, [L.generation]: { S: counters.get(k[L.pk].S + k[L.sk].S) } }]
          : []);
      }
      return { Responses, UnprocessedKeys: {} };
    }
    case 'BatchWriteItem': return { UnprocessedItems: {} };
    case 'UpdateItem': {
      // Every FAIL_EVERY-th optimistic bucket write finds its first impression stored by another record (a
      // producer's retry, as often as on traffic over time): the condition fails and the item comes back.
      const req = JSON.parse(body);
      // A day counter's raise answers the counter as it is after it (ReturnValues ALL_NEW), with the
      // generation it was created with; a batch read of it later finds it (BatchGetItem above).
      const sk = String(req.Key[L.sk].S);
      if (req.ReturnValues === 'ALL_NEW' && sk.startsWith(L.dayCounterPrefix)) {
        const key = req.Key[L.pk].S + sk;
        if (!counters.has(key)) counters.set(key, req.ExpressionAttributeValues[':g'].S);
        return { Attributes: { ...req.Key, [L.count]: req.ExpressionAttributeValues[':k'], [L.generation]: { S: counters.get(key) }, [L.ttl]: req.ExpressionAttributeValues[':x'] } };
      }
      const optimistic = sk.startsWith(L.bucketPrefix) && String(req.ConditionExpression).includes('attribute_not_exists(#0)');
      if (!optimistic || ++bucketWrites % FAIL_EVERY !== 0) return {};
      const value = req.ExpressionAttributeValues[':0'];
      // The same packed impression under another record's tag (its first L.tagBytes bytes).
      const packed = Buffer.from(value.B, 'base64');
      const stored = { B: Buffer.concat([Buffer.alloc(L.tagBytes, 0xff), packed.subarray(L.tagBytes)]).toString('base64') };
      return { failed: true, Item: { [L.pk]: req.Key[L.pk], [L.sk]: req.Key[L.sk], [L.count]: { N: '1' }, [L.bytes]: { N: '100' }, [L.ttl]: req.ExpressionAttributeValues[':x'], [req.ExpressionAttributeNames['#0']]: stored } };
    }
    case 'Query': case 'Scan': return { Items: [], Count: 0, ScannedCount: 0 };
    default: return {};
  }
};
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.slice(target.indexOf('.') + 1);
    counts[op] = (counts[op] ?? 0) + 1;
    const answered = answer(op, Buffer.concat(chunks).toString('utf8'));
    let status = 200;
    let out;
    if (answered.failed) {
      status = 400;
      counts.ConditionalCheckFailed = (counts.ConditionalCheckFailed ?? 0) + 1;
      out = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'The conditional request failed', Item: answered.Item });
    } else out = JSON.stringify(answered);
    res.writeHead(status, {
      'content-type': target.startsWith('Kinesis') ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0',
      'x-amzn-requestid': 'bench',
      'content-length': Buffer.byteLength(out),
    });
    res.end(out);
  });
});
server.keepAliveTimeout = 60000;
process.on('message', (m) => {
  if (m.catalog) {
    catalog = new Map(m.catalog.map((t) => [t.titleId, t]));
    L = m.layout;
    server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  }
  if (m === 'counts') process.send({ counts: { ...counts } });
  if (m === 'close') process.exit(0);
});
`;

interface InstantAws {
  readonly endpoint: string;
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

async function instantAws(titles: SampleBatch['titles']): Promise<InstantAws> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      child.once('message', (m) => resolve(m as T));
      child.once('error', reject);
    });
  const ready = next<{ port: number }>();
  child.send({ catalog: [...titles.values()], layout: HISTORY_LAYOUT });
  const { port } = await ready;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async counts() {
      const reply = next<{ counts: Record<string, number> }>();
      child.send('counts');
      return (await reply).counts;
    },
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.send('close');
      await exited;
    },
  };
}

/**
 * The environment the handler reads at cold start, written by the function's own settings module
 * (`filterEnrichEnvironment`, as infra/pipeline-stack.ts writes it) from the default production stage's
 * settings (infra/config.ts), with bench names for the streams and tables.
 */
function handlerEnvironment(): Record<string, string> {
  const s = DEFAULT_STAGE;
  return filterEnrichEnvironment({
    enrichedStreamName: 'bench-enriched',
    rejectedStreamName: 'bench-rejected',
    catalogTableName: 'bench-catalog',
    historyTableName: 'bench-history',
    retentionDays: s.historyRetentionDays,
    profileBurstPerWindow: s.profileBurstPerWindow,
    profileBurstPerDay: s.profileBurstPerDay,
    maxUserRecordsPerAggregate: s.maxUserRecordsPerAggregate,
    minVisiblePercent: s.minVisiblePercent,
    minVisibleMs: s.minVisibleMs,
    testProfiles: s.testProfiles,
    aggregateEnriched: s.aggregateEnriched,
  });
}

/**
 * Batches of traffic follow one another in time: each invocation takes the next of `VARIANTS` copies of the
 * sample, its events `SLICE_MS` earlier and under other eventIds, so that its impressions land in new buckets as
 * a lane's next batch does. Replaying one batch would pile every invocation's impressions into the same
 * buckets until their window cap, a load no traffic makes (bursts, full buckets, counter writes).
 */
const VARIANTS = 64;
const SLICE_MS = BUCKET_MS;
const sliceEventId = (eventId: string, k: number) =>
  `${eventId.slice(0, -4)}${k.toString(16).padStart(4, '0')}`;
function timeSlices(records: SampleBatch['records'], count: number): SampleBatch['records'][] {
  return Array.from({ length: count }, (_, k) =>
    records.map((r) => {
      const e = JSON.parse(Buffer.from(r.b64, 'base64').toString('utf8')) as {
        eventId: string;
        eventTime: string;
      };
      e.eventId = sliceEventId(e.eventId, k);
      e.eventTime = new Date(Date.parse(e.eventTime) - k * SLICE_MS).toISOString();
      return { ...r, b64: Buffer.from(JSON.stringify(e)).toString('base64') };
    }),
  );
}

/**
 * When the sample's events happened: noon of a UTC day, less half a bucket. So the same writes are measured
 * whatever the time of the run: every slice lies in one UTC day (no day counters begun by the clock), the 2 s
 * the generator jitters event times back stay in one bucket (drawn in a bucket's first 2 s, the sample's
 * profiles would straddle two: twice the bucket writes), and no impression is late. The day is the one
 * before `now`, or `now`'s own day from 22:00 UTC on: a writer treats an impression as late (a rollup read
 * and rewrite per profile, rollup.ts `mustInvalidate`) once its day is `RECENT_DAYS` old at `now` plus
 * `INVALIDATION_MARGIN_MS`, and the day before turns late at 23:00. The extra hour covers a run that starts
 * before 22:00 and lasts into 23:00. Noon is before `now` on either day, and a day old is well inside the
 * contract's lateness bound (classify.ts `EVENT_TIME_BOUNDS`).
 */
export const sampleTime = (now: number) => {
  const day = Math.floor((now + 2 * INVALIDATION_MARGIN_MS) / DAY_MS) * DAY_MS - DAY_MS;
  return day + DAY_MS / 2 - BUCKET_MS / 2;
};
/** How far before the sample's time the earliest slice's events lie (the generator's jitter included). */
export const SAMPLE_SPAN_MS = VARIANTS * SLICE_MS + 2_000;

function kinesisEvent(records: SampleBatch['records'], batch: number): KinesisStreamEvent {
  const arrival = Date.now() / 1000;
  return {
    Records: records.map((r, i) => ({
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${batch}-${i}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/bench',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/bench-raw',
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.partitionKey,
        sequenceNumber: `${batch}${String(i).padStart(6, '0')}`,
        data: r.b64,
        approximateArrivalTimestamp: arrival,
      },
    })),
  };
}

/** Parts of the handler's time, by where a profile sample's function lives. First match wins. */
const PARTS: readonly [string, (url: string, fn: string) => boolean][] = [
  ['(not counted: profiler and harness)', (u, f) => (u === '' && f === 'dispatch') || /bench\//.test(u)],
  ['garbage collection', (_u, f) => f === '(garbage collector)'],
  ['waiting for the instant AWS (idle)', (_u, f) => f === '(idle)'],
  [
    'SHA-256 of request bodies (SigV4), MD5 of aggregates',
    (u, f) =>
      u === 'node:internal/crypto/hash' ||
      (u === '' && ['update', 'digest', 'Hash', 'Hmac', 'init'].includes(f)),
  ],
  [
    'socket writes and reads (node:net, http)',
    (u, f) =>
      /node:(net|_http|internal\/stream|internal\/streams)/.test(u) ||
      f === 'writev' ||
      f === 'writeUtf8String' ||
      f === 'writeBuffer',
  ],
  ['AWS SDK: DynamoDB document marshalling', (u) => /lib-dynamodb|util-dynamodb|dynamodb-codec/.test(u)],
  ['AWS SDK: request signing', (u) => /signature-v4|httpAuthSchemes/.test(u)],
  ['AWS SDK: serialisation, middleware, retries, endpoints', (u) => /@smithy|@aws-sdk/.test(u)],
  ['KPL aggregation', (u) => /kpl-aggregate|aws-kinesis-agg/.test(u)],
  ['event decoding and de-aggregation', (u) => /kinesis-event/.test(u)],
  [
    'domain code: validation (ajv), classification, enrichment',
    (u, f) => /lambdas\/domain/.test(u) || /^validate\d*$/.test(f),
  ],
  [
    'handler code (with the JSON.stringify and UTF-8 encoding it calls)',
    (u) => /filter-enrich\/handler/.test(u),
  ],
  ['other adapters', (u) => /lambdas\/adapters/.test(u)],
  ['metrics and logs (Powertools)', (u) => /aws-lambda-powertools/.test(u)],
  [
    'base64, UTF-8, JSON built-ins, promise jobs, other Node internals',
    (u, f) => u.startsWith('node:') || u === '' || f === '(program)',
  ],
  ['other', () => true],
];

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

function apportion(profile: CpuProfile): Map<string, number> {
  const part = new Map<number, string>();
  for (const n of profile.nodes) {
    const url = n.callFrame.url.replace(/^file:\/\//, '');
    part.set(n.id, PARTS.find(([, match]) => match(url, n.callFrame.functionName))![0]);
  }
  const us = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const name = part.get(id) ?? 'other';
    us.set(name, (us.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return us;
}

/** Runs `step` `times` times, one after the other; answers with the process CPU it took, µs. */
async function cpuUsOf(step: () => Promise<unknown>, times: number): Promise<number> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < times; i++) await step();
  const used = process.cpuUsage(cpu);
  return used.user + used.system;
}

/**
 * The history writes of the handler alone: the candidates the handler offered for the batch, offered again to
 * the deployed wiring's history store (same SDK client, same instant AWS, same settings), with a new record
 * identity each time, as the handler's sequence numbers. Run after the handler, in the same process.
 */
async function benchHistoryAlone(
  deps: FilterEnrichDeps,
  offered: readonly HistoryCandidate[],
  aws: InstantAws,
  warmup: number,
  times: number,
  batchSize: number,
): Promise<WholeHandlerResult['historyWrites']> {
  let n = 0;
  const offer = async () => {
    const tag = `h${++n}-`;
    const k = n % VARIANTS;
    const r = await deps.history.admit(
      offered.map((c) => ({
        ...c,
        recordId: tag + c.recordId,
        impression: {
          ...c.impression,
          eventId: sliceEventId(c.impression.eventId, k),
          eventTimeMs: c.impression.eventTimeMs - k * SLICE_MS,
        },
      })),
      deps.historySettings,
    );
    if (r.admissions.some((a) => a.kind === 'failed'))
      throw new Error('the history writes failed against the instant AWS');
  };
  await cpuUsOf(offer, warmup);
  const before = await aws.counts();
  const cpuUs = await cpuUsOf(offer, times);
  const after = await aws.counts();
  const operationsPerBatch = Object.fromEntries(
    Object.entries(after).map(([op, n]) => [op, (n - (before[op] ?? 0)) / times]),
  );
  const requests = ['UpdateItem', 'GetItem', 'BatchGetItem'].reduce(
    (n, op) => n + (after[op] ?? 0) - (before[op] ?? 0),
    0,
  );
  return {
    cpuUsPerEvent: cpuUs / (times * batchSize),
    requestsPerBatch: requests / times,
    operationsPerBatch,
    cpuUsPerRequest: cpuUs / Math.max(1, requests),
  };
}

export interface WholeHandlerOptions {
  /** @default 9 */
  readonly runs?: number;
  /** Batches per run. @default 20 */
  readonly batches?: number;
  /** Batches before measuring. @default 60 */
  readonly warmup?: number;
  /** Profile where the handler's time goes (WholeHandlerResult `profile`). @default false */
  readonly profile?: boolean;
  /**
   * Records of one profile in a batch. A shard's batch of real traffic holds a few records of each of many
   * members, so the history writes (a bucket update per profile; day counters once per block) are many:
   * run.ts sets this to the impressions per history write measured on traffic over time at the default
   * flush.
   * @default all of a session's (the load generator's order: one or two profiles per batch)
   */
  readonly recordsPerProfile?: number;
  /**
   * Records per invocation. run.ts sets it to what the event source mapping cuts at the sized load
   * (infra/sizing.ts: records per lane in the batching window, at most the batch size).
   * @default 500 (the configured maximum)
   */
  readonly batchSize?: number;
}

const HANDLER_FILE = path.resolve(import.meta.dirname, '..', 'lambdas', 'filter-enrich', 'handler.ts');
type FilterEnrichModule = typeof import('../lambdas/filter-enrich/handler.js');

/** The batches invoked so far, by the deployed handler and the rest alone (their events' sequence numbers). */
interface BatchCounter {
  n: number;
}

/** The deployed handler on the instant AWS: one invocation per call, each on the next time slice. */
async function deployedInvoke(
  variants: readonly SampleBatch['records'][],
  batch: BatchCounter,
): Promise<() => Promise<void>> {
  const { handler } = (await import(HANDLER_FILE)) as {
    handler: (e: KinesisStreamEvent) => Promise<{ batchItemFailures: unknown[] }>;
  };
  return async () => {
    batch.n++;
    const r = await handler(kinesisEvent(variants[batch.n % VARIANTS]!, batch.n));
    if (r.batchItemFailures.length)
      throw new Error(`the handler reported ${r.batchItemFailures.length} failures against the instant AWS`);
  };
}

interface HandlerRuns {
  readonly base: number[];
  readonly whole: number[];
  readonly handlerCpuUs: number;
  readonly baselineCpuUs: number;
  readonly measuredBatches: number;
  readonly sink: number;
}

/** `runs` runs of `batches` baseline passes, then as many handler invocations: throughput and CPU of each. */
async function measureRuns(
  invoke: () => Promise<void>,
  records: SampleBatch['records'],
  runs: number,
  batches: number,
): Promise<HandlerRuns> {
  const out = { base: [] as number[], whole: [] as number[], handlerCpuUs: 0, baselineCpuUs: 0 };
  let sink = 0;
  for (let run = 0; run < runs; run++) {
    const baseCpu = process.cpuUsage();
    let t = performance.now();
    for (let i = 0; i < batches; i++) sink += baselinePass(records);
    out.base.push((batches * records.length) / ((performance.now() - t) / 1000));
    const baseUsed = process.cpuUsage(baseCpu);
    out.baselineCpuUs += baseUsed.user + baseUsed.system;
    const cpu = process.cpuUsage();
    t = performance.now();
    for (let i = 0; i < batches; i++) await invoke();
    out.whole.push((batches * records.length) / ((performance.now() - t) / 1000));
    const used = process.cpuUsage(cpu);
    out.handlerCpuUs += used.user + used.system;
  }
  return { ...out, measuredBatches: runs * batches, sink };
}

/**
 * The rest alone: the deployed wiring with the history port answering at once (keeping what it was offered),
 * CPU µs per event over `times` batches; and the deployed wiring and the candidates, for the history alone.
 */
async function benchRest(
  records: SampleBatch['records'],
  batch: BatchCounter,
  warmup: number,
  times: number,
): Promise<{ deps: FilterEnrichDeps; offered: readonly HistoryCandidate[]; restCpuUsPerEvent: number }> {
  const { makeHandler, deployedDeps } = (await import(HANDLER_FILE)) as FilterEnrichModule;
  const deps = deployedDeps();
  let offered: readonly HistoryCandidate[] = [];
  const rest = makeHandler({
    ...deps,
    history: {
      admit: async (candidates) => {
        offered = candidates;
        return {
          admissions: candidates.map(() => ({ kind: 'accepted' as const })),
          writes: 0,
          stored: candidates.length,
        };
      },
      erasures: async () => ({ at: new Map(), unknown: new Set() }),
    },
  });
  const restBatch = () => rest(kinesisEvent(records, ++batch.n));
  await cpuUsOf(restBatch, warmup);
  const restCpuUsPerEvent = (await cpuUsOf(restBatch, times)) / (times * records.length);
  return { deps, offered, restCpuUsPerEvent };
}

/** Where the handler's time goes: a V8 CPU profile of `batches` × 2 invocations, apportioned to PARTS. */
async function profileHandler(
  invoke: () => Promise<void>,
  records: SampleBatch['records'],
  batches: number,
): Promise<NonNullable<WholeHandlerResult['profile']>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  const profiled = batches * 2;
  let t = performance.now();
  for (let i = 0; i < profiled; i++) await invoke();
  const handlerUsPerEvent = ((performance.now() - t) * 1000) / (profiled * records.length);
  const { profile: cpu } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  session.disconnect();
  let sink = 0;
  t = performance.now();
  for (let i = 0; i < profiled; i++) sink += baselinePass(records);
  const baselineUsPerEvent = ((performance.now() - t) * 1000) / (profiled * records.length);
  if (sink === 0) throw new Error('nothing was computed');
  const parts = apportion(cpu);
  parts.delete('(not counted: profiler and harness)');
  const total = [...parts.values()].reduce((a, b) => a + b, 0);
  return [...parts]
    .sort((a, b) => b[1] - a[1])
    .map(([part, us]) => ({
      part,
      share: us / total,
      baselineUnits: ((us / total) * handlerUsPerEvent) / baselineUsPerEvent,
    }));
}

/** Sets the handler's environment on the instant AWS; answers with a function that restores the previous one. */
function useHandlerEnvironment(endpoint: string): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, handlerEnvironment(), {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCHBENCHBENCH0',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-bench-secret-bench-secret-0',
    AWS_SESSION_TOKEN: 'bench-session-token',
    POWERTOOLS_DEV: '',
  });
  return () => {
    process.env = saved;
  };
}

const perBatch = (after: Record<string, number>, before: Record<string, number>, batches: number) =>
  Object.fromEntries(Object.entries(after).map(([op, n]) => [op, (n - (before[op] ?? 0)) / batches]));

export async function benchWholeHandler(options: WholeHandlerOptions = {}): Promise<WholeHandlerResult> {
  const runs = options.runs ?? 9;
  const batches = options.batches ?? 20;
  const warmup = options.warmup ?? 60;
  const sample = sampleBatch(options.batchSize ?? 500, 11, options.recordsPerProfile, sampleTime(Date.now()));
  const events = sample.records.length;
  const aws = await instantAws(sample.titles);
  const restoreEnvironment = useHandlerEnvironment(aws.endpoint);
  // What the function writes (EMF metrics, log lines) is counted, not shown.
  const output = outputCounter();
  try {
    const batch: BatchCounter = { n: 0 };
    const invoke = await deployedInvoke(timeSlices(sample.records, VARIANTS), batch);
    output.swallow();
    let sink = 0;
    for (let i = 0; i < warmup; i++) {
      sink += baselinePass(sample.records);
      await invoke();
    }
    const before = await aws.counts();
    const logBefore = output.bytes;
    const m = await measureRuns(invoke, sample.records, runs, batches);
    if (sink + m.sink === 0) throw new Error('nothing was computed');
    const after = await aws.counts();
    const logAfter = output.bytes;
    const { deps, offered, restCpuUsPerEvent } = await benchRest(
      sample.records,
      batch,
      warmup,
      m.measuredBatches,
    );
    const historyWrites = await benchHistoryAlone(deps, offered, aws, warmup, m.measuredBatches, events);
    const profile = options.profile ? await profileHandler(invoke, sample.records, batches) : undefined;
    output.restore();
    const b = stats(m.base);
    const h = stats(m.whole);
    const baselineCpuUsPerEvent = m.baselineCpuUs / (m.measuredBatches * events);
    return {
      batchSize: events,
      runs,
      baselineEventsPerSec: b,
      handlerEventsPerSec: h,
      profilesPerBatch: new Set(sample.records.map((r) => r.partitionKey)).size,
      recordsPerProfile: options.recordsPerProfile ?? null,
      ratio: h.median / b.median,
      handlerCpuUsPerEvent: m.handlerCpuUs / (m.measuredBatches * events),
      baselineCpuUsPerEvent,
      cpuRatio: m.baselineCpuUs / m.handlerCpuUs,
      historyWrites,
      restCpuRatio: baselineCpuUsPerEvent / restCpuUsPerEvent,
      restCpuUsPerEvent,
      ceilingCpuRatio: baselineCpuUsPerEvent / historyWrites.cpuUsPerEvent,
      requestsPerBatch: perBatch(after, before, m.measuredBatches),
      logBytesPerBatch: (logAfter - logBefore) / m.measuredBatches,
      ...(profile ? { profile } : {}),
      target: 0.5,
    };
  } finally {
    output.restore();
    restoreEnvironment();
    await aws.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  benchWholeHandler({
    runs: arg('--runs'),
    batches: arg('--batches'),
    profile: process.argv.includes('--profile'),
    recordsPerProfile: arg('--per-profile'),
    batchSize: arg('--batch-size'),
  }).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * Counts the bytes written to stdout and stderr while swallowing them (a function's log lines and EMF
 * documents, measured and not shown); `restore` puts the streams back.
 */
export function outputCounter() {
  let bytes = 0;
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const count = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    return true;
  }) as typeof process.stdout.write;
  return {
    get bytes() {
      return bytes;
    },
    swallow() {
      process.stdout.write = count;
      process.stderr.write = count;
    },
    restore() {
      process.stdout.write = writes.out;
      process.stderr.write = writes.err;
    },
  };
}
