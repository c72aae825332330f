/**
 * filter-enrich's settings: the one place that names its environment variables. The stack that deploys the
 * function writes them with `filterEnrichEnvironment` (so a renamed or added setting does not compile until
 * both sides agree) and the function reads them once at cold start with `filterEnrichSettings`, strictly
 * and without defaults (the defaults live in `infra/config.ts`).
 */
import {
  booleanSetting,
  integerSetting,
  listSetting,
  listValue,
  nameSetting,
  numberSetting,
} from '../adapters/env-settings.js';
import { type ClassifierConfig, EVENT_TIME_BOUNDS } from '../domain/classify.js';
import type { AdmitSettings } from '../history-store/index.js';

/** Every setting, as the stack provides it. */
export interface FilterEnrichSettingValues {
  readonly enrichedStreamName: string;
  readonly rejectedStreamName: string;
  readonly catalogTableName: string;
  readonly historyTableName: string;
  readonly retentionDays: number;
  readonly profileBurstPerWindow: number;
  readonly profileBurstPerDay: number;
  readonly maxUserRecordsPerAggregate: number;
  readonly minVisiblePercent: number;
  readonly minVisibleMs: number;
  readonly testProfiles: readonly string[];
  readonly aggregateEnriched: boolean;
}

/** The environment variable of each setting. */
export const FILTER_ENRICH_ENV = {
  enrichedStreamName: 'ENRICHED_STREAM_NAME',
  rejectedStreamName: 'REJECTED_STREAM_NAME',
  catalogTableName: 'CATALOG_TABLE_NAME',
  historyTableName: 'HISTORY_TABLE_NAME',
  retentionDays: 'RETENTION_DAYS',
  profileBurstPerWindow: 'PROFILE_BURST_PER_WINDOW',
  profileBurstPerDay: 'PROFILE_BURST_PER_DAY',
  maxUserRecordsPerAggregate: 'MAX_USER_RECORDS_PER_AGGREGATE',
  minVisiblePercent: 'MIN_VISIBLE_PERCENT',
  minVisibleMs: 'MIN_VISIBLE_MS',
  testProfiles: 'TEST_PROFILES',
  aggregateEnriched: 'AGGREGATE_ENRICHED',
} as const satisfies Record<keyof FilterEnrichSettingValues, string>;

/** The function's environment for these settings (used by the stack). */
export function filterEnrichEnvironment(v: FilterEnrichSettingValues): Record<string, string> {
  const E = FILTER_ENRICH_ENV;
  return {
    [E.enrichedStreamName]: v.enrichedStreamName,
    [E.rejectedStreamName]: v.rejectedStreamName,
    [E.catalogTableName]: v.catalogTableName,
    [E.historyTableName]: v.historyTableName,
    [E.retentionDays]: String(v.retentionDays),
    [E.profileBurstPerWindow]: String(v.profileBurstPerWindow),
    [E.profileBurstPerDay]: String(v.profileBurstPerDay),
    [E.maxUserRecordsPerAggregate]: String(v.maxUserRecordsPerAggregate),
    [E.minVisiblePercent]: String(v.minVisiblePercent),
    [E.minVisibleMs]: String(v.minVisibleMs),
    [E.testProfiles]: listValue(v.testProfiles),
    [E.aggregateEnriched]: String(v.aggregateEnriched),
  };
}

/**
 * The settings read from `process.env` at cold start, in the order declared: a missing or malformed one
 * throws, naming it.
 */
export function filterEnrichSettings() {
  const E = FILTER_ENRICH_ENV;
  return {
    enrichedStreamName: nameSetting(E.enrichedStreamName),
    rejectedStreamName: nameSetting(E.rejectedStreamName),
    catalogTableName: nameSetting(E.catalogTableName),
    historyTableName: nameSetting(E.historyTableName),
    config: {
      minVisiblePercent: numberSetting(E.minVisiblePercent, 0, 100),
      minVisibleMs: integerSetting(E.minVisibleMs, 0),
      testProfiles: new Set(listSetting(E.testProfiles)),
      ...EVENT_TIME_BOUNDS,
    } satisfies ClassifierConfig as ClassifierConfig,
    historySettings: {
      retentionDays: integerSetting(E.retentionDays),
      limits: {
        perWindow: integerSetting(E.profileBurstPerWindow),
        perDay: integerSetting(E.profileBurstPerDay),
      },
    } satisfies AdmitSettings,
    maxUserRecordsPerAggregate: integerSetting(E.maxUserRecordsPerAggregate),
    aggregateEnriched: booleanSetting(E.aggregateEnriched),
  };
}
export type FilterEnrichSettings = ReturnType<typeof filterEnrichSettings>;
