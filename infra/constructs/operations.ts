/**
 * Operations view: one dashboard of the pipeline (throughput by outcome and reason, lag, errors, queues,
 * API, data quality), the stream alarms, and the data-quality alarms. Every alarm has a severity: **page**
 * (the pipeline loses or corrupts data) or **notice** (quality drifts); each tier has its own topic, which
 * CloudWatch may publish to and which a stage can subscribe e-mail addresses and HTTPS endpoints to. The
 * per-resource alarms live with their resources and are passed in to be shown and routed. Volumes that
 * seasonality makes impossible to threshold (records read, enriched per device type, the rejection rate)
 * are watched by anomaly-detection bands.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  AnomalyDetectionAlarm,
  type CfnAlarm,
  CfnAnomalyDetector,
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
import { DEVICE_TYPES } from '../../lambdas/domain/event-schema.js';
import { OPTIONAL_COLUMNS } from '../../lambdas/domain/quality.js';
import { DEFAULT_STAGE } from '../config.js';
import { METRIC, METRICS_NAMESPACE, QUALITY_METRIC, rejectReasonMetric } from '../contract.js';
import { nagAlarmTopic } from './nag.js';

/** An alarm's tier: `page` (data is lost or corrupted: act now), `notice` (quality drifts: look today). */
export type Severity = 'page' | 'notice';

/**
 * The optional columns whose null share has a notice alarm: the catalog's columns (title name, type, genres,
 * rating) are null exactly when the title is unknown, which the unknown-title alarm watches.
 */
export const NULL_SHARE_ALARM_COLUMNS = OPTIONAL_COLUMNS.filter(
  (c) => !['title_name', 'title_type', 'title_genres', 'maturity_rating'].includes(c),
);

/** Fixed thresholds of the notice alarms on quality drift (each over three 5-minute periods). */
export interface QualityThresholds {
  /** Unknown-title share of accepted records, %. @default 1 */
  readonly unknownTitlePercent: number;
  /** Share of accepted records older than an hour at arrival, %. @default 1 */
  readonly latePercent: number;
  /** Ingest lag p99 of a batch (the 5-minute maximum), ms. @default 300000 */
  readonly ingestLagP99Ms: number;
}

export const DEFAULT_QUALITY_THRESHOLDS: QualityThresholds = {
  unknownTitlePercent: 1,
  latePercent: 1,
  ingestLagP99Ms: 300_000,
};

export interface OperationsProps {
  readonly filterEnrich: IFunction;
  readonly historyApi: IFunction;
  /** The on-failure queue of each stream consumer, by the consumer's construct id (an alarm each). */
  readonly failureQueues: Readonly<Record<string, IQueue>>;
  /** Alarms of the pipeline's resources, paged. */
  readonly alarms: readonly Alarm[];
  /** Alarms of the pipeline's resources, sent to the notice topic. @default none */
  readonly noticeAlarms?: readonly Alarm[];
  /**
   * Anomaly-detection bands (records read, enriched per device type, rejection rate) and the null-share
   * alarms, all alarms on metric math (`ANOMALY_DETECTION_BAND`). @default true
   */
  readonly anomalyDetection?: boolean;
  /** @default DEFAULT_QUALITY_THRESHOLDS */
  readonly qualityThresholds?: Partial<QualityThresholds>;
  /** Rejected share of records read above which the data-quality alarm fires; omitted when undefined. */
  readonly rejectionRateAlarmPercent?: number;
  /** Streams alarmed on for write throttling and consumer iterator age. @default none */
  readonly streams?: Readonly<Record<string, IStream>>;
  /** The streams' retention, for the iterator-age threshold (half of it). @default the stage default, `DEFAULT_STAGE.streamRetentionHours` */
  readonly streamRetentionHours?: number;
  /**
   * DynamoDB tables alarmed on for throttled reads and writes (filter-enrich turns throttling into partial
   * batch failures and retries, so no function error reports it). @default none
   */
  readonly tables?: Readonly<Record<string, ITableV2>>;
  /** E-mail addresses and `https://` URLs subscribed to the alarm (page) topic. @default none */
  readonly alarmSubscriptions?: readonly string[];
  /** E-mail addresses and `https://` URLs subscribed to the notice topic. @default none */
  readonly noticeSubscriptions?: readonly string[];
}

const REJECT_FAMILIES = REJECT_REASONS.map(rejectReasonMetric);

export class Operations extends Construct {
  readonly dashboard: Dashboard;
  /** The page topic (logical id `AlarmTopic`, pinned: a deployed topic keeps its subscriptions). */
  readonly topic: Topic;
  readonly noticeTopic: Topic;
  readonly rejectionRateAlarm?: Alarm;
  /** Every alarm shown on the dashboard, with its tier. */
  readonly severities: ReadonlyMap<Alarm, Severity>;
  /** The anomaly-detection alarms and the metric each watches. */
  readonly bands: readonly { readonly alarm: Alarm; readonly metric: string }[];

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
    // A topic policy replaces the default one, so CloudWatch must be allowed to publish explicitly, limited to
    // this account's alarms (AWS knowledge center, "not authorized to perform: SNS:Publish" for alarms; SNS
    // guide, "Example cases for Amazon SNS access control": aws:SourceAccount / aws:SourceArn).
    const stack = Stack.of(this);
    const alarmTopic = (topicId: string, endpoints: readonly string[]) => {
      const topic = new Topic(this, topicId, { enforceSSL: true });
      nagAlarmTopic(topic);
      topic.addToResourcePolicy(
        new PolicyStatement({
          sid: 'CloudWatchAlarmsPublish',
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
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
      for (const endpoint of endpoints) {
        topic.addSubscription(
          endpoint.startsWith('https://')
            ? new UrlSubscription(endpoint, { protocol: SubscriptionProtocol.HTTPS })
            : new EmailSubscription(endpoint),
        );
      }
      return topic;
    };
    this.topic = alarmTopic('AlarmTopic', props.alarmSubscriptions ?? []);
    this.noticeTopic = alarmTopic('NoticeTopic', props.noticeSubscriptions ?? []);

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
    const notices: Alarm[] = [...(props.noticeAlarms ?? [])];
    // Stream alarms as AWS Solutions Constructs' kinesis-streams-helper sets them by default: iterator age at
    // half the retention (records about to expire unread), and any throttled write.
    const retentionMs = (props.streamRetentionHours ?? DEFAULT_STAGE.streamRetentionHours) * 3600 * 1000;
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
    for (const [name, q] of Object.entries(props.failureQueues)) {
      alarms.push(
        anyOccurrence(
          `${name}FailureQueueAlarm`,
          `${name}: batches that exhausted their retries wait in its on-failure queue (npm run redrive)`,
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

    // Notice tier: quality drift (docs/operations.md, "Data-quality metrics" and the runbook).
    const thresholds = { ...DEFAULT_QUALITY_THRESHOLDS, ...props.qualityThresholds };
    const quality = (metricName: string, statistic: string) =>
      app(metricName).with({ statistic, period: Duration.minutes(5) });
    /** Above `threshold` in each of three consecutive 5-minute periods; no data (no traffic) is not a breach. */
    const above = (alarmId: string, alarmDescription: string, metric: IMetric, threshold: number) =>
      new Alarm(this, alarmId, {
        alarmDescription,
        metric,
        threshold,
        evaluationPeriods: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    notices.push(
      above(
        'UnknownTitleShareAlarm',
        `Data quality: more than ${thresholds.unknownTitlePercent}% of accepted impressions name a title the catalog does not know`,
        quality(QUALITY_METRIC.UnknownTitleShare, 'Average'),
        thresholds.unknownTitlePercent,
      ),
      above(
        'LateShareAlarm',
        `Data quality: more than ${thresholds.latePercent}% of accepted impressions arrive over an hour after their event time`,
        quality(QUALITY_METRIC.LateShare, 'Average'),
        thresholds.latePercent,
      ),
      above(
        'IngestLagP99Alarm',
        `Data quality: a batch's ingest lag p99 is above ${thresholds.ingestLagP99Ms} ms`,
        quality(QUALITY_METRIC.IngestLagP99Ms, 'Maximum'),
        thresholds.ingestLagP99Ms,
      ),
      anyOccurrence(
        'UnsupportedSchemaVersionAlarm',
        'Data quality: events of a schema version this deployment does not register (schema.unsupported-version)',
        app(rejectReasonMetric('schema.unsupported-version')).with({ period: Duration.minutes(5) }),
        1,
      ),
    );

    /** Bands: each alarm has its detector, created first (ThresholdMetricId names the band). */
    const bands: { alarm: Alarm; metric: string }[] = [];
    if (props.anomalyDetection ?? true) {
      const filled = (metric: Metric) =>
        new MathExpression({ expression: 'FILL(m, 0)', usingMetrics: { m: metric }, period: metric.period });
      const detector = (id: string, expression: MathExpression) => {
        const queries: CfnAnomalyDetector.MetricDataQueryProperty[] = [
          { id: 'm0', expression: expression.expression, returnData: true },
          ...Object.entries(expression.usingMetrics).map(([mid, m]) => {
            const c = m.toMetricConfig().metricStat!;
            return {
              id: mid,
              returnData: false,
              metricStat: {
                metric: {
                  namespace: c.namespace,
                  metricName: c.metricName,
                  dimensions: c.dimensions?.map((d) => ({ name: d.name, value: String(d.value) })),
                },
                period: c.period.toSeconds(),
                stat: c.statistic,
              },
            };
          }),
        ];
        return new CfnAnomalyDetector(this, `${id}Detector`, {
          metricMathAnomalyDetector: { metricDataQueries: queries },
        });
      };
      const band = (
        id: string,
        alarmDescription: string,
        expression: MathExpression,
        comparisonOperator: ComparisonOperator,
        metric: string,
      ) => {
        const alarm = new AnomalyDetectionAlarm(this, id, {
          alarmDescription,
          metric: expression,
          stdDevs: 3,
          evaluationPeriods: 3,
          comparisonOperator,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        });
        alarm.node.addDependency(detector(id, expression));
        bands.push({ alarm, metric });
        return alarm;
      };
      alarms.push(
        band(
          'RecordsReadBandAlarm',
          'Volume: records read by filter-enrich left their anomaly-detection band (producers stopped or flood)',
          filled(app(METRIC.RecordsRead).with({ period: Duration.minutes(5) })),
          ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD,
          METRIC.RecordsRead,
        ),
      );
      for (const deviceType of DEVICE_TYPES) {
        notices.push(
          band(
            `Enriched${deviceType[0]!.toUpperCase()}${deviceType.slice(1)}BandAlarm`,
            `Volume: ${deviceType} impressions accepted left their anomaly-detection band`,
            filled(
              app(QUALITY_METRIC.enrichedByDevice(deviceType)).with({
                statistic: 'Sum',
                period: Duration.minutes(5),
              }),
            ),
            ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD,
            QUALITY_METRIC.enrichedByDevice(deviceType),
          ),
        );
      }
      notices.push(
        band(
          'RejectionRateBandAlarm',
          'Data quality: the rejection rate rose above its anomaly-detection band',
          new MathExpression({
            expression: 'IF(read > 0, 100 * rejected / read, 0)',
            usingMetrics: { read: app(METRIC.RecordsRead), rejected: app(METRIC.Rejected) },
            period: Duration.minutes(5),
          }),
          ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
          `${METRIC.Rejected}/${METRIC.RecordsRead}`,
        ),
      );
      for (const column of NULL_SHARE_ALARM_COLUMNS) {
        notices.push(
          band(
            `NullShare${column.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase())}Alarm`,
            `Data quality: the share of accepted impressions without ${column} rose above its anomaly-detection band`,
            new MathExpression({
              expression: 'FILL(m, 0)',
              usingMetrics: { m: quality(QUALITY_METRIC.nullShare(column), 'Average') },
              period: Duration.minutes(5),
            }),
            ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
            QUALITY_METRIC.nullShare(column),
          ),
        );
      }
    }
    this.bands = bands;

    const severities = new Map<Alarm, Severity>();
    for (const [list, severity, topic] of [
      [alarms, 'page', this.topic],
      [notices, 'notice', this.noticeTopic],
    ] as const) {
      for (const a of list) {
        severities.set(a, severity);
        a.addAlarmAction(new SnsAction(topic));
        // The tier leads the description, so that every message (e-mail subject, webhook) says it.
        const cfn = a.node.defaultChild as CfnAlarm;
        cfn.alarmDescription = `[${severity}] ${cfn.alarmDescription ?? a.node.id}`;
      }
    }
    this.severities = severities;

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
      new GraphWidget({
        title: 'Null share of optional columns (%)',
        left: OPTIONAL_COLUMNS.map((c) => quality(QUALITY_METRIC.nullShare(c), 'Average')),
        width: 12,
      }),
      new GraphWidget({
        title: 'Unknown titles, late events (%); ingest lag p50/p99 (ms)',
        left: [
          quality(QUALITY_METRIC.UnknownTitleShare, 'Average'),
          quality(QUALITY_METRIC.LateShare, 'Average'),
        ],
        right: [
          quality(QUALITY_METRIC.IngestLagP50Ms, 'Average'),
          quality(QUALITY_METRIC.IngestLagP99Ms, 'Maximum'),
        ],
        width: 12,
      }),
      new AlarmStatusWidget({ title: 'Alarms (page)', alarms, width: 24 }),
      new AlarmStatusWidget({ title: 'Alarms (notice)', alarms: notices, width: 24 }),
    );
  }
}
