/** Operations: the alarm topic, the stream and function alarms and the dashboard, defaults exercised. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import {
  NULL_SHARE_ALARM_COLUMNS,
  Operations,
  type OperationsProps,
} from '../../infra/constructs/operations.js';
import { constructStack } from '../support/construct-stack.js';

const operations = (extra: Partial<OperationsProps> = {}, withStream = false) => {
  const s = constructStack();
  const fn = (id: string) =>
    new LambdaFunction(s.stack, id, {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => {}'),
    });
  new Operations(s.stack, 'Ops', {
    filterEnrich: fn('FilterEnrich'),
    historyApi: fn('HistoryApi'),
    failureQueues: { FilterEnrich: new Queue(s.stack, 'Failures') },
    alarms: [],
    ...extra,
    ...(withStream ? { streams: { Raw: s.stream() } } : {}),
  });
  return s.template();
};

describe('Operations', () => {
  it('by default: SSL-only page and notice topics without subscriptions, no stream alarms, a failure-queue alarm and a dashboard', () => {
    const t = operations();
    t.resourceCountIs('AWS::SNS::Topic', 2);
    t.resourceCountIs('AWS::SNS::Subscription', 0);
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.some((a) => a.Properties.MetricName === 'GetRecords.IteratorAgeMilliseconds')).toBe(false);
    expect(alarms.some((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')).toBe(true);
  });

  it('alarms on a stream at half of 24 h retention by default, or of the given retention, and subscribes endpoints', () => {
    const iteratorAge = (hours?: number) =>
      Object.values(
        operations({ streamRetentionHours: hours }, true).findResources('AWS::CloudWatch::Alarm'),
      ).find((a) => a.Properties.MetricName === 'GetRecords.IteratorAgeMilliseconds')?.Properties.Threshold;
    expect(iteratorAge()).toBe(12 * 3600 * 1000);
    expect(iteratorAge(48)).toBe(24 * 3600 * 1000);
    operations({ alarmSubscriptions: ['ops@example.com', 'https://hooks.example.com/x'] }).resourceCountIs(
      'AWS::SNS::Subscription',
      2,
    );
  });
});

/** The deployed pipeline stack's alarms: tier (by the topic each notifies) and, for bands, the metric watched. */
describe('alarm tiers and anomaly-detection bands of the pipeline stack', () => {
  const synthPipeline = (stage: string, overrides: Parameters<typeof resolveStage>[1] = {}) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stacks = buildApp(app, resolveStage(stage, overrides), {
      account: '123456789012',
      region: 'eu-west-1',
    });
    return Template.fromStack(stacks.pipeline);
  };
  const t = synthPipeline('test', {
    alarmSubscriptions: ['oncall@example.com'],
    noticeSubscriptions: ['quality@example.com', 'https://hooks.example.com/quality'],
  });
  const topics = t.findResources('AWS::SNS::Topic');
  const topicOf = (logicalPrefix: string) => {
    const id = Object.keys(topics).find((k) => k.startsWith(logicalPrefix));
    if (!id) throw new Error(`no topic ${logicalPrefix}`);
    return id;
  };
  const PAGE = topicOf('OperationsAlarmTopic');
  const NOTICE = topicOf('OperationsNoticeTopic');
  const alarms = t.findResources('AWS::CloudWatch::Alarm');
  /** logical id (without the hash) → tier, from the alarm's actions. */
  const tierOf = (a: (typeof alarms)[string]): string => {
    const refs = (a.Properties.AlarmActions as { Ref: string }[]).map((r) => r.Ref);
    expect(refs).toHaveLength(1);
    return refs[0] === PAGE ? 'page' : refs[0] === NOTICE ? 'notice' : `unknown ${refs[0]}`;
  };
  const name = (id: string) => id.replace(/[0-9A-F]{8}$/, '');
  const tiers = Object.fromEntries(Object.entries(alarms).map(([id, a]) => [name(id), tierOf(a)]));

  it('two topics, each with its own subscriptions; the page topic keeps its logical id', () => {
    expect(Object.keys(topics)).toHaveLength(2);
    const subs = Object.values(t.findResources('AWS::SNS::Subscription'));
    const on = (topic: string) =>
      subs.filter((s) => s.Properties.TopicArn.Ref === topic).map((s) => s.Properties.Endpoint);
    expect(on(PAGE)).toEqual(['oncall@example.com']);
    expect(on(NOTICE).sort()).toEqual(['https://hooks.example.com/quality', 'quality@example.com']);
  });

  it('every alarm has a tier, said by its topic and the start of its description', () => {
    expect(tiers).toEqual({
      // page: data lost or corrupted
      FilterEnrichIteratorAgeAlarm: 'page',
      HistoryApiServerErrorAlarm: 'page',
      ImpressionsDeliveryFailedRowsAlarm: 'page',
      ImpressionsDeliveryFreshnessAlarm: 'page',
      RejectedDeliveryFailedRowsAlarm: 'page',
      RejectedDeliveryFreshnessAlarm: 'page',
      OperationsRawIteratorAgeAlarm: 'page',
      OperationsRawWriteThrottledAlarm: 'page',
      OperationsEnrichedIteratorAgeAlarm: 'page',
      OperationsEnrichedWriteThrottledAlarm: 'page',
      OperationsRejectedIteratorAgeAlarm: 'page',
      OperationsRejectedWriteThrottledAlarm: 'page',
      OperationsHistoryTableReadThrottledAlarm: 'page',
      OperationsHistoryTableWriteThrottledAlarm: 'page',
      OperationsCatalogTableReadThrottledAlarm: 'page',
      OperationsCatalogTableWriteThrottledAlarm: 'page',
      OperationsFilterEnrichFailureQueueAlarm: 'page',
      OperationsFilterEnrichErrorsAlarm: 'page',
      OperationsFilterEnrichThrottlesAlarm: 'page',
      OperationsHistoryApiErrorsAlarm: 'page',
      OperationsHistoryApiThrottlesAlarm: 'page',
      OperationsRejectionRateAlarm: 'page',
      OperationsRecordsReadBandAlarm: 'page',
      // notice: quality drifts
      HistoryApiLatencyAlarm: 'notice',
      OperationsUnknownTitleShareAlarm: 'notice',
      OperationsLateShareAlarm: 'notice',
      OperationsIngestLagP99Alarm: 'notice',
      OperationsUnsupportedSchemaVersionAlarm: 'notice',
      OperationsEnrichedTvBandAlarm: 'notice',
      OperationsEnrichedMobileBandAlarm: 'notice',
      OperationsEnrichedTabletBandAlarm: 'notice',
      OperationsEnrichedWebBandAlarm: 'notice',
      OperationsEnrichedConsoleBandAlarm: 'notice',
      OperationsRejectionRateBandAlarm: 'notice',
      ...Object.fromEntries(
        NULL_SHARE_ALARM_COLUMNS.map((c) => [
          `OperationsNullShare${c.replace(/(^|_)([a-z])/g, (_, __, x: string) => x.toUpperCase())}Alarm`,
          'notice',
        ]),
      ),
    });
    for (const [id, a] of Object.entries(alarms))
      expect(a.Properties.AlarmDescription, id).toMatch(new RegExp(`^\\[${tierOf(a)}\\] `));
  });

  it('bands: which alarms use ANOMALY_DETECTION_BAND, on which metric, each with its detector', () => {
    const bandMetric = Object.fromEntries(
      Object.entries(alarms)
        .filter(([, a]) => a.Properties.ThresholdMetricId)
        .map(([id, a]) => {
          const queries = a.Properties.Metrics as {
            Id: string;
            Expression?: string;
            MetricStat?: { Metric: { MetricName: string; Dimensions?: { Name: string; Value: string }[] } };
          }[];
          const band = queries.find((q) => q.Id === a.Properties.ThresholdMetricId);
          expect(band?.Expression).toMatch(/^ANOMALY_DETECTION_BAND\(m0, 3\)$/);
          expect(a.Properties.Threshold).toBeUndefined();
          const watched = queries
            .filter((q) => q.MetricStat)
            .map((q) => {
              const m = q.MetricStat!.Metric;
              // Every band watches filter-enrich's metrics by name: `service` is their one dimension.
              expect(m.Dimensions).toEqual([{ Name: 'service', Value: 'filter-enrich' }]);
              return m.MetricName;
            })
            .join(' ');
          return [name(id), `${a.Properties.ComparisonOperator} ${watched}`];
        }),
    );
    const both = 'LessThanLowerOrGreaterThanUpperThreshold';
    const upper = 'GreaterThanUpperThreshold';
    expect(bandMetric).toEqual({
      OperationsRecordsReadBandAlarm: `${both} RecordsRead`,
      OperationsEnrichedTvBandAlarm: `${both} quality.enriched.tv`,
      OperationsEnrichedMobileBandAlarm: `${both} quality.enriched.mobile`,
      OperationsEnrichedTabletBandAlarm: `${both} quality.enriched.tablet`,
      OperationsEnrichedWebBandAlarm: `${both} quality.enriched.web`,
      OperationsEnrichedConsoleBandAlarm: `${both} quality.enriched.console`,
      OperationsRejectionRateBandAlarm: `${upper} RecordsRead Rejected`,
      ...Object.fromEntries(
        NULL_SHARE_ALARM_COLUMNS.map((c) => [
          `OperationsNullShare${c.replace(/(^|_)([a-z])/g, (_, __, x: string) => x.toUpperCase())}Alarm`,
          `${upper} quality.null-share.${c}`,
        ]),
      ),
    });
    // One detector per band, created before its alarm.
    const detectors = t.findResources('AWS::CloudWatch::AnomalyDetector');
    expect(Object.keys(detectors)).toHaveLength(Object.keys(bandMetric).length);
    for (const [id, a] of Object.entries(alarms).filter(([, a]) => a.Properties.ThresholdMetricId))
      expect(
        (a.DependsOn as string[]).some((d) => d in detectors),
        `${id} depends on its detector`,
      ).toBe(true);
  });

  it('an emulator stage has no band (metric math is refused there) but keeps both tiers', () => {
    const local = synthPipeline('local', { emulator: true });
    local.resourceCountIs('AWS::CloudWatch::AnomalyDetector', 0);
    const localAlarms = Object.values(local.findResources('AWS::CloudWatch::Alarm'));
    expect(localAlarms.some((a) => a.Properties.ThresholdMetricId)).toBe(false);
    expect(localAlarms.some((a) => a.Properties.AlarmDescription.startsWith('[notice] '))).toBe(true);
  });
});
