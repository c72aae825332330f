/**
 * The deployed filter-enrich's settings, as the operator tools read them: its environment in the pipeline
 * stack's template (`GetTemplate`), the resource names from the stack outputs, read by the function's own
 * settings reader on that environment (never through `process.env`). Hand-written templates here; the
 * synthesized one is in ops-redrive.synth.test.ts and ops-cli.synth.test.ts.
 */
import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  FILTER_ENRICH_ENV,
  type FilterEnrichSettingValues,
  filterEnrichEnvironment,
} from '../../lambdas/filter-enrich/settings.js';
import { deployedFilterEnrichSettings, filterEnrichEnvironmentOf } from '../../ops/deployed-filter-enrich.js';

const VALUES: FilterEnrichSettingValues = {
  enrichedStreamName: 'unused',
  rejectedStreamName: 'unused',
  catalogTableName: 'unused',
  historyTableName: 'unused',
  retentionDays: 45,
  profileBurstPerWindow: 700,
  profileBurstPerDay: 9000,
  maxUserRecordsPerAggregate: 1000,
  minVisiblePercent: 50,
  minVisibleMs: 1500,
  testProfiles: ['bot-1', 'bot-2'],
  aggregateEnriched: true,
};

const OUTPUTS = {
  EnrichedStreamName: 'enriched-s',
  RejectedStreamName: 'rejected-s',
  TitleCatalogTableName: 'catalog-t',
  HistoryTableName: 'history-t',
};

/** The function's variables as a stack writes them: the resource names as references, the rest literal. */
function variables(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...filterEnrichEnvironment(VALUES),
    [FILTER_ENRICH_ENV.enrichedStreamName]: { Ref: 'Enriched' },
    [FILTER_ENRICH_ENV.rejectedStreamName]: { Ref: 'Rejected' },
    [FILTER_ENRICH_ENV.catalogTableName]: { Ref: 'Catalog' },
    [FILTER_ENRICH_ENV.historyTableName]: { 'Fn::ImportValue': 'History' },
    POWERTOOLS_SERVICE_NAME: 'filter-enrich',
    ...over,
  };
}

const lambda = (vars: Record<string, unknown>) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Environment: { Variables: vars } },
});

/** A template with filter-enrich, another function and a resource that is not a function. */
const template = (vars = variables(), extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    Resources: {
      FilterEnrich: lambda(vars),
      HistoryApi: lambda({ HISTORY_TABLE_NAME: { Ref: 'History' } }),
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      ...extra,
    },
  });

describe('the environment of the deployed function', () => {
  it('takes literal values from the template and resource names from the outputs', () => {
    const env = filterEnrichEnvironmentOf(template(), OUTPUTS);
    expect(Object.keys(env).sort()).toEqual(Object.values(FILTER_ENRICH_ENV).sort());
    expect(env).toMatchObject({
      ENRICHED_STREAM_NAME: 'enriched-s',
      HISTORY_TABLE_NAME: 'history-t',
      RETENTION_DAYS: '45',
      TEST_PROFILES: 'bot-1,bot-2',
      AGGREGATE_ENRICHED: 'true',
    });
    // Only the function's settings: none of its other variables.
    expect(env).not.toHaveProperty('POWERTOOLS_SERVICE_NAME');
  });

  it.each([
    ['a body that is not JSON', 'Resources: {}', /the template of the pipeline stack is not JSON/],
    ['JSON that is not a template', 'null', /has no Resources/],
    ['a template whose Resources is not an object', '{"Resources":[]}', /has no Resources/],
    [
      'a template without the function',
      JSON.stringify({ Resources: { Queue: { Type: 'AWS::SQS::Queue' }, Broken: null } }),
      /0 functions with filter-enrich's settings, not 1/,
    ],
    [
      'a template with two such functions',
      template(variables(), { Twin: lambda(variables()) }),
      /2 functions with filter-enrich's settings, not 1/,
    ],
    [
      'a setting held as a reference',
      template(variables({ RETENTION_DAYS: { Ref: 'Retention' } })),
      /RETENTION_DAYS is \{"Ref":"Retention"\} in the template, not a value/,
    ],
    [
      'a setting missing from the function',
      template(variables({ MIN_VISIBLE_MS: undefined })),
      /MIN_VISIBLE_MS is undefined in the template, not a value/,
    ],
  ])('refuses %s, saying what is wrong', (_, body, error) => {
    expect(() => filterEnrichEnvironmentOf(body, OUTPUTS)).toThrow(error);
  });

  it('refuses a deployment without the output of a resource name, naming it', () => {
    const { TitleCatalogTableName: _, ...missing } = OUTPUTS;
    expect(() => filterEnrichEnvironmentOf(template(), missing)).toThrow(
      /no TitleCatalogTableName output \(for CATALOG_TABLE_NAME\)/,
    );
  });
});

describe('the settings of the deployed function', () => {
  const cfn = new CloudFormationClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const mock = mockClient(cfn);
  afterEach(() => {
    mock.reset();
    vi.unstubAllEnvs();
  });
  afterAll(() => mock.restore());

  it('are what the function’s own reader makes of that environment, whatever this process’s environment holds', async () => {
    mock
      .on(GetTemplateCommand, { StackName: 'Pipeline', TemplateStage: 'Original' })
      .resolves({ TemplateBody: template() });
    vi.stubEnv('HISTORY_TABLE_NAME', 'this-process');
    vi.stubEnv('RETENTION_DAYS', '7');
    const s = await deployedFilterEnrichSettings(cfn, 'Pipeline', OUTPUTS);
    expect(s).toMatchObject({
      enrichedStreamName: 'enriched-s',
      rejectedStreamName: 'rejected-s',
      catalogTableName: 'catalog-t',
      historyTableName: 'history-t',
      historySettings: { retentionDays: 45, limits: { perWindow: 700, perDay: 9000 } },
      maxUserRecordsPerAggregate: 1000,
      aggregateEnriched: true,
    });
    expect(s.config).toMatchObject({ minVisiblePercent: 50, minVisibleMs: 1500 });
    expect([...s.config.testProfiles]).toEqual(['bot-1', 'bot-2']);
    // Read, not swapped in: the process's environment is as it was, and gained none of the function's.
    expect(process.env.HISTORY_TABLE_NAME).toBe('this-process');
    expect(process.env.RETENTION_DAYS).toBe('7');
    expect(process.env.PROFILE_BURST_PER_DAY).toBeUndefined();
  });

  it('refuse a malformed value with the function’s own error, and a stack without a template', async () => {
    mock
      .on(GetTemplateCommand)
      .resolves({ TemplateBody: template(variables({ PROFILE_BURST_PER_DAY: '1e3' })) });
    await expect(deployedFilterEnrichSettings(cfn, 'Pipeline', OUTPUTS)).rejects.toThrow(
      'Environment variable PROFILE_BURST_PER_DAY must be an integer ≥ 1, got "1e3"',
    );
    mock
      .on(GetTemplateCommand)
      .resolves({ TemplateBody: template(variables({ AGGREGATE_ENRICHED: 'yes' })) });
    await expect(deployedFilterEnrichSettings(cfn, 'Pipeline', OUTPUTS)).rejects.toThrow(
      'Environment variable AGGREGATE_ENRICHED must be a boolean',
    );
    mock.on(GetTemplateCommand).resolves({});
    await expect(deployedFilterEnrichSettings(cfn, 'Pipeline', OUTPUTS)).rejects.toThrow(
      'CloudFormation returned no template for Pipeline',
    );
  });
});
