import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../lambdas/history-api/handler.js';
import {
  HISTORY_API_ENV,
  historyApiEnvironment,
  historyApiSettings,
} from '../../lambdas/history-api/settings.js';

const VALUES = {
  historyTableName: 'h',
  cursorSecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cursor',
  rawStreamName: 'raw',
  servicePrincipals: ['arn:aws:iam::123456789012:role/Pages'],
  eraserPrincipals: [],
  clientRoleArn: 'arn:aws:iam::123456789012:role/Client',
  ingestEventsPerWindow: 1000,
  retentionDays: 30,
};
const settingsOf = (env: Record<string, string | undefined>) => {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  return historyApiSettings();
};

describe('history API settings', () => {
  afterEach(() => vi.unstubAllEnvs());
  it('reads back what the construct writes', () => {
    expect(settingsOf(historyApiEnvironment(VALUES))).toEqual(VALUES);
  });
  it('has no defaults of its own: every declared setting is required and named when missing', () => {
    for (const name of Object.values(HISTORY_API_ENV))
      expect(() => settingsOf({ ...historyApiEnvironment(VALUES), [name]: undefined }), name).toThrow(
        new RegExp(name),
      );
    expect(() => settingsOf({ ...historyApiEnvironment(VALUES), RAW_STREAM_NAME: '' })).toThrow(
      /RAW_STREAM_NAME/,
    );
  });
  it('fails the cold start of the deployed handler, naming the missing setting', () => {
    for (const name of Object.values(HISTORY_API_ENV)) vi.stubEnv(name, undefined);
    expect(() => handler({} as never, {} as never)).toThrow(/HISTORY_TABLE_NAME/);
  });
});
