/** Builds this repository's app for one stage: the pipeline construct with a resolved stage configuration. */
import type { App, Environment } from 'aws-cdk-lib';
import type { StageConfig } from './config.js';
import { ImpressionsPipeline } from './impressions-pipeline.js';
import type { PipelineStack } from './pipeline-stack.js';
import type { StatefulStack } from './stateful-stack.js';

export interface ImpressionsApp {
  readonly stateful: StatefulStack;
  readonly pipeline: PipelineStack;
}

/** The construct id of the pipeline in this repository's app (its stacks are named by the stage). */
export const PIPELINE_ID = 'Impressions';

export function buildApp(app: App, config: StageConfig, env?: Environment): ImpressionsApp {
  const { stateful, pipeline } = ImpressionsPipeline.fromConfig(app, PIPELINE_ID, config, { env });
  return { stateful, pipeline };
}
