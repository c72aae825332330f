/**
 * Cost and sizing model of a deployment as the stage deploys it: per component, monthly and per billion
 * impressions, from the per-event figures the benchmarks measure, the stage settings (infra/config.ts, read,
 * never copied) and the dated price table below. Pure: numbers in, numbers out. docs/cost.md explains every line.
 */
import { DEFAULT_STAGE, type StageConfig } from '../infra/config.js';
import { recordsPerBatch, SIZING, type SizedSettings, type StageSizing, sizeStage } from '../infra/sizing.js';

/**
 * List prices, us-east-1, as recorded on PRICES_DATE from the AWS pages named in `source` (this environment
 * cannot reach the web: re-check them before you rely on a figure). `unit` says what one `usd` buys.
 */
export const PRICES_DATE = '2026-12-03';
const KDS = 'https://aws.amazon.com/kinesis/data-streams/pricing/';
const DDB_OD = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const DDB_PROV = 'https://aws.amazon.com/dynamodb/pricing/provisioned/';
export const PRICES = {
  kinesisShardHour: { usd: 0.015, unit: 'shard-hour (provisioned)', source: KDS },
  kinesisPutUnitMillion: {
    usd: 0.014,
    unit: 'million PUT payload units of 25 KB (provisioned)',
    source: KDS,
  },
  kinesisOnDemandStreamHour: { usd: 0.04, unit: 'stream-hour (on-demand)', source: KDS },
  kinesisOnDemandIngestGb: {
    usd: 0.08,
    unit: 'GB written, each record rounded up to 1 KB (on-demand)',
    source: KDS,
  },
  kinesisOnDemandRetrievalGb: { usd: 0.04, unit: 'GB read per consumer (on-demand)', source: KDS },
  kinesisEfoConsumerShardHour: {
    usd: 0.015,
    unit: 'consumer-shard-hour of enhanced fan-out (provisioned)',
    source: KDS,
  },
  kinesisEfoGb: { usd: 0.013, unit: 'GB retrieved by an enhanced fan-out consumer', source: KDS },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    unit: 'GB-second, Arm, first tier',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  lambdaRequestMillion: {
    usd: 0.2,
    unit: 'million invocations',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  dynamoWriteRequestMillion: { usd: 0.625, unit: 'million write request units (on-demand)', source: DDB_OD },
  dynamoReadRequestMillion: { usd: 0.125, unit: 'million read request units (on-demand)', source: DDB_OD },
  dynamoWcuHour: { usd: 0.00065, unit: 'WCU-hour (provisioned)', source: DDB_PROV },
  dynamoRcuHour: { usd: 0.00013, unit: 'RCU-hour (provisioned)', source: DDB_PROV },
  dynamoStorageGbMonth: { usd: 0.25, unit: 'GB-month of table storage (Standard class)', source: DDB_OD },
  dynamoPitrGbMonth: {
    usd: 0.2,
    unit: 'GB-month of continuous backup (point-in-time recovery), on the table size',
    source: DDB_OD,
  },
  firehoseIcebergGb: {
    usd: 0.045,
    unit: 'GB ingested from a Kinesis data stream into Apache Iceberg tables, no 5 KB rounding (first tier)',
    source:
      'https://aws.amazon.com/firehose/pricing/ (as used by AWS Solutions "Guidance for Game Analytics Pipeline on AWS", README cost table: 259.2 GB from Kinesis → Iceberg = $11.67, Direct PUT $19.44, "billed per GB ingested with no 5KB increments")',
  },
  s3StorageGbMonth: {
    usd: 0.023,
    unit: 'GB-month, S3 Standard, first 50 TB',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  s3StorageGbMonthNext450Tb: {
    usd: 0.022,
    unit: 'GB-month, S3 Standard, next 450 TB',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  s3StorageGbMonthOver500Tb: {
    usd: 0.021,
    unit: 'GB-month, S3 Standard, over 500 TB',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  s3PutThousand: {
    usd: 0.005,
    unit: '1,000 PUT, COPY, POST or LIST requests, S3 Standard',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  s3GetThousand: {
    usd: 0.0004,
    unit: '1,000 GET and other requests, S3 Standard',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  glueDpuHour: {
    usd: 0.44,
    unit: 'DPU-hour of Glue Data Catalog table optimizers (compaction, snapshot retention, orphan file deletion)',
    source: 'https://aws.amazon.com/glue/pricing/',
  },
  athenaTbScanned: { usd: 5, unit: 'TB scanned', source: 'https://aws.amazon.com/athena/pricing/' },
  httpApiMillionFirst300M: {
    usd: 1.0,
    unit: 'million HTTP API requests, first 300 million a month',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  httpApiMillionAfter: {
    usd: 0.9,
    unit: 'million HTTP API requests beyond 300 million a month',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  logsIngestGb: {
    usd: 0.5,
    unit: 'GB ingested into CloudWatch Logs, Standard class (API Gateway access logs, Firehose delivery logs)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  logsLambdaFirst10TbGb: {
    usd: 0.5,
    unit: 'GB of Lambda logs into CloudWatch Logs (vended logs, since 2025-05-01), first 10 TB a month',
    source:
      'https://aws.amazon.com/cloudwatch/pricing/ (vended logs: Lambda; AWS Lambda "tiered pricing for CloudWatch Logs", 2025-05-01)',
  },
  logsLambdaNext20TbGb: {
    usd: 0.25,
    unit: 'GB of Lambda logs, next 20 TB a month',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  logsLambdaNext20TbAfterGb: {
    usd: 0.1,
    unit: 'GB of Lambda logs, next 20 TB a month (30-50 TB)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  logsLambdaOver50TbGb: {
    usd: 0.05,
    unit: 'GB of Lambda logs over 50 TB a month',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  logsStorageGbMonth: {
    usd: 0.03,
    unit: 'GB-month of CloudWatch Logs storage (archived, billed compressed)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  metricMonth: {
    usd: 0.3,
    unit: 'custom metric a month (EMF), first 10,000',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  alarmMetricMonth: {
    usd: 0.1,
    unit: 'alarm metric a month, standard resolution (an anomaly-detection alarm bills 3: the metric and its band)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  s3IntelligentTieringInfrequentGbMonth: {
    usd: 0.0125,
    unit: 'GB-month, S3 Intelligent-Tiering Infrequent Access tier (objects not accessed for 30 days)',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  s3IntelligentTieringArchiveInstantGbMonth: {
    usd: 0.004,
    unit: 'GB-month, S3 Intelligent-Tiering Archive Instant Access tier (objects not accessed for 90 days)',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  s3IntelligentTieringMonitoringThousandObjects: {
    usd: 0.0025,
    unit: '1,000 objects a month monitored by S3 Intelligent-Tiering (objects over 128 KB)',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  s3TransitionThousand: {
    usd: 0.01,
    unit: '1,000 lifecycle transition requests into S3 Intelligent-Tiering',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  schedulerInvocationMillion: {
    usd: 1,
    unit: 'million EventBridge Scheduler invocations beyond the 14 million free each month',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },
  xrayTraceMillion: {
    usd: 5,
    unit: 'million traces recorded',
    source: 'https://aws.amazon.com/xray/pricing/',
  },
  kmsRequest10k: { usd: 0.03, unit: '10,000 KMS requests', source: 'https://aws.amazon.com/kms/pricing/' },
} as const;

export const QUOTAS = {
  putUnitBytes: { value: 25 * 1024, source: `Kinesis PUT payload unit: 25 KB (${KDS})` },
  onDemandRecordRoundingBytes: {
    value: 1024,
    source: `Kinesis on-demand: each record rounded up to 1 KB (${KDS})`,
  },
  dynamoPartitionWcu: { value: 1000, source: 'DynamoDB: 1,000 WCU, 3,000 RCU, 10 GB per partition' },
  lambdaMbPerVcpu: {
    value: 1769,
    source: 'Lambda: a function has the equivalent of one vCPU at 1,769 MB (Lambda developer guide, memory)',
  },
  xrayDefaultSampling: {
    value: 0.05,
    source:
      'X-Ray default sampling rule: the first request each second and 5 % of the rest (X-Ray developer guide)',
  },
} as const;

/**
 * EMF log bytes filter-enrich's data-quality metrics add to one batch's log lines, measured with Powertools'
 * own output (test/handlers/filter-enrich-quality.test.ts, "log bytes of a 500-record batch": five device
 * types, one schema version, 1 % rejects, some null columns). Priced on top of the whole-handler benchmark's
 * `logBytesPerBatch`, which does not measure them.
 */
export const QUALITY_EMF_BYTES_PER_BATCH = {
  value: 2113,
  source:
    'measured: test/handlers/filter-enrich-quality.test.ts (500-record batch, Powertools EMF, with device_locale and both schema versions; was 3,527 B in 9 documents with dimensioned volumes)',
} as const;

/**
 * DynamoDB reserved capacity (provisioned tables, us-east-1, standard table class), per 100 units, as listed
 * on https://aws.amazon.com/dynamodb/pricing/provisioned/ ("Reserved capacity"): an upfront payment and an
 * hourly rate for the term. Not in the model's total (it prices list rates): a lever `npm run cost` prints.
 */
export const DYNAMO_RESERVED = {
  wcu100: {
    oneYear: { upfrontUsd: 150, hourlyUsd: 0.0128 },
    threeYears: { upfrontUsd: 180, hourlyUsd: 0.0081 },
  },
  rcu100: {
    oneYear: { upfrontUsd: 30, hourlyUsd: 0.0025 },
    threeYears: { upfrontUsd: 36, hourlyUsd: 0.0016 },
  },
  source: 'https://aws.amazon.com/dynamodb/pricing/provisioned/ (Reserved capacity; recorded 2026-12-03)',
} as const;

/** The discount a reserved unit gives on the provisioned list rate, for a term of `years`. */
export function reservedDiscount(kind: 'wcu100' | 'rcu100', term: 'oneYear' | 'threeYears'): number {
  const r = DYNAMO_RESERVED[kind][term];
  const hours = (term === 'oneYear' ? 1 : 3) * 8760;
  const list = 100 * (kind === 'wcu100' ? PRICES.dynamoWcuHour.usd : PRICES.dynamoRcuHour.usd);
  return 1 - (r.upfrontUsd / hours + r.hourlyUsd) / list;
}

/** The stage settings the model prices (infra/config.ts): its sizing settings and a few more. */
export type PricedStage = SizedSettings &
  Pick<
    StageConfig,
    'historyRetentionDays' | 'historyPointInTimeRecovery' | 'aggregateEnriched' | 'lakeRetention' | 'tracing'
  >;

/** Where each measured figure came from, printed with the result. */
export type Provenance = Readonly<Record<string, string>>;

export interface CostInputs {
  readonly stage: PricedStage;
  readonly eventsPerSec: number;
  readonly eventBytes: number;
  /** Share of raw records enriched (the rest filtered or rejected). */
  readonly acceptedShare: number;
  /** Bytes enrichment adds to a record (measured: enriched − raw). */
  readonly enrichmentBytes: number;
  /** User records per Kinesis record on the raw stream (1 = producers do not aggregate). */
  readonly rawRecordsPerKinesisRecord: number;
  /** User records per Kinesis record on the enriched stream when the stage aggregates it. */
  readonly enrichedRecordsPerKinesisRecord: number;
  /** Consumers of the enriched stream: Firehose (filter-enrich writes the history before the stream). */
  readonly enrichedConsumers: number;
  /** Share of raw records rejected (to the rejected stream and its table). */
  readonly rejectedShare: number;
  /** Rollup items: impressions of a profile a day, and the bytes of its day rollup item. */
  readonly impressionsPerProfileDay: number;
  readonly rollupBytesPerProfileDay: number;
  /** Lake: S3 PUTs per Firehose flush (data file, manifest, manifest list, metadata) and compacted file size. */
  readonly s3PutsPerFlush: number;
  readonly compactedFileMiB: number;
  /** Custom metrics (EMF names × dimension values) the functions emit besides the quality metrics: the outcome counts. */
  readonly customMetrics: number;
  /** filter-enrich's data-quality series (docs/operations.md "Data-quality metrics"): the always-present set and the reason/field pairs seen all month. */
  readonly qualityMetricSeries: number;
  /** EMF bytes the quality metrics add to a batch's log lines, when `logBytesPerInvocation` does not include them. */
  readonly qualityEmfBytesPerBatch: number;
  /** Alarm metrics billed (a plain alarm 1, an anomaly-detection alarm 3). */
  readonly alarmMetrics: number;
  /** The daily quality report: Athena statements a day (EventBridge Scheduler invocations) and the Parquet bytes of a rejected row. */
  readonly qualityReportStatementsPerDay: number;
  readonly rejectedParquetBytesPerRow: number;
  /** Events per ingest request from a device (one client flush). */
  readonly eventsPerIngestRequest: number;
  /** DynamoDB write units per accepted impression: buckets, day counters and duplicate detection (the same conditional writes). */
  readonly historyWcuPerImpression: number;
  /**
   * DynamoDB read units of the write path per accepted impression: the erasure markers filter-enrich reads
   * (consistently) before and after the history writes, the counters of held daily allowances, items read back.
   */
  readonly historyRcuPerImpression: number;
  /** Stored history bytes per impression (items, their keys and DynamoDB's 100 B per-item overhead). */
  readonly historyBytesPerImpression: number;
  /** filter-enrich: CPU µs per event on one core (whole handler), I/O wait per batch. */
  readonly filterEnrichCpuUsPerEvent: number;
  readonly filterEnrichIoMsPerBatch: number;
  readonly lambdaMemoryMb: number;
  /** Log bytes per stream-function invocation (platform lines and EMF metric lines). */
  readonly logBytesPerInvocation: number;
  /** Read side: page renders carry this many impressions; checks and history calls per page render. */
  readonly impressionsPerPageRender: number;
  readonly checksPerPageRender: number;
  readonly historyCallsPerPageRender: number;
  /** Read request units per call (eventually consistent Query), measured per route. */
  readonly rruPerCheck: number;
  readonly rruPerHistoryCall: number;
  /** Write units per check: the day's rollup a check builds (the first check of a day). */
  readonly wcuPerCheck: number;
  /** History API reads (checks, history calls): billed ms per request and log bytes per request (platform, EMF, access log). */
  readonly apiMsPerRequest: number;
  readonly apiLogBytesPerRequest: number;
  /**
   * Device ingest route, per request of `eventsPerIngestRequest` events (bench/ingest.ts): billed ms on the
   * function's memory, log bytes (the function's own lines, platform lines, access log) and write units of
   * the per-profile ingest limit's window counter.
   */
  readonly ingestMsPerRequest: number;
  readonly ingestLogBytesPerRequest: number;
  readonly ingestWcuPerRequest: number;
  /** Lake: Parquet bytes per impression, and the days of lake data held. */
  readonly parquetBytesPerImpression: number;
  readonly lakeRetentionDays: number;
  /** Glue optimizers: GB of Parquet compacted per DPU-hour; DPU-hours a day per table for snapshot retention and orphan deletion. */
  readonly compactionGbPerDpuHour: number;
  readonly maintenanceDpuHoursPerDay: number;
  readonly lakeTables: number;
  readonly athenaTbPerMonth: number;
}

export interface CostLine {
  readonly component: string;
  readonly monthlyUsd: number;
  readonly perBillionUsd: number;
  readonly basis: string;
  /** Keys of PRICES the line uses. */
  readonly prices: readonly (keyof typeof PRICES)[];
}

export interface CostResult {
  readonly impressionsPerMonth: number;
  readonly lines: readonly CostLine[];
  /** Priced but not in the total: choices an operator may add (a second enriched-stream consumer). */
  readonly options: readonly CostLine[];
  readonly totalMonthlyUsd: number;
  readonly totalPerBillionUsd: number;
  /** The capacities the stage deploys (infra/sizing.ts `sizeStage`, the same call the stacks make). */
  readonly stageSizing: StageSizing;
  readonly sizing: Readonly<Record<string, number>>;
}

export const SECONDS_PER_MONTH = 730 * 3600;
const GB = 1024 ** 3;
const TB = 1024;
const p = (k: keyof typeof PRICES) => PRICES[k].usd;

/** A tiered price: `tiers` of [GB in the tier (Infinity for the last), price key], applied in order. */
function tiered(gb: number, tiers: readonly (readonly [number, keyof typeof PRICES])[]): number {
  let left = gb;
  let usd = 0;
  for (const [size, key] of tiers) {
    const inTier = Math.min(left, size);
    usd += inTier * p(key);
    left -= inTier;
    if (left <= 0) break;
  }
  return usd;
}
const LAMBDA_LOG_TIERS = [
  [10 * TB, 'logsLambdaFirst10TbGb'],
  [20 * TB, 'logsLambdaNext20TbGb'],
  [20 * TB, 'logsLambdaNext20TbAfterGb'],
  [Number.POSITIVE_INFINITY, 'logsLambdaOver50TbGb'],
] as const;
const S3_STORAGE_TIERS = [
  [50 * TB, 's3StorageGbMonth'],
  [450 * TB, 's3StorageGbMonthNext450Tb'],
  [Number.POSITIVE_INFINITY, 's3StorageGbMonthOver500Tb'],
] as const;

/** The lines of a result: each priced per month and per billion impressions of the month. */
interface Sheet {
  readonly lines: CostLine[];
  readonly line: (
    component: string,
    monthlyUsd: number,
    basis: string,
    prices: (keyof typeof PRICES)[],
  ) => CostLine;
  readonly add: (
    component: string,
    monthlyUsd: number,
    basis: string,
    prices: (keyof typeof PRICES)[],
  ) => void;
}

function sheetOf(billions: number): Sheet {
  const lines: CostLine[] = [];
  const line: Sheet['line'] = (component, monthlyUsd, basis, prices) => ({
    component,
    monthlyUsd,
    perBillionUsd: monthlyUsd / billions,
    basis,
    prices,
  });
  return { lines, line, add: (...args) => void lines.push(line(...args)) };
}

/** What every part of the model prices from: the inputs, the stage's sizing and the records they make. */
interface Load {
  readonly i: CostInputs;
  readonly z: StageSizing;
  /** Accepted and rejected records per second. */
  readonly accepted: number;
  readonly rejected: number;
  /** Bytes of an enriched record and of a rejected row. */
  readonly enrichedBytes: number;
  readonly rejectedBytes: number;
}

/** The history API's requests per second: page renders' checks and history calls, devices' ingest requests. */
interface ApiLoad {
  readonly checks: number;
  readonly historyCalls: number;
  readonly ingestRequests: number;
  readonly readRequests: number;
  readonly apiRequests: number;
}

function apiLoad(i: CostInputs): ApiLoad {
  const pageRenders = i.eventsPerSec / i.impressionsPerPageRender;
  const checks = pageRenders * i.checksPerPageRender;
  const historyCalls = pageRenders * i.historyCallsPerPageRender;
  const ingestRequests = (i.eventsPerSec * i.stage.deviceIngestShare) / i.eventsPerIngestRequest;
  const readRequests = checks + historyCalls;
  return { checks, historyCalls, ingestRequests, readRequests, apiRequests: readRequests + ingestRequests };
}

/** One Kinesis stream as the stage sizes it (provisioned: the shards sizeStage derives). */
function priceStream(
  s: Sheet,
  { z }: Load,
  name: string,
  sized: StageSizing['rawStream'],
  userRecordsPerSec: number,
  bytes: number,
  perKinesisRecord: number,
  consumers: number,
): void {
  const recordsPerSec = userRecordsPerSec / perKinesisRecord;
  const recordBytes = bytes * perKinesisRecord;
  const agg = perKinesisRecord > 1 ? `, ${perKinesisRecord.toFixed(1)} per KPL aggregate` : '';
  if (sized.mode === 'provisioned') {
    const putUnits = recordsPerSec * Math.ceil(recordBytes / QUOTAS.putUnitBytes.value) * SECONDS_PER_MONTH;
    s.add(
      `Kinesis ${name} (provisioned)`,
      sized.shards * 730 * p('kinesisShardHour') + (putUnits / 1e6) * p('kinesisPutUnitMillion'),
      `${sized.shards} shards (sized for ${z.peakEventsPerSecond.toLocaleString('en-US')} events/s ×${SIZING.headroom.value}), ${(putUnits / 1e9).toFixed(1)} G PUT units${agg}`,
      ['kinesisShardHour', 'kinesisPutUnitMillion'],
    );
  } else {
    const rounded = Math.ceil(recordBytes / QUOTAS.onDemandRecordRoundingBytes.value) * 1024;
    const inGb = (recordsPerSec * rounded * SECONDS_PER_MONTH) / GB;
    const outGb = (recordsPerSec * recordBytes * SECONDS_PER_MONTH * consumers) / GB;
    s.add(
      `Kinesis ${name} (on-demand)`,
      730 * p('kinesisOnDemandStreamHour') +
        inGb * p('kinesisOnDemandIngestGb') +
        outGb * p('kinesisOnDemandRetrievalGb'),
      `${inGb.toFixed(0)} GB in (records rounded up to 1 KB${agg}), ${outGb.toFixed(0)} GB read by ${consumers} consumer(s)`,
      ['kinesisOnDemandStreamHour', 'kinesisOnDemandIngestGb', 'kinesisOnDemandRetrievalGb'],
    );
  }
}

/** The raw, enriched and rejected streams. */
function priceStreams(s: Sheet, load: Load): void {
  const { i, z } = load;
  priceStream(s, load, 'raw', z.rawStream, i.eventsPerSec, i.eventBytes, i.rawRecordsPerKinesisRecord, 1);
  priceStream(
    s,
    load,
    'enriched',
    z.enrichedStream,
    load.accepted,
    load.enrichedBytes,
    i.stage.aggregateEnriched ? i.enrichedRecordsPerKinesisRecord : 1,
    i.enrichedConsumers,
  );
  priceStream(s, load, 'rejected', z.rejectedStream, load.rejected, load.rejectedBytes, 1, 1);
}

/** filter-enrich's invocations: records per batch and invocations per second. */
interface Invocations {
  readonly batch: number;
  readonly invocations: number;
}

/**
 * filter-enrich: CPU time stretched by the vCPU share of the memory size, plus the I/O wait of each batch, at
 * the batch size the mapping cuts at this load (sizing.ts recordsPerBatch), not the configured maximum.
 */
function priceFilterEnrich(s: Sheet, { i, z }: Load): Invocations {
  const batch = recordsPerBatch(i.stage.consumer, z.rawStream, i.eventsPerSec);
  const cpuStretch = Math.max(1, QUOTAS.lambdaMbPerVcpu.value / i.lambdaMemoryMb);
  const memGb = i.lambdaMemoryMb / 1024;
  const invocations = i.eventsPerSec / batch;
  const feSeconds =
    invocations *
    ((batch * i.filterEnrichCpuUsPerEvent * cpuStretch) / 1e6 + i.filterEnrichIoMsPerBatch / 1000);
  s.add(
    `Lambda filter-enrich (arm64, ${i.lambdaMemoryMb} MB)`,
    feSeconds * memGb * SECONDS_PER_MONTH * p('lambdaArmGbSecond') +
      ((invocations * SECONDS_PER_MONTH) / 1e6) * p('lambdaRequestMillion'),
    `${feSeconds.toFixed(0)} busy s/s, ${invocations.toFixed(0)} invocations/s of ≈ ${batch.toFixed(0)} records (shards × parallelization ${i.stage.consumer.parallelizationFactor}, ${i.stage.consumer.maxBatchingWindowSeconds}-s window): ${i.filterEnrichCpuUsPerEvent.toFixed(1)} µs CPU/event ×${cpuStretch.toFixed(2)} (vCPU share) + ${i.filterEnrichIoMsPerBatch} ms I/O per batch`,
    ['lambdaArmGbSecond', 'lambdaRequestMillion'],
  );
  return { batch, invocations };
}

/** A table's throughput as the stage bills it: on-demand requests, or provisioned units at the scaling target. */
function priceThroughput(s: Sheet, { i }: Load, name: string, wcu: number, rcu: number, basis: string): void {
  const cap = i.stage.tableCapacity;
  if (cap.mode === 'on-demand') {
    s.add(
      `DynamoDB ${name} (on-demand)`,
      ((wcu * SECONDS_PER_MONTH) / 1e6) * p('dynamoWriteRequestMillion') +
        ((rcu * SECONDS_PER_MONTH) / 1e6) * p('dynamoReadRequestMillion'),
      `${(wcu / 1e3).toFixed(1)} k WRU/s, ${(rcu / 1e3).toFixed(1)} k RRU/s; ${basis}`,
      ['dynamoWriteRequestMillion', 'dynamoReadRequestMillion'],
    );
  } else {
    const u = cap.targetUtilizationPercent / 100;
    s.add(
      `DynamoDB ${name} (provisioned, auto scaling)`,
      730 * ((wcu / u) * p('dynamoWcuHour') + (rcu / u) * p('dynamoRcuHour')),
      `${(wcu / u / 1e3).toFixed(1)} k WCU, ${(rcu / u / 1e3).toFixed(1)} k RCU at ${cap.targetUtilizationPercent} % use; ${basis}`,
      ['dynamoWcuHour', 'dynamoRcuHour'],
    );
  }
}

/** The history's writes and reads and the ingest limit's counters; answers the history's write units per second. */
function priceTableRequests(s: Sheet, load: Load, api: ApiLoad): number {
  const { i, accepted } = load;
  const { checks, historyCalls, ingestRequests } = api;
  const historyWcu = accepted * i.historyWcuPerImpression;
  priceThroughput(
    s,
    load,
    'history writes',
    historyWcu,
    accepted * i.historyRcuPerImpression,
    `${i.historyWcuPerImpression.toFixed(3)} WCU per accepted impression (buckets, day counters, duplicate detection), ${i.historyRcuPerImpression.toFixed(3)} RCU (erasure markers before and after, held counters)`,
  );
  priceThroughput(
    s,
    load,
    'history reads (API)',
    checks * i.wcuPerCheck,
    checks * i.rruPerCheck + historyCalls * i.rruPerHistoryCall,
    `${(checks / 1e3).toFixed(1)} k checks/s × (${i.rruPerCheck} RRU + ${i.wcuPerCheck} WCU of rollups) + ${(historyCalls / 1e3).toFixed(1)} k history calls/s × ${i.rruPerHistoryCall} RRU`,
  );
  // The ingest route's per-profile limit: one conditional write of the window counter per request.
  priceThroughput(
    s,
    load,
    'ingest window counters',
    ingestRequests * i.ingestWcuPerRequest,
    0,
    `${(ingestRequests / 1e3).toFixed(1)} k device ingest requests/s × ${i.ingestWcuPerRequest} WCU (the per-profile ingest limit's counter)`,
  );
  return historyWcu;
}

/** The history's stored GB: impressions, and day rollups. */
interface HistoryStorage {
  readonly storedGb: number;
  readonly rollupGb: number;
}

/** The history's storage and its point-in-time recovery. */
function priceHistoryStorage(s: Sheet, { i, accepted }: Load): HistoryStorage {
  const storedGb = (accepted * 86400 * i.stage.historyRetentionDays * i.historyBytesPerImpression) / GB;
  s.add(
    'DynamoDB storage',
    storedGb * p('dynamoStorageGbMonth'),
    `${storedGb.toFixed(0)} GB: ${i.stage.historyRetentionDays} days × ${i.historyBytesPerImpression.toFixed(0)} B per impression`,
    ['dynamoStorageGbMonth'],
  );
  // Day rollups (the frequency routes' items): one per active profile-day, kept for the retention.
  const profileDays = (accepted * 86400) / i.impressionsPerProfileDay;
  const rollupGb = (profileDays * i.stage.historyRetentionDays * i.rollupBytesPerProfileDay) / GB;
  s.add(
    'DynamoDB rollup items',
    rollupGb * p('dynamoStorageGbMonth'),
    `${rollupGb.toFixed(0)} GB: ${(profileDays / 1e6).toFixed(1)} M profile-days a day (${i.impressionsPerProfileDay} impressions each) × ${i.stage.historyRetentionDays} days × ${(i.rollupBytesPerProfileDay / 1024).toFixed(1)} KB`,
    ['dynamoStorageGbMonth'],
  );
  // The title catalog's own point-in-time recovery is on the catalog's size: a few MB, not priced.
  s.add(
    'DynamoDB point-in-time recovery',
    i.stage.historyPointInTimeRecovery ? (storedGb + rollupGb) * p('dynamoPitrGbMonth') : 0,
    i.stage.historyPointInTimeRecovery
      ? `on the history's ${(storedGb + rollupGb).toFixed(0)} GB (historyPointInTimeRecovery on)`
      : 'off for the history (historyPointInTimeRecovery: rebuilt from the lake); on for the catalog, a few MB',
    ['dynamoPitrGbMonth'],
  );
  return { storedGb, rollupGb };
}

/** History API: requests (HTTP API tiers on the month's total) and its function. */
function priceHistoryApi(s: Sheet, { i }: Load, api: ApiLoad): void {
  const { ingestRequests, readRequests, apiRequests } = api;
  const apiMonthly = apiRequests * SECONDS_PER_MONTH;
  s.add(
    'API Gateway HTTP API',
    (Math.min(apiMonthly, 300e6) / 1e6) * p('httpApiMillionFirst300M') +
      (Math.max(0, apiMonthly - 300e6) / 1e6) * p('httpApiMillionAfter'),
    `${(apiRequests / 1e3).toFixed(1)} k requests/s: ${(ingestRequests / 1e3).toFixed(1)} k device ingest (${Math.round(i.stage.deviceIngestShare * 100)} % of events, ${i.eventsPerIngestRequest} per request) + ${i.checksPerPageRender} check and ${i.historyCallsPerPageRender} history call per page render of ${i.impressionsPerPageRender} impressions`,
    ['httpApiMillionFirst300M', 'httpApiMillionAfter'],
  );
  s.add(
    `Lambda history API (arm64, ${API_MEMORY_MB} MB)`,
    SECONDS_PER_MONTH *
      ((readRequests * i.apiMsPerRequest + ingestRequests * i.ingestMsPerRequest) / 1000) *
      (API_MEMORY_MB / 1024) *
      p('lambdaArmGbSecond') +
      ((apiRequests * SECONDS_PER_MONTH) / 1e6) * p('lambdaRequestMillion'),
    `${(readRequests / 1e3).toFixed(1)} k reads/s × ${i.apiMsPerRequest} ms billed + ${(ingestRequests / 1e3).toFixed(1)} k device ingest requests/s × ${i.ingestMsPerRequest} ms billed (${i.eventsPerIngestRequest} events each)`,
    ['lambdaArmGbSecond', 'lambdaRequestMillion'],
  );
}

/** The functions' logs and the API's access log: ingested (Lambda's tiered), then held a month. */
function priceLogs(s: Sheet, { i }: Load, api: ApiLoad, { invocations }: Invocations): void {
  const { ingestRequests, readRequests, apiRequests } = api;
  // Lambda's own logs are vended logs with volume tiers (since May 2025); the API's access log is not.
  const lambdaLogGb =
    (invocations * (i.logBytesPerInvocation + i.qualityEmfBytesPerBatch) +
      readRequests * (i.apiLogBytesPerRequest - API_ACCESS_LOG_BYTES) +
      ingestRequests * (i.ingestLogBytesPerRequest - API_ACCESS_LOG_BYTES)) *
    (SECONDS_PER_MONTH / GB);
  const accessLogGb = apiRequests * API_ACCESS_LOG_BYTES * (SECONDS_PER_MONTH / GB);
  s.add(
    'CloudWatch Logs ingestion',
    tiered(lambdaLogGb, LAMBDA_LOG_TIERS) + accessLogGb * p('logsIngestGb'),
    `${lambdaLogGb.toFixed(0)} GB of Lambda logs (tiered: $0.50 → $0.25 → $0.10 → $0.05 per GB past 10, 30, 50 TB) + ${accessLogGb.toFixed(0)} GB of API access logs at $0.50: ${i.logBytesPerInvocation} B per stream-function invocation${i.qualityEmfBytesPerBatch ? ` + ${i.qualityEmfBytesPerBatch} B of quality metrics` : ''}, ${i.apiLogBytesPerRequest} B per API read, ${Math.round(i.ingestLogBytesPerRequest)} B per ingest request`,
    [
      'logsLambdaFirst10TbGb',
      'logsLambdaNext20TbGb',
      'logsLambdaNext20TbAfterGb',
      'logsLambdaOver50TbGb',
      'logsIngestGb',
    ],
  );
  const logStoredGb = lambdaLogGb + accessLogGb;
  s.add(
    'CloudWatch Logs storage',
    logStoredGb * p('logsStorageGbMonth'),
    `one month held (the log groups' retention) of ${logStoredGb.toFixed(0)} GB, priced uncompressed (errs high)`,
    ['logsStorageGbMonth'],
  );
}

/** Custom metrics, alarms and traces. */
function priceMetricsAndTraces(s: Sheet, { i }: Load, api: ApiLoad, { invocations }: Invocations): void {
  // Custom metrics: every series (name and dimension values) billed a month; far below the first 10,000.
  const series = i.customMetrics + i.qualityMetricSeries;
  s.add(
    'CloudWatch custom metrics and alarms',
    series * p('metricMonth') + i.alarmMetrics * p('alarmMetricMonth'),
    `${series} series × $0.30 (${i.customMetrics} outcome counts + ${i.qualityMetricSeries} data-quality series) + ${i.alarmMetrics} alarm metrics × $0.10`,
    ['metricMonth', 'alarmMetricMonth'],
  );
  const sampled = (perSec: number) =>
    perSec > 1 ? 1 + QUOTAS.xrayDefaultSampling.value * (perSec - 1) : perSec;
  const traces =
    i.stage.tracing === 'active' ? (sampled(invocations) + sampled(api.apiRequests)) * SECONDS_PER_MONTH : 0;
  s.add(
    `X-Ray traces (${i.stage.tracing} tracing)`,
    (traces / 1e6) * p('xrayTraceMillion'),
    i.stage.tracing === 'active'
      ? `${(traces / 1e6).toFixed(0)} M traces: default sampling (1/s + 5 %) per function`
      : 'tracing pass-through: Kinesis and HTTP API callers send no sampled trace header, no traces recorded',
    ['xrayTraceMillion'],
  );
}

/**
 * Firehose into Iceberg: per GB ingested, no per-record rounding for this destination. AWS publishes volume
 * tiers for other sources and destinations, none for Iceberg: the first-tier price for every GB.
 */
function priceLakeDelivery(s: Sheet, { i, accepted, rejected, enrichedBytes, rejectedBytes }: Load): void {
  const fhGb = (accepted * enrichedBytes * SECONDS_PER_MONTH) / GB;
  s.add(
    'Firehose → Iceberg tables',
    fhGb * p('firehoseIcebergGb'),
    `${fhGb.toFixed(0)} GB of enriched JSON (${enrichedBytes} B each), no 5 KB rounding for Iceberg; no higher volume tier published for Iceberg`,
    ['firehoseIcebergGb'],
  );
  const fhRejectedGb = (rejected * rejectedBytes * SECONDS_PER_MONTH) / GB;
  s.add(
    'Firehose → rejected table',
    fhRejectedGb * p('firehoseIcebergGb'),
    `${fhRejectedGb.toFixed(0)} GB: ${(i.rejectedShare * 100).toFixed(1)} % of records rejected, ${rejectedBytes} B each`,
    ['firehoseIcebergGb'],
  );
}

/** The lake's data: GB written a month and a day, held, and the days replaced files linger. */
interface LakeVolume {
  readonly gbPerMonth: number;
  readonly gbPerDay: number;
  readonly storedGb: number;
  readonly lingerDays: number;
}

/**
 * Compaction rewrites each file once; the file it replaces stays referenced until its snapshot expires, is
 * deleted as an orphan after that, and lives on as a noncurrent version of the versioned bucket until the
 * lifecycle rule expires it (the stage's lakeRetention).
 */
function lakeVolume({ i, accepted }: Load): LakeVolume {
  const gbPerMonth = (accepted * SECONDS_PER_MONTH * i.parquetBytesPerImpression) / GB;
  const r = i.stage.lakeRetention;
  const lingerDays = r.snapshotDays + r.orphanFileDays + r.noncurrentVersionDays;
  const gbPerDay = gbPerMonth / (730 / 24);
  return { gbPerMonth, gbPerDay, storedGb: gbPerDay * (i.lakeRetentionDays + lingerDays), lingerDays };
}

/**
 * The lake in S3 Intelligent-Tiering after `intelligentTieringDays`: a data file not read for 30 days moves to
 * Infrequent Access, after 90 to Archive Instant Access. Assumed: data older than that + 30 days is not read
 * (queries prune by day; the quality report reads yesterday); files replaced by compaction are deleted
 * before they move.
 */
function priceTieredLakeStorage(s: Sheet, { i }: Load, v: LakeVolume): void {
  const tierDays = i.stage.lakeRetention.intelligentTieringDays;
  const { gbPerDay: lakeGbPerDay, lingerDays } = v;
  const days = i.lakeRetentionDays;
  const frequentDays = Math.min(days, tierDays + 30);
  const infrequentDays = Math.max(0, Math.min(days, tierDays + 90) - frequentDays);
  const archiveDays = Math.max(0, days - frequentDays - infrequentDays);
  const tieredGb = lakeGbPerDay * (days - Math.min(days, tierDays));
  const objects = (tieredGb * 1024) / i.compactedFileMiB;
  const transitions = (v.gbPerMonth * 1024) / i.compactedFileMiB;
  s.add(
    'S3 lake storage (Intelligent-Tiering)',
    tiered(lakeGbPerDay * (frequentDays + lingerDays), S3_STORAGE_TIERS) +
      lakeGbPerDay * infrequentDays * p('s3IntelligentTieringInfrequentGbMonth') +
      lakeGbPerDay * archiveDays * p('s3IntelligentTieringArchiveInstantGbMonth') +
      (objects / 1e3) * p('s3IntelligentTieringMonitoringThousandObjects') +
      (transitions / 1e3) * p('s3TransitionThousand'),
    `${(v.storedGb / 1024).toFixed(0)} TB held: ${frequentDays} days + ${lingerDays} of replaced files at Standard rates, ${infrequentDays} days Infrequent Access ($0.0125), ${archiveDays} days Archive Instant Access ($0.004), data files to Intelligent-Tiering after ${tierDays} days (lakeRetention.intelligentTieringDays), not read after ${tierDays + 30}`,
    [
      's3StorageGbMonth',
      's3StorageGbMonthNext450Tb',
      's3StorageGbMonthOver500Tb',
      's3IntelligentTieringInfrequentGbMonth',
      's3IntelligentTieringArchiveInstantGbMonth',
      's3IntelligentTieringMonitoringThousandObjects',
      's3TransitionThousand',
    ],
  );
}

/** The lake's storage: all in S3 Standard, or moved to Intelligent-Tiering when the stage says so. */
function priceLakeStorage(s: Sheet, load: Load, v: LakeVolume): void {
  const { i } = load;
  if (i.stage.lakeRetention.intelligentTieringDays > 0) {
    priceTieredLakeStorage(s, load, v);
    return;
  }
  s.add(
    'S3 lake storage',
    tiered(v.storedGb, S3_STORAGE_TIERS),
    `${(v.storedGb / 1024).toFixed(0)} TB held (tiered: $0.023, $0.022 past 50 TB, $0.021 past 500 TB): ${i.lakeRetentionDays} days × ${i.parquetBytesPerImpression.toFixed(0)} B/impression, + ${v.lingerDays} days of files replaced by compaction (lakeRetention), all in S3 Standard`,
    ['s3StorageGbMonth', 's3StorageGbMonthNext450Tb', 's3StorageGbMonthOver500Tb'],
  );
}

/**
 * The lake's upkeep. S3 requests: each Firehose flush writes a data file and commits (manifest, manifest list,
 * metadata); compaction reads every flushed file once and writes files of the target size. Then the Glue
 * optimizers that compact and expire.
 */
function priceLakeUpkeep(s: Sheet, { i, z }: Load, v: LakeVolume): void {
  const flushesPerMonth =
    (z.lakeBuffering.impressionsFlushesPerSecond * (i.eventsPerSec / z.peakEventsPerSecond) +
      z.lakeBuffering.rejectedFlushesPerSecond * (i.eventsPerSec / z.peakEventsPerSecond)) *
    SECONDS_PER_MONTH;
  const compactedFiles = (v.gbPerMonth * 1024) / i.compactedFileMiB;
  const puts = flushesPerMonth * i.s3PutsPerFlush + compactedFiles * i.s3PutsPerFlush;
  const gets = flushesPerMonth * (1 + i.s3PutsPerFlush);
  s.add(
    'S3 requests',
    (puts / 1e3) * p('s3PutThousand') + (gets / 1e3) * p('s3GetThousand'),
    `${(flushesPerMonth / 1e6).toFixed(2)} M Firehose flushes a month (${z.lakeBuffering.seconds} s / ${z.lakeBuffering.mib} MiB buffers) × ${i.s3PutsPerFlush} PUTs, compaction into ${i.compactedFileMiB} MiB files; ${(gets / 1e6).toFixed(1)} M GETs`,
    ['s3PutThousand', 's3GetThousand'],
  );
  const compactionDpuHours =
    v.gbPerMonth / i.compactionGbPerDpuHour + i.maintenanceDpuHoursPerDay * i.lakeTables * (730 / 24);
  s.add(
    'Glue table optimizers',
    compactionDpuHours * p('glueDpuHour'),
    `${compactionDpuHours.toFixed(0)} DPU-hours: compaction at ${i.compactionGbPerDpuHour} GB/DPU-hour + ${i.maintenanceDpuHoursPerDay} DPU-hour/day/table for snapshot retention and orphan deletion`,
    ['glueDpuHour'],
  );
}

/**
 * KMS: Kinesis server-side encryption asks KMS for a data key about every 5 minutes per shard and for each
 * consumer; DynamoDB and S3 (bucket keys) cache theirs: the shards dominate.
 */
function priceKms(s: Sheet, { i, z }: Load): void {
  const kmsRequests =
    (z.rawStream.shards * 2 +
      z.enrichedStream.shards * (1 + i.enrichedConsumers) +
      z.rejectedStream.shards * 2) *
    12 *
    730;
  s.add(
    'KMS requests',
    (kmsRequests / 1e4) * p('kmsRequest10k'),
    `≈ ${(kmsRequests / 1e6).toFixed(1)} M: stream data keys every 5 min per shard and reader; clients sign with IAM credentials (no KMS)`,
    ['kmsRequest10k'],
  );
}

/**
 * Athena: the operators' queries, and the daily quality report (infra/quality-report.ts): UNLOAD statements
 * over one day of each table. The impressions statement reads every column (filled counts), so it scans the
 * day's Parquet; the two over the rejected table scan its day at most. Athena bills at least 10 MB a
 * statement; EventBridge Scheduler's invocations are inside its free 14 M a month; the result objects' PUTs
 * are a few a day.
 */
function priceAthena(s: Sheet, { i, accepted, rejected }: Load): void {
  s.add('Athena', i.athenaTbPerMonth * p('athenaTbScanned'), `${i.athenaTbPerMonth} TB scanned a month`, [
    'athenaTbScanned',
  ]);
  const reportDayGb =
    (accepted * 86400 * i.parquetBytesPerImpression + 2 * rejected * 86400 * i.rejectedParquetBytesPerRow) /
    GB;
  const reportTb = (Math.max(reportDayGb, (i.qualityReportStatementsPerDay * 10) / 1024) * (730 / 24)) / TB;
  const schedulerInvocations = i.qualityReportStatementsPerDay * (730 / 24);
  s.add(
    'Athena quality report (daily)',
    reportTb * p('athenaTbScanned') +
      (Math.max(0, schedulerInvocations - 14e6) / 1e6) * p('schedulerInvocationMillion'),
    `${i.qualityReportStatementsPerDay} UNLOAD statements a day scanning one day of each table: ${reportDayGb.toFixed(0)} GB a day (${(reportTb).toFixed(1)} TB a month); ${Math.round(schedulerInvocations)} Scheduler invocations a month (free under 14 M), S3 PUTs negligible`,
    ['athenaTbScanned', 'schedulerInvocationMillion'],
  );
}

/** Option: a second reader of the enriched stream with enhanced fan-out (docs/scaling.md recommends it). */
function enhancedFanOutOption(s: Sheet, { z, accepted, enrichedBytes }: Load): CostLine {
  const enrichedShards = z.enrichedStream.shards;
  const efoGb = (accepted * enrichedBytes * SECONDS_PER_MONTH) / GB;
  return s.line(
    'option: second enriched-stream consumer (enhanced fan-out)',
    enrichedShards * 730 * p('kinesisEfoConsumerShardHour') + efoGb * p('kinesisEfoGb'),
    `${enrichedShards} consumer-shards × 730 h + ${efoGb.toFixed(0)} GB retrieved (plus the consumer's own compute)`,
    ['kinesisEfoConsumerShardHour', 'kinesisEfoGb'],
  );
}

/** The capacities the stage deploys and the load they carry, as the result's `sizing` lists them. */
function sizingOf(
  { i, z }: Load,
  fe: Invocations,
  api: ApiLoad,
  historyWcu: number,
  history: HistoryStorage,
): CostResult['sizing'] {
  const wcuTotal = historyWcu / (i.stage.tableCapacity.targetUtilizationPercent / 100);
  return {
    peakEventsPerSecond: z.peakEventsPerSecond,
    rawShards: z.rawStream.shards,
    enrichedShards: z.enrichedStream.shards,
    rejectedShards: z.rejectedStream.shards,
    historyMaxWriteCapacity: z.historyTable.maxWriteCapacity,
    historyMaxReadCapacity: z.historyTable.maxReadCapacity,
    catalogMaxWriteCapacity: z.catalogTable.maxWriteCapacity,
    catalogMaxReadCapacity: z.catalogTable.maxReadCapacity,
    apiRateLimit: z.api.rateLimit,
    apiBurstLimit: z.api.burstLimit,
    filterEnrichConcurrency: z.concurrency.filterEnrich,
    historyApiConcurrency: z.concurrency.historyApi,
    recordsPerInvocation: Math.round(fe.batch),
    historyApiRequestsPerSec: Math.round(api.apiRequests),
    dynamoWcuProvisioned: Math.ceil(wcuTotal),
    dynamoPartitionsForWrites: Math.ceil(wcuTotal / QUOTAS.dynamoPartitionWcu.value),
    dynamoPartitionsForSize: Math.ceil((history.storedGb + history.rollupGb) / 10),
  };
}

/** Every component priced for `i`, in the order docs/cost.md lists them, with the stage's sizing. */
export function costModel(i: CostInputs): CostResult {
  const perMonth = i.eventsPerSec * SECONDS_PER_MONTH;
  const billions = perMonth / 1e9;
  const s = sheetOf(billions);
  const load: Load = {
    i,
    z: sizeStage(i.stage),
    accepted: i.eventsPerSec * i.acceptedShare,
    rejected: i.eventsPerSec * i.rejectedShare,
    enrichedBytes: i.eventBytes + i.enrichmentBytes,
    rejectedBytes: i.eventBytes + SIZING.rejectedOverheadBytes.value,
  };
  priceStreams(s, load);
  const fe = priceFilterEnrich(s, load);
  const api = apiLoad(i);
  const historyWcu = priceTableRequests(s, load, api);
  const history = priceHistoryStorage(s, load);
  priceHistoryApi(s, load, api);
  priceLogs(s, load, api, fe);
  priceMetricsAndTraces(s, load, api, fe);
  priceLakeDelivery(s, load);
  const lake = lakeVolume(load);
  priceLakeStorage(s, load, lake);
  priceLakeUpkeep(s, load, lake);
  priceKms(s, load);
  priceAthena(s, load);
  const options = [enhancedFanOutOption(s, load)];
  const total = s.lines.reduce((n, l) => n + l.monthlyUsd, 0);
  return {
    impressionsPerMonth: perMonth,
    lines: s.lines,
    options,
    totalMonthlyUsd: total,
    totalPerBillionUsd: total / billions,
    stageSizing: load.z,
    sizing: sizingOf(load, fe, api, historyWcu, history),
  };
}

/** The history API function's memory (infra/constructs/history-api.ts). */
const API_MEMORY_MB = 1024;

/** Of the API's log bytes per request, the access log's (API Gateway: Standard-class logs, not vended). */
const API_ACCESS_LOG_BYTES = 400;

/** The load the design is sized for: 1.5 M impressions per second. */
export const DESIGN_PEAK_EVENTS_PER_SECOND = 1_500_000;

/**
 * The inputs of the default production stage sized for the design's load (`-c peakEventsPerSecond=1500000`),
 * with the figures measured before the bench's own (each replaced by bench/results/latest.json when present,
 * see ops/cost.ts): a documented starting point.
 */
export const DEFAULT_INPUTS: CostInputs = {
  stage: { ...DEFAULT_STAGE, peakEventsPerSecond: DESIGN_PEAK_EVENTS_PER_SECOND },
  eventsPerSec: DESIGN_PEAK_EVENTS_PER_SECOND,
  eventBytes: DEFAULT_STAGE.eventBytes,
  acceptedShare: 0.85,
  enrichmentBytes: 218,
  rawRecordsPerKinesisRecord: 1,
  enrichedRecordsPerKinesisRecord: 9,
  enrichedConsumers: 1,
  rejectedShare: 0.01,
  impressionsPerProfileDay: 300,
  rollupBytesPerProfileDay: 3 * 1024,
  s3PutsPerFlush: 4,
  compactedFileMiB: 512,
  customMetrics: 40,
  // 11 null shares, 4 shares and lags, 5 device types, 2 schema versions; 20 reason/field pairs seen all month.
  qualityMetricSeries: 22 + 20,
  qualityEmfBytesPerBatch: QUALITY_EMF_BYTES_PER_BATCH.value,
  // The pipeline stack's 41 alarms (held equal to the template in test/infra/sizing.test.ts): 27 plain
  // (1 metric each) and 14 anomaly-detection alarms (3 each: the metric and its band).
  alarmMetrics: 27 + 14 * 3,
  qualityReportStatementsPerDay: 3,
  rejectedParquetBytesPerRow: 400,
  eventsPerIngestRequest: SIZING.eventsPerIngestRequest.value,
  historyWcuPerImpression: SIZING.historyWcuPerImpression.value,
  historyRcuPerImpression: SIZING.historyRcuPerImpression.value,
  historyBytesPerImpression: 102,
  filterEnrichCpuUsPerEvent: 60,
  filterEnrichIoMsPerBatch: 60,
  lambdaMemoryMb: 1024,
  logBytesPerInvocation: 450 + 400,
  impressionsPerPageRender: SIZING.impressionsPerPageRender.value,
  checksPerPageRender: 1,
  historyCallsPerPageRender: SIZING.historyCallsPerPageRender.value,
  rruPerCheck: 25.5,
  rruPerHistoryCall: 2,
  wcuPerCheck: 0,
  apiMsPerRequest: SIZING.apiMsPerRequest.value,
  apiLogBytesPerRequest: 1300,
  ingestMsPerRequest: SIZING.apiMsPerRequest.value,
  ingestLogBytesPerRequest: 1300,
  ingestWcuPerRequest: 1,
  parquetBytesPerImpression: 94,
  lakeRetentionDays: 365,
  compactionGbPerDpuHour: 50,
  maintenanceDpuHoursPerDay: 1,
  lakeTables: 2,
  athenaTbPerMonth: 50,
};

/** A way below the total: a stage setting, an operator or client choice; its effect on the total, $ per billion. */
export interface Lever {
  readonly lever: string;
  /** The setting or option that applies it (`npm run cost -- …` or the stage setting). */
  readonly how: string;
  /** Change of the total, $ per billion (negative: cheaper); undefined when documented, not priced. */
  readonly perBillionUsd?: number;
  /** What it trades, or why it is not priced. */
  readonly trade: string;
}

/** Figures a lever needs that only a benchmark measures (absent: the lever is listed, not priced). */
export interface LeverMeasurements {
  /** Write units per impression at 15-s client flushes (history.byFlushInterval). */
  readonly wcuPerImpressionAt15sFlush?: number;
  /** Read units of the write path per impression at 15-s client flushes (history.byFlushInterval). */
  readonly rcuPerImpressionAt15sFlush?: number;
  /** User records per KPL aggregate on the raw stream (streams.raw.userRecordsPerAggregate). */
  readonly rawRecordsPerAggregate?: number;
  /** Average bucket item bytes of the history (history.byFlushInterval avgItemBytes). */
  readonly historyAvgItemBytes?: number;
}

/** A lever's change of the total, $ per billion, for the inputs with that one change. */
type Delta = (changed: CostInputs) => number;

/** What clients and producers can change: how they flush, how they pack records. */
function clientLevers(i: CostInputs, m: LeverMeasurements, delta: Delta): Lever[] {
  const out: Lever[] = [];
  if (i.stage.deviceIngestShare > 0 && i.eventsPerIngestRequest < 50)
    out.push({
      lever: 'client flush guidance: 50 events per ingest request',
      how: '--events-per-request 50 (the contract allows 500 per request)',
      perBillionUsd: delta({ ...i, eventsPerIngestRequest: 50 }),
      trade: `clients buffer longer before a flush (at ${i.eventsPerIngestRequest} today); the ingest route's HTTP API, function, logs and traces are per request`,
    });
  if (m.wcuPerImpressionAt15sFlush !== undefined && m.wcuPerImpressionAt15sFlush < i.historyWcuPerImpression)
    out.push({
      lever: 'client flush interval 15 s',
      how: '--flush-seconds 15',
      perBillionUsd: delta({
        ...i,
        historyWcuPerImpression: m.wcuPerImpressionAt15sFlush,
        ...(m.rcuPerImpressionAt15sFlush !== undefined
          ? { historyRcuPerImpression: m.rcuPerImpressionAt15sFlush }
          : {}),
      }),
      trade: `${m.wcuPerImpressionAt15sFlush.toFixed(3)} WCU${m.rcuPerImpressionAt15sFlush !== undefined ? ` and ${m.rcuPerImpressionAt15sFlush.toFixed(3)} RCU` : ''} per impression (measured); the history is up to 15 s later`,
    });
  if (m.rawRecordsPerAggregate !== undefined && i.rawRecordsPerKinesisRecord === 1)
    out.push({
      lever: 'producer-side KPL aggregation of the raw stream',
      how: '--aggregate',
      perBillionUsd: delta({ ...i, rawRecordsPerKinesisRecord: m.rawRecordsPerAggregate }),
      trade: `${m.rawRecordsPerAggregate.toFixed(1)} user records per Kinesis record (measured): PUT units fall; producers aggregate and retry whole aggregates (the model applies it to every raw record, devices' too: it errs low while devices send through the ingest route)`,
    });
  return out;
}

/** What a stage setting changes: tracing, the tables' scaling target, the lake's storage class. */
function stageLevers(i: CostInputs, delta: Delta): Lever[] {
  const out: Lever[] = [];
  if (i.stage.tracing === 'active')
    out.push({
      lever: 'trace sampling off',
      how: "stage setting tracing: 'pass-through'",
      perBillionUsd: delta({ ...i, stage: { ...i.stage, tracing: 'pass-through' } }),
      trade: 'no X-Ray service map or traces of the functions; logs and metrics remain',
    });
  const cap = i.stage.tableCapacity;
  if (cap.mode === 'provisioned' && cap.targetUtilizationPercent < 85)
    out.push({
      lever: 'auto scaling target utilization 85 %',
      how: 'stage setting tableCapacity.targetUtilizationPercent: 85',
      perBillionUsd: delta({
        ...i,
        stage: { ...i.stage, tableCapacity: { ...cap, targetUtilizationPercent: 85 } },
      }),
      trade: `15 % headroom for bursts instead of ${100 - cap.targetUtilizationPercent} %: more throttled writes (retried by the mapping) while auto scaling catches up`,
    });
  if (i.stage.lakeRetention.intelligentTieringDays === 0)
    out.push({
      lever: 'lake data files in S3 Intelligent-Tiering after 14 days',
      how: 'stage setting lakeRetention.intelligentTieringDays: 14',
      perBillionUsd: delta({
        ...i,
        stage: { ...i.stage, lakeRetention: { ...i.stage.lakeRetention, intelligentTieringDays: 14 } },
      }),
      trade: `data older than 44 days costs $0.0125, after 104 days $0.004 a GB-month (no retrieval fee; a read moves a file back to the frequent tier); ${i.lakeRetentionDays} days held`,
    });
  return out;
}

/** Reserved capacity, priced by the published discount on the history's provisioned lines. */
function reservedCapacityLevers(i: CostInputs, base: CostResult): Lever[] {
  if (i.stage.tableCapacity.mode !== 'provisioned') return [];
  const dynamo = base.lines
    .filter((l) => /^DynamoDB history (writes|reads)/.test(l.component))
    .reduce((n, l) => n + l.perBillionUsd, 0);
  return (
    [
      ['oneYear', '1 year'],
      ['threeYears', '3 years'],
    ] as const
  ).map(([term, label]) => ({
    lever: `DynamoDB reserved capacity, ${label}`,
    how: 'operator: buy reserved WCU/RCU for the baseline (documented, not a setting)',
    perBillionUsd: -dynamo * reservedDiscount('wcu100', term),
    trade: `${Math.round(reservedDiscount('wcu100', term) * 100)} % off provisioned capacity (${DYNAMO_RESERVED.source}), paid upfront; priced on all of it, where a daily curve reserves only its trough`,
  }));
}

/** A design change not built: listed with the lines it would shrink, not priced. */
function encodingLever(i: CostInputs, m: LeverMeasurements, base: CostResult): Lever {
  const storage = base.lines.find((l) => l.component === 'DynamoDB storage')?.perBillionUsd ?? 0;
  const writes =
    base.lines.find((l) => l.component.startsWith('DynamoDB history writes'))?.perBillionUsd ?? 0;
  return {
    lever: 'a more compact history item encoding still: a row shared by its impressions in a bucket',
    how: 'not built (the history store: impressions are packed, one Binary each; their page, row id and index and device type are still written per impression); measure with bench/history-wcu.ts',
    trade: `today ${i.historyBytesPerImpression.toFixed(0)} B stored per impression${m.historyAvgItemBytes ? `, ${m.historyAvgItemBytes} B per bucket item (write units are per 1 KB)` : ''}: storage $${storage.toFixed(2)} and writes $${writes.toFixed(2)} per billion scale with them`,
  };
}

/**
 * The levers that remain for `i` (those not already applied), each priced by running the model again with the
 * one change, or (reserved capacity) by the published discount on the lines it applies to.
 */
export function levers(i: CostInputs, m: LeverMeasurements = {}): Lever[] {
  const base = costModel(i);
  const delta: Delta = (changed) => costModel(changed).totalPerBillionUsd - base.totalPerBillionUsd;
  return [
    ...clientLevers(i, m, delta),
    ...stageLevers(i, delta),
    ...reservedCapacityLevers(i, base),
    encodingLever(i, m, base),
  ];
}

/** The default production stage as deployed (5,000 events/s), priced at its peak held all month. */
export const DEFAULT_STAGE_INPUTS: CostInputs = {
  ...DEFAULT_INPUTS,
  stage: DEFAULT_STAGE,
  eventsPerSec: DEFAULT_STAGE.peakEventsPerSecond,
};
