/**
 * The config seam between infra and the functions: each function's environment holds exactly the settings
 * its settings module declares (plus the runtime's own variables), and every stage default reaches it.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { DEFAULT_STAGE, resolveStage } from '../../infra/config.js';
import { FILTER_ENRICH_ENV } from '../../lambdas/filter-enrich/settings.js';
import { HISTORY_API_ENV } from '../../lambdas/history-api/settings.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };
/** Set for every function by the function construct, read by the Node.js runtime and by Powertools. */
const RUNTIME = ['NODE_OPTIONS', 'POWERTOOLS_LOG_LEVEL'];

let functions: { entry: string; env: Record<string, unknown> }[];
beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const t = Template.fromStack(buildApp(app, resolveStage('prod', {}), ENV).pipeline);
  functions = Object.entries(t.findResources('AWS::Lambda::Function')).map(([id, f]) => ({
    entry: id,
    env: f.Properties.Environment?.Variables ?? {},
  }));
});

describe('function settings', () => {
  it.each([
    ['filter-enrich', FILTER_ENRICH_ENV, 'ENRICHED_STREAM_NAME'],
    ['history-api', HISTORY_API_ENV, 'CURSOR_SECRET_ID'],
  ] as const)('the stack sets exactly the names %s declares', (_, declared, marker) => {
    const fns = functions.filter((f) => marker in f.env);
    expect(fns).toHaveLength(1);
    expect(Object.keys(fns[0]!.env).sort()).toEqual([...Object.values(declared), ...RUNTIME].sort());
  });

  it('writes the stage defaults of infra/config.ts into filter-enrich (prod keeps them)', () => {
    const fn = functions.find((f) => 'ENRICHED_STREAM_NAME' in f.env)!;
    expect(fn.env).toMatchObject({
      RETENTION_DAYS: String(DEFAULT_STAGE.historyRetentionDays),
      MIN_VISIBLE_PERCENT: String(DEFAULT_STAGE.minVisiblePercent),
      MIN_VISIBLE_MS: String(DEFAULT_STAGE.minVisibleMs),
      AGGREGATE_ENRICHED: String(DEFAULT_STAGE.aggregateEnriched),
    });
  });
});
