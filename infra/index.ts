/**
 * The construct library: what a CDK app imports from `impressions` to deploy the pipeline.
 * The operator CLI is the package's `impressions` command; the API client is `impressions/client`.
 */
export {
  type ConsumerSettings,
  DEFAULT_STAGE,
  type LakeRetention,
  SETTINGS,
  type StageConfig,
  type StreamCapacity,
  settingsTable,
  type TableCapacity,
} from './config.js';
export { OUTPUT_KEYS, type OutputKey, type StackOutputs, stackNamesOf } from './contract.js';
export {
  ImpressionsPipeline,
  type ImpressionsPipelineProps,
  type SettingValue,
  stageConfigOf,
} from './impressions-pipeline.js';
export { PipelineStack, type PipelineStackProps } from './pipeline-stack.js';
export { type StageSizing, sizeStage } from './sizing.js';
export { StatefulStack, type StatefulStackProps } from './stateful-stack.js';
