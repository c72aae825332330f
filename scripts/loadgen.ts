/**
 * The load generator: realistic traffic (scripts/traffic.ts) put on the raw stream at a controlled rate,
 * in PutRecords requests within the service limits, retrying only the entries a partial failure left out.
 * Used by `npm start`, the benchmarks, and on its own:
 *
 *   npm run loadgen -- --rate 1000 --events 50000 [--seed 7] [--expect]   (a fresh seed unless --seed)
 *   npm run loadgen -- --stage prod ...                       (a deployment on AWS, through its stack outputs)
 *   npm run loadgen -- --stream-name <RawStreamName> ...      (a raw stream by name, with normal AWS credentials)
 *   npm run loadgen -- --via api [--api-url <HistoryApiUrl>] ...  (through the API's ingest route, signed
 *                                  with the caller's credentials: a service on the stage's allow-list)
 *
 * Without --stream-name, --stage or --stack it targets the deployment `npm start` is running (.local/session.json).
 */

import { randomInt } from 'node:crypto';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type OutgoingRecord, putRecordsReliably } from '../lambdas/adapters/kinesis-writer.js';
import { aggregateByKey } from '../lambdas/adapters/kpl-aggregate.js';
import { type ClientConfig, DEPLOYMENT_OPTIONS, findDeployment, output } from '../ops/deployment.js';
import { CliError, isEntryPoint, numberOption, parseCli, runCli } from '../ops/kit.js';
import { sampleCatalog } from '../ops/seed.js';
import { loadgenApiSink } from './ingest-client.js';
import { type GeneratedRecord, type TrafficOptions, tally, traffic } from './traffic.js';

export const LOADGEN_TEST_PROFILE = 'loadgen-test-bot';
/** The profile `npm start` erases before its load, for `filtered.erased` traffic. */
export const LOADGEN_ERASED_PROFILE = 'loadgen-erased';

export interface LoadOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  /** Records per second. */
  readonly rate: number;
  /** Stop after this many records (or at `durationMs`, or when `signal` aborts, whichever comes first). */
  readonly events?: number;
  readonly durationMs?: number;
  readonly seed?: number;
  readonly badShare?: number;
  readonly duplicateShare?: number;
  readonly signal?: AbortSignal;
  /** Pack each profile's records of a request into KPL-aggregated Kinesis records. @default false */
  readonly aggregate?: boolean;
  /** The deployment's deny-listed profile, for `filtered.test-profile` traffic. @default LOADGEN_TEST_PROFILE */
  readonly testProfile?: string;
  /** Size of the profile population. @default 2000 */
  readonly profiles?: number;
  /**
   * A profile erased before the run (history API `DELETE` at `erasedAtMs` or later): its impressions from
   * before then are sent as `filtered.erased` traffic. @default none (no `filtered.erased` traffic)
   */
  readonly erasedProfile?: TrafficOptions['erasedProfile'];
  /** Called after every request with what has been sent so far. */
  readonly onSent?: (sent: readonly GeneratedRecord[]) => void;
  /** Another way in than PutRecords (`apiSink` of scripts/ingest-client.ts: the API's ingest route). */
  readonly sink?: (
    batch: readonly OutgoingRecord<GeneratedRecord>[],
  ) => Promise<{ failed: GeneratedRecord[]; refused: GeneratedRecord[] }>;
}

export interface LoadResult {
  readonly sent: number;
  /** What was sent (and accepted by Kinesis), with the outcome each record must get. */
  readonly records: readonly GeneratedRecord[];
  /** Kinesis records put (fewer than `sent` with aggregation). */
  readonly kinesisRecords: number;
  readonly failed: number;
  /** Records the chosen way in cannot carry (through the API: not a JSON object of their own profile). */
  readonly refused: number;
  readonly expected: Record<string, number>;
  readonly elapsedMs: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const titles = sampleCatalog().map((t) => t.titleId);
  const gen = traffic({
    seed: options.seed ?? 1,
    titleIds: titles,
    testProfile: options.testProfile ?? LOADGEN_TEST_PROFILE,
    profiles: options.profiles,
    badShare: options.badShare,
    duplicateShare: options.duplicateShare,
    ...(options.erasedProfile ? { erasedProfile: options.erasedProfile } : {}),
  });
  const limit = options.events ?? Number.POSITIVE_INFINITY;
  const started = Date.now();
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
  const sentRecords: GeneratedRecord[] = [];
  let failed = 0;
  let refused = 0;
  let kinesisRecords = 0;
  while (sentRecords.length < limit && Date.now() < deadline && !options.signal?.aborted) {
    const due =
      Math.min(limit, Math.floor(((Date.now() - started) / 1000) * options.rate) + 1) - sentRecords.length;
    if (due <= 0) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const batch: OutgoingRecord<GeneratedRecord>[] = [];
    for (let i = 0; i < Math.min(due, 2000); i++) {
      const rec = gen.next().value as GeneratedRecord;
      batch.push({ partitionKey: rec.partitionKey, data: rec.data, source: rec });
    }
    if (options.aggregate) {
      const packed = await aggregateByKey(batch);
      const result = await putRecordsReliably(options.kinesis, options.streamName, packed);
      const lost = new Set(result.failed.flat());
      failed += lost.size;
      for (const b of batch) if (!lost.has(b.source)) sentRecords.push(b.source);
      kinesisRecords += packed.length - result.failed.length;
    } else {
      const result = options.sink
        ? await options.sink(batch)
        : { ...(await putRecordsReliably(options.kinesis, options.streamName, batch)), refused: [] };
      const lost = new Set([...result.failed, ...result.refused]);
      refused += result.refused.length;
      failed += result.failed.length;
      for (const b of batch) if (!lost.has(b.source)) sentRecords.push(b.source);
      kinesisRecords += batch.length - lost.size;
    }
    options.onSent?.(sentRecords);
  }
  return {
    sent: sentRecords.length,
    records: sentRecords,
    kinesisRecords,
    failed,
    refused,
    expected: tally(sentRecords),
    elapsedMs: Date.now() - started,
  };
}

const LOADGEN_CLI = {
  command: 'npm run loadgen --',
  description:
    'Puts realistic impression traffic (many members browsing, with a share of bad records and producer\n' +
    'retries) on the raw stream at a steady rate, of the deployment --stage/--stack names (or the local\n' +
    'one `npm start -- --keep` runs), or on a raw stream named with --stream-name.',
  options: {
    rate: { type: 'string', arg: '<n>', help: 'records per second (default 1000)' },
    events: { type: 'string', arg: '<n>', help: 'records to send (default 10000 unless --duration)' },
    duration: { type: 'string', arg: '<s>', help: 'send for this many seconds' },
    seed: {
      type: 'string',
      arg: '<n>',
      help: 'traffic seed (default: a fresh one, printed); the same seed resends the same eventIds',
    },
    'bad-share': { type: 'string', arg: '<f>', help: 'share of bad records, 0-1 (default 0.02)' },
    aggregate: { type: 'boolean', help: 'pack records into KPL-aggregated Kinesis records' },
    'stream-name': {
      type: 'string',
      arg: '<name>',
      help: 'a raw stream by name (AWS credentials and AWS_REGION), instead of a deployment',
    },
    ...DEPLOYMENT_OPTIONS,
    expect: {
      type: 'boolean',
      help: 'print, as JSON on stdout, the outcome counts the pipeline must report',
    },
    via: {
      type: 'string',
      arg: '<way>',
      help: 'stream (default: PutRecords on the raw stream) | api (the ingest route, signed as a service)',
    },
    'api-url': { type: 'string', arg: '<url>', help: 'HistoryApiUrl of a real deployment (with --via api)' },
  },
  footer: [
    'Compare --expect with the counts the pipeline reports: npm run stats',
    'Example: npm run -s loadgen -- --events 5000 --expect > expected.json',
  ].join('\n'),
} as const;

async function main(): Promise<number> {
  const { values } = parseCli(LOADGEN_CLI, process.argv.slice(2));
  const rate = numberOption(values.rate, 'rate', 1, 1_000_000) ?? 1000;
  let events = numberOption(values.events, 'events', 1, 1e9);
  const duration = numberOption(values.duration, 'duration', 1, 86_400);
  const seed = numberOption(values.seed, 'seed', 0, 2 ** 31) ?? randomInt(1, 2 ** 31);
  const badShare = numberOption(values['bad-share'], 'bad-share', 0, 1, true) ?? 0.02;
  if (events === undefined && duration === undefined) events = 10_000;

  if (values.via !== undefined && values.via !== 'stream' && values.via !== 'api')
    throw new CliError(`--via must be stream or api, not "${values.via}"`);
  let streamName = values['stream-name'];
  let apiUrl = values['api-url'];
  let config: ClientConfig = {
    region: process.env.AWS_REGION ?? 'us-east-1',
    requestHandler: new NodeHttpHandler(),
  };
  if (!streamName) {
    const d = await findDeployment(values);
    config = d.clientConfig;
    streamName = output(d, 'RawStreamName');
    apiUrl ??= output(d, 'HistoryApiUrl');
    if (d.kind === 'local') {
      // The ingest route's signer takes the emulator's credentials from the environment.
      process.env.AWS_ACCESS_KEY_ID ??= 'test';
      process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
      process.env.AWS_REGION ??= 'us-east-1';
    }
  }
  process.stderr.write(`seed ${seed}\n`);
  const result = await runLoad({
    kinesis: new KinesisClient(config),
    streamName,
    rate,
    events,
    durationMs: duration === undefined ? undefined : duration * 1000,
    seed,
    badShare,
    aggregate: Boolean(values.aggregate),
    sink: values.via === 'api' ? loadgenApiSink(apiUrl, process.env.AWS_REGION ?? 'us-east-1') : undefined,
    onSent: (s) => {
      if (process.stderr.isTTY && s.length % 5000 < 2000) process.stderr.write(`\rsent ${s.length}`);
    },
  });
  process.stderr.write(
    `\rsent ${result.sent} records in ${(result.elapsedMs / 1000).toFixed(1)} s (${result.failed} failed` +
      `${result.refused ? `, ${result.refused} the API cannot carry, not sent` : ''})\n`,
  );
  if (values.expect)
    process.stdout.write(
      `${JSON.stringify({ seed, sent: result.sent, failed: result.failed, expected: result.expected }, null, 2)}\n`,
    );
  return result.failed ? 1 : 0;
}

if (isEntryPoint(import.meta.filename)) runCli('loadgen', main);
