/**
 * `impressions cost` (`npm run cost` here): monthly cost and cost per billion impressions per component, as the default production stage
 * deploys it (infra/config.ts), from the benchmarks' measured figures (bench/results/latest.json, the committed
 * full run) and the dated price table of ops/cost-model.ts. docs/cost.md explains the lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SETTINGS, TRACING_MODES, type Tracing } from '../infra/config.js';
import {
  type CostInputs,
  type CostResult,
  costModel,
  DEFAULT_INPUTS,
  DEFAULT_STAGE_INPUTS,
  type Lever,
  type LeverMeasurements,
  levers,
  PRICES,
  PRICES_DATE,
  type Provenance,
  QUALITY_EMF_BYTES_PER_BATCH,
} from './cost-model.js';
import { CliError, type CliSpec, numberOption, type OptionSpecs, type Parsed, parseCli } from './kit.js';

const ROOT = path.resolve(import.meta.dirname, '..');
/**
 * The measured figures: in this repository the committed full benchmark run; in the installed package the copy
 * of it the package build puts beside this module (`measurements.json`).
 */
export const RESULTS_FILE =
  [
    path.join(import.meta.dirname, 'measurements.json'),
    path.join(ROOT, 'bench', 'results', 'latest.json'),
  ].find((f) => existsSync(f)) ?? path.join(ROOT, 'bench', 'results', 'latest.json');

export const COST_SPEC = {
  command: 'impressions cost',
  description: `Prices the default production stage (infra/config.ts) sized for the given load (peakEventsPerSecond), with
the figures measured by the last full benchmark run (bench/results/latest.json), and the monthly cost of
the default stage as deployed. Every line, price and source: docs/cost.md.`,
  options: {
    'events-per-sec': {
      type: 'string',
      arg: '<n>',
      help: "sustained impressions per second, and the stage's peakEventsPerSecond (default 1500000)",
    },
    'event-bytes': { type: 'string', arg: '<n>', help: 'raw event size in bytes (default 1200)' },
    'accepted-share': { type: 'string', arg: '<f>', help: 'share of records enriched, 0-1 (default 0.85)' },
    'checks-per-page': {
      type: 'string',
      arg: '<n>',
      help: 'frequency checks per page render of 250 impressions (default 1)',
    },
    'device-share': {
      type: 'string',
      arg: '<f>',
      help: "share of events devices send through the ingest route, 0-1 (default: the stage's deviceIngestShare, 1)",
    },
    'events-per-request': {
      type: 'string',
      arg: '<n>',
      help: 'events per device ingest request, one client flush (default 10)',
    },
    aggregate: {
      type: 'boolean',
      help: 'producers KPL-aggregate the raw stream too (measured records per aggregate)',
    },
    kinesis: {
      type: 'string',
      arg: '<mode>',
      help: "provisioned | on-demand, both streams (default: the stage's)",
    },
    dynamodb: {
      type: 'string',
      arg: '<mode>',
      help: "provisioned | on-demand (default: the stage's tableCapacity.mode)",
    },
    'flush-seconds': {
      type: 'string',
      arg: '<n>',
      help: 'price the history writes measured at this client flush interval (default: history.defaultFlushSeconds; measured: history.byFlushInterval)',
    },
    'retention-days': {
      type: 'string',
      arg: '<n>',
      help: "history retention in days (default: the stage's historyRetentionDays)",
    },
    'history-pitr': {
      type: 'boolean',
      help: "point-in-time recovery on the history table (default: the stage's historyPointInTimeRecovery, off)",
    },
    'lake-retention-days': { type: 'string', arg: '<n>', help: 'days of lake data held (default 365)' },
    'intelligent-tiering-days': {
      type: 'string',
      arg: '<n>',
      help: "lake data files to S3 Intelligent-Tiering after n days (default: the stage's lakeRetention.intelligentTieringDays, 0: never)",
    },
    tracing: {
      type: 'string',
      arg: '<mode>',
      help: "active | pass-through (default: the stage's tracing, active)",
    },
    'target-utilization': {
      type: 'string',
      arg: '<n>',
      help: "DynamoDB auto scaling target, percent (default: the stage's, 70)",
    },
    'athena-tb': { type: 'string', arg: '<n>', help: 'TB scanned by Athena a month (default 50)' },
    results: {
      type: 'string',
      arg: '<file>',
      help: 'measured figures (default: bench/results/latest.json, or the copy installed with the package)',
    },
    json: { type: 'boolean', help: 'the inputs, their provenance and the result as JSON' },
    prices: { type: 'boolean', help: 'the dated price table with its sources' },
  },
} as const satisfies CliSpec<OptionSpecs>;

/** The keys of bench/results/latest.json the model reads (docs/cost.md lists them). */
interface Latest {
  readonly date?: string;
  /** History write and read figures (bench/history-wcu.ts, `historyFigures`). */
  readonly history?: {
    /** Write units per accepted impression, duplicate detection included, realistic traffic over time. */
    readonly wcuPerImpression: number;
    /** Read units of the write path per accepted impression (erasure markers, held counters; older runs lack it). */
    readonly rcuPerImpression?: number;
    /** Stored history bytes per impression. */
    readonly bytesPerImpression: number;
    /** Read request units per call of a typical profile: one check, one history call. */
    readonly readUnits: {
      readonly check: number;
      readonly history: number;
      readonly checkWriteUnits?: number;
    };
    /** What the figures assume (client flush interval, check window and profile). */
    readonly assumptions?: { readonly check: string; readonly history: string; readonly flush: string };
    /** Write units per impression at each client flush interval measured. */
    readonly byFlushInterval?: readonly {
      readonly flushSeconds: number;
      readonly wcuPerImpression: number;
      readonly rcuPerImpression?: number;
      readonly avgItemBytes?: number;
    }[];
  };
  readonly wholeHandler?: { handlerCpuUsPerEvent: number; logBytesPerBatch: number; batchSize?: number };
  readonly streams?: {
    rawBytesAvg: number;
    enrichedBytesAvg: number;
    raw: { userRecordsPerAggregate: number };
    enriched: {
      userRecordsPerAggregate: number;
      /** Within one invocation's batch, as filter-enrich aggregates (bench/stream-bytes.ts). */
      perInvocation?: { userRecordsPerAggregate: number; batchSize: number; recordsPerProfile: number };
    };
  };
  /** The ingest route per request of N events (bench/ingest.ts). */
  readonly ingest?: {
    readonly limitWcuPerRequest: number;
    readonly rows: readonly {
      readonly batchEvents: number;
      readonly billedMsPerRequest: number;
      readonly logBytesPerRequest: number;
    }[];
  };
  readonly lake?: { parquetBytesPerImpression: number };
}

/**
 * When filter-enrich began to emit its data-quality metrics: a whole-handler benchmark run before it measured
 * the log lines without them (the model adds `QUALITY_EMF_BYTES_PER_BATCH`), a run after it with them.
 */
export const QUALITY_METRICS_SINCE = '2026-12-03T13:44:54Z';

/** Platform lines (START, END, REPORT with its X-Ray trace id) of one invocation, bytes: an estimate. */
const PLATFORM_LOG_BYTES = 400;
/** One HTTP API access log line, bytes: an estimate (the model's API_ACCESS_LOG_BYTES). */
const ACCESS_LOG_BYTES = 400;

/** The model's inputs as measured so far, and what each came from (in the order the provenance lists them). */
interface Measuring {
  inputs: CostInputs;
  readonly from: Record<string, string>;
  /** The results file's name, as the provenance cites it. */
  readonly source: string;
}

const measured = (acc: Measuring, input: keyof CostInputs, key: string, note = '') => {
  acc.from[input] = `measured: ${acc.source} ${key}${note}`;
};

/** The enrichment's bytes and the enriched stream's aggregation. */
function measureStreams(acc: Measuring, streams: NonNullable<Latest['streams']>): void {
  acc.inputs = {
    ...acc.inputs,
    enrichmentBytes: streams.enrichedBytesAvg - streams.rawBytesAvg,
    enrichedRecordsPerKinesisRecord: streams.enriched.userRecordsPerAggregate,
  };
  measured(acc, 'enrichmentBytes', 'streams.enrichedBytesAvg − streams.rawBytesAvg');
  const per = streams.enriched.perInvocation;
  if (per) {
    // filter-enrich aggregates within one invocation: what its batches hold, not a long run of traffic.
    acc.inputs = { ...acc.inputs, enrichedRecordsPerKinesisRecord: per.userRecordsPerAggregate };
    measured(
      acc,
      'enrichedRecordsPerKinesisRecord',
      'streams.enriched.perInvocation.userRecordsPerAggregate',
      ` (within one ${per.batchSize}-record invocation, ≤ ${per.recordsPerProfile} records per profile)`,
    );
  } else
    measured(
      acc,
      'enrichedRecordsPerKinesisRecord',
      'streams.enriched.userRecordsPerAggregate',
      ' (over the whole sample, not per invocation: an upper bound)',
    );
}

/** The ingest route, at the measured request size of `eventsPerIngestRequest` events (if measured). */
function measureIngest(acc: Measuring, ingest: Latest['ingest'], eventsPerIngestRequest: number): void {
  const ingestRow = ingest?.rows.find((r) => r.batchEvents === eventsPerIngestRequest);
  if (!ingest || !ingestRow) return;
  acc.inputs = {
    ...acc.inputs,
    ingestMsPerRequest: ingestRow.billedMsPerRequest,
    ingestLogBytesPerRequest:
      Math.round(ingestRow.logBytesPerRequest) + PLATFORM_LOG_BYTES + ACCESS_LOG_BYTES,
    ingestWcuPerRequest: ingest.limitWcuPerRequest,
  };
  const at = ` (requests of ${eventsPerIngestRequest} events)`;
  measured(
    acc,
    'ingestMsPerRequest',
    'ingest.rows[].billedMsPerRequest',
    `${at}: CPU at 1,024 MB + the round trips bench/ingest.ts assumes`,
  );
  measured(
    acc,
    'ingestLogBytesPerRequest',
    'ingest.rows[].logBytesPerRequest',
    `${at} (+ ${PLATFORM_LOG_BYTES} B of platform lines and ${ACCESS_LOG_BYTES} B of access log, estimated)`,
  );
  measured(acc, 'ingestWcuPerRequest', 'ingest.limitWcuPerRequest', " (the ingest limit's window counter)");
}

type HistoryFigures = NonNullable<Latest['history']>;

/** The history's write figures at the client flush interval `--flush-seconds` asks for (refused if not measured). */
function measureFlushInterval(acc: Measuring, h: HistoryFigures, flushSeconds: number): void {
  const f = h.byFlushInterval?.find((x) => x.flushSeconds === flushSeconds);
  if (!f) {
    const measuredAt = (h.byFlushInterval ?? []).map((x) => x.flushSeconds).join(', ') || 'none';
    throw new Error(`--flush-seconds ${flushSeconds} was not measured (measured: ${measuredAt})`);
  }
  acc.inputs = {
    ...acc.inputs,
    historyWcuPerImpression: f.wcuPerImpression,
    ...(f.rcuPerImpression !== undefined ? { historyRcuPerImpression: f.rcuPerImpression } : {}),
  };
  measured(
    acc,
    'historyWcuPerImpression',
    'history.byFlushInterval',
    ` (clients flush every ${flushSeconds} s; buckets, day counters, duplicate detection)`,
  );
}

/** The history's writes, storage and reads. */
function measureHistory(acc: Measuring, h: HistoryFigures, flushSeconds: number | undefined): void {
  const a = h.assumptions;
  acc.inputs = {
    ...acc.inputs,
    historyWcuPerImpression: h.wcuPerImpression,
    ...(h.rcuPerImpression !== undefined ? { historyRcuPerImpression: h.rcuPerImpression } : {}),
    historyBytesPerImpression: h.bytesPerImpression,
    rruPerCheck: h.readUnits.check,
    wcuPerCheck: h.readUnits.checkWriteUnits ?? 0,
    rruPerHistoryCall: h.readUnits.history,
  };
  measured(
    acc,
    'historyWcuPerImpression',
    'history.wcuPerImpression',
    ` (buckets, day counters, duplicate detection${a ? `; ${a.flush}` : ''})`,
  );
  if (h.rcuPerImpression !== undefined)
    measured(
      acc,
      'historyRcuPerImpression',
      'history.rcuPerImpression',
      ' (the erasure markers filter-enrich reads before and after the writes, held counters, items read back)',
    );
  if (flushSeconds !== undefined) measureFlushInterval(acc, h, flushSeconds);
  measured(acc, 'historyBytesPerImpression', 'history.bytesPerImpression');
  measured(acc, 'rruPerCheck', 'history.readUnits.check', a ? ` (${a.check})` : '');
  if (h.readUnits.checkWriteUnits !== undefined)
    measured(acc, 'wcuPerCheck', 'history.readUnits.checkWriteUnits', ' (the rollup the check builds)');
  measured(acc, 'rruPerHistoryCall', 'history.readUnits.history', a ? ` (${a.history})` : '');
}

/**
 * filter-enrich's CPU and log bytes per invocation; whether those log bytes hold the quality metrics already
 * (a run after `QUALITY_METRICS_SINCE`) or the model adds them.
 */
function measureWholeHandler(acc: Measuring, latest: Latest): void {
  const whole = latest.wholeHandler;
  if (whole) {
    acc.inputs = {
      ...acc.inputs,
      filterEnrichCpuUsPerEvent: whole.handlerCpuUsPerEvent,
      logBytesPerInvocation: Math.round(whole.logBytesPerBatch) + PLATFORM_LOG_BYTES,
    };
    measured(acc, 'filterEnrichCpuUsPerEvent', 'wholeHandler.handlerCpuUsPerEvent');
    measured(
      acc,
      'logBytesPerInvocation',
      'wholeHandler.logBytesPerBatch',
      ` (+ ${PLATFORM_LOG_BYTES} B of platform lines, estimated)`,
    );
    if (latest.date !== undefined && Date.parse(latest.date) >= Date.parse(QUALITY_METRICS_SINCE)) {
      acc.inputs = { ...acc.inputs, qualityEmfBytesPerBatch: 0 };
      acc.from.qualityEmfBytesPerBatch = `measured: in ${acc.source} wholeHandler.logBytesPerBatch (a run after ${QUALITY_METRICS_SINCE}, with the quality metrics)`;
    }
  }
  acc.from.qualityEmfBytesPerBatch ??= `${QUALITY_EMF_BYTES_PER_BATCH.source}; added to logBytesPerInvocation (${latest.date ? `the benchmark run of ${latest.date} predates them` : 'no benchmark run'})`;
}

/** Where the inputs no benchmark measured come from (or those it did not measure in this run). */
const ASSUMED = {
  rruPerCheck:
    'assumed until measured (history.readUnits.check): a 7-day check of a typical profile (docs/history-model.md)',
  rruPerHistoryCall: 'assumed until measured (history.readUnits.history): one page of 50 impressions',
  historyBytesPerImpression:
    'assumed until measured (history.bytesPerImpression): packed 10-second buckets, ≈ 30 impressions each',
  filterEnrichCpuUsPerEvent: 'assumed until measured (wholeHandler.handlerCpuUsPerEvent)',
  filterEnrichIoMsPerBatch: 'assumed: PutRecords and DynamoDB round trips of one batch, ms',
  apiMsPerRequest: 'assumed: one Query and the response, ms billed',
  ingestMsPerRequest:
    'assumed until measured (ingest.rows[].billedMsPerRequest): as a read, ms billed (bench/ingest.ts measures it for 1, 10, 25, 100 and 500 events)',
  ingestLogBytesPerRequest: 'estimated until measured (ingest.rows[].logBytesPerRequest): as a read',
  ingestWcuPerRequest: 'the ingest limit: one conditional write of a small window counter per request',
  apiLogBytesPerRequest: 'estimated: platform lines 400 B, EMF 500 B, access log 400 B',
  compactionGbPerDpuHour: 'assumed: Parquet rewritten per DPU-hour by compaction',
  maintenanceDpuHoursPerDay: 'assumed: snapshot retention and orphan deletion, per table',
  lakeRetentionDays: 'assumed: 365 days of lake data held (the stage expires no lake data)',
  impressionsPerPageRender:
    'stated: one check per page render of 250 impressions (and 10 checks: the 10× total), 0.1 history call',
  enrichedConsumers:
    'design: Firehose is the enriched stream’s only reader (filter-enrich writes the history itself)',
  qualityMetricSeries:
    'docs/operations.md "Data-quality metrics": 22 always-present series + 20 reason/field pairs seen all month (assumed)',
  alarmMetrics: 'the pipeline stack: 27 plain alarms × 1 + 14 anomaly-detection alarms × 3',
  qualityReportStatementsPerDay: 'infra/quality-report.ts reportStatements: 3 UNLOAD statements a day',
  rejectedParquetBytesPerRow: 'assumed: Parquet bytes of a rejected row (raw JSON, reason, path)',
} as const;

/** The model's inputs from the stage, the measured figures when present, and what each came from. */
export function measuredInputs(
  latest: Latest,
  source: string,
  flushSeconds?: number,
  eventsPerIngestRequest: number = DEFAULT_INPUTS.eventsPerIngestRequest,
): { inputs: CostInputs; provenance: Provenance } {
  const acc: Measuring = { inputs: { ...DEFAULT_INPUTS }, from: {}, source };
  if (latest.streams) measureStreams(acc, latest.streams);
  measureIngest(acc, latest.ingest, eventsPerIngestRequest);
  if (latest.history) measureHistory(acc, latest.history, flushSeconds);
  measureWholeHandler(acc, latest);
  if (latest.lake) {
    acc.inputs = { ...acc.inputs, parquetBytesPerImpression: latest.lake.parquetBytesPerImpression };
    measured(acc, 'parquetBytesPerImpression', 'lake.parquetBytesPerImpression');
  }
  for (const [k, v] of Object.entries(ASSUMED)) acc.from[k] ??= v;
  return { inputs: acc.inputs, provenance: acc.from };
}

const usd = (n: number) => `$${n.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;

/** The figures of the results file a lever needs (cost-model.ts `levers`). */
export function leverMeasurements(latest: Latest): LeverMeasurements {
  const at15 = latest.history?.byFlushInterval?.find((x) => x.flushSeconds === 15);
  const atDefault = latest.history?.byFlushInterval?.find(
    (x) => x.flushSeconds === (latest.history as { defaultFlushSeconds?: number }).defaultFlushSeconds,
  );
  return {
    ...(at15 ? { wcuPerImpressionAt15sFlush: at15.wcuPerImpression } : {}),
    ...(at15?.rcuPerImpression !== undefined ? { rcuPerImpressionAt15sFlush: at15.rcuPerImpression } : {}),
    ...(latest.streams ? { rawRecordsPerAggregate: latest.streams.raw.userRecordsPerAggregate } : {}),
    ...(atDefault?.avgItemBytes ? { historyAvgItemBytes: atDefault.avgItemBytes } : {}),
  };
}

/** The levers, one line each: effect on the total, how to apply it, what it trades. */
export function renderLevers(list: readonly Lever[]): string {
  return [
    'levers remaining (each alone, change of the total per billion; docs/cost.md "Levers"):',
    ...list.map(
      (l) =>
        `  ${(l.perBillionUsd === undefined ? 'not priced' : `${l.perBillionUsd < 0 ? '−' : '+'}$${Math.abs(l.perBillionUsd).toFixed(2)}`).padStart(11)}  ${l.lever} — ${l.how}; ${l.trade}`,
    ),
  ].join('\n');
}

export function render(
  r: CostResult,
  tenfold: CostResult,
  inputs: CostInputs,
  leverList: readonly Lever[] = levers(inputs),
): string {
  const w = Math.max(46, ...[...r.lines, ...r.options].map((l) => l.component.length + 2));
  const row = (l: CostResult['lines'][number]) =>
    `${l.component.padEnd(w)}${usd(l.monthlyUsd).padStart(13)}${`$${l.perBillionUsd.toFixed(2)}`.padStart(12)}  ${l.basis}`;
  // What list prices fix for this design before anything is stored or served: managed Iceberg delivery
  // (Firehose's per-GB price) and the bytes of the contract's streams.
  const fixed = (re: RegExp) =>
    r.lines.filter((l) => re.test(l.component)).reduce((n, l) => n + l.perBillionUsd, 0);
  const firehose = fixed(/^Firehose/);
  const kinesis = fixed(/^Kinesis/);
  const floor =
    `the floor at list prices: Firehose → Iceberg $${firehose.toFixed(2)} (its per-GB price) + Kinesis $${kinesis.toFixed(2)}` +
    ` = $${(firehose + kinesis).toFixed(2)} per billion\n${renderLevers(leverList)}`;
  const verdict =
    r.totalPerBillionUsd <= 100
      ? `target ≤ $100 per billion: met\n${floor}`
      : `target ≤ $100 per billion: NOT met (${usd(r.totalPerBillionUsd)}; docs/cost.md)\n${floor}`;
  return [
    `${'component'.padEnd(w)}${'per month'.padStart(13)}${'per billion'.padStart(12)}  basis`,
    ...r.lines.map(row),
    `${'total'.padEnd(w)}${usd(r.totalMonthlyUsd).padStart(13)}${`$${r.totalPerBillionUsd.toFixed(2)}`.padStart(12)}`,
    `${`total with ${inputs.checksPerPageRender * 10} checks per page render (10×)`.padEnd(w)}${usd(tenfold.totalMonthlyUsd).padStart(13)}${`$${tenfold.totalPerBillionUsd.toFixed(2)}`.padStart(12)}`,
    ...r.options.map(row),
    '',
    verdict,
    '',
    'sizing (infra/sizing.ts, as the stage deploys it):',
    ...Object.entries(r.sizing).map(([k, v]) => `  ${k.padEnd(28)} ${v.toLocaleString('en-US')}`),
  ].join('\n');
}

/** The default stage as deployed: its load, its monthly cost (at its peak all month) and per billion. */
export function renderDefaultStage(r: CostResult, inputs: CostInputs): string {
  const z = r.stageSizing;
  return (
    `default stage (DEFAULT_STAGE, sized for ${inputs.stage.peakEventsPerSecond.toLocaleString('en-US')} events/s: ` +
    `${z.rawStream.shards} + ${z.enrichedStream.shards} + ${z.rejectedStream.shards} shards, API throttle ${z.api.rateLimit} requests/s): ` +
    `${usd(r.totalMonthlyUsd)} a month at that load held all month ($${r.totalPerBillionUsd.toFixed(2)} per billion, ${(r.impressionsPerMonth / 1e9).toFixed(1)} billion impressions)`
  );
}

type CostValues = Parsed<typeof COST_SPEC.options>['values'];

/** The command line's numbers (within bounds) and capacity modes; a bad one is a usage error naming it. */
interface CostOptions {
  readonly num: (name: string, min: number, max: number) => number | undefined;
  readonly mode: (name: string) => 'provisioned' | 'on-demand' | undefined;
}

function costOptions(values: CostValues): CostOptions {
  const strings = values as Record<string, string | boolean | undefined>;
  return {
    num: (name, min, max) => {
      const v = strings[name];
      return numberOption(typeof v === 'boolean' ? String(v) : v, name, min, max, true);
    },
    mode: (name) => {
      const v = strings[name];
      if (v === undefined) return undefined;
      if (v !== 'provisioned' && v !== 'on-demand')
        throw new CliError(`--${name} must be provisioned or on-demand, got ${v}`, 2);
      return v;
    },
  };
}

/** The measured figures (`--results` or the default file), and how the output names where they came from. */
function readResults(results: string | undefined): { latest: Latest; file: string; note: string } {
  const file = path.resolve(results ?? RESULTS_FILE);
  if (existsSync(file)) {
    let latest: Latest;
    try {
      latest = JSON.parse(readFileSync(file, 'utf8')) as Latest;
    } catch {
      throw new Error(`${path.relative(process.cwd(), file)} is not valid JSON`);
    }
    return { latest, file, note: `${path.relative(ROOT, file)} of ${latest.date ?? 'unknown date'}` };
  }
  if (results !== undefined) throw new Error(`no such file: ${results}`);
  return { latest: {}, file, note: 'none (bench/results/latest.json missing): documented defaults' };
}

/** The stage settings the options change (undefined: the stage's own), read in the order the help lists them. */
interface StageOptions {
  readonly kinesis?: 'provisioned' | 'on-demand';
  readonly dynamodb?: 'provisioned' | 'on-demand';
  readonly retention?: number;
  readonly peak?: number;
  readonly deviceShare?: number;
  readonly bytes?: number;
  readonly tiering?: number;
  readonly target?: number;
  readonly tracing?: Tracing;
}

function stageOptions(values: CostValues, o: CostOptions): StageOptions {
  const kinesis = o.mode('kinesis');
  const dynamodb = o.mode('dynamodb');
  const retention = o.num(
    'retention-days',
    SETTINGS.historyRetentionDays.min,
    SETTINGS.historyRetentionDays.max,
  );
  const peak = o.num('events-per-sec', 1, 1e9);
  const deviceShare = o.num('device-share', 0, 1);
  const bytes = o.num('event-bytes', 100, 1024 * 1024);
  const tiering = o.num('intelligent-tiering-days', 0, 3650);
  const target = o.num(
    'target-utilization',
    SETTINGS['tableCapacity.targetUtilizationPercent'].min,
    SETTINGS['tableCapacity.targetUtilizationPercent'].max,
  );
  const tracing = values.tracing;
  if (tracing !== undefined && !(TRACING_MODES as readonly unknown[]).includes(tracing))
    throw new CliError(`--tracing must be ${TRACING_MODES.join(' or ')}, got ${String(tracing)}`, 2);
  return {
    kinesis,
    dynamodb,
    retention,
    peak,
    deviceShare,
    bytes,
    tiering,
    target,
    tracing: tracing as Tracing | undefined,
  };
}

/** The stage with the options applied (a zero, like an absent option, keeps the stage's value). */
function stageWith(
  stage: CostInputs['stage'],
  o: StageOptions,
  pointInTimeRecovery: boolean,
): CostInputs['stage'] {
  const { kinesis, dynamodb, target } = o;
  return {
    ...stage,
    ...(o.tracing ? { tracing: o.tracing } : {}),
    ...(o.tiering !== undefined
      ? { lakeRetention: { ...stage.lakeRetention, intelligentTieringDays: o.tiering } }
      : {}),
    ...(o.peak ? { peakEventsPerSecond: o.peak } : {}),
    ...(o.bytes ? { eventBytes: o.bytes } : {}),
    ...(o.deviceShare !== undefined ? { deviceIngestShare: o.deviceShare } : {}),
    ...(kinesis
      ? {
          rawStream: { ...stage.rawStream, mode: kinesis },
          enrichedStream: { ...stage.enrichedStream, mode: kinesis },
        }
      : {}),
    ...(dynamodb || target
      ? {
          tableCapacity: {
            ...stage.tableCapacity,
            ...(dynamodb ? { mode: dynamodb } : {}),
            ...(target ? { targetUtilizationPercent: target } : {}),
          },
        }
      : {}),
    ...(o.retention ? { historyRetentionDays: o.retention } : {}),
    ...(pointInTimeRecovery ? { historyPointInTimeRecovery: true } : {}),
  };
}

/** What the command prices: the measured inputs with every option applied, and where they came from. */
interface Priced {
  readonly inputs: CostInputs;
  readonly provenance: Provenance;
  readonly latest: Latest;
  readonly resultsNote: string;
}

/** The inputs the options describe; an option or a results file that cannot be used is a usage error. */
function pricedInputs(values: CostValues): Priced {
  const o = costOptions(values);
  try {
    const results = readResults(typeof values.results === 'string' ? values.results : undefined);
    const { latest } = results;
    const perRequest = o.num('events-per-request', 1, 500);
    const measured = measuredInputs(
      latest,
      path.basename(results.file),
      o.num('flush-seconds', 1, 3600),
      perRequest,
    );
    const base = measured.inputs;
    const s = stageOptions(values, o);
    const stage = stageWith(base.stage, s, Boolean(values['history-pitr']));
    if (values.aggregate && !latest.streams)
      throw new Error('--aggregate needs measured aggregation: run npm run bench first');
    const inputs: CostInputs = {
      ...base,
      stage,
      eventsPerSec: s.peak ?? base.eventsPerSec,
      eventBytes: s.bytes ?? base.eventBytes,
      acceptedShare: o.num('accepted-share', 0, 1) ?? base.acceptedShare,
      checksPerPageRender: o.num('checks-per-page', 0, 1000) ?? base.checksPerPageRender,
      eventsPerIngestRequest: perRequest ?? base.eventsPerIngestRequest,
      lakeRetentionDays: o.num('lake-retention-days', 1, 36500) ?? base.lakeRetentionDays,
      athenaTbPerMonth: o.num('athena-tb', 0, 1e6) ?? base.athenaTbPerMonth,
      ...(values.aggregate && latest.streams
        ? { rawRecordsPerKinesisRecord: latest.streams.raw.userRecordsPerAggregate }
        : {}),
    };
    return { inputs, provenance: measured.provenance, latest, resultsNote: results.note };
  } catch (e) {
    throw e instanceof CliError ? e : new CliError((e as Error).message, 2);
  }
}

/** The report: the load and stage priced, every line, the levers, the default stage, where figures come from. */
function renderReport(
  p: Priced,
  r: CostResult,
  tenfold: CostResult,
  atDefault: CostResult,
  defaultInputs: CostInputs,
) {
  const { inputs, provenance, latest } = p;
  const s = inputs.stage;
  return (
    `impressions: ${inputs.eventsPerSec.toLocaleString('en-US')}/s × ${inputs.eventBytes} B = ${(r.impressionsPerMonth / 1e9).toFixed(0)} billion a month\n` +
    `stage: Kinesis ${s.rawStream.mode}, DynamoDB ${s.tableCapacity.mode}${s.tableCapacity.mode === 'provisioned' ? ` (auto scaling at ${s.tableCapacity.targetUtilizationPercent} %)` : ''}, history ${s.historyRetentionDays} days, enriched stream ${s.aggregateEnriched ? 'aggregated' : 'plain'}\n` +
    `measured figures: ${p.resultsNote}; prices of ${PRICES_DATE} (impressions cost --prices)\n\n` +
    `${render(r, tenfold, inputs, levers(inputs, leverMeasurements(latest)))}\n\n${renderDefaultStage(atDefault, defaultInputs)}\n\nwhere the figures come from:\n` +
    Object.entries(provenance)
      .map(([k, v]) => `  ${k.padEnd(28)} ${v}`)
      .join('\n') +
    '\n'
  );
}

/** `impressions cost`: see COST_SPEC. */
export function cost(argv: readonly string[]): number {
  const { values } = parseCli(COST_SPEC, argv);
  if (values.prices) {
    process.stdout.write(`Prices of ${PRICES_DATE} (us-east-1 list prices):\n`);
    for (const [k, p] of Object.entries(PRICES))
      process.stdout.write(`  ${k.padEnd(28)} $${p.usd} per ${p.unit}\n  ${''.padEnd(28)} ${p.source}\n`);
    return 0;
  }
  const priced = pricedInputs(values);
  const { inputs } = priced;
  const r = costModel(inputs);
  const tenfold = costModel({ ...inputs, checksPerPageRender: inputs.checksPerPageRender * 10 });
  // The default stage as deployed, with the same measured figures and the same operator options.
  const defaultInputs: CostInputs = {
    ...inputs,
    stage: { ...inputs.stage, peakEventsPerSecond: DEFAULT_STAGE_INPUTS.stage.peakEventsPerSecond },
    eventsPerSec: DEFAULT_STAGE_INPUTS.eventsPerSec,
  };
  const atDefault = costModel(defaultInputs);
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ pricesDate: PRICES_DATE, inputs, provenance: priced.provenance, result: r, tenfold, defaultStage: atDefault, levers: levers(inputs, leverMeasurements(priced.latest)) }, null, 2)}\n`,
    );
    return 0;
  }
  process.stdout.write(renderReport(priced, r, tenfold, atDefault, defaultInputs));
  return 0;
}
