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

/**
 * DynamoDB capacity of the stage's tables. `provisioned` with target-tracking auto scaling costs ≈ 2.4× less per
 * write than on-demand at a steady high volume (a WCU-hour at 70 % use against on-demand write request units,
 * docs/cost.md); `on-demand` needs no planning and suits small or spiky stages.
 */
export interface TableCapacity {
  /** @default 'provisioned' */
  readonly mode: 'provisioned' | 'on-demand';
  /** Auto scaling bounds of each table (provisioned only). @default 5 */
  readonly minWriteCapacity: number;
  /** @default 40000 (the default per-table quota; docs/cost.md sizes what 1.5 M events/s needs) */
  readonly maxWriteCapacity: number;
  /** @default 5 */
  readonly minReadCapacity: number;
  /** @default 40000 */
  readonly maxReadCapacity: number;
  /** Target use of the provisioned capacity; the rest is headroom for bursts. @default 70 */
  readonly targetUtilizationPercent: number;
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
  /**
   * Point-in-time recovery of the history table. Off by default: the history is derived data, rebuilt from
   * the lake (`npm run rebuild-history`, docs/operations.md), and a restore would bring back impressions
   * erased since (for up to the 35 days PITR keeps). The title catalog always has it.
   * @default false
   */
  readonly historyPointInTimeRecovery: boolean;
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
  /** Billing of the DynamoDB tables (the cost model reads the same setting). */
  readonly tableCapacity: TableCapacity;
  /**
   * History API: role ARNs of services that may read, check and ingest for any profile.
   * @default [] (an emulator stage: the emulator's default credentials)
   */
  readonly apiServices: readonly string[];
  /** History API: role ARNs that may erase any profile. @default [] (emulator: its default credentials) */
  readonly apiErasers: readonly string[];
  /**
   * Role ARNs that may start client sessions on the client role (a token-vending backend); empty means the
   * role `<pipeline stack name>-client-vendor` of the account.
   * @default [] (emulator: its default credentials)
   */
  readonly clientSessionVendors: readonly string[];
  /**
   * Endpoints subscribed to the alarm topic: e-mail addresses and `https://` URLs (each must confirm the
   * subscription SNS sends it). @default []
   */
  readonly alarmSubscriptions: readonly string[];
  /** How long the lake keeps snapshots, orphan files, old object versions, delivery errors and query results. */
  readonly lakeRetention: LakeRetention;
}

/** Lake retention (Glue snapshot-retention and orphan-file optimizers, S3 lifecycle rules). */
export interface LakeRetention {
  /** Snapshots older than this are expired (the time-travel window). @default 7 */
  readonly snapshotDays: number;
  /** Snapshots always kept, whatever their age. @default 1 */
  readonly snapshotsToKeep: number;
  /** Files no snapshot references are deleted after this age. @default 3 */
  readonly orphanFileDays: number;
  /** Noncurrent versions of objects in the (versioned) bucket expire after this. @default 7 */
  readonly noncurrentVersionDays: number;
  /** Records Firehose could not deliver (`delivery-errors/`) are kept this long. @default 30 */
  readonly deliveryErrorDays: number;
  /** Athena query results are kept this long. @default 30 */
  readonly queryResultDays: number;
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
  historyPointInTimeRecovery: false,
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
  tableCapacity: {
    mode: 'provisioned',
    minWriteCapacity: 5,
    maxWriteCapacity: 40_000,
    minReadCapacity: 5,
    maxReadCapacity: 40_000,
    targetUtilizationPercent: 70,
  },
  apiServices: [],
  apiErasers: [],
  clientSessionVendors: [],
  alarmSubscriptions: [],
  lakeRetention: {
    snapshotDays: 7,
    snapshotsToKeep: 1,
    orphanFileDays: 3,
    noncurrentVersionDays: 7,
    deliveryErrorDays: 30,
    queryResultDays: 30,
  },
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
    'AWS::CloudWatch::Alarm with metric math (the rejection-rate alarm) is refused by the emulator',
  icebergTableDdl:
    "the emulator's Athena refuses Iceberg DDL (NOT_SUPPORTED), so the Iceberg tables are registered with " +
    'AWS::Glue::Table (location and columns) and the local delivery writes their first Iceberg metadata',
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

/**
 * Every setting, as the dotted path of a leaf of DEFAULT_STAGE (`historyRetentionDays`, `consumer.batchSize`,
 * `rawStream.shards` …) with its default: the list `-c` overrides, the `stages` block and docs/settings.md use.
 * Derived from the defaults, so a setting added there is covered everywhere.
 */
export function settings(): { readonly path: string; readonly default: unknown }[] {
  const out: { path: string; default: unknown }[] = [];
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (isPlainObject(v)) walk(v, `${prefix}${k}.`);
      else out.push({ path: `${prefix}${k}`, default: v });
    }
  };
  walk(DEFAULT_STAGE as unknown as Record<string, unknown>, '');
  return out;
}

/** A value for a setting, from JSON (a `stages` block) or a `-c` string, checked against the default's type. */
function coerce(path: string, dflt: unknown, v: unknown): unknown {
  const bad = (what: string) => new Error(`setting ${path}: expected ${what}, got ${JSON.stringify(v)}`);
  if (Array.isArray(dflt)) {
    const list = typeof v === 'string' ? v.split(',').filter(Boolean) : v;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string'))
      throw bad('a list of strings (comma-separated with -c)');
    return list;
  }
  switch (typeof dflt) {
    case 'number': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad('a number');
      return n;
    }
    case 'boolean':
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false') return false;
      throw bad('true or false');
    default:
      if (typeof v !== 'string') throw bad('a string');
      return v;
  }
}

/**
 * Checks a `stages` block (nested JSON) or `-c` overrides (`{ 'consumer.batchSize': '100' }`) against the
 * settings: an unknown key is an error naming the known ones, a value of the wrong type is an error.
 */
export function checkOverrides(overrides: Record<string, unknown>, where: string): DeepPartial<StageConfig> {
  const known = new Map(settings().map((s) => [s.path, s.default]));
  const out: Record<string, unknown> = {};
  const put = (path: string, v: unknown) => {
    if (!known.has(path)) {
      const groups = [...new Set([...known.keys()].map((k) => k.split('.')[0]))];
      throw new Error(
        `${where}: unknown setting "${path}" (settings: ${groups.join(', ')}; see docs/settings.md)`,
      );
    }
    const keys = path.split('.');
    let node = out;
    for (const k of keys.slice(0, -1)) {
      node[k] ??= {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = coerce(path, known.get(path), v);
  };
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const path = `${prefix}${k}`;
      if (isPlainObject(v) && !known.has(path)) walk(v, `${path}.`);
      else put(path, v);
    }
  };
  walk(overrides, '');
  return out as DeepPartial<StageConfig>;
}

const STREAM_MODES: readonly StreamCapacity['mode'][] = ['provisioned', 'on-demand'];

/** Merges overrides over the defaults; refuses unknown settings and validates what a typo could break. */
export function resolveStage(stage: string, overrides: DeepPartial<StageConfig> = {}): StageConfig {
  if (!STAGE_NAME.test(stage))
    throw new Error(
      `stage "${stage}" must be 1-21 characters: a lowercase letter, then lowercase letters, digits or hyphens`,
    );
  const checked = checkOverrides(overrides as Record<string, unknown>, `stage ${stage}`);
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
        retainData: checked.retainData ?? E.retainData.value,
        apiServices: checked.apiServices ?? E.apiServices.value,
        apiErasers: checked.apiErasers ?? E.apiErasers.value,
        clientSessionVendors: checked.clientSessionVendors ?? E.clientSessionVendors.value,
      }
    : base;
  validateTableCapacity(merged.tableCapacity);
  for (const endpoint of merged.alarmSubscriptions) {
    if (!/^https:\/\/\S+$/.test(endpoint) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(endpoint))
      throw new Error(`alarmSubscriptions: "${endpoint}" is neither an e-mail address nor an https:// URL`);
  }
  for (const [key, days] of Object.entries(merged.lakeRetention)) {
    if (!Number.isInteger(days) || days < 1)
      throw new Error(`lakeRetention.${key} must be a positive integer`);
  }
  const omitted = merged.emulator ? (Object.keys(EMULATOR_GAPS) as EmulatorGap[]) : merged.omitted;
  for (const o of omitted)
    if (!(o in EMULATOR_GAPS))
      throw new Error(`omitted: unknown feature "${o}" (${Object.keys(EMULATOR_GAPS).join(', ')})`);
  for (const [name, s] of [
    ['rawStream', merged.rawStream],
    ['enrichedStream', merged.enrichedStream],
    ['rejectedStream', merged.rejectedStream],
  ] as const) {
    if (!Number.isInteger(s.shards) || s.shards < 1)
      throw new Error(`${name}.shards must be a positive integer`);
    if (!STREAM_MODES.includes(s.mode)) throw new Error(`${name}.mode must be provisioned or on-demand`);
  }
  if (merged.consumer.parallelizationFactor < 1 || merged.consumer.parallelizationFactor > 10) {
    throw new Error('consumer.parallelizationFactor must be 1-10');
  }
  for (const k of ['maxUserRecordsPerAggregate', 'profileBurstPerWindow', 'profileBurstPerDay'] as const) {
    if (!Number.isSafeInteger(merged[k]) || merged[k] < 1) throw new Error(`${k} must be a positive integer`);
  }
  return { ...merged, omitted };
}

function validateTableCapacity(c: TableCapacity): void {
  if (c.mode !== 'provisioned' && c.mode !== 'on-demand')
    throw new Error('tableCapacity.mode must be provisioned or on-demand');
  for (const [name, min, max] of [
    ['Write', c.minWriteCapacity, c.maxWriteCapacity],
    ['Read', c.minReadCapacity, c.maxReadCapacity],
  ] as const) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min)
      throw new Error(
        `tableCapacity: min${name}Capacity and max${name}Capacity must be integers, 1 ≤ min ≤ max`,
      );
  }
  // Application Auto Scaling target tracking accepts 20-90 % for DynamoDB.
  if (!(c.targetUtilizationPercent >= 20 && c.targetUtilizationPercent <= 90))
    throw new Error('tableCapacity.targetUtilizationPercent must be 20-90');
}
