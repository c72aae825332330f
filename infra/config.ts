/**
 * Stage configuration: everything that differs between deployments, resolved in `bin/` from CDK context
 * (`-c stage=prod`, `-c emulator=true`, or a `stages` block in cdk.json) and passed down as plain props.
 *
 * Every setting is declared once, in `SETTINGS` below: its type, range, default and meaning. The stage's type
 * (`StageConfig`), its defaults (`DEFAULT_STAGE`), the checks of `-c` overrides and `stages` blocks, the bounds
 * tests and docs/settings.md (`npx tsx scripts/settings-doc.ts`; a test holds it current) are derived from it.
 * An emulator stage's differences are declared once, in `EMULATOR_STAGE_DEFAULTS`.
 */
import { PROFILE_ID, PROFILE_ID_RULE } from '../lambdas/domain/profile-id.js';

export const TRACING_MODES = ['active', 'pass-through'] as const;
export type Tracing = (typeof TRACING_MODES)[number];

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

/** A number within [min, max] in `unit`; `integer` unless fractions make sense. */
export interface NumberRule {
  readonly type: 'integer' | 'number';
  readonly min: number;
  readonly max: number;
  /** Shown after the range: `hours`, `MiB`; empty for a count or a percentage. */
  readonly unit: string;
  /** What a valid value is, for the error line: `a percentage`, `a Kinesis retention`. */
  readonly is: string;
  readonly default: number;
}
export interface BooleanRule {
  readonly type: 'boolean';
  readonly default: boolean;
}
export interface EnumRule {
  readonly type: 'enum';
  readonly values: readonly string[];
  readonly default: string;
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
  readonly default: readonly string[];
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
    default: [],
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
    default: false,
    type: 'boolean',
    meaning:
      'synthesize for the embedded local emulator: leaves out exactly the features listed in `EMULATOR_GAPS` (`infra/config.ts`), and implies `retainData=false`',
  },
  'rawStream.mode': {
    default: 'provisioned',
    type: 'enum',
    values: MODES,
    meaning: 'raw stream capacity mode: `provisioned` (cheapest at steady high volume) or `on-demand`',
  },
  peakEventsPerSecond: {
    default: 5000,
    type: 'integer',
    min: 1,
    max: 100_000_000,
    unit: 'events/s',
    is: 'a peak load',
    meaning:
      'the load the stage is sized for, impressions per second: shards, table bounds, API throttles and concurrency follow (`infra/sizing.ts`; synthesis warns when a figure passes an account quota) — [scaling](scaling.md)',
  },
  eventBytes: {
    default: 1200,
    type: 'integer',
    min: 100,
    max: 1_048_576,
    unit: 'bytes',
    is: 'an event size',
    meaning: 'average raw event size, for sizing the streams',
  },
  deviceIngestShare: {
    default: 1,
    type: 'number',
    min: 0,
    max: 1,
    unit: '',
    is: 'a share (0–1)',
    meaning:
      "share of events members' devices send through the ingest route (≈ 10 per request), for the API's throttle",
  },
  'rawStream.shards': {
    default: 0,
    ...SHARDS,
    meaning: 'raw stream shards when provisioned; 0: sized from `peakEventsPerSecond`',
  },
  'enrichedStream.mode': {
    default: 'provisioned',
    type: 'enum',
    values: MODES,
    meaning: 'enriched stream capacity mode',
  },
  'enrichedStream.shards': {
    default: 0,
    ...SHARDS,
    meaning: 'enriched stream shards when provisioned; 0: sized from `peakEventsPerSecond`',
  },
  'rejectedStream.mode': {
    default: 'provisioned',
    type: 'enum',
    values: MODES,
    meaning: 'rejected stream capacity mode',
  },
  'rejectedStream.shards': {
    default: 0,
    ...SHARDS,
    meaning:
      'rejected stream shards when provisioned; 0: sized from `peakEventsPerSecond` at `rejectionRateAlarmPercent`',
  },
  streamRetentionHours: {
    default: 24,
    type: 'integer',
    min: 24,
    max: 8760,
    unit: 'hours',
    is: 'a Kinesis retention',
    meaning: 'Kinesis retention of the three streams, hours',
    source: 'https://docs.aws.amazon.com/kinesis/latest/APIReference/API_IncreaseStreamRetentionPeriod.html',
  },
  'consumer.batchSize': {
    default: 500,
    type: 'integer',
    min: 1,
    max: 10_000,
    unit: 'records',
    is: 'a Kinesis batch size',
    meaning: 'records per batch of the stream consumers',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html',
  },
  'consumer.maxBatchingWindowSeconds': {
    default: 1,
    type: 'integer',
    min: 0,
    max: 300,
    unit: 'seconds',
    is: 'a batching window',
    meaning: 'how long a consumer gathers a batch, seconds',
    source: 'https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html',
  },
  'consumer.parallelizationFactor': {
    default: 2,
    type: 'integer',
    min: 1,
    max: 10,
    unit: '',
    is: 'a parallelization factor',
    meaning: 'concurrent batches per shard (per-profile order is kept)',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html',
  },
  'consumer.retryAttempts': {
    default: 5,
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
    default: 24,
    type: 'integer',
    min: 1,
    max: 168,
    unit: 'hours',
    is: 'a maximum record age',
    meaning: 'a record older than this goes to the on-failure destination instead of being retried',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html',
  },
  historyRetentionDays: {
    default: 30,
    ...days(3650, 'a retention'),
    meaning: 'days of history kept per profile (DynamoDB TTL)',
  },
  historyPointInTimeRecovery: {
    default: false,
    type: 'boolean',
    meaning:
      'point-in-time recovery of the history table. Off: the history is rebuilt from the lake (`npm run rebuild-history`), and a restore would bring erased impressions back; the catalog always has it',
  },
  minVisiblePercent: {
    default: 50,
    ...PERCENT,
    meaning: 'viewability threshold: visible share of the artwork (`filtered.not-viewable` below it)',
  },
  minVisibleMs: {
    default: 1000,
    type: 'integer',
    min: 0,
    max: 3_600_000,
    unit: 'ms',
    is: 'a time on screen',
    meaning: 'viewability threshold: time on screen, ms',
  },
  testProfiles: {
    default: [],
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
    default: 5,
    ...PERCENT,
    meaning: 'data-quality alarm: rejected records as a percentage of records read',
  },
  lakeBufferSeconds: {
    default: 300,
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
    default: 128,
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
    default: 100 * 1024 ** 3,
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
    default: 10 * 1024 ** 4,
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
    default: true,
    type: 'boolean',
    meaning:
      'filter-enrich writes KPL-aggregated records to the enriched stream (≈ 20× fewer PUT units, fewer Firehose bytes)',
  },
  retainData: {
    default: true,
    type: 'boolean',
    meaning: 'keep streams, tables, bucket and secret when a stack is deleted; `false` for throwaway stages',
  },
  omitted: {
    default: [],
    type: 'list',
    item: Object.keys(EMULATOR_GAPS) as EmulatorGap[],
    itemProblem: `is not a feature of EMULATOR_GAPS (${Object.keys(EMULATOR_GAPS).join(', ')})`,
    itemDoc: 'features of `EMULATOR_GAPS`',
    maxItems: Object.keys(EMULATOR_GAPS).length,
    sample: (i) => Object.keys(EMULATOR_GAPS)[i % Object.keys(EMULATOR_GAPS).length]!,
    meaning:
      'features left out of the stage, from `EMULATOR_GAPS` (an `emulator` stage leaves out all of them)',
  },
  // Provisioned with target-tracking auto scaling costs ≈ 2.4× less per write than on-demand at a steady high
  // volume (a WCU-hour at 70 % use against on-demand write request units, docs/cost.md); on-demand needs no
  // planning and suits small or spiky stages.
  'tableCapacity.mode': {
    default: 'provisioned',
    type: 'enum',
    values: MODES,
    meaning:
      'DynamoDB billing of the history and catalog tables: `provisioned` with target-tracking auto scaling, or `on-demand` (the cost model reads the same setting)',
  },
  'tableCapacity.minWriteCapacity': {
    default: 5,
    ...CAPACITY,
    meaning: 'auto scaling floor, write capacity units',
  },
  'tableCapacity.maxWriteCapacity': {
    default: 0,
    ...CAPACITY,
    min: 0,
    max: 10_000_000,
    meaning:
      'auto scaling ceiling, write capacity units; 0: sized from `peakEventsPerSecond` (synthesis warns past the per-table quota)',
  },
  'tableCapacity.minReadCapacity': {
    default: 5,
    ...CAPACITY,
    meaning: 'auto scaling floor, read capacity units',
  },
  'tableCapacity.maxReadCapacity': {
    default: 0,
    ...CAPACITY,
    min: 0,
    max: 10_000_000,
    meaning: 'auto scaling ceiling, read capacity units; 0: sized from `peakEventsPerSecond`',
  },
  'tableCapacity.targetUtilizationPercent': {
    default: 70,
    type: 'number',
    min: 20,
    max: 90,
    unit: '',
    is: 'a target utilization percentage',
    meaning: 'target tracking utilization, percent',
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html',
  },
  apiServices: {
    default: [],
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
    default: [],
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
    default: [],
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
    default: 7,
    ...days(3650),
    meaning: 'Iceberg snapshots older than this are expired (snapshot-retention optimizer)',
  },
  'lakeRetention.snapshotsToKeep': {
    default: 1,
    type: 'integer',
    min: 1,
    max: 1000,
    unit: 'snapshots',
    is: 'a snapshot count',
    meaning: 'snapshots always kept, whatever their age',
  },
  'lakeRetention.orphanFileDays': {
    default: 3,
    ...days(3650),
    meaning: 'files no snapshot references are deleted after this age (orphan-file optimizer)',
  },
  'lakeRetention.noncurrentVersionDays': {
    default: 7,
    ...days(3650),
    meaning: 'noncurrent object versions in the lake bucket expire after this',
  },
  'lakeRetention.deliveryErrorDays': {
    default: 30,
    ...days(3650),
    meaning: 'records Firehose could not deliver (`delivery-errors/`) are kept this long',
  },
  'lakeRetention.queryResultDays': {
    default: 30,
    ...days(3650),
    meaning: 'Athena query results are kept this long',
  },
  // A lifecycle transition of `warehouse/<table>.iceberg/data/`: S3 then moves objects not read for 30 days to
  // its Infrequent Access tier and after 90 days to Archive Instant Access, with no retrieval fee.
  'lakeRetention.intelligentTieringDays': {
    default: 0,
    type: 'integer',
    min: 0,
    max: 3650,
    unit: 'days',
    is: 'a number of days',
    meaning:
      'lake data files move to S3 Intelligent-Tiering this many days after they are written (0: never; a lever of docs/cost.md)',
  },
  // `active` samples and records traces (X-Ray's default rule: 1 a second and 5 % of the rest, per function) of
  // Lambda's own segments, without subsegments for AWS calls (no X-Ray SDK in the functions: docs/design.md,
  // "Logs, metrics and traces"); `pass-through` records one only when the caller's trace header asks (Kinesis
  // and HTTP API callers never do).
  tracing: {
    default: 'active',
    type: 'enum',
    values: TRACING_MODES,
    meaning:
      'X-Ray tracing of the pipeline functions: `active` (sampled traces) or `pass-through` (no traces unless a caller asks; no X-Ray cost) — a lever of docs/cost.md',
  },
  // A Kinesis record holds at most 1 MiB (10 MiB since 2025), so more user records than this in one aggregate
  // means bytes per record a real impression cannot be that small; the bound also caps one record's work.
  maxUserRecordsPerAggregate: {
    default: 1000,
    type: 'integer',
    min: 1,
    max: 10_000,
    unit: 'user records',
    is: 'a user-record cap',
    meaning:
      'a KPL aggregate holding more user records is rejected whole, as one `decode.aggregate-too-large` row',
  },
  profileBurstPerWindow: {
    default: 1000,
    type: 'integer',
    min: 1,
    max: 100_000,
    unit: 'impressions',
    is: 'a per-window cap',
    meaning:
      'impressions per profile per 10-second window of event time; past it `quality.profile-burst`. Also the ingest route’s events per profile per 10 s; past it a 429',
  },
  profileBurstPerDay: {
    default: 20_000,
    type: 'integer',
    min: 1,
    max: 1_000_000,
    unit: 'impressions',
    is: 'a per-day cap',
    meaning: 'impressions per profile per UTC day of event time; past it `quality.profile-burst`',
  },
} as const satisfies Record<string, SettingRule>;

/** Every setting's dotted path (`historyRetentionDays`, `consumer.batchSize`, `rawStream.shards` …). */
export type SettingPath = keyof typeof SETTINGS;

/** The value a rule allows: a number, a boolean, one of an enum's values, a list of strings (or of its items). */
type ValueOf<R> = R extends NumberRule
  ? number
  : R extends BooleanRule
    ? boolean
    : R extends { readonly type: 'enum'; readonly values: readonly (infer V)[] }
      ? V
      : R extends { readonly type: 'list'; readonly item: readonly (infer V)[] }
        ? readonly V[]
        : readonly string[];
type Head<P> = P extends `${infer H}.${string}` ? H : P;
type Group<S, H extends string> = { [P in keyof S as P extends `${H}.${infer R}` ? R : never]: S[P] };
/** Dotted paths to nested objects: `{ 'consumer.batchSize': number }` → `{ consumer: { batchSize: number } }`. */
type Nest<S> = {
  readonly [K in keyof S & string as Head<K>]: K extends `${infer H}.${string}` ? Nest<Group<S, H>> : S[K];
};
type Values = { [P in SettingPath]: ValueOf<(typeof SETTINGS)[P]> };

/** A stage's settings: `stage`, its name, and every setting of `SETTINGS` (meanings: docs/settings.md). */
export type StageConfig = { readonly stage: string } & Nest<Values>;
export type StreamCapacity = StageConfig['rawStream'];
export type TableCapacity = StageConfig['tableCapacity'];
export type ConsumerSettings = StageConfig['consumer'];
export type LakeRetention = StageConfig['lakeRetention'];

/** The settings whose default their own rule does not allow (an enum's default not among its values …). */
type DefaultNotAllowed = {
  [P in SettingPath]: (typeof SETTINGS)[P]['default'] extends Values[P] ? never : P;
}[SettingPath];
/** Compiles only when every default is one its rule allows (the ranges are checked by the bounds tests). */
export const DEFAULTS_ALLOWED: [DefaultNotAllowed] extends [never]
  ? true
  : `the default of ${DefaultNotAllowed} is not a value its rule allows` = true;

/** Every setting at its default: the stage `resolveStage` starts from. */
export const DEFAULT_STAGE: Omit<StageConfig, 'stage'> = (() => {
  const out: Record<string, unknown> = {};
  for (const [path, rule] of Object.entries(SETTINGS) as [string, SettingRule][])
    putAt(out, path, rule.default);
  return out as Omit<StageConfig, 'stage'>;
})();

/** Sets the leaf at a dotted path of a nested object, making the groups on the way. */
function putAt(o: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = o;
  for (const k of keys.slice(0, -1)) {
    node[k] ??= {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

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
    putAt(out, path, checked.value);
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
