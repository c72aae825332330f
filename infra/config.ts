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
  const merged = {
    ...(merge(
      DEFAULT_STAGE as unknown as Record<string, unknown>,
      checked as Record<string, unknown>,
    ) as Omit<StageConfig, 'stage'>),
    stage,
  };
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
  return { ...merged, omitted };
}
