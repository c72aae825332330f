/**
 * The history API function's settings, declared once (`HISTORY_API`): the `HistoryApi` construct writes them
 * with `historyApiEnvironment` (a renamed or added setting does not compile until both sides agree); the
 * function reads them once at cold start with `historyApiSettings`, strictly and without defaults (the
 * defaults live in `infra/config.ts`).
 */
import { declareSettings, SETTING, type SettingValues } from '../adapters/env-settings.js';

export const HISTORY_API = declareSettings({
  historyTableName: { env: 'HISTORY_TABLE_NAME', kind: SETTING.name },
  cursorSecretId: { env: 'CURSOR_SECRET_ID', kind: SETTING.name },
  rawStreamName: { env: 'RAW_STREAM_NAME', kind: SETTING.name },
  /** Principals allowed every profile (may be empty). */
  servicePrincipals: { env: 'SERVICE_PRINCIPALS', kind: SETTING.list },
  /** Principals allowed to erase a profile (may be empty). */
  eraserPrincipals: { env: 'ERASER_PRINCIPALS', kind: SETTING.list },
  /** The role client apps assume, each session scoped to one profile. */
  clientRoleArn: { env: 'CLIENT_ROLE_ARN', kind: SETTING.name },
  /** Events per profile per 10-second window the ingest route takes (the burst cap, `quality.profile-burst`). */
  ingestEventsPerWindow: { env: 'INGEST_EVENTS_PER_WINDOW', kind: SETTING.integer() },
  /** Days of history kept (the TTL of an erasure's marker, `filtered.erased`). */
  retentionDays: { env: 'RETENTION_DAYS', kind: SETTING.integer() },
});

/** Every setting, as the construct provides it. */
export type HistoryApiSettingValues = SettingValues<typeof HISTORY_API.declarations>;

/** The environment variable of each setting. */
export const HISTORY_API_ENV = HISTORY_API.env;

/** The function's environment for these settings (used by the construct). */
export const historyApiEnvironment = (v: HistoryApiSettingValues): Record<string, string> =>
  HISTORY_API.environment(v);

/** The settings read from `process.env` at cold start: a missing or malformed one throws, naming it. */
export const historyApiSettings = (): HistoryApiSettingValues => HISTORY_API.read();
