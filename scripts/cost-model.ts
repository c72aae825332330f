/**
 * Cost and sizing model of a deployment, per component, monthly and per billion impressions, from the per-event
 * figures the benchmarks measure and the prices and quotas below. Pure: numbers in, numbers out.
 */

/**
 * List prices and quotas, us-east-1, as recorded on PRICES_DATE from the AWS pricing pages named in `source`.
 * This environment cannot reach the web: re-check them before you rely on a figure.
 */
export const PRICES_DATE = '2026-11-26';
export const PRICES = {
  kinesisShardHour: {
    usd: 0.015,
    source: 'https://aws.amazon.com/kinesis/data-streams/pricing/ (provisioned, shard hour)',
  },
  kinesisPutUnitMillion: { usd: 0.014, source: 'same page: PUT payload units, 25 KB each, per million' },
  kinesisOnDemandStreamHour: { usd: 0.04, source: 'same page: on-demand, per stream hour' },
  kinesisOnDemandIngestGb: { usd: 0.08, source: 'same page: on-demand, data ingested per GB' },
  kinesisOnDemandRetrievalGb: { usd: 0.04, source: 'same page: on-demand, data retrieved per GB' },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    source: 'https://aws.amazon.com/lambda/pricing/ (Arm, first tier)',
  },
  lambdaRequestMillion: { usd: 0.2, source: 'same page: requests per million' },
  dynamoWriteRequestMillion: {
    usd: 0.625,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (write request units)',
  },
  dynamoReadRequestMillion: { usd: 0.125, source: 'same page: read request units' },
  dynamoWcuHour: { usd: 0.00065, source: 'https://aws.amazon.com/dynamodb/pricing/provisioned/ (WCU hour)' },
  dynamoRcuHour: { usd: 0.00013, source: 'same page: RCU hour' },
  dynamoStorageGbMonth: { usd: 0.25, source: 'same page: storage per GB-month' },
  firehoseIngestGb: {
    usd: 0.029,
    source:
      'https://aws.amazon.com/firehose/pricing/ (first 500 TB/month, billed in 5 KB increments per record)',
  },
  s3StorageGbMonth: { usd: 0.023, source: 'https://aws.amazon.com/s3/pricing/ (Standard, first 50 TB)' },
  athenaTbScanned: { usd: 5, source: 'https://aws.amazon.com/athena/pricing/ (per TB scanned)' },
} as const;

export const QUOTAS = {
  shardMiBPerSec: { value: 1, source: 'Kinesis: 1 MiB/s or 1,000 records/s written per shard' },
  shardRecordsPerSec: { value: 1000, source: 'same' },
  putUnitBytes: { value: 25 * 1024, source: 'Kinesis PUT payload unit: 25 KB' },
  firehoseRecordRoundingBytes: { value: 5 * 1024, source: 'Firehose bills each record rounded up to 5 KB' },
  dynamoPartitionWcu: { value: 1000, source: 'DynamoDB: 1,000 WCU, 3,000 RCU, 10 GB per partition' },
  dynamoPartitionRcu: { value: 3000, source: 'same' },
  lambdaDefaultConcurrency: { value: 1000, source: 'Lambda: default regional concurrency quota (raise it)' },
} as const;

export interface CostInputs {
  readonly eventsPerSec: number;
  readonly eventBytes: number;
  /** Share of raw records that are enriched (the rest filtered or rejected). @default 0.85 */
  readonly acceptedShare: number;
  readonly enrichedBytes: number;
  /** History writes, measured. */
  readonly historyWcuPerImpression: number;
  /** Duplicate detection: one write per accepted impression (an item ≤ 1 KB) and a half read per candidate. */
  readonly dedupWcuPerAccepted: number;
  readonly dedupRruPerCandidate: number;
  /** Records per Kinesis record with KPL aggregation (1 = not aggregated). */
  readonly rawRecordsPerKinesisRecord: number;
  readonly enrichedRecordsPerKinesisRecord: number;
  /** Lambda: measured CPU µs per event (single core) and I/O wait per batch. */
  readonly filterEnrichCpuUsPerEvent: number;
  readonly historyWriterCpuUsPerEvent: number;
  readonly ioMsPerBatch: number;
  readonly batchSize: number;
  readonly lambdaMemoryGb: number;
  readonly parallelizationFactor: number;
  /** Lake: Parquet bytes per impression, measured. */
  readonly parquetBytesPerImpression: number;
  /** Athena: TB scanned per month by the team's queries. */
  readonly athenaTbPerMonth: number;
  /** History retention and the item bytes per impression stored. */
  readonly retentionDays: number;
  readonly historyBytesPerImpression: number;
  readonly kinesisMode: 'provisioned' | 'on-demand';
  readonly dynamoMode: 'provisioned' | 'on-demand';
  /** Provisioned capacity above the average (peaks). @default 1.3 */
  readonly headroom: number;
}

export interface CostLine {
  readonly component: string;
  readonly monthlyUsd: number;
  readonly perBillionUsd: number;
  readonly basis: string;
}

export interface CostResult {
  readonly impressionsPerMonth: number;
  readonly lines: readonly CostLine[];
  readonly totalMonthlyUsd: number;
  readonly totalPerBillionUsd: number;
  readonly sizing: Readonly<Record<string, number>>;
}

const SECONDS_PER_MONTH = 730 * 3600;
const GB = 1024 ** 3;

export function costModel(i: CostInputs): CostResult {
  const perMonth = i.eventsPerSec * SECONDS_PER_MONTH;
  const billions = perMonth / 1e9;
  const lines: CostLine[] = [];
  const add = (component: string, monthlyUsd: number, basis: string) =>
    lines.push({ component, monthlyUsd, perBillionUsd: monthlyUsd / billions, basis });

  // Kinesis: raw, enriched (and a rejected stream of one shard).
  const stream = (name: string, recordsPerSec: number, bytes: number, perKinesisRecord: number) => {
    const kinesisRecordsPerSec = recordsPerSec / perKinesisRecord;
    const kinesisRecordBytes = bytes * perKinesisRecord;
    const mibPerSec = (recordsPerSec * bytes) / (1024 * 1024);
    const shards = Math.max(
      1,
      Math.ceil(
        i.headroom *
          Math.max(
            mibPerSec / QUOTAS.shardMiBPerSec.value,
            kinesisRecordsPerSec / QUOTAS.shardRecordsPerSec.value,
          ),
      ),
    );
    const putUnits =
      kinesisRecordsPerSec * Math.ceil(kinesisRecordBytes / QUOTAS.putUnitBytes.value) * SECONDS_PER_MONTH;
    if (i.kinesisMode === 'provisioned') {
      add(
        `Kinesis ${name} (provisioned)`,
        shards * 730 * PRICES.kinesisShardHour.usd + (putUnits / 1e6) * PRICES.kinesisPutUnitMillion.usd,
        `${shards} shards, ${(putUnits / 1e9).toFixed(1)} G PUT units`,
      );
    } else {
      const gb = (recordsPerSec * bytes * SECONDS_PER_MONTH) / GB;
      add(
        `Kinesis ${name} (on-demand)`,
        730 * PRICES.kinesisOnDemandStreamHour.usd +
          gb * (PRICES.kinesisOnDemandIngestGb.usd + 2 * PRICES.kinesisOnDemandRetrievalGb.usd),
        `${gb.toFixed(0)} GB in, read twice (Lambda and Firehose)`,
      );
    }
    return shards;
  };
  const rawShards = stream('raw', i.eventsPerSec, i.eventBytes, i.rawRecordsPerKinesisRecord);
  const enrichedPerSec = i.eventsPerSec * i.acceptedShare;
  const enrichedShards = stream(
    'enriched',
    enrichedPerSec,
    i.enrichedBytes,
    i.enrichedRecordsPerKinesisRecord,
  );

  // Lambda: both consumers.
  const lambda = (name: string, eventsPerSec: number, cpuUs: number) => {
    const batches = eventsPerSec / i.batchSize;
    const seconds = batches * ((i.batchSize * cpuUs) / 1e6 + i.ioMsPerBatch / 1000);
    const gbSeconds = seconds * i.lambdaMemoryGb * SECONDS_PER_MONTH;
    add(
      `Lambda ${name} (arm64, ${i.lambdaMemoryGb * 1024} MB)`,
      gbSeconds * PRICES.lambdaArmGbSecond.usd +
        ((batches * SECONDS_PER_MONTH) / 1e6) * PRICES.lambdaRequestMillion.usd,
      `${(seconds).toFixed(0)} busy seconds per second`,
    );
    return seconds;
  };
  const feBusy = lambda('filter-enrich', i.eventsPerSec, i.filterEnrichCpuUsPerEvent);
  const hwBusy = lambda('history-writer', enrichedPerSec, i.historyWriterCpuUsPerEvent);

  // DynamoDB: history writes, duplicate detection.
  const wcuPerSec = enrichedPerSec * (i.historyWcuPerImpression + i.dedupWcuPerAccepted);
  const rcuPerSec = enrichedPerSec * i.dedupRruPerCandidate;
  const historyWcu = enrichedPerSec * i.historyWcuPerImpression;
  const dedupWcu = enrichedPerSec * i.dedupWcuPerAccepted;
  const dynamo = (name: string, wcu: number, rcu: number) => {
    if (i.dynamoMode === 'on-demand') {
      add(
        `DynamoDB ${name} (on-demand)`,
        ((wcu * SECONDS_PER_MONTH) / 1e6) * PRICES.dynamoWriteRequestMillion.usd +
          ((rcu * SECONDS_PER_MONTH) / 1e6) * PRICES.dynamoReadRequestMillion.usd,
        `${(wcu / 1e3).toFixed(0)} k WRU/s, ${(rcu / 1e3).toFixed(0)} k RRU/s`,
      );
    } else {
      add(
        `DynamoDB ${name} (provisioned)`,
        i.headroom * 730 * (wcu * PRICES.dynamoWcuHour.usd + rcu * PRICES.dynamoRcuHour.usd),
        `${((wcu * i.headroom) / 1e3).toFixed(0)} k WCU, ${((rcu * i.headroom) / 1e3).toFixed(0)} k RCU`,
      );
    }
  };
  dynamo('history writes', historyWcu, 0);
  dynamo('duplicate detection', dedupWcu, rcuPerSec);
  const storedGb = (enrichedPerSec * 86400 * i.retentionDays * i.historyBytesPerImpression) / GB;
  add(
    'DynamoDB storage',
    storedGb * PRICES.dynamoStorageGbMonth.usd,
    `${storedGb.toFixed(0)} GB of history (${i.retentionDays} days)`,
  );

  // Firehose into Iceberg, S3 and Athena.
  const fhRecordBytes = i.enrichedBytes * i.enrichedRecordsPerKinesisRecord;
  const billedBytesPerRecord =
    Math.ceil(fhRecordBytes / QUOTAS.firehoseRecordRoundingBytes.value) *
    QUOTAS.firehoseRecordRoundingBytes.value;
  const fhGb =
    ((enrichedPerSec / i.enrichedRecordsPerKinesisRecord) * billedBytesPerRecord * SECONDS_PER_MONTH) / GB;
  add(
    'Firehose → Iceberg',
    fhGb * PRICES.firehoseIngestGb.usd,
    `${fhGb.toFixed(0)} GB billed (5 KB rounding)`,
  );
  const lakeGb = (enrichedPerSec * SECONDS_PER_MONTH * i.parquetBytesPerImpression) / GB;
  add(
    'S3 lake (one month of Parquet)',
    lakeGb * PRICES.s3StorageGbMonth.usd,
    `${lakeGb.toFixed(0)} GB added per month`,
  );
  add('Athena', i.athenaTbPerMonth * PRICES.athenaTbScanned.usd, `${i.athenaTbPerMonth} TB scanned`);

  const total = lines.reduce((n, l) => n + l.monthlyUsd, 0);
  return {
    impressionsPerMonth: perMonth,
    lines,
    totalMonthlyUsd: total,
    totalPerBillionUsd: total / billions,
    sizing: {
      rawShards,
      enrichedShards,
      filterEnrichConcurrency: Math.max(Math.ceil(feBusy * i.headroom), rawShards),
      historyWriterConcurrency: Math.max(Math.ceil(hwBusy * i.headroom), enrichedShards),
      maxConcurrencyByShards: (rawShards + enrichedShards) * i.parallelizationFactor,
      dynamoWcu: Math.ceil(wcuPerSec * i.headroom),
      dynamoPartitionsForWrites: Math.ceil((wcuPerSec * i.headroom) / QUOTAS.dynamoPartitionWcu.value),
      dynamoPartitionsForSize: Math.ceil(storedGb / 10),
    },
  };
}

/** The default design's inputs; measured figures are replaced by the latest benchmark results when present. */
export const DEFAULT_INPUTS: CostInputs = {
  eventsPerSec: 1_500_000,
  eventBytes: 1200,
  acceptedShare: 0.85,
  enrichedBytes: 1650,
  historyWcuPerImpression: 0.15,
  dedupWcuPerAccepted: 1,
  dedupRruPerCandidate: 0.5,
  rawRecordsPerKinesisRecord: 1,
  enrichedRecordsPerKinesisRecord: 1,
  filterEnrichCpuUsPerEvent: 7,
  historyWriterCpuUsPerEvent: 3,
  ioMsPerBatch: 60,
  batchSize: 500,
  lambdaMemoryGb: 1,
  parallelizationFactor: 2,
  parquetBytesPerImpression: 120,
  athenaTbPerMonth: 50,
  retentionDays: 30,
  historyBytesPerImpression: 95,
  kinesisMode: 'provisioned',
  dynamoMode: 'provisioned',
  headroom: 1.3,
};
