/**
 * The whole pipeline as one construct a CDK app composes: the stateful stack (streams, tables, lake) and the
 * stateless one (functions, API, deliveries, operations), sized from one load figure, checked by cdk-nag.
 *
 *   const app = new App();
 *   new ImpressionsPipeline(app, 'Impressions', {
 *     stage: 'prod',
 *     env: { account: '123456789012', region: 'eu-west-1' },
 *     peakEventsPerSecond: 50_000,
 *     historyRetention: Duration.days(14),
 *     alarmEmails: ['oncall@example.com'],
 *     settings: { 'consumer.batchSize': 500 },
 *   });
 */
import {
  Annotations,
  Aspects,
  type Duration,
  type Environment,
  RemovalPolicy,
  Tags,
  Token,
} from 'aws-cdk-lib';
import { Tracing } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { ConfigurationError, readOverrides, resolveStage, type StageConfig } from './config.js';
import { stackNamesOf } from './contract.js';
import { PipelineStack } from './pipeline-stack.js';
import { assertRegionSupported } from './regions.js';
import { quotaFindings, sizeStage } from './sizing.js';
import { StatefulStack } from './stateful-stack.js';

/** A setting's value as docs/settings.md declares it. */
export type SettingValue = string | number | boolean | readonly string[];

export interface ImpressionsPipelineProps {
  /**
   * The stage: the stacks are `Impressions-<stage>-Stateful` and `Impressions-<stage>-Pipeline`, and every
   * resource name that must be unique in an account carries it. 1-21 characters: a lowercase letter, then
   * lowercase letters, digits or hyphens.
   * @default 'dev'
   */
  readonly stage?: string;
  /**
   * The account and region of both stacks.
   * @default - environment-agnostic: the account and region `cdk deploy` runs with
   */
  readonly env?: Environment;
  /**
   * The peak impressions per second the stage is sized for: shards, table capacity and auto-scaling bounds,
   * API throttles, function concurrency (docs/scaling.md "Sizing"). Synthesis warns when a figure passes a
   * default account quota.
   * @default - the stage default, `DEFAULT_STAGE.peakEventsPerSecond` (docs/settings.md)
   */
  readonly peakEventsPerSecond?: number;
  /**
   * How long the history table keeps an impression (whole days, 1 to 3650).
   * @default - the stage default, `DEFAULT_STAGE.historyRetentionDays` days (docs/settings.md)
   */
  readonly historyRetention?: Duration;
  /**
   * What happens to the stateful resources (streams, tables, lake bucket, Glue database) when they leave the
   * app or the stack is deleted: `RETAIN` keeps them and their data, `DESTROY` deletes them.
   * @default - the stage default: `RETAIN` while `DEFAULT_STAGE.retainData` holds (docs/settings.md)
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * X-Ray tracing of the pipeline's functions: `Tracing.ACTIVE` or `Tracing.PASS_THROUGH` (no X-Ray cost).
   * @default - the stage default, `DEFAULT_STAGE.tracing` (docs/settings.md)
   */
  readonly tracing?: Tracing;
  /**
   * Email addresses (or `https://` endpoints) paged by the alarms that mean data is lost or corrupted.
   * @default - none: the alarm topic has no subscription
   */
  readonly alarmEmails?: readonly string[];
  /**
   * Role ARNs of the services that may call the history API.
   * @default - none
   */
  readonly apiServices?: readonly string[];
  /**
   * Every other setting of docs/settings.md, by its name, e.g. `{ 'consumer.batchSize': 500,
   * 'rawStream.mode': 'on-demand' }`. Checked like `-c name=value`: an unknown name or a value out of its
   * range fails synthesis with one line per problem.
   * @default - the defaults of docs/settings.md
   */
  readonly settings?: Readonly<Record<string, SettingValue>>;
  /**
   * Check both stacks with cdk-nag's AWS Solutions rules (the suppressions of this project are applied at the
   * resources that need them either way).
   * @default true
   */
  readonly nagChecks?: boolean;
}

/** The stage configuration the props give, checked against every setting's declaration. */
export function stageConfigOf(props: ImpressionsPipelineProps): StageConfig {
  const flat: Record<string, unknown> = { ...props.settings };
  const typed: [string, unknown][] = [
    ['peakEventsPerSecond', props.peakEventsPerSecond],
    ['historyRetentionDays', props.historyRetention?.toDays()],
    [
      'retainData',
      props.removalPolicy === undefined ? undefined : props.removalPolicy !== RemovalPolicy.DESTROY,
    ],
    [
      'tracing',
      props.tracing === undefined ? undefined : props.tracing === Tracing.ACTIVE ? 'active' : 'pass-through',
    ],
    ['alarmSubscriptions', props.alarmEmails],
    ['apiServices', props.apiServices],
  ];
  const problems: string[] = [];
  for (const [name, value] of typed) {
    if (value === undefined) continue;
    if (name in flat) problems.push(`${name}: given both as a prop and in settings`);
    flat[name] = value;
  }
  if (
    props.tracing !== undefined &&
    props.tracing !== Tracing.ACTIVE &&
    props.tracing !== Tracing.PASS_THROUGH
  )
    problems.push(`tracing: ${props.tracing} is not supported (Tracing.ACTIVE or Tracing.PASS_THROUGH)`);
  const read = readOverrides(flat, 'settings');
  problems.push(...read.problems);
  if (problems.length) throw new ConfigurationError(problems);
  return resolveStage(props.stage ?? 'dev', read.overrides);
}

/** The pipeline: its two stacks, in the scope's app or stage. */
export class ImpressionsPipeline extends Construct {
  /** Streams, tables, lake bucket, Glue database and tables, cursor secret. */
  readonly stateful: StatefulStack;
  /** Functions, history API, Firehose deliveries, optimizers, Athena, dashboard, alarms. */
  readonly pipeline: PipelineStack;
  /** The settings the stage was built with (defaults applied). */
  readonly config: StageConfig;

  /** The pipeline for a stage configuration already resolved (this repository's app and tests). */
  static fromConfig(
    scope: Construct,
    id: string,
    config: StageConfig,
    options: { readonly env?: Environment; readonly nagChecks?: boolean } = {},
  ): ImpressionsPipeline {
    return new ImpressionsPipeline(scope, id, { env: options.env, nagChecks: options.nagChecks }, config);
  }

  constructor(scope: Construct, id: string, props: ImpressionsPipelineProps = {}, resolved?: StageConfig) {
    super(scope, id);
    const config = resolved ?? stageConfigOf(props);
    this.config = config;
    const env = props.env;
    assertRegionSupported(env?.region && !Token.isUnresolved(env.region) ? env.region : undefined);
    const names = stackNamesOf(config.stage);
    const sizing = sizeStage(config);
    this.stateful = new StatefulStack(this, names.stateful, {
      config,
      sizing,
      env,
      stackName: names.stateful,
      description: 'impressions: stateful',
    });
    this.pipeline = new PipelineStack(this, names.pipeline, {
      config,
      env,
      stackName: names.pipeline,
      description: 'impressions: pipeline',
      sizing,
      rawStream: this.stateful.rawStream,
      enrichedStream: this.stateful.enrichedStream,
      rejectedStream: this.stateful.rejectedStream,
      historyTable: this.stateful.historyTable,
      catalogTable: this.stateful.catalogTable,
      lakeBucket: this.stateful.lake.bucket,
      glueDatabaseName: this.stateful.lake.databaseName,
      cursorSecret: this.stateful.cursorSecret,
    });
    this.pipeline.addStackDependency(this.stateful);
    // A figure sized past a default account quota: the deploy would fail or throttle until it is raised.
    for (const f of quotaFindings(sizing, env?.region))
      Annotations.of(f.stack === 'stateful' ? this.stateful : this.pipeline).addWarningV2(
        'impressions:account-quota',
        f.message,
      );
    // Not on dashboards: older CloudFormation registry schemas (and cfn-lint's, E3002) have no Tags there, and
    // a dashboard costs nothing to attribute.
    const tagged = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };
    Tags.of(this).add('project', 'impressions', tagged);
    Tags.of(this).add('stage', config.stage, tagged);
    if (props.nagChecks !== false) Aspects.of(this).add(new AwsSolutionsChecks({ verbose: true }));
  }
}
