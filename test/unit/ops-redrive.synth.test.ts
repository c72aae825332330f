/** `npm run redrive` runs filter-enrich with the deployed function's settings, read from its synthesized template. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import { FILTER_ENRICH_ENV } from '../../lambdas/filter-enrich/settings.js';
import { filterEnrichEnvironmentOf } from '../../ops/deployed-filter-enrich.js';

describe('the handler the tool runs', () => {
  it('has the deployed function’s settings: literal values from the template, resource names from the outputs', async () => {
    const config = resolveStage('prod', { profileBurstPerWindow: 700, minVisibleMs: 1500 });
    const app = buildApp(new App(), config, { account: '123456789012', region: 'eu-west-1' });
    const template = JSON.stringify(Template.fromStack(app.pipeline).toJSON());
    const outputs = {
      EnrichedStreamName: 'enriched-s',
      RejectedStreamName: 'rejected-s',
      TitleCatalogTableName: 'catalog-t',
      HistoryTableName: 'history-t',
    };
    const env = filterEnrichEnvironmentOf(template, outputs);
    expect(Object.keys(env).sort()).toEqual(Object.values(FILTER_ENRICH_ENV).sort());
    expect(env).toMatchObject({
      ENRICHED_STREAM_NAME: 'enriched-s',
      REJECTED_STREAM_NAME: 'rejected-s',
      CATALOG_TABLE_NAME: 'catalog-t',
      HISTORY_TABLE_NAME: 'history-t',
      PROFILE_BURST_PER_WINDOW: '700',
      MIN_VISIBLE_MS: '1500',
    });
    const { HistoryTableName: _, ...missing } = outputs;
    expect(() => filterEnrichEnvironmentOf(template, missing)).toThrow(/no HistoryTableName output/);
    // Synthesis bundles every function: slow on a shared machine.
  }, 180_000);
});
