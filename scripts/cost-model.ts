/**
 * Cost and sizing model of a deployment as the stage deploys it: per component, monthly and per billion
 * impressions, from the per-event figures the benchmarks measure, the stage settings (infra/config.ts, read,
 * never copied) and the dated price table below. Pure: numbers in, numbers out. docs/cost.md explains every line.
 */
import { DEFAULT_STAGE, type StageConfig } from '../infra/config.js';

/**
 * List prices, us-east-1, as recorded on PRICES_DATE from the AWS pages named in `source` (this environment
 * cannot reach the web: re-check them before you rely on a figure). `unit` says what one `usd` buys.
 */
export const PRICES_DATE = '2026-11-26';
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
    unit: 'GB ingested into CloudWatch Logs (Standard class; Lambda logs get volume tiers above 10 TB a month, not applied here)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  xrayTraceMillion: {
    usd: 5,
    unit: 'million traces recorded',
    source: 'https://aws.amazon.com/xray/pricing/',
  },
  kmsRequest10k: { usd: 0.03, unit: '10,000 KMS requests', source: 'https://aws.amazon.com/kms/pricing/' },
} as const;

export const QUOTAS = {
  shardMiBPerSec: { value: 1, source: 'Kinesis: 1 MiB/s or 1,000 records/s written per shard' },
  shardRecordsPerSec: { value: 1000, source: 'same' },
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

/** The stage settings the model prices (infra/config.ts). */
export type PricedStage = Pick<
  StageConfig,
  | 'rawStream'
  | 'enrichedStream'
  | 'tableCapacity'
  | 'historyRetentionDays'
  | 'historyPointInTimeRecovery'
  | 'aggregateEnriched'
  | 'consumer'
  | 'lakeRetention'
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
  /** Provisioned Kinesis shards above the average load. */
  readonly kinesisHeadroom: number;
  /** DynamoDB write units per accepted impression: buckets, day counters and duplicate detection (the same conditional writes). */
  readonly historyWcuPerImpression: number;
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
  /** History API: billed ms per request and log bytes per request (platform, EMF, access log). */
  readonly apiMsPerRequest: number;
  readonly apiLogBytesPerRequest: number;
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
  readonly totalMonthlyUsd: number;
  readonly totalPerBillionUsd: number;
  readonly sizing: Readonly<Record<string, number>>;
}

export const SECONDS_PER_MONTH = 730 * 3600;
const GB = 1024 ** 3;
const p = (k: keyof typeof PRICES) => PRICES[k].usd;

export function costModel(i: CostInputs): CostResult {
  const perMonth = i.eventsPerSec * SECONDS_PER_MONTH;
  const billions = perMonth / 1e9;
  const lines: CostLine[] = [];
  const add = (component: string, monthlyUsd: number, basis: string, prices: (keyof typeof PRICES)[]) =>
    lines.push({ component, monthlyUsd, perBillionUsd: monthlyUsd / billions, basis, prices });
  const accepted = i.eventsPerSec * i.acceptedShare;
  const enrichedBytes = i.eventBytes + i.enrichmentBytes;

  // Kinesis: raw and enriched as the stage configures them (the rejected stream: one shard, not counted).
  const stream = (
    name: string,
    mode: 'provisioned' | 'on-demand',
    userRecordsPerSec: number,
    bytes: number,
    perKinesisRecord: number,
    consumers: number,
  ) => {
    const recordsPerSec = userRecordsPerSec / perKinesisRecord;
    const recordBytes = bytes * perKinesisRecord;
    const mibPerSec = (userRecordsPerSec * bytes) / 1024 ** 2;
    const shards = Math.max(
      1,
      Math.ceil(
        i.kinesisHeadroom *
          Math.max(mibPerSec / QUOTAS.shardMiBPerSec.value, recordsPerSec / QUOTAS.shardRecordsPerSec.value),
      ),
    );
    const agg = perKinesisRecord > 1 ? `, ${perKinesisRecord.toFixed(1)} per KPL aggregate` : '';
    if (mode === 'provisioned') {
      const putUnits = recordsPerSec * Math.ceil(recordBytes / QUOTAS.putUnitBytes.value) * SECONDS_PER_MONTH;
      add(
        `Kinesis ${name} (provisioned)`,
        shards * 730 * p('kinesisShardHour') + (putUnits / 1e6) * p('kinesisPutUnitMillion'),
        `${shards} shards (×${i.kinesisHeadroom} headroom), ${(putUnits / 1e9).toFixed(0)} G PUT units${agg}`,
        ['kinesisShardHour', 'kinesisPutUnitMillion'],
      );
    } else {
      const rounded = Math.ceil(recordBytes / QUOTAS.onDemandRecordRoundingBytes.value) * 1024;
      const inGb = (recordsPerSec * rounded * SECONDS_PER_MONTH) / GB;
      const outGb = (recordsPerSec * recordBytes * SECONDS_PER_MONTH * consumers) / GB;
      add(
        `Kinesis ${name} (on-demand)`,
        730 * p('kinesisOnDemandStreamHour') +
          inGb * p('kinesisOnDemandIngestGb') +
          outGb * p('kinesisOnDemandRetrievalGb'),
        `${inGb.toFixed(0)} GB in (records rounded up to 1 KB${agg}), ${outGb.toFixed(0)} GB read by ${consumers} consumer(s)`,
        ['kinesisOnDemandStreamHour', 'kinesisOnDemandIngestGb', 'kinesisOnDemandRetrievalGb'],
      );
    }
    return shards;
  };
  const rawShards = stream(
    'raw',
    i.stage.rawStream.mode,
    i.eventsPerSec,
    i.eventBytes,
    i.rawRecordsPerKinesisRecord,
    1,
  );
  const enrichedShards = stream(
    'enriched',
    i.stage.enrichedStream.mode,
    accepted,
    enrichedBytes,
    i.stage.aggregateEnriched ? i.enrichedRecordsPerKinesisRecord : 1,
    i.enrichedConsumers,
  );

  // Lambda: CPU time stretched by the vCPU share of the memory size, plus the I/O wait of each batch.
  const batch = i.stage.consumer.batchSize;
  const cpuStretch = Math.max(1, QUOTAS.lambdaMbPerVcpu.value / i.lambdaMemoryMb);
  const memGb = i.lambdaMemoryMb / 1024;
  const streamFunction = (name: string, eventsPerSec: number, cpuUs: number, ioMs: number) => {
    const invocations = eventsPerSec / batch;
    const seconds = invocations * ((batch * cpuUs * cpuStretch) / 1e6 + ioMs / 1000);
    add(
      `Lambda ${name} (arm64, ${i.lambdaMemoryMb} MB)`,
      seconds * memGb * SECONDS_PER_MONTH * p('lambdaArmGbSecond') +
        ((invocations * SECONDS_PER_MONTH) / 1e6) * p('lambdaRequestMillion'),
      `${seconds.toFixed(0)} busy s/s: ${cpuUs.toFixed(1)} µs CPU/event ×${cpuStretch.toFixed(2)} (vCPU share) + ${ioMs} ms I/O per ${batch}-record batch`,
      ['lambdaArmGbSecond', 'lambdaRequestMillion'],
    );
    return { seconds, invocations };
  };
  const fe = streamFunction(
    'filter-enrich',
    i.eventsPerSec,
    i.filterEnrichCpuUsPerEvent,
    i.filterEnrichIoMsPerBatch,
  );

  // Read side: history API calls per page render.
  const pageRenders = i.eventsPerSec / i.impressionsPerPageRender;
  const checks = pageRenders * i.checksPerPageRender;
  const historyCalls = pageRenders * i.historyCallsPerPageRender;
  const apiRequests = checks + historyCalls;

  // DynamoDB as the stage bills it.
  const cap = i.stage.tableCapacity;
  const dynamo = (name: string, wcu: number, rcu: number, basis: string) => {
    if (cap.mode === 'on-demand') {
      add(
        `DynamoDB ${name} (on-demand)`,
        ((wcu * SECONDS_PER_MONTH) / 1e6) * p('dynamoWriteRequestMillion') +
          ((rcu * SECONDS_PER_MONTH) / 1e6) * p('dynamoReadRequestMillion'),
        `${(wcu / 1e3).toFixed(1)} k WRU/s, ${(rcu / 1e3).toFixed(1)} k RRU/s; ${basis}`,
        ['dynamoWriteRequestMillion', 'dynamoReadRequestMillion'],
      );
    } else {
      const u = cap.targetUtilizationPercent / 100;
      add(
        `DynamoDB ${name} (provisioned, auto scaling)`,
        730 * ((wcu / u) * p('dynamoWcuHour') + (rcu / u) * p('dynamoRcuHour')),
        `${(wcu / u / 1e3).toFixed(1)} k WCU, ${(rcu / u / 1e3).toFixed(1)} k RCU at ${cap.targetUtilizationPercent} % use; ${basis}`,
        ['dynamoWcuHour', 'dynamoRcuHour'],
      );
    }
  };
  const historyWcu = accepted * i.historyWcuPerImpression;
  dynamo(
    'history writes',
    historyWcu,
    0,
    `${i.historyWcuPerImpression.toFixed(3)} WCU per accepted impression (buckets, day counters, duplicate detection)`,
  );
  dynamo(
    'history reads (API)',
    checks * i.wcuPerCheck,
    checks * i.rruPerCheck + historyCalls * i.rruPerHistoryCall,
    `${(checks / 1e3).toFixed(1)} k checks/s × (${i.rruPerCheck} RRU + ${i.wcuPerCheck} WCU of rollups) + ${(historyCalls / 1e3).toFixed(1)} k history calls/s × ${i.rruPerHistoryCall} RRU`,
  );
  const storedGb = (accepted * 86400 * i.stage.historyRetentionDays * i.historyBytesPerImpression) / GB;
  add(
    'DynamoDB storage',
    storedGb * p('dynamoStorageGbMonth'),
    `${storedGb.toFixed(0)} GB: ${i.stage.historyRetentionDays} days × ${i.historyBytesPerImpression.toFixed(0)} B per impression`,
    ['dynamoStorageGbMonth'],
  );
  // The title catalog's own point-in-time recovery is on the catalog's size: a few MB, not priced.
  add(
    'DynamoDB point-in-time recovery',
    i.stage.historyPointInTimeRecovery ? storedGb * p('dynamoPitrGbMonth') : 0,
    i.stage.historyPointInTimeRecovery
      ? `on the history's ${storedGb.toFixed(0)} GB (historyPointInTimeRecovery on)`
      : 'off for the history (historyPointInTimeRecovery: rebuilt from the lake); on for the catalog, a few MB',
    ['dynamoPitrGbMonth'],
  );

  // History API: requests, function, logs and traces.
  const apiMonthly = apiRequests * SECONDS_PER_MONTH;
  add(
    'API Gateway HTTP API',
    (Math.min(apiMonthly, 300e6) / 1e6) * p('httpApiMillionFirst300M') +
      (Math.max(0, apiMonthly - 300e6) / 1e6) * p('httpApiMillionAfter'),
    `${(apiRequests / 1e3).toFixed(1)} k requests/s: ${i.checksPerPageRender} check and ${i.historyCallsPerPageRender} history call per page render of ${i.impressionsPerPageRender} impressions`,
    ['httpApiMillionFirst300M', 'httpApiMillionAfter'],
  );
  add(
    'Lambda history API (arm64, 1024 MB)',
    apiRequests *
      SECONDS_PER_MONTH *
      ((i.apiMsPerRequest / 1000) * p('lambdaArmGbSecond') + p('lambdaRequestMillion') / 1e6),
    `${i.apiMsPerRequest} ms billed per request`,
    ['lambdaArmGbSecond', 'lambdaRequestMillion'],
  );
  const logGb =
    (fe.invocations * i.logBytesPerInvocation + apiRequests * i.apiLogBytesPerRequest) *
    (SECONDS_PER_MONTH / GB);
  add(
    'CloudWatch Logs ingestion',
    logGb * p('logsIngestGb'),
    `${logGb.toFixed(0)} GB: ${i.logBytesPerInvocation} B per stream-function invocation, ${i.apiLogBytesPerRequest} B per API request`,
    ['logsIngestGb'],
  );
  const sampled = (perSec: number) =>
    perSec > 1 ? 1 + QUOTAS.xrayDefaultSampling.value * (perSec - 1) : perSec;
  const traces = (sampled(fe.invocations) + sampled(apiRequests)) * SECONDS_PER_MONTH;
  add(
    'X-Ray traces (active tracing)',
    (traces / 1e6) * p('xrayTraceMillion'),
    `${(traces / 1e6).toFixed(0)} M traces: default sampling (1/s + 5 %) per function`,
    ['xrayTraceMillion'],
  );

  // Firehose into Iceberg: per GB ingested, no per-record rounding for this destination.
  const fhGb = (accepted * enrichedBytes * SECONDS_PER_MONTH) / GB;
  add(
    'Firehose → Iceberg tables',
    fhGb * p('firehoseIcebergGb'),
    `${fhGb.toFixed(0)} GB of enriched JSON (${enrichedBytes} B each), no 5 KB rounding for Iceberg`,
    ['firehoseIcebergGb'],
  );
  const lakeGbPerMonth = (accepted * SECONDS_PER_MONTH * i.parquetBytesPerImpression) / GB;
  // Compaction rewrites each file once; the file it replaces stays referenced until its snapshot expires, is
  // deleted as an orphan after that, and lives on as a noncurrent version of the versioned bucket until the
  // lifecycle rule expires it (the stage's lakeRetention).
  const r = i.stage.lakeRetention;
  const lingerDays = r.snapshotDays + r.orphanFileDays + r.noncurrentVersionDays;
  const lakeStoredGb = lakeGbPerMonth * ((i.lakeRetentionDays + lingerDays) / (730 / 24));
  add(
    'S3 lake storage',
    lakeStoredGb * p('s3StorageGbMonth'),
    `${(lakeStoredGb / 1024).toFixed(0)} TB held: ${i.lakeRetentionDays} days × ${i.parquetBytesPerImpression.toFixed(0)} B/impression, + ${lingerDays} days of files replaced by compaction (lakeRetention)`,
    ['s3StorageGbMonth'],
  );
  const compactionDpuHours =
    lakeGbPerMonth / i.compactionGbPerDpuHour + i.maintenanceDpuHoursPerDay * i.lakeTables * (730 / 24);
  add(
    'Glue table optimizers',
    compactionDpuHours * p('glueDpuHour'),
    `${compactionDpuHours.toFixed(0)} DPU-hours: compaction at ${i.compactionGbPerDpuHour} GB/DPU-hour + ${i.maintenanceDpuHoursPerDay} DPU-hour/day/table for snapshot retention and orphan deletion`,
    ['glueDpuHour'],
  );
  // KMS: Kinesis server-side encryption asks KMS for a data key about every 5 minutes per shard and for
  // each consumer; DynamoDB and S3 (bucket keys) cache theirs: the shards dominate.
  const kmsRequests = (rawShards * 2 + enrichedShards * (1 + i.enrichedConsumers)) * 12 * 730;
  add(
    'KMS requests',
    (kmsRequests / 1e4) * p('kmsRequest10k'),
    `≈ ${(kmsRequests / 1e6).toFixed(1)} M: stream data keys every 5 min per shard and reader; clients sign with IAM credentials (no KMS)`,
    ['kmsRequest10k'],
  );
  add('Athena', i.athenaTbPerMonth * p('athenaTbScanned'), `${i.athenaTbPerMonth} TB scanned a month`, [
    'athenaTbScanned',
  ]);

  const total = lines.reduce((n, l) => n + l.monthlyUsd, 0);
  const wcuTotal = historyWcu / (cap.targetUtilizationPercent / 100);
  return {
    impressionsPerMonth: perMonth,
    lines,
    totalMonthlyUsd: total,
    totalPerBillionUsd: total / billions,
    sizing: {
      rawShards,
      enrichedShards,
      filterEnrichConcurrency: Math.max(Math.ceil(fe.seconds * i.kinesisHeadroom), rawShards),
      maxConcurrencyByShards: (rawShards + enrichedShards) * i.stage.consumer.parallelizationFactor,
      historyApiRequestsPerSec: Math.round(apiRequests),
      dynamoWcuProvisioned: Math.ceil(wcuTotal),
      dynamoPartitionsForWrites: Math.ceil(wcuTotal / QUOTAS.dynamoPartitionWcu.value),
      dynamoPartitionsForSize: Math.ceil(storedGb / 10),
    },
  };
}

/**
 * The inputs of the default production stage with the figures measured before the bench's own (each
 * replaced by bench/results/latest.json when present, see scripts/cost.ts): a documented starting point.
 */
export const DEFAULT_INPUTS: CostInputs = {
  stage: DEFAULT_STAGE,
  eventsPerSec: 1_500_000,
  eventBytes: 1200,
  acceptedShare: 0.85,
  enrichmentBytes: 218,
  rawRecordsPerKinesisRecord: 1,
  enrichedRecordsPerKinesisRecord: 38,
  enrichedConsumers: 1,
  kinesisHeadroom: 1.3,
  historyWcuPerImpression: 0.32,
  historyBytesPerImpression: 110,
  filterEnrichCpuUsPerEvent: 60,
  filterEnrichIoMsPerBatch: 60,
  lambdaMemoryMb: 1024,
  logBytesPerInvocation: 450 + 400,
  impressionsPerPageRender: 250,
  checksPerPageRender: 1,
  historyCallsPerPageRender: 0.1,
  rruPerCheck: 25.5,
  rruPerHistoryCall: 2,
  wcuPerCheck: 0,
  apiMsPerRequest: 15,
  apiLogBytesPerRequest: 1300,
  parquetBytesPerImpression: 94,
  lakeRetentionDays: 365,
  compactionGbPerDpuHour: 50,
  maintenanceDpuHoursPerDay: 1,
  lakeTables: 2,
  athenaTbPerMonth: 50,
};
