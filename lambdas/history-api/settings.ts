/**
 * The history API function's settings: the one place that names its environment variables. The
 * `HistoryApi` construct writes them with `historyApiEnvironment` (a renamed or added setting does not
 * compile until both sides agree); the function reads them once at cold start with `historyApiSettings`,
 * strictly and without defaults (the defaults live in `infra/config.ts`).
 */
import { integerSetting, listSetting, listValue, nameSetting } from '../adapters/env-settings.js';

/** Every setting, as the construct provides it. */
export interface HistoryApiSettingValues {
  readonly historyTableName: string;
  readonly cursorSecretId: string;
  readonly rawStreamName: string;
  /** Principals allowed every profile (may be empty). */
  readonly servicePrincipals: readonly string[];
  /** Principals allowed to erase a profile (may be empty). */
  readonly eraserPrincipals: readonly string[];
  /** The role client apps assume, each session scoped to one profile. */
  readonly clientRoleArn: string;
  /** Events per profile per 10-second window the ingest route takes (the burst cap, `quality.profile-burst`). */
  readonly ingestEventsPerWindow: number;
  /** Days of history kept (the TTL of an erasure's marker, `filtered.erased`). */
  readonly retentionDays: number;
}

/** The environment variable of each setting. */
export const HISTORY_API_ENV = {
  historyTableName: 'HISTORY_TABLE_NAME',
  cursorSecretId: 'CURSOR_SECRET_ID',
  rawStreamName: 'RAW_STREAM_NAME',
  servicePrincipals: 'SERVICE_PRINCIPALS',
  eraserPrincipals: 'ERASER_PRINCIPALS',
  clientRoleArn: 'CLIENT_ROLE_ARN',
  ingestEventsPerWindow: 'INGEST_EVENTS_PER_WINDOW',
  retentionDays: 'RETENTION_DAYS',
} as const satisfies Record<keyof HistoryApiSettingValues, string>;

/** The function's environment for these settings (used by the construct). */
export function historyApiEnvironment(v: HistoryApiSettingValues): Record<string, string> {
  const E = HISTORY_API_ENV;
  return {
    [E.historyTableName]: v.historyTableName,
    [E.cursorSecretId]: v.cursorSecretId,
    [E.rawStreamName]: v.rawStreamName,
    [E.servicePrincipals]: listValue(v.servicePrincipals),
    [E.eraserPrincipals]: listValue(v.eraserPrincipals),
    [E.clientRoleArn]: v.clientRoleArn,
    [E.ingestEventsPerWindow]: String(v.ingestEventsPerWindow),
    [E.retentionDays]: String(v.retentionDays),
  };
}

/** The settings read from `process.env` at cold start: a missing or malformed one throws, naming it. */
export function historyApiSettings(): HistoryApiSettingValues {
  const E = HISTORY_API_ENV;
  return {
    historyTableName: nameSetting(E.historyTableName),
    cursorSecretId: nameSetting(E.cursorSecretId),
    rawStreamName: nameSetting(E.rawStreamName),
    servicePrincipals: listSetting(E.servicePrincipals),
    eraserPrincipals: listSetting(E.eraserPrincipals),
    clientRoleArn: nameSetting(E.clientRoleArn),
    ingestEventsPerWindow: integerSetting(E.ingestEventsPerWindow),
    retentionDays: integerSetting(E.retentionDays),
  };
}
