/** The operations tools read the deployed history settings from the pipeline stack's template, synthesized here. */
import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { App } from 'aws-cdk-lib';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import { deployedHistorySettings } from '../../ops/history-write.js';

describe('the deployed history settings', () => {
  it('are read from the filter-enrich function of the synthesized pipeline stack, as the function reads them', async () => {
    const stacks = buildApp(
      new App(),
      resolveStage('test', {
        historyRetentionDays: 45,
        profileBurstPerWindow: 700,
        profileBurstPerDay: 9000,
      }),
      { account: '123456789012', region: 'eu-west-1' },
    );
    const template = JSON.stringify(
      App.of(stacks.pipeline)!.synth().getStackArtifact(stacks.pipeline.artifactId).template,
    );
    const cfn = new CloudFormationClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    const mock = mockClient(cfn);
    mock
      .on(GetTemplateCommand, { StackName: stacks.pipeline.stackName })
      .resolves({ TemplateBody: template });
    // The names are references in the template: the tool takes them from the stack outputs.
    const outputs = {
      EnrichedStreamName: 'enriched',
      RejectedStreamName: 'rejected',
      TitleCatalogTableName: 'catalog',
      HistoryTableName: 'history',
    };
    expect(await deployedHistorySettings(cfn, stacks.pipeline.stackName, outputs)).toEqual({
      retentionDays: 45,
      limits: { perWindow: 700, perDay: 9000 },
    });
    // A template without the function (another stack, an older version) is an error that says so.
    mock.on(GetTemplateCommand).resolves({ TemplateBody: '{"Resources":{}}' });
    await expect(deployedHistorySettings(cfn, 'Other', outputs)).rejects.toThrow(
      /0 functions with filter-enrich's settings/,
    );
  }, 120_000); // synthesis bundles every function: slow on a loaded machine
});
