/**
 * Stage configuration: everything that differs between deployments, resolved in `bin/` from CDK context
 * (`-c stage=prod`, `-c emulator=true`, or a `stages` block in cdk.json) and passed down as plain props.
 *
 * Every setting's default is written once, in `DEFAULT_STAGE` below; its bounds once, in `SETTINGS`; an emulator
 * stage's differences once, in `EMULATOR_STAGE_DEFAULTS`. docs/settings.md is generated from the three
 * (`npx tsx scripts/settings-doc.ts`; a test holds it current), so the interfaces here document meaning only.
 */
import { PROFILE_ID, PROFILE_ID_RULE } from '../lambdas/domain/profile-id.js';

export interface StreamCapacity {
  /** `provisioned` (cheapest at steady high volume) or `on-demand`. */
  readonly mode: 'provisioned' | 'on-demand';
  /** Shards when provisioned; 0: sized from `peakEventsPerSecond` (infra/sizing.ts). */
  readonly shards: number;
}

/**
 * DynamoDB capacity of the stage's tables. `provisioned` with target-tracking auto scaling costs ≈ 2.4× less per
 * write than on-demand at a steady high volume (a WCU-hour at 70 % use against on-demand write request units,
 * docs/cost.md); `on-demand` needs no planning and suits small or spiky stages.
 */
export interface TableCapacity {
  readonly mode: 'provisioned' | 'on-demand';
  /** Auto scaling bounds of each table (provisioned only). */
  readonly minWriteCapacity: number;
  /** 0: sized from `peakEventsPerSecond` (infra/sizing.ts). */
  readonly maxWriteCapacity: number;
  readonly minReadCapacity: number;
  /** 0: sized from `peakEventsPerSecond`. */
  readonly maxReadCapacity: number;
  /** Target use of the provisioned capacity; the rest is headroom for bursts. */
  readonly targetUtilizationPercent: number;
}

export interface ConsumerSettings {
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  /** Concurrent batches per shard; per-partition-key (per-profile) order is kept. */
  readonly parallelizationFactor: number;
  readonly retryAttempts: number;
  readonly maxRecordAgeHours: number;
}

export interface StageConfig {
  readonly stage: string;
  /**
   * Synthesize for the embedded local emulator: leaves out the resources the emulator cannot provision
   * (see `EMULATOR_GAPS`) and nothing else.
   */
  readonly emulator: boolean;
  /**
   * The load the stage is sized for: peak impressions per second (infra/sizing.ts derives the shards,
   * table bounds, API throttles and concurrency from it).
   */
  readonly peakEventsPerSecond: number;
  /** Average raw event size, bytes. */
  readonly eventBytes: number;
  /** Share of events that members' devices send through the ingest route (the rest: trusted producers). */
  readonly deviceIngestShare: number;
  readonly rawStream: StreamCapacity;
  readonly enrichedStream: StreamCapacity;
  readonly rejectedStream: StreamCapacity;
  /** Kinesis retention. */
  readonly streamRetentionHours: number;
  readonly consumer: ConsumerSettings;
  /** Days of history kept per profile (DynamoDB TTL). */
  readonly historyRetentionDays: number;
  /**
   * Point-in-time recovery of the history table. Off by default: the history is derived data, rebuilt from
   * the lake (`npm run rebuild-history`, docs/operations.md), and a restore would bring back impressions
   * erased since (for up to the 35 days PITR keeps). The title catalog always has it.
   */
  readonly historyPointInTimeRecovery: boolean;
  readonly minVisiblePercent: number;
  readonly minVisibleMs: number;
  /** Profiles whose traffic is test or bot traffic (`filtered.test-profile`). */
  readonly testProfiles: readonly string[];
  /** Data-quality alarm: rejected records as a percentage of records read. */
  readonly rejectionRateAlarmPercent: number;
  /** Firehose buffering into the lake. */
  readonly lakeBufferSeconds: number;
  readonly lakeBufferMiB: number;
  /** Athena per-query bytes-scanned cutoff. */
  readonly athenaBytesScannedCutoff: number;
  /** Athena per-query bytes-scanned cutoff of the erasure workgroup (whole-table scans). */
  readonly erasureBytesScannedCutoff: number;
  /**
   * filter-enrich writes KPL-aggregated records to the enriched stream (history writer and Firehose
   * de-aggregate them): ≈ 20× fewer PUT units and far fewer Firehose bytes billed.
   */
  readonly aggregateEnriched: boolean;
  /** Keep stateful resources when the stack is deleted. */
  readonly retainData: boolean;
  /** Features left out of this stage; an `emulator` stage leaves out every `EMULATOR_GAPS` entry. */
  readonly omitted: readonly EmulatorGap[];
  /** User records per KPL aggregate above which it is rejected whole (`decode.aggregate-too-large`). */
  readonly maxUserRecordsPerAggregate: number;
  /** Impressions per profile per 10-second window of event time (`quality.profile-burst`). */
  readonly profileBurstPerWindow: number;
  /** Impressions per profile per UTC day of event time (`quality.profile-burst`). */
  readonly profileBurstPerDay: number;
  /** Billing of the DynamoDB tables (the cost model reads the same setting). */
  readonly tableCapacity: TableCapacity;
  /**
   * History API: role ARNs of services that may read, check and ingest for any profile.
   */
  readonly apiServices: readonly string[];
  /** History API: role ARNs that may erase any profile. */
  readonly apiErasers: readonly string[];
  /**
   * Role ARNs that may start client sessions on the client role (a token-vending backend); empty means the
   * role `<pipeline stack name>-client-vendor` of the account.
   */
  readonly clientSessionVendors: readonly string[];
  /**
   * Endpoints subscribed to the alarm topic, the **page** tier (data lost or corrupted): e-mail addresses and
   * `https://` URLs (each must confirm the subscription SNS sends it).
   */
  readonly alarmSubscriptions: readonly string[];
  /** Endpoints subscribed to the **notice** topic (data quality drifts), as `alarmSubscriptions`. */
  readonly noticeSubscriptions: readonly string[];
  /** How long the lake keeps snapshots, orphan files, old object versions, delivery errors and query results. */
  readonly lakeRetention: LakeRetention;
  /**
   * X-Ray tracing of the pipeline's functions: `active` samples and records traces (X-Ray's default rule:
   * 1 a second and 5 % of the rest, per function) of Lambda's own segments (initialization, invocation),
   * without subsegments for AWS calls (no X-Ray SDK in the functions: docs/design.md, "Logs, metrics and
   * traces"); `pass-through` records a trace only when the caller's trace header asks for one (Kinesis and
   * HTTP API callers never do: no traces, no X-Ray cost).
   */
  readonly tracing: Tracing;
}

export const TRACING_MODES = ['active', 'pass-through'] as const;
export type Tracing = (typeof TRACING_MODES)[number];

/** Lake retention (Glue snapshot-retention and orphan-file optimizers, S3 lifecycle rules). */
export interface LakeRetention {
  /** Snapshots older than this are expired (the time-travel window). */
  readonly snapshotDays: number;
  /** Snapshots always kept, whatever their age. */
  readonly snapshotsToKeep: number;
  /** Files no snapshot references are deleted after this age. */
  readonly orphanFileDays: number;
  /** Noncurrent versions of objects in the (versioned) bucket expire after this. */
  readonly noncurrentVersionDays: number;
  /** Records Firehose could not deliver (`delivery-errors/`) are kept this long. */
  readonly deliveryErrorDays: number;
  /** Athena query results are kept this long. */
  readonly queryResultDays: number;
  /**
   * Lake data files (`warehouse/<table>.iceberg/data/`) move to S3 Intelligent-Tiering this many days after
   * they are written (a lifecycle transition; S3 then moves objects not read for 30 days to its Infrequent
   * Access tier and after 90 days to Archive Instant Access, with no retrieval fee); 0: never, they stay in
   * S3 Standard.
   */
  readonly intelligentTieringDays: number;
}

export const DEFAULT_STAGE: Omit<StageConfig, 'stage'> = {
  emulator: false,
  peakEventsPerSecond: 5000,
  eventBytes: 1200,
  deviceIngestShare: 1,
  rawStream: { mode: 'provisioned', shards: 0 },
  enrichedStream: { mode: 'provisioned', shards: 0 },
  rejectedStream: { mode: 'provisioned', shards: 0 },
  streamRetentionHours: 24,
  consumer: {
    batchSize: 500,
    maxBatchingWindowSeconds: 1,
    parallelizationFactor: 2,
    retryAttempts: 5,
    maxRecordAgeHours: 24,
  },
  historyRetentionDays: 30,
  historyPointInTimeRecovery: false,
  minVisiblePercent: 50,
  minVisibleMs: 1000,
  testProfiles: [],
  rejectionRateAlarmPercent: 5,
  lakeBufferSeconds: 300,
  lakeBufferMiB: 128,
  athenaBytesScannedCutoff: 100 * 1024 ** 3,
  erasureBytesScannedCutoff: 10 * 1024 ** 4,
  aggregateEnriched: true,
  retainData: true,
  omitted: [],
  tableCapacity: {
    mode: 'provisioned',
    minWriteCapacity: 5,
    maxWriteCapacity: 0,
    minReadCapacity: 5,
    maxReadCapacity: 0,
    targetUtilizationPercent: 70,
  },
  apiServices: [],
  apiErasers: [],
  clientSessionVendors: [],
  alarmSubscriptions: [],
  noticeSubscriptions: [],
  lakeRetention: {
    snapshotDays: 7,
    snapshotsToKeep: 1,
    orphanFileDays: 3,
    noncurrentVersionDays: 7,
    deliveryErrorDays: 30,
    queryResultDays: 30,
    intelligentTieringDays: 0,
  },
  tracing: 'active',
  maxUserRecordsPerAggregate: 1000,
  profileBurstPerWindow: 1000,
  profileBurstPerDay: 20_000,
};

/** The principal the emulator reports for its default credentials (`test`/`test`): the account root. */
export const EMULATOR_DEFAULT_PRINCIPAL = 'arn:aws:iam::000000000000:root';

/**
 * What the embedded emulator (ministack, pinned in `scripts/requirements-emulator.txt`) cannot provision
 * through CloudFormation, each with its reason. An `emulator: true` stage leaves out exactly these.
 */
export const EMULATOR_GAPS = {
  athenaNamedQueries: 'AWS::Athena::NamedQuery has no CloudFormation provisioner in the emulator',
  glueTableOptimizer: 'AWS::Glue::TableOptimizer has no CloudFormation provisioner in the emulator',
  metricMathAlarms:
    'AWS::CloudWatch::Alarm with metric math (the rejection-rate alarm, the anomaly-detection bands and the null-share alarms) is refused by the emulator',
  icebergTableDdl:
    "the emulator's Athena refuses Iceberg DDL (NOT_SUPPORTED), so the Iceberg tables are registered with " +
    'AWS::Glue::Table (location and columns) and the local delivery writes their first Iceberg metadata',
  lakeQualitySchedule:
    "the emulator's Athena has no Iceberg tables (see icebergTableDdl), so the daily quality report's schedule " +
    'would only fail there; locally the same statements run with `npm run quality`',
  lakeAutoDeleteObjects:
    "an emulator stage's lake bucket is gone with the emulator, so the auto-delete custom resource that empties " +
    'a throwaway bucket on AWS before its deletion is left out',
} as const;

/**
 * How an emulator stage's settings differ from an AWS stage's, each with its reason (applied by `resolveStage`;
 * an explicit setting wins). With `EMULATOR_GAPS` these are every difference between the two: constructs never
 * test `config.emulator` themselves. (The SDK clients of the local tools speak HTTP/1.1 to the emulator:
 * `emulatorClientConfig` in `scripts/emulator.ts`; the functions use HTTP/1.1 keep-alive everywhere.)
 */
export const EMULATOR_STAGE_DEFAULTS = {
  peakEventsPerSecond: {
    value: 500,
    reason: 'an emulator stage carries test traffic: one shard per stream',
  },
  retainData: { value: false, reason: 'an emulator stage is throwaway: its data goes with the emulator' },
  apiServices: {
    value: [EMULATOR_DEFAULT_PRINCIPAL],
    reason: "the emulator's default credentials call the history API as a service",
  },
  apiErasers: { value: [EMULATOR_DEFAULT_PRINCIPAL], reason: "the emulator's default credentials may erase" },
  clientSessionVendors: {
    value: [EMULATOR_DEFAULT_PRINCIPAL],
    reason: "the emulator's default credentials vend client sessions",
  },
} as const satisfies {
  readonly [K in keyof StageConfig]?: { readonly value: StageConfig[K]; readonly reason: string };
};

export type EmulatorGap = keyof typeof EMULATOR_GAPS;

/** Whether a stage provisions a feature the emulator lacks. */
export const includes = (config: StageConfig, feature: EmulatorGap): boolean =>
  !config.omitted.includes(feature);

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** The name rule of a stage (it prefixes stack and resource names): 1-21 characters, `[a-z][a-z0-9-]{0,20}`. */
export const STAGE_NAME = /^[a-z][a-z0-9-]{0,20}$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The dotted path of every leaf of a settings object (`consumer.batchSize`; a list is a leaf). */
type Leaves<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends readonly unknown[]
    ? `${P}${K}`
    : T[K] extends object
      ? Leaves<T[K], `${P}${K}.`>
      : `${P}${K}`;
}[keyof T & string];

/** Every setting's dotted path. */
export type SettingPath = Leaves<Omit<StageConfig, 'stage'>>;

/** A number within [min, max] in `unit`; `integer` unless fractions make sense. */
export interface NumberRule {
  readonly type: 'integer' | 'number';
  readonly min: number;
  readonly max: number;
  /** Shown after the range: `hours`, `MiB`; empty for a count or a percentage. */
  readonly unit: string;
  /** What a valid value is, for the error line: `a percentage`, `a Kinesis retention`. */
  readonly is: string;
}
export interface BooleanRule {
  readonly type: 'boolean';
}
export interface EnumRule {
  readonly type: 'enum';
  readonly values: readonly string[];
}
/** A list of strings, each matching `item` (else `itemProblem`), at most `maxChars` joined with commas. */
export interface ListRule {
  readonly type: 'list';
  readonly item: RegExp | readonly string[];
  /** What a wrong entry is, for the error line: `is not a profile id (…)`. */
  readonly itemProblem: string;
  /** What an entry is, for docs/settings.md. */
  readonly itemDoc: string;
  readonly maxItems: number;
  readonly maxChars?: { readonly chars: number; readonly why: string };
  /** A valid entry (the `i`th; `long`: as long as an entry may be), for the bounds tests. */
  readonly sample: (i: number, long: boolean) => string;
}
export type SettingRule = (NumberRule | BooleanRule | EnumRule | ListRule) & {
  /** What the setting does (the docs/settings.md row). */
  readonly meaning: string;
  /** The documentation of the limit, for a setting a service limits. */
  readonly source?: string;
};

const PERCENT = { type: 'number', min: 0, max: 100, unit: '', is: 'a percentage' } as const;
/** A topic's subscriptions: e-mail addresses and https:// URLs (`fill`/`user` make the samples of the bounds test). */
const subscriptions = (fill: string, user: string, meaning: string) =>
  ({
    type: 'list',
    item: /^(https:\/\/\S+|[^@\s,]+@[^@\s,]+\.[^@\s,]+)$/,
    itemProblem: 'is neither an e-mail address nor an https:// URL',
    itemDoc: 'e-mail addresses and https:// URLs',
    // CloudFormation creates one AWS::SNS::Subscription per entry; SNS allows far more per topic.
    maxItems: 100,
    sample: (i: number, long: boolean) =>
      long ? `https://hooks.example.com/${fill.repeat(200)}/${i}` : `${user}-${i}@example.com`,
    meaning,
  }) as const;

const days = (max: number, is = 'a number of days') =>
  ({ type: 'integer', min: 1, max, unit: 'days', is }) as const;
const MODES = ['provisioned', 'on-demand'] as const;
/**
 * Kinesis shards of a provisioned stream: 0 (sized from the load), or at least 1, at most the default limit of 10,000 shards per stream
 * (UpdateShardCount's TargetShardCount; a raised limit needs this bound raised with it).
 */
const SHARDS = {
  type: 'integer',
  min: 0,
  max: 10_000,
  unit: 'shards',
  is: 'a Kinesis shard count',
  source: 'https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateShardCount.html',
} as const;
/** DynamoDB auto scaling bounds: at least 1 unit; at most the default per-table quota of 40,000 units. */
const CAPACITY = {
  type: 'integer',
  min: 1,
  max: 40_000,
  unit: 'capacity units',
  is: 'a DynamoDB table capacity',
  source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html',
} as const;
const principalSample = (i: number, long: boolean): string =>
  `arn:aws:iam::123456789012:role/${long ? 'r'.repeat(64) : 'svc'}-${i}`;
/** An IAM principal ARN (a role, a user, an account root or an assumed-role session). */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/:-]+$/;

/*
 * The service ranges below are the APIs' documented ones (each row's `source`); the CloudFormation registry
 * schemas cfn-lint checks with agree: AWS::Athena::WorkGroup BytesScannedCutoffPerQuery minimum 10000000,
 * AWS::KinesisFirehose::DeliveryStream BufferingHints (the Iceberg destination's too) IntervalInSeconds 0-900
 * and SizeInMBs 1-128, AWS::Lambda::EventSourceMapping BatchSize 1-10000, MaximumBatchingWindowInSeconds
 * 0-300, MaximumRecordAgeInSeconds -1-604800, MaximumRetryAttempts -1-10000, ParallelizationFactor 1-10.
 * Kinesis refuses a retention under 24 hours (the schema says 1; aws-cdk-lib and DecreaseStreamRetentionPeriod,
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DecreaseStreamRetentionPeriod.html, say 24).
 */

/**
 * Every stage setting's type, range and unit, declared once: the check before synthesis (`checkSettings`),
 * the bounds tests (test/unit/config-bounds.test.ts) and docs/settings.md's table are derived from it. A
 * setting a service limits has the service's documented range, with its source.
 */
export const SETTINGS = {
  emulator: {
    type: 'boolean',
    meaning:
      'synthesize for the embedded local emulator: leaves out exactly the features listed in `EMULATOR_GAPS` (`infra/config.ts`), and implies `retainData=false`',
  },
  'rawStream.mode': {
    type: 'enum',
    values: MODES,
    meaning: 'raw stream capacity mode: `provisioned` (cheapest at steady high volume) or `on-demand`',
  },
  peakEventsPerSecond: {
    type: 'integer',
    min: 1,
    max: 100_000_000,
    unit: 'events/s',
    is: 'a peak load',
    meaning:
      'the load the stage is sized for, impressions per second: shards, table bounds, API throttles and concurrency follow (`infra/sizing.ts`; synthesis warns when a figure passes an account quota) — [scaling](scaling.md)',
  },
  eventBytes: {
    type: 'integer',
    min: 100,
    max: 1_048_576,
    unit: 'bytes',
    is: 'an event size',
    meaning: 'average raw event size, for sizing the streams',
  },
  deviceIngestShare: {
    type: 'number',
    min: 0,
    max: 1,
    unit: '',
    is: 'a share (0–1)',
    meaning:
      "share of events members' devices send through the ingest route (≈ 10 per request), for the API's throttle",
  },
  'rawStream.shards': {
    ...SHARDS,
    meaning: 'raw stream shards when provisioned; 0: sized from `peakEventsPerSecond`',
  },
  'enrichedStream.mode': { type: 'enum', values: MODES, meaning: 'enriched stream capacity mode' },
  'enrichedStream.shards': {
    ...SHARDS,
    meaning: 'enriched stream shards when provisioned; 0: sized from `peakEventsPerSecond`',
  },
  'rejectedStream.mode': { type: 'enum', values: MODES, meaning: 'rejected stream capacity mode' },
  'rejectedStream.shards': {
    ...SHARDS,
    meaning:
      'rejected stream shards when provisioned; 0: sized from `peakEventsPerSecond` at `rejectionRateAlarmPercent`',
  },
  streamRetentionHours: {
    type: 'integer',
    min: 24,
    max: 8760,
    unit: 'hours',
    is: 'a Kinesis retention',
    meaning: 'Kinesis retention of the three streams, hours',
    source: 'https://docs.aws.amazon.com/kinesis/latest/APIReference/API_IncreaseStreamRetentionPeriod.html',
  },
  'consumer.batchSize': {
    type: 'integer',
    min: 1,
    max: 10_000,
    unit: 'records',
    is: 'a Kinesis batch size',
    meaning: 'records per batch of the stream consumers',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html',
  },
  'consumer.maxBatchingWindowSeconds': {
    type: 'integer',
    min: 0,
    max: 300,
    unit: 'seconds',
    is: 'a batching window',
    meaning: 'how long a consumer gathers a batch, seconds',
    source: 'https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html',
  },
  'consumer.parallelizationFactor': {
    type: 'integer',
    min: 1,
    max: 10,
    unit: '',
    is: 'a parallelization factor',
    meaning: 'concurrent batches per shard (per-profile order is kept)',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html',
  },
  'consumer.retryAttempts': {
    type: 'integer',
    min: -1,
    max: 10_000,
    unit: '',
    is: 'a retry count (-1: until the record expires)',
    meaning: 'retries of a failed batch before its records go to the on-failure destination',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html',
  },
  // MaximumRecordAgeInSeconds is -1 (infinite) or 60-604,800 s; in whole hours that is 1-168 (infinite is
  // not offered: a record past the stream's retention is gone anyway, and the on-failure path must run).
  'consumer.maxRecordAgeHours': {
    type: 'integer',
    min: 1,
    max: 168,
    unit: 'hours',
    is: 'a maximum record age',
    meaning: 'a record older than this goes to the on-failure destination instead of being retried',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html',
  },
  historyRetentionDays: {
    ...days(3650, 'a retention'),
    meaning: 'days of history kept per profile (DynamoDB TTL)',
  },
  historyPointInTimeRecovery: {
    type: 'boolean',
    meaning:
      'point-in-time recovery of the history table. Off: the history is rebuilt from the lake (`npm run rebuild-history`), and a restore would bring erased impressions back; the catalog always has it',
  },
  minVisiblePercent: {
    ...PERCENT,
    meaning: 'viewability threshold: visible share of the artwork (`filtered.not-viewable` below it)',
  },
  minVisibleMs: {
    type: 'integer',
    min: 0,
    max: 3_600_000,
    unit: 'ms',
    is: 'a time on screen',
    meaning: 'viewability threshold: time on screen, ms',
  },
  testProfiles: {
    type: 'list',
    item: PROFILE_ID,
    itemProblem: `is not a profile id (${PROFILE_ID_RULE})`,
    itemDoc: 'profile ids',
    maxItems: 100,
    sample: (i, long) => `qa-bot-${i}`.padEnd(long ? 64 : 0, 'x'),
    // Lambda's environment variables total at most 4 KB; the rest of the function's settings need the others.
    maxChars: { chars: 2048, why: "the function's environment holds at most 4 KB in all" },
    meaning: 'deny-listed test or bot profiles (`filtered.test-profile`)',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
  },
  rejectionRateAlarmPercent: {
    ...PERCENT,
    meaning: 'data-quality alarm: rejected records as a percentage of records read',
  },
  lakeBufferSeconds: {
    type: 'integer',
    min: 0,
    max: 900,
    unit: 'seconds',
    is: 'a Firehose buffering interval',
    // IcebergDestinationConfiguration.BufferingHints is a BufferingHints: IntervalInSeconds 0-900.
    meaning: 'Firehose buffering interval into the Iceberg tables, seconds',
    source: 'https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html',
  },
  lakeBufferMiB: {
    type: 'integer',
    min: 1,
    max: 128,
    unit: 'MiB',
    is: 'a Firehose buffering size',
    // IcebergDestinationConfiguration.BufferingHints is a BufferingHints: SizeInMBs 1-128.
    meaning: 'Firehose buffering size into the Iceberg tables, MiB',
    source: 'https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html',
  },
  athenaBytesScannedCutoff: {
    type: 'integer',
    min: 10_000_000,
    max: Number.MAX_SAFE_INTEGER,
    unit: 'bytes',
    is: 'an Athena bytes-scanned cutoff',
    meaning: 'per-query bytes-scanned limit of the Athena workgroup (default 100 GiB)',
    source:
      'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-athena-workgroup-workgroupconfiguration.html',
  },
  erasureBytesScannedCutoff: {
    type: 'integer',
    min: 10_000_000,
    max: Number.MAX_SAFE_INTEGER,
    unit: 'bytes',
    is: 'an Athena bytes-scanned cutoff',
    meaning:
      'per-query bytes-scanned limit of the erasure workgroup, whose statements scan whole tables (default 10 TiB)',
    source:
      'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-athena-workgroup-workgroupconfiguration.html',
  },
  aggregateEnriched: {
    type: 'boolean',
    meaning:
      'filter-enrich writes KPL-aggregated records to the enriched stream (≈ 20× fewer PUT units, fewer Firehose bytes)',
  },
  retainData: {
    type: 'boolean',
    meaning: 'keep streams, tables, bucket and secret when a stack is deleted; `false` for throwaway stages',
  },
  omitted: {
    type: 'list',
    item: Object.keys(EMULATOR_GAPS),
    itemProblem: `is not a feature of EMULATOR_GAPS (${Object.keys(EMULATOR_GAPS).join(', ')})`,
    itemDoc: 'features of `EMULATOR_GAPS`',
    maxItems: Object.keys(EMULATOR_GAPS).length,
    sample: (i) => Object.keys(EMULATOR_GAPS)[i % Object.keys(EMULATOR_GAPS).length]!,
    meaning:
      'features left out of the stage, from `EMULATOR_GAPS` (an `emulator` stage leaves out all of them)',
  },
  'tableCapacity.mode': {
    type: 'enum',
    values: MODES,
    meaning:
      'DynamoDB billing of the history and catalog tables: `provisioned` with target-tracking auto scaling, or `on-demand` (the cost model reads the same setting)',
  },
  'tableCapacity.minWriteCapacity': { ...CAPACITY, meaning: 'auto scaling floor, write capacity units' },
  'tableCapacity.maxWriteCapacity': {
    ...CAPACITY,
    min: 0,
    max: 10_000_000,
    meaning:
      'auto scaling ceiling, write capacity units; 0: sized from `peakEventsPerSecond` (synthesis warns past the per-table quota)',
  },
  'tableCapacity.minReadCapacity': { ...CAPACITY, meaning: 'auto scaling floor, read capacity units' },
  'tableCapacity.maxReadCapacity': {
    ...CAPACITY,
    min: 0,
    max: 10_000_000,
    meaning: 'auto scaling ceiling, read capacity units; 0: sized from `peakEventsPerSecond`',
  },
  'tableCapacity.targetUtilizationPercent': {
    type: 'number',
    min: 20,
    max: 90,
    unit: '',
    is: 'a target utilization percentage',
    meaning: 'target tracking utilization, percent',
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html',
  },
  apiServices: {
    type: 'list',
    item: PRINCIPAL_ARN,
    itemProblem: 'is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>)',
    itemDoc: 'IAM principal ARNs',
    maxItems: 20,
    sample: principalSample,
    // The history API function's environment holds them (Lambda: at most 4 KB of variables in all).
    maxChars: { chars: 1500, why: "the history API function's environment holds at most 4 KB in all" },
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
    meaning:
      'history API: role ARNs (or exact principal ARNs) of services that may read, check and ingest for any profile (emulator: its default credentials) — [security](security.md)',
  },
  apiErasers: {
    type: 'list',
    item: PRINCIPAL_ARN,
    itemProblem: 'is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>)',
    itemDoc: 'IAM principal ARNs',
    maxItems: 20,
    sample: principalSample,
    // The history API function's environment holds them (Lambda: at most 4 KB of variables in all).
    maxChars: { chars: 1500, why: "the history API function's environment holds at most 4 KB in all" },
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
    meaning:
      'history API: role ARNs (or exact principal ARNs) that may erase any profile (emulator: its default credentials)',
  },
  clientSessionVendors: {
    type: 'list',
    item: PRINCIPAL_ARN,
    itemProblem: 'is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>)',
    itemDoc: 'IAM principal ARNs',
    maxItems: 10,
    sample: principalSample,
    // Each appears twice in the client role's trust policy, which IAM limits to 2,048 characters by default.
    maxChars: { chars: 600, why: "the client role's trust policy holds at most 2,048 characters" },
    source: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html',
    meaning:
      'role ARNs that may start client sessions on the client role; empty means the role `<pipeline stack>-client-vendor` of the account (emulator: its default credentials)',
  },
  alarmSubscriptions: subscriptions(
    'a',
    'ops',
    'e-mail addresses and `https://` URLs subscribed to the alarm topic: the page tier (data lost or corrupted) — [deploying](deploy-aws.md)',
  ),
  noticeSubscriptions: subscriptions(
    'n',
    'quality',
    'e-mail addresses and `https://` URLs subscribed to the notice topic: the notice tier (data quality drifts) — [operations](operations.md)',
  ),
  'lakeRetention.snapshotDays': {
    ...days(3650),
    meaning: 'Iceberg snapshots older than this are expired (snapshot-retention optimizer)',
  },
  'lakeRetention.snapshotsToKeep': {
    type: 'integer',
    min: 1,
    max: 1000,
    unit: 'snapshots',
    is: 'a snapshot count',
    meaning: 'snapshots always kept, whatever their age',
  },
  'lakeRetention.orphanFileDays': {
    ...days(3650),
    meaning: 'files no snapshot references are deleted after this age (orphan-file optimizer)',
  },
  'lakeRetention.noncurrentVersionDays': {
    ...days(3650),
    meaning: 'noncurrent object versions in the lake bucket expire after this',
  },
  'lakeRetention.deliveryErrorDays': {
    ...days(3650),
    meaning: 'records Firehose could not deliver (`delivery-errors/`) are kept this long',
  },
  'lakeRetention.queryResultDays': { ...days(3650), meaning: 'Athena query results are kept this long' },
  'lakeRetention.intelligentTieringDays': {
    type: 'integer',
    min: 0,
    max: 3650,
    unit: 'days',
    is: 'a number of days',
    meaning:
      'lake data files move to S3 Intelligent-Tiering this many days after they are written (0: never; a lever of docs/cost.md)',
  },
  tracing: {
    type: 'enum',
    values: TRACING_MODES,
    meaning:
      'X-Ray tracing of the pipeline functions: `active` (sampled traces) or `pass-through` (no traces unless a caller asks; no X-Ray cost) — a lever of docs/cost.md',
  },
  // A Kinesis record holds at most 1 MiB (10 MiB since 2025), so more user records than this in one aggregate
  // means bytes per record a real impression cannot be that small; the bound also caps one record's work.
  maxUserRecordsPerAggregate: {
    type: 'integer',
    min: 1,
    max: 10_000,
    unit: 'user records',
    is: 'a user-record cap',
    meaning:
      'a KPL aggregate holding more user records is rejected whole, as one `decode.aggregate-too-large` row',
  },
  profileBurstPerWindow: {
    type: 'integer',
    min: 1,
    max: 100_000,
    unit: 'impressions',
    is: 'a per-window cap',
    meaning:
      'impressions per profile per 10-second window of event time; past it `quality.profile-burst`. Also the ingest route’s events per profile per 10 s; past it a 429',
  },
  profileBurstPerDay: {
    type: 'integer',
    min: 1,
    max: 1_000_000,
    unit: 'impressions',
    is: 'a per-day cap',
    meaning: 'impressions per profile per UTC day of event time; past it `quality.profile-burst`',
  },
} as const satisfies Record<SettingPath, SettingRule>;

const valueAt = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, k) => (isPlainObject(node) ? node[k] : undefined), o);

/**
 * Every setting, as the dotted path of a leaf of DEFAULT_STAGE (`historyRetentionDays`, `consumer.batchSize`,
 * `rawStream.shards` …) with its default and declaration: the list `-c` overrides, the `stages` block, the
 * bounds tests and docs/settings.md use.
 */
export function settings(): {
  readonly path: SettingPath;
  readonly default: unknown;
  readonly rule: SettingRule;
}[] {
  return (Object.keys(SETTINGS) as SettingPath[]).map((path) => ({
    path,
    default: valueAt(DEFAULT_STAGE, path),
    rule: SETTINGS[path],
  }));
}

/** A settings group (`rawStream`, `consumer` …) and the keys it takes. */
const groupKeys = (group: string): string[] =>
  Object.keys(SETTINGS)
    .filter((p) => p.startsWith(`${group}.`))
    .map((p) => p.slice(group.length + 1));

const orList = (items: readonly string[]): string =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

/** A range for messages and docs: `24–8760 hours`, `0–100`, `at least 10000000 bytes`. */
export function describeRange(rule: SettingRule): string {
  switch (rule.type) {
    case 'boolean':
      return 'true or false';
    case 'enum':
      return orList(rule.values);
    case 'list':
      return `a list of at most ${rule.maxItems} (comma-separated with -c)`;
    default: {
      const unit = rule.unit ? ` ${rule.unit}` : '';
      if (rule.max === Number.MAX_SAFE_INTEGER) return `at least ${rule.min}${unit}`;
      return `${rule.min}–${rule.max}${unit}`;
    }
  }
}

/** How a value given for a setting is shown in an error line: a number or word as given, else as JSON. */
const show = (v: unknown): string =>
  typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
    ? v
    : (JSON.stringify(v) ?? String(v));

/**
 * One value for a setting, from JSON (a `stages` block) or a `-c` string, checked against its declaration:
 * the value, or the problem (one line: the setting, the value given and what is allowed).
 */
export function checkValue(path: SettingPath, v: unknown): { value: unknown } | { problem: string } {
  const rule: SettingRule = SETTINGS[path];
  const problem = (what: string) => ({ problem: `${path}: ${show(v)} ${what}` });
  switch (rule.type) {
    case 'boolean':
      if (v === true || v === 'true') return { value: true };
      if (v === false || v === 'false') return { value: false };
      return problem('is not true or false');
    case 'enum':
      if (typeof v === 'string' && rule.values.includes(v)) return { value: v };
      return problem(`is not ${orList(rule.values)}`);
    case 'list': {
      const list = typeof v === 'string' ? v.split(',').filter(Boolean) : v;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string'))
        return problem(`is not a list of strings (comma-separated with -c)`);
      for (const item of list) {
        const ok = Array.isArray(rule.item) ? rule.item.includes(item) : (rule.item as RegExp).test(item);
        if (!ok) return { problem: `${path}: ${show(item)} ${rule.itemProblem}` };
      }
      if (list.length > rule.maxItems)
        return { problem: `${path}: ${list.length} entries are more than ${rule.maxItems}` };
      const chars = list.join(',').length;
      if (rule.maxChars && chars > rule.maxChars.chars)
        return {
          problem: `${path}: ${chars} characters in all are more than ${rule.maxChars.chars} (${rule.maxChars.why})`,
        };
      return { value: list };
    }
    default: {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      const ok =
        typeof n === 'number' &&
        Number.isFinite(n) &&
        n >= rule.min &&
        n <= rule.max &&
        (rule.type === 'number' || Number.isSafeInteger(n));
      if (!ok)
        return problem(
          `is not ${rule.is} (${rule.type === 'integer' ? 'a whole number, ' : ''}${describeRange(rule)})`,
        );
      return { value: n };
    }
  }
}

/** Every wrong setting of a run, one line each (printed by bin/app.ts as `configuration: <line>`). */
export class ConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigurationError';
  }
}

/**
 * Checks a `stages` block (nested JSON) or `-c` overrides (`{ 'consumer.batchSize': '100' }`) against the
 * declaration: the typed overrides, and one line per problem (an unknown key names the known ones; an object
 * setting given a plain value says which keys it takes; a JSON object given to `-c` for an object setting is
 * read as its keys). `where` prefixes the lines of a source other than `-c`.
 */
export function readOverrides(
  overrides: Record<string, unknown>,
  where: string,
): { overrides: DeepPartial<StageConfig>; problems: string[] } {
  const known = new Set<string>(Object.keys(SETTINGS));
  const groups = new Set([...known].filter((k) => k.includes('.')).map((k) => k.split('.')[0]!));
  const prefix = where === '-c' ? '' : `${where}: `;
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  const put = (path: string, v: unknown) => {
    if (groups.has(path)) {
      problems.push(`${prefix}${path}: set ${orList(groupKeys(path).map((k) => `${path}.${k}`))}`);
      return;
    }
    if (!known.has(path)) {
      const top = [...new Set([...known].map((k) => k.split('.')[0]))];
      problems.push(
        `${where}: unknown setting "${path}" (settings: ${top.join(', ')}; see docs/settings.md)`,
      );
      return;
    }
    const checked = checkValue(path as SettingPath, v);
    if ('problem' in checked) {
      problems.push(`${prefix}${checked.problem}`);
      return;
    }
    const keys = path.split('.');
    let node = out;
    for (const k of keys.slice(0, -1)) {
      node[k] ??= {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = checked.value;
  };
  const walk = (o: Record<string, unknown>, pathPrefix: string) => {
    for (const [k, raw] of Object.entries(o)) {
      const path = `${pathPrefix}${k}`;
      let v = raw;
      // `-c rawStream={"shards":2}`: CDK passes the JSON as a string.
      if (groups.has(path) && typeof v === 'string' && v.trim().startsWith('{')) {
        try {
          v = JSON.parse(v);
        } catch {
          // not JSON: reported below as a plain value
        }
      }
      if (isPlainObject(v) && !known.has(path)) walk(v, `${path}.`);
      else put(path, v);
    }
  };
  walk(overrides, '');
  return { overrides: out as DeepPartial<StageConfig>, problems };
}

/** `readOverrides` for one source alone: throws a ConfigurationError with every problem. */
export function checkOverrides(overrides: Record<string, unknown>, where: string): DeepPartial<StageConfig> {
  const r = readOverrides(overrides, where);
  if (r.problems.length) throw new ConfigurationError(r.problems);
  return r.overrides;
}

/** The checks that relate settings to each other (each setting's own range is in SETTINGS). */
function crossChecks(c: StageConfig): string[] {
  const problems: string[] = [];
  for (const kind of ['Write', 'Read'] as const) {
    const min = c.tableCapacity[`min${kind}Capacity`];
    const max = c.tableCapacity[`max${kind}Capacity`];
    if (max !== 0 && max < min)
      problems.push(
        `tableCapacity.max${kind}Capacity: ${max} is below tableCapacity.min${kind}Capacity (${min}): auto scaling needs min ≤ max`,
      );
  }
  if (c.profileBurstPerDay < c.profileBurstPerWindow)
    problems.push(
      `profileBurstPerDay: ${c.profileBurstPerDay} is below profileBurstPerWindow (${c.profileBurstPerWindow}): a day holds many windows`,
    );
  return problems;
}

/**
 * Merges overrides over the defaults and checks every setting against its declaration, before any construct
 * is built: a ConfigurationError lists every problem, one line each.
 */
export function resolveStage(stage: string, overrides: DeepPartial<StageConfig> = {}): StageConfig {
  const problems: string[] = [];
  if (!STAGE_NAME.test(stage))
    problems.push(
      `stage: "${stage}" must be 1-21 characters: a lowercase letter, then lowercase letters, digits or hyphens`,
    );
  const read = readOverrides(overrides as Record<string, unknown>, '-c');
  problems.push(...read.problems);
  if (problems.length) throw new ConfigurationError(problems);
  const checked = read.overrides;
  const merge = (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...base };
    for (const [k, v] of Object.entries(over))
      out[k] = isPlainObject(v) && isPlainObject(base[k]) ? merge(base[k], v) : v;
    return out;
  };
  const base: StageConfig = {
    ...(merge(
      DEFAULT_STAGE as unknown as Record<string, unknown>,
      checked as Record<string, unknown>,
    ) as Omit<StageConfig, 'stage'>),
    stage,
  };
  // An emulator stage takes EMULATOR_STAGE_DEFAULTS where the overrides leave a setting unset.
  const E = EMULATOR_STAGE_DEFAULTS;
  const merged: StageConfig = base.emulator
    ? {
        ...base,
        peakEventsPerSecond: checked.peakEventsPerSecond ?? E.peakEventsPerSecond.value,
        retainData: checked.retainData ?? E.retainData.value,
        apiServices: checked.apiServices ?? E.apiServices.value,
        apiErasers: checked.apiErasers ?? E.apiErasers.value,
        clientSessionVendors: checked.clientSessionVendors ?? E.clientSessionVendors.value,
      }
    : base;
  const cross = crossChecks(merged);
  if (cross.length) throw new ConfigurationError(cross);
  const omitted = merged.emulator ? (Object.keys(EMULATOR_GAPS) as EmulatorGap[]) : merged.omitted;
  return { ...merged, omitted };
}

/** docs/settings.md's table of every setting (generated: `npx tsx scripts/settings-doc.ts`). */
export function settingsTable(): string {
  const rows = settings().map((s) => {
    const rule = s.rule;
    const range =
      rule.type === 'list'
        ? `list of ≤ ${rule.maxItems} ${rule.itemDoc}${rule.maxChars ? `, ≤ ${rule.maxChars.chars} characters in all` : ''}`
        : rule.type === 'integer'
          ? `whole number, ${describeRange(rule)}`
          : describeRange(rule);
    const source = s.rule.source ? ` ([limit](${s.rule.source}))` : '';
    return [`\`${s.path}\``, `\`${JSON.stringify(s.default)}\``, `${range}${source}`, rule.meaning];
  });
  const header = ['setting', 'default', 'allowed', 'meaning'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}
