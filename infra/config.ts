/**
 * Stage configuration: everything that differs between deployments, resolved in `bin/` from CDK context
 * (`-c stage=prod`, `-c emulator=true`, or a `stages` block in cdk.json) and passed down as plain props.
 */
export interface StreamCapacity {
  /** `provisioned` (cheapest at steady high volume) or `on-demand`. @default 'provisioned' */
  readonly mode: 'provisioned' | 'on-demand';
  /** Shards when provisioned. @default 1 */
  readonly shards: number;
}

export interface ConsumerSettings {
  /** @default 500 */
  readonly batchSize: number;
  /** @default 1 */
  readonly maxBatchingWindowSeconds: number;
  /** Concurrent batches per shard; per-partition-key (per-profile) order is kept. @default 2 */
  readonly parallelizationFactor: number;
  /** @default 5 */
  readonly retryAttempts: number;
  /** @default 24 */
  readonly maxRecordAgeHours: number;
}

export interface StageConfig {
  readonly stage: string;
  /**
   * Synthesize for the embedded local emulator: leaves out the resources the emulator cannot provision
   * (see `EMULATOR_GAPS`) and nothing else.
   * @default false
   */
  readonly emulator: boolean;
  readonly rawStream: StreamCapacity;
  readonly enrichedStream: StreamCapacity;
  readonly rejectedStream: StreamCapacity;
  /** Kinesis retention. @default 24 */
  readonly streamRetentionHours: number;
  readonly consumer: ConsumerSettings;
  /** Days of history kept per profile (DynamoDB TTL). @default 30 */
  readonly historyRetentionDays: number;
  /** @default 50 */
  readonly minVisiblePercent: number;
  /** @default 1000 */
  readonly minVisibleMs: number;
  /** Profiles whose traffic is test or bot traffic (`filtered.test-profile`). @default [] */
  readonly testProfiles: readonly string[];
  /** Data-quality alarm: rejected records as a percentage of records read. @default 5 */
  readonly rejectionRateAlarmPercent: number;
  /** Firehose buffering into the lake. @default 300 s / 128 MiB */
  readonly lakeBufferSeconds: number;
  readonly lakeBufferMiB: number;
  /** Athena per-query bytes-scanned cutoff. @default 100 GiB */
  readonly athenaBytesScannedCutoff: number;
  /**
   * filter-enrich writes KPL-aggregated records to the enriched stream (history writer and Firehose
   * de-aggregate them): ≈ 20× fewer PUT units and far fewer Firehose bytes billed. @default true
   */
  readonly aggregateEnriched: boolean;
  /** Keep stateful resources when the stack is deleted. @default true (false for throwaway stages) */
  readonly retainData: boolean;
  /** Features left out of this stage; an `emulator` stage leaves out every `EMULATOR_GAPS` entry. @default [] */
  readonly omitted: readonly EmulatorGap[];
  /** User records per KPL aggregate above which it is rejected whole (`decode.aggregate-too-large`). @default 1000 */
  readonly maxUserRecordsPerAggregate: number;
  /** Impressions per profile per 10-second window of event time (`quality.profile-burst`). @default 1000 */
  readonly profileBurstPerWindow: number;
  /** Impressions per profile per UTC day of event time (`quality.profile-burst`). @default 20000 */
  readonly profileBurstPerDay: number;
}

export const DEFAULT_STAGE: Omit<StageConfig, 'stage'> = {
  emulator: false,
  rawStream: { mode: 'provisioned', shards: 1 },
  enrichedStream: { mode: 'provisioned', shards: 1 },
  rejectedStream: { mode: 'provisioned', shards: 1 },
  streamRetentionHours: 24,
  consumer: {
    batchSize: 500,
    maxBatchingWindowSeconds: 1,
    parallelizationFactor: 2,
    retryAttempts: 5,
    maxRecordAgeHours: 24,
  },
  historyRetentionDays: 30,
  minVisiblePercent: 50,
  minVisibleMs: 1000,
  testProfiles: [],
  rejectionRateAlarmPercent: 5,
  lakeBufferSeconds: 300,
  lakeBufferMiB: 128,
  athenaBytesScannedCutoff: 100 * 1024 ** 3,
  aggregateEnriched: true,
  retainData: true,
  omitted: [],
  maxUserRecordsPerAggregate: 1000,
  profileBurstPerWindow: 1000,
  profileBurstPerDay: 20_000,
};

/**
 * What the embedded emulator (ministack, pinned in `scripts/requirements-emulator.txt`) cannot provision
 * through CloudFormation, each with its reason. An `emulator: true` stage leaves out exactly these.
 */
export const EMULATOR_GAPS = {
  athenaNamedQueries: 'AWS::Athena::NamedQuery has no CloudFormation provisioner in the emulator',
  glueTableOptimizer: 'AWS::Glue::TableOptimizer has no CloudFormation provisioner in the emulator',
  metricMathAlarms:
    'AWS::CloudWatch::Alarm with metric math (the rejection-rate alarm) is refused by the emulator',
} as const;

export type EmulatorGap = keyof typeof EMULATOR_GAPS;

/** Whether a stage provisions a feature the emulator lacks. */
export const includes = (config: StageConfig, feature: EmulatorGap): boolean =>
  !config.omitted.includes(feature);

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Merges context overrides over the defaults; validates what a typo could break. */
export function resolveStage(stage: string, overrides: DeepPartial<StageConfig> = {}): StageConfig {
  if (!/^[a-z][a-z0-9-]{0,20}$/.test(stage))
    throw new Error(`stage "${stage}" must match [a-z][a-z0-9-]{0,20}`);
  const merged: StageConfig = {
    ...DEFAULT_STAGE,
    ...(overrides as Partial<StageConfig>),
    stage,
    rawStream: { ...DEFAULT_STAGE.rawStream, ...overrides.rawStream },
    enrichedStream: { ...DEFAULT_STAGE.enrichedStream, ...overrides.enrichedStream },
    rejectedStream: { ...DEFAULT_STAGE.rejectedStream, ...overrides.rejectedStream },
    consumer: { ...DEFAULT_STAGE.consumer, ...overrides.consumer },
    testProfiles: (overrides.testProfiles as string[] | undefined) ?? DEFAULT_STAGE.testProfiles,
    omitted: overrides.emulator ? (Object.keys(EMULATOR_GAPS) as EmulatorGap[]) : [],
  };
  for (const s of [merged.rawStream, merged.enrichedStream, merged.rejectedStream]) {
    if (!Number.isInteger(s.shards) || s.shards < 1)
      throw new Error('stream shards must be a positive integer');
  }
  if (merged.consumer.parallelizationFactor < 1 || merged.consumer.parallelizationFactor > 10) {
    throw new Error('consumer.parallelizationFactor must be 1-10');
  }
  for (const k of ['maxUserRecordsPerAggregate', 'profileBurstPerWindow', 'profileBurstPerDay'] as const) {
    if (!Number.isSafeInteger(merged[k]) || merged[k] < 1) throw new Error(`${k} must be a positive integer`);
  }
  return merged;
}
