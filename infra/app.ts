/** Builds the app for one stage: the stateful stack, the pipeline stack, and the cdk-nag checks. */
import { Annotations, type App, Aspects, type Environment, Tags } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StageConfig } from './config.js';
import { stackNamesOf } from './contract.js';
import { applySuppressions } from './nag-suppressions.js';
import { PipelineStack } from './pipeline-stack.js';
import { assertRegionSupported } from './regions.js';
import { quotaFindings, sizeStage } from './sizing.js';
import { StatefulStack } from './stateful-stack.js';

export interface ImpressionsApp {
  readonly stateful: StatefulStack;
  readonly pipeline: PipelineStack;
}

export function buildApp(app: App, config: StageConfig, env?: Environment): ImpressionsApp {
  assertRegionSupported(env?.region);
  const names = stackNamesOf(config.stage);
  const sizing = sizeStage(config);
  const stateful = new StatefulStack(app, names.stateful, {
    config,
    sizing,
    env,
    description: 'impressions: stateful',
  });
  const pipeline = new PipelineStack(app, names.pipeline, {
    config,
    env,
    description: 'impressions: pipeline',
    sizing,
    rawStream: stateful.rawStream,
    enrichedStream: stateful.enrichedStream,
    rejectedStream: stateful.rejectedStream,
    historyTable: stateful.historyTable,
    catalogTable: stateful.catalogTable,
    lakeBucket: stateful.lake.bucket,
    glueDatabaseName: stateful.lake.databaseName,
    cursorSecret: stateful.cursorSecret,
  });
  pipeline.addStackDependency(stateful);
  // A figure sized past a default account quota: the deploy would fail or throttle until it is raised.
  for (const f of quotaFindings(sizing, env?.region))
    Annotations.of(f.stack === 'stateful' ? stateful : pipeline).addWarningV2(
      'impressions:account-quota',
      f.message,
    );
  // Not on dashboards: older CloudFormation registry schemas (and cfn-lint's, E3002) have no Tags there, and a
  // dashboard costs nothing to attribute.
  const tagged = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };
  Tags.of(app).add('project', 'impressions', tagged);
  Tags.of(app).add('stage', config.stage, tagged);
  applySuppressions(stateful, pipeline);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return { stateful, pipeline };
}
