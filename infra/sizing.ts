/**
 * Sizing: one load figure (`peakEventsPerSecond`, with the event size and the share of events devices send
 * through the ingest route) gives every capacity the stage deploys. `sizeStage` is the only place these
 * figures are derived: the stacks deploy its result, the cost model (ops/cost-model.ts) prices it, and
 * test/infra/sizing.test.ts holds the two equal to the synthesized template. Pure: settings in, figures out.
 */
import type { StageConfig, TableCapacity } from './config.js';

/** The settings sizing reads (infra/config.ts). */
export type SizedSettings = Pick<
  StageConfig,
  | 'peakEventsPerSecond'
  | 'eventBytes'
  | 'deviceIngestShare'
  | 'rawStream'
  | 'enrichedStream'
  | 'rejectedStream'
  | 'tableCapacity'
  | 'consumer'
  | 'rejectionRateAlarmPercent'
  | 'lakeBufferSeconds'
  | 'lakeBufferMiB'
>;

/**
 * The per-unit figures sizing multiplies the load by, each with where it comes from. Capacities are sized
 * for the peak with these; the cost model prices consumption with the figures the benchmarks measure.
 */
export const SIZING = {
  /** Provisioned shards, API throttles and function concurrency above the peak. */
  headroom: { value: 1.3, source: 'design: 30 % above the peak for skew between partition keys and bursts' },
  shardBytesPerSecond: {
    value: 1024 * 1024,
    source: 'Kinesis: 1 MiB/s or 1,000 records/s written per shard (Kinesis developer guide, quotas)',
  },
  shardRecordsPerSecond: { value: 1000, source: 'same' },
  /** Bytes filter-enrich adds to an accepted event (enriched − raw, bench/stream-bytes.ts). */
  enrichmentBytes: { value: 218, source: 'bench/results/latest.json streams.enrichedBytesAvg − rawBytesAvg' },
  /** A rejected row: the raw payload (base64 in JSON when not UTF-8) plus reason and metadata. */
  rejectedOverheadBytes: {
    value: 400,
    source: 'lambdas/domain/lake-schema.ts REJECTED_TABLE: reason, detail, raw',
  },
  /** DynamoDB write units per accepted impression at 5-s client flushes (bench/history-wcu.ts). */
  historyWcuPerImpression: {
    value: 0.249,
    source:
      'bench/history-wcu.ts: 0.249 WCU per impression at 5-s flushes (impressions packed as one Binary each)',
  },
  /**
   * DynamoDB read units of the write path per accepted impression at 5-s client flushes (bench/history-wcu.ts):
   * the erasure markers filter-enrich reads before and after the writes, the counters of held allowances.
   */
  historyRcuPerImpression: {
    value: 0.319,
    source:
      'bench/history-wcu.ts: 0.319 RCU per impression at 5-s flushes (markers read twice per profile and batch)',
  },
  /** Read side: one check and 0.1 history call per page render of 250 impressions. */
  impressionsPerPageRender: {
    value: 250,
    source: 'docs/cost.md: one check per page render of 250 impressions',
  },
  historyCallsPerPageRender: { value: 0.1, source: 'docs/cost.md' },
  rruPerCheck: {
    value: 14,
    source: 'bench/results/latest.json history.readUnits.check (7-day check, typical profile)',
  },
  wcuPerCheck: {
    value: 3,
    source: 'bench/results/latest.json history.readUnits.checkWriteUnits (the day rollup)',
  },
  wcuPerIngestRequest: {
    value: 1,
    source:
      'lambdas/history-store/ingest-limit.ts: one conditional UpdateItem of a small per-profile window counter (≤ 1 KB) per ingest request, in the history table',
  },
  rruPerHistoryCall: {
    value: 2,
    source: 'bench/results/latest.json history.readUnits.history (page of 50), rounded up',
  },
  /** Events per ingest request: a client flushes its buffer about every 5 s (≈ 10 impressions). */
  eventsPerIngestRequest: {
    value: 10,
    source: 'contract: the client flushes its buffer; ≈ 10 impressions per 5-s flush',
  },
  /** Billed ms per history API request (one Query or one PutRecords and the response). */
  apiMsPerRequest: { value: 15, source: 'assumed: docs/cost.md' },
} as const;

/** Default account quotas synthesis warns about, each naming the quota to raise. */
export const QUOTAS = {
  kinesisShardsMainRegions: {
    value: 20_000,
    regions: ['us-east-1', 'us-west-2', 'eu-west-1'],
    name: 'Kinesis Data Streams "Shards per Region" (provisioned mode)',
    source: 'https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html',
  },
  /** Elsewhere the default is 1,000 or 6,000 shards depending on the Region: the lower is assumed. */
  kinesisShardsOtherRegions: {
    value: 1000,
    name: 'Kinesis Data Streams "Shards per Region" (provisioned mode; 1,000 or 6,000 by Region)',
    source: 'https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html',
  },
  lambdaConcurrency: {
    value: 1000,
    name: 'AWS Lambda "Concurrent executions"',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
  },
  apiGatewayAccountRps: {
    value: 10_000,
    name: 'Amazon API Gateway "Throttle rate" (account level, per Region; burst 5,000)',
    source: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html',
  },
  apiGatewayAccountBurst: {
    value: 5000,
    name: 'Amazon API Gateway "Throttle burst rate" (account level, per Region)',
    source: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html',
  },
  dynamoTableCapacity: {
    value: 40_000,
    name: 'Amazon DynamoDB "Table-level write/read throughput limit" (40,000 units; account level 80,000)',
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html',
  },
} as const;

export interface StreamSizing {
  readonly mode: 'provisioned' | 'on-demand';
  /** Provisioned shards (the setting when given, else sized); 0 for an on-demand stream. */
  readonly shards: number;
  /** Peak load the stream is sized for. */
  readonly bytesPerSecond: number;
  readonly recordsPerSecond: number;
}

/** A table's capacity as deployed: the stage's `TableCapacity` with every sized bound filled in. */
export type TableSizing = TableCapacity;

export interface StageSizing {
  readonly peakEventsPerSecond: number;
  readonly rawStream: StreamSizing;
  readonly enrichedStream: StreamSizing;
  readonly rejectedStream: StreamSizing;
  /** Provisioned shards of the three streams (what counts against the account's shard quota). */
  readonly provisionedShards: number;
  readonly historyTable: TableSizing;
  readonly catalogTable: TableSizing;
  /** History API: peak requests/s (checks, history calls, device ingest) and the stage throttle. */
  readonly api: {
    readonly peakRequestsPerSecond: number;
    readonly ingestRequestsPerSecond: number;
    readonly rateLimit: number;
    readonly burstLimit: number;
  };
  /** Concurrent executions: filter-enrich (shards × parallelization) and the history API at its throttle. */
  readonly concurrency: {
    readonly filterEnrich: number;
    readonly historyApi: number;
    readonly total: number;
    readonly parallelizationFactor: number;
  };
  /** filter-enrich invocations per second at the peak and the records each gets (≤ the batch size). */
  readonly filterEnrichBatches: {
    readonly invocationsPerSecond: number;
    readonly recordsPerInvocation: number;
  };
  /** Firehose buffering (the settings) and the files each delivery writes per second at the peak. */
  readonly lakeBuffering: {
    readonly seconds: number;
    readonly mib: number;
    readonly impressionsFlushesPerSecond: number;
    readonly rejectedFlushesPerSecond: number;
  };
}

const shardsFor = (bytesPerSecond: number, recordsPerSecond: number): number =>
  Math.max(
    1,
    Math.ceil(
      SIZING.headroom.value *
        Math.max(
          bytesPerSecond / SIZING.shardBytesPerSecond.value,
          recordsPerSecond / SIZING.shardRecordsPerSecond.value,
        ),
    ),
  );

const stream = (
  capacity: StageConfig['rawStream'],
  bytesPerSecond: number,
  recordsPerSecond: number,
): StreamSizing => ({
  mode: capacity.mode,
  shards:
    capacity.mode === 'on-demand'
      ? 0
      : capacity.shards > 0
        ? capacity.shards
        : shardsFor(bytesPerSecond, recordsPerSecond),
  bytesPerSecond,
  recordsPerSecond,
});

/** The three streams at the peak: raw as sent, enriched as if every event were accepted, rejected at the alarm's rate. */
function sizeStreams(s: SizedSettings) {
  const peak = s.peakEventsPerSecond;
  const raw = stream(s.rawStream, peak * s.eventBytes, peak);
  // Sized as if every event were accepted: a day with fewer rejects must not throttle. Aggregated records
  // are bound by bytes (≈ 1.4 KB × 1,000 records > 1 MiB), so aggregation does not change the count.
  const enriched = stream(s.enrichedStream, peak * (s.eventBytes + SIZING.enrichmentBytes.value), peak);
  // The rejected stream holds what the data-quality alarm lets through: up to its rejection rate.
  const rejectedPerSecond = (peak * s.rejectionRateAlarmPercent) / 100;
  const rejected = stream(
    s.rejectedStream,
    rejectedPerSecond * (s.eventBytes + SIZING.rejectedOverheadBytes.value),
    rejectedPerSecond,
  );
  return { raw, enriched, rejected };
}

/** The history API's requests per second at the peak, by route family, and the stage throttle. */
function sizeApiLoad(s: SizedSettings) {
  const pageRenders = s.peakEventsPerSecond / SIZING.impressionsPerPageRender.value;
  const checks = pageRenders;
  const historyCalls = pageRenders * SIZING.historyCallsPerPageRender.value;
  const ingest = (s.peakEventsPerSecond * s.deviceIngestShare) / SIZING.eventsPerIngestRequest.value;
  const apiPeak = checks + historyCalls + ingest;
  const rateLimit = Math.max(10, Math.ceil(apiPeak * SIZING.headroom.value));
  return { checks, historyCalls, ingest, apiPeak, rateLimit };
}

/** The history table's auto-scaling bounds from its write and read units at the peak; the catalog's within the quota. */
function sizeTables(s: SizedSettings, api: ReturnType<typeof sizeApiLoad>) {
  const peak = s.peakEventsPerSecond;
  const c = s.tableCapacity;
  const target = c.targetUtilizationPercent / 100;
  const sized = (setting: number, min: number, units: number) =>
    setting > 0 ? setting : Math.max(min, Math.ceil(units / target));
  const historyWcu =
    peak * SIZING.historyWcuPerImpression.value +
    api.checks * SIZING.wcuPerCheck.value +
    api.ingest * SIZING.wcuPerIngestRequest.value;
  const historyRcu =
    peak * SIZING.historyRcuPerImpression.value +
    api.checks * SIZING.rruPerCheck.value +
    api.historyCalls * SIZING.rruPerHistoryCall.value;
  const historyTable: TableSizing = {
    mode: c.mode,
    minWriteCapacity: c.minWriteCapacity,
    maxWriteCapacity: sized(c.maxWriteCapacity, c.minWriteCapacity, historyWcu),
    minReadCapacity: c.minReadCapacity,
    maxReadCapacity: sized(c.maxReadCapacity, c.minReadCapacity, historyRcu),
    targetUtilizationPercent: c.targetUtilizationPercent,
  };
  // The catalog's load is a fraction of the history's: its bounds are the history's, within the per-table
  // default quota (an auto scaling bound costs nothing until it is used).
  const cap = QUOTAS.dynamoTableCapacity.value;
  const catalogTable: TableSizing = {
    ...historyTable,
    maxWriteCapacity: Math.max(c.minWriteCapacity, Math.min(historyTable.maxWriteCapacity, cap)),
    maxReadCapacity: Math.max(c.minReadCapacity, Math.min(historyTable.maxReadCapacity, cap)),
  };
  return { historyTable, catalogTable };
}

/** Firehose buffering and the files each delivery writes per second (a flush at the interval or the size). */
function sizeLakeBuffering(s: SizedSettings, enriched: StreamSizing, rejected: StreamSizing) {
  const mib = 1024 * 1024;
  const flushes = (bytesPerSecond: number) =>
    Math.max(1 / Math.max(1, s.lakeBufferSeconds), bytesPerSecond / (s.lakeBufferMiB * mib));
  return {
    seconds: s.lakeBufferSeconds,
    mib: s.lakeBufferMiB,
    impressionsFlushesPerSecond: flushes(enriched.bytesPerSecond),
    rejectedFlushesPerSecond: flushes(rejected.bytesPerSecond),
  };
}

/** Every capacity of the stage, from its load settings. */
export function sizeStage(s: SizedSettings): StageSizing {
  const peak = s.peakEventsPerSecond;
  const { raw, enriched, rejected } = sizeStreams(s);
  const api = sizeApiLoad(s);
  const lanes = Math.max(1, raw.shards) * s.consumer.parallelizationFactor;
  const recordsPerInvocation = recordsPerBatch(s.consumer, raw, peak);
  const historyApi = Math.ceil((api.rateLimit * SIZING.apiMsPerRequest.value) / 1000);
  const filterEnrich = raw.mode === 'provisioned' ? lanes : Math.ceil(peak / recordsPerInvocation);
  return {
    peakEventsPerSecond: peak,
    rawStream: raw,
    enrichedStream: enriched,
    rejectedStream: rejected,
    provisionedShards: raw.shards + enriched.shards + rejected.shards,
    ...sizeTables(s, api),
    api: {
      peakRequestsPerSecond: Math.round(api.apiPeak),
      ingestRequestsPerSecond: Math.round(api.ingest),
      rateLimit: api.rateLimit,
      burstLimit: 2 * api.rateLimit,
    },
    concurrency: {
      filterEnrich,
      historyApi,
      total: filterEnrich + historyApi,
      parallelizationFactor: s.consumer.parallelizationFactor,
    },
    filterEnrichBatches: {
      invocationsPerSecond: peak / recordsPerInvocation,
      recordsPerInvocation,
    },
    lakeBuffering: sizeLakeBuffering(s, enriched, rejected),
  };
}

/**
 * Records per filter-enrich invocation at a load: Lambda polls each shard with up to `parallelizationFactor`
 * concurrent batches, and a batch gathers what one lane receives in the batching window, at most the batch
 * size (an on-demand stream: full batches assumed).
 */
export function recordsPerBatch(
  consumer: StageConfig['consumer'],
  raw: StreamSizing,
  eventsPerSecond: number,
): number {
  if (raw.mode !== 'provisioned') return consumer.batchSize;
  const lanes = Math.max(1, raw.shards) * consumer.parallelizationFactor;
  const window = Math.max(1, consumer.maxBatchingWindowSeconds);
  return Math.max(1, Math.min(consumer.batchSize, (eventsPerSecond / lanes) * window));
}

/** Where a quota finding is reported: the stack that deploys the figure. */
export interface QuotaFinding {
  readonly stack: 'stateful' | 'pipeline';
  readonly message: string;
}

/**
 * The derived figures that pass a default account quota, each naming the quota to raise (synthesis shows
 * them as warnings). `region` undefined: an environment-agnostic synthesis, checked against the lower
 * shard quota of the Regions outside us-east-1, us-west-2 and eu-west-1.
 */
export function quotaFindings(z: StageSizing, region?: string): QuotaFinding[] {
  const out: QuotaFinding[] = [];
  const n = (v: number) => v.toLocaleString('en-US');
  const shardQuota = (QUOTAS.kinesisShardsMainRegions.regions as readonly string[]).includes(region ?? '')
    ? QUOTAS.kinesisShardsMainRegions
    : QUOTAS.kinesisShardsOtherRegions;
  if (z.provisionedShards > shardQuota.value)
    out.push({
      stack: 'stateful',
      message: `${n(z.provisionedShards)} provisioned shards (raw ${n(z.rawStream.shards)}, enriched ${n(z.enrichedStream.shards)}, rejected ${n(z.rejectedStream.shards)}) for ${n(z.peakEventsPerSecond)} events/s pass the default quota of ${n(shardQuota.value)} ${region ? `in ${region}` : 'in most Regions'}: raise ${shardQuota.name} (${shardQuota.source}) before deploying`,
    });
  for (const [name, t] of [['history', z.historyTable]] as const) {
    if (t.mode !== 'provisioned') continue;
    for (const [kind, v] of [
      ['write', t.maxWriteCapacity],
      ['read', t.maxReadCapacity],
    ] as const)
      if (v > QUOTAS.dynamoTableCapacity.value)
        out.push({
          stack: 'stateful',
          message: `the ${name} table's ${kind} capacity scales up to ${n(v)} units, past the default quota of ${n(QUOTAS.dynamoTableCapacity.value)}: raise ${QUOTAS.dynamoTableCapacity.name} (${QUOTAS.dynamoTableCapacity.source})`,
        });
  }
  if (z.concurrency.total > QUOTAS.lambdaConcurrency.value)
    out.push({
      stack: 'pipeline',
      message: `the functions need up to ${n(z.concurrency.total)} concurrent executions (filter-enrich ${n(z.concurrency.filterEnrich)}: shards × parallelization ${z.concurrency.parallelizationFactor}; history API ${n(z.concurrency.historyApi)}), past the default quota of ${n(QUOTAS.lambdaConcurrency.value)}: raise ${QUOTAS.lambdaConcurrency.name} (${QUOTAS.lambdaConcurrency.source})`,
    });
  if (z.api.rateLimit > QUOTAS.apiGatewayAccountRps.value)
    out.push({
      stack: 'pipeline',
      message: `the history API is throttled at ${n(z.api.rateLimit)} requests/s (${n(z.api.peakRequestsPerSecond)} at the peak, ${n(z.api.ingestRequestsPerSecond)} of them device ingest), past the account's default ${n(QUOTAS.apiGatewayAccountRps.value)}: raise ${QUOTAS.apiGatewayAccountRps.name} (${QUOTAS.apiGatewayAccountRps.source})`,
    });
  if (z.api.burstLimit > QUOTAS.apiGatewayAccountBurst.value)
    out.push({
      stack: 'pipeline',
      message: `the history API's burst of ${n(z.api.burstLimit)} requests passes the account's default ${n(QUOTAS.apiGatewayAccountBurst.value)}: raise ${QUOTAS.apiGatewayAccountBurst.name} (${QUOTAS.apiGatewayAccountBurst.source})`,
    });
  return out;
}
