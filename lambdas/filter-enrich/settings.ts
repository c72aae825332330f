/**
 * filter-enrich's settings, declared once (`FILTER_ENRICH`): the stack that deploys the function writes them
 * with `filterEnrichEnvironment` (so a renamed or added setting does not compile until both sides agree) and
 * the function reads them once at cold start with `filterEnrichSettings`, strictly and without defaults (the
 * defaults live in `infra/config.ts`). The operator tools read the deployed function's settings with the same
 * `filterEnrichSettings`, on the environment its template declares (`ops/deployed-filter-enrich.ts`).
 */
import { declareSettings, type Environment, SETTING, type SettingValues } from '../adapters/env-settings.js';
import { type ClassifierConfig, EVENT_TIME_BOUNDS } from '../domain/classify.js';
import type { AdmitSettings } from '../history-store/index.js';

export const FILTER_ENRICH = declareSettings({
  enrichedStreamName: { env: 'ENRICHED_STREAM_NAME', kind: SETTING.name },
  rejectedStreamName: { env: 'REJECTED_STREAM_NAME', kind: SETTING.name },
  catalogTableName: { env: 'CATALOG_TABLE_NAME', kind: SETTING.name },
  historyTableName: { env: 'HISTORY_TABLE_NAME', kind: SETTING.name },
  retentionDays: { env: 'RETENTION_DAYS', kind: SETTING.integer() },
  profileBurstPerWindow: { env: 'PROFILE_BURST_PER_WINDOW', kind: SETTING.integer() },
  profileBurstPerDay: { env: 'PROFILE_BURST_PER_DAY', kind: SETTING.integer() },
  maxUserRecordsPerAggregate: { env: 'MAX_USER_RECORDS_PER_AGGREGATE', kind: SETTING.integer() },
  minVisiblePercent: { env: 'MIN_VISIBLE_PERCENT', kind: SETTING.number(0, 100) },
  minVisibleMs: { env: 'MIN_VISIBLE_MS', kind: SETTING.integer(0) },
  testProfiles: { env: 'TEST_PROFILES', kind: SETTING.list },
  aggregateEnriched: { env: 'AGGREGATE_ENRICHED', kind: SETTING.boolean },
});

/** Every setting, as the stack provides it. */
export type FilterEnrichSettingValues = SettingValues<typeof FILTER_ENRICH.declarations>;

/** The environment variable of each setting. */
export const FILTER_ENRICH_ENV = FILTER_ENRICH.env;

/** The function's environment for these settings (used by the stack). */
export const filterEnrichEnvironment = (v: FilterEnrichSettingValues): Record<string, string> =>
  FILTER_ENRICH.environment(v);

/**
 * The settings read from an environment (`process.env` at cold start), in the order declared (a missing or
 * malformed one throws, naming it), in the shapes the handler's parts take. Pure on an explicit `env`.
 */
export function filterEnrichSettings(env: Environment = process.env) {
  const v = FILTER_ENRICH.read(env);
  return {
    enrichedStreamName: v.enrichedStreamName,
    rejectedStreamName: v.rejectedStreamName,
    catalogTableName: v.catalogTableName,
    historyTableName: v.historyTableName,
    config: {
      minVisiblePercent: v.minVisiblePercent,
      minVisibleMs: v.minVisibleMs,
      testProfiles: new Set(v.testProfiles),
      ...EVENT_TIME_BOUNDS,
    } satisfies ClassifierConfig as ClassifierConfig,
    historySettings: {
      retentionDays: v.retentionDays,
      limits: { perWindow: v.profileBurstPerWindow, perDay: v.profileBurstPerDay },
    } satisfies AdmitSettings,
    maxUserRecordsPerAggregate: v.maxUserRecordsPerAggregate,
    aggregateEnriched: v.aggregateEnriched,
  };
}
export type FilterEnrichSettings = ReturnType<typeof filterEnrichSettings>;
