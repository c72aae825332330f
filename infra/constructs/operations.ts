/**
 * Operations view: one dashboard of the pipeline (throughput by outcome and reason, lag, errors, queues,
 * API), the stream alarms, and the data-quality alarm on the rejection rate. The per-resource alarms live
 * with their resources and are passed in to be shown and routed to one topic, which CloudWatch may publish
 * to and which a stage can subscribe e-mail addresses and HTTPS endpoints to.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SubscriptionProtocol, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FILTER_REASONS, REJECT_REASONS } from '../../lambdas/domain/classify.js';
import { METRIC, METRICS_NAMESPACE, rejectReasonMetric } from '../contract.js';

export interface OperationsProps {
  readonly filterEnrich: IFunction;
  readonly historyApi: IFunction;
  readonly failureQueues: readonly IQueue[];
  readonly alarms: readonly Alarm[];
  /** Rejected share of records read above which the data-quality alarm fires; omitted when undefined. */
  readonly rejectionRateAlarmPercent?: number;
  /** Streams alarmed on for write throttling and consumer iterator age. @default none */
  readonly streams?: Readonly<Record<string, IStream>>;
  /** The streams' retention, for the iterator-age threshold (half of it). @default 24 */
  readonly streamRetentionHours?: number;
  /**
   * DynamoDB tables alarmed on for throttled reads and writes (filter-enrich turns throttling into partial
   * batch failures and retries, so no function error reports it). @default none
   */
  readonly tables?: Readonly<Record<string, ITableV2>>;
  /** E-mail addresses and `https://` URLs subscribed to the alarm topic. @default none */
  readonly alarmSubscriptions?: readonly string[];
}

const REJECT_FAMILIES = REJECT_REASONS.map(rejectReasonMetric);

export class Operations extends Construct {
  readonly dashboard: Dashboard;
  readonly topic: Topic;
  readonly rejectionRateAlarm?: Alarm;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const app = (metricName: string, service = 'filter-enrich') =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service },
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
    this.topic = new Topic(this, 'AlarmTopic', { enforceSSL: true });
    // A topic policy replaces the default one, so CloudWatch must be allowed to publish explicitly, limited to
    // this account's alarms (AWS knowledge center, "not authorized to perform: SNS:Publish" for alarms; SNS
    // guide, "Example cases for Amazon SNS access control": aws:SourceAccount / aws:SourceArn).
    const stack = Stack.of(this);
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    for (const endpoint of props.alarmSubscriptions ?? []) {
      this.topic.addSubscription(
        endpoint.startsWith('https://')
          ? new UrlSubscription(endpoint, { protocol: SubscriptionProtocol.HTTPS })
          : new EmailSubscription(endpoint),
      );
    }

    /** An alarm on any occurrence (≥ 1) in each of `periods` consecutive periods; no data is not a breach. */
    const anyOccurrence = (alarmId: string, alarmDescription: string, metric: IMetric, periods: number) =>
      new Alarm(this, alarmId, {
        alarmDescription,
        metric,
        threshold: 1,
        evaluationPeriods: periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });

    const alarms = [...props.alarms];
    // Stream alarms as AWS Solutions Constructs' kinesis-streams-helper sets them by default: iterator age at
    // half the retention (records about to expire unread), and any throttled write.
    const retentionMs = (props.streamRetentionHours ?? 24) * 3600 * 1000;
    for (const [name, stream] of Object.entries(props.streams ?? {})) {
      alarms.push(
        new Alarm(this, `${name}IteratorAgeAlarm`, {
          alarmDescription: `${name}: a consumer is falling behind; records near expiry (half the retention)`,
          metric: stream.metricGetRecordsIteratorAgeMilliseconds({
            statistic: 'Maximum',
            period: Duration.minutes(5),
          }),
          threshold: retentionMs / 2,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
        new Alarm(this, `${name}WriteThrottledAlarm`, {
          alarmDescription: `${name}: writes are throttled (provisioned throughput exceeded)`,
          metric: stream.metricWriteProvisionedThroughputExceeded({
            statistic: 'Average',
            period: Duration.minutes(5),
          }),
          threshold: 0,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    // Any throttled request of a table (DynamoDB's ReadThrottleEvents and WriteThrottleEvents per table, AWS/DynamoDB
    // namespace: DynamoDB developer guide, "DynamoDB Metrics and dimensions").
    for (const [name, table] of Object.entries(props.tables ?? {})) {
      for (const kind of ['Read', 'Write'] as const) {
        alarms.push(
          anyOccurrence(
            `${name}Table${kind}ThrottledAlarm`,
            `${name} table: ${kind.toLowerCase()} requests are throttled (raise its capacity or its auto-scaling bounds)`,
            new Metric({
              namespace: 'AWS/DynamoDB',
              metricName: `${kind}ThrottleEvents`,
              dimensionsMap: { TableName: table.tableName },
              statistic: 'Sum',
              period: Duration.minutes(1),
            }),
            1,
          ),
        );
      }
    }
    for (const [i, q] of props.failureQueues.entries()) {
      alarms.push(
        anyOccurrence(
          `FailureQueueAlarm${i}`,
          'Batches that exhausted their retries wait in an on-failure queue',
          q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
          1,
        ),
      );
    }
    for (const [name, fn] of Object.entries({
      FilterEnrich: props.filterEnrich,
      HistoryApi: props.historyApi,
    })) {
      alarms.push(
        anyOccurrence(
          `${name}ErrorsAlarm`,
          `${name} function errors`,
          fn.metricErrors({ period: Duration.minutes(1) }),
          3,
        ),
        anyOccurrence(
          `${name}ThrottlesAlarm`,
          `${name} function throttles`,
          fn.metricThrottles({ period: Duration.minutes(1) }),
          3,
        ),
      );
    }
    if (props.rejectionRateAlarmPercent !== undefined) {
      this.rejectionRateAlarm = new Alarm(this, 'RejectionRateAlarm', {
        alarmDescription: `Data quality: more than ${props.rejectionRateAlarmPercent}% of records are rejected`,
        metric: new MathExpression({
          expression: 'IF(read > 0, 100 * rejected / read, 0)',
          usingMetrics: { read: app(METRIC.RecordsRead), rejected: app(METRIC.Rejected) },
          period: Duration.minutes(5),
          label: 'rejected %',
        }),
        threshold: props.rejectionRateAlarmPercent,
        evaluationPeriods: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      alarms.push(this.rejectionRateAlarm);
    }
    for (const a of alarms) a.addAlarmAction(new SnsAction(this.topic));

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Records by outcome',
        left: [METRIC.RecordsRead, METRIC.Enriched, METRIC.Filtered, METRIC.Rejected].map((m) => app(m)),
        width: 12,
      }),
      new GraphWidget({ title: 'Filtered by reason', left: FILTER_REASONS.map((m) => app(m)), width: 12 }),
      new GraphWidget({ title: 'Rejected by reason', left: REJECT_FAMILIES.map((m) => app(m)), width: 12 }),
      new GraphWidget({
        title: 'Lag and freshness (ms)',
        left: [
          app(METRIC.IngestLagMaxMs).with({ statistic: 'Maximum' }),
          app(METRIC.FreshnessMaxMs).with({ statistic: 'Maximum' }),
          props.filterEnrich.metric('IteratorAge', { statistic: 'Maximum' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'History writes',
        left: [app(METRIC.HistoryItemsWritten), app(METRIC.BucketWrites)],
        width: 12,
      }),
      new GraphWidget({
        title: 'Errors, throttles and retries',
        left: [
          props.filterEnrich.metricErrors(),
          props.historyApi.metricErrors(),
          app(METRIC.RecordsLeftForRetry),
          app(METRIC.UnknownTitle),
        ],
        width: 12,
      }),
      new AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }),
    );
  }
}
