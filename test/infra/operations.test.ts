/** Operations: the alarm topic, the stream and function alarms and the dashboard, defaults exercised. */
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { Operations, type OperationsProps } from '../../infra/constructs/operations.js';
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
    failureQueues: [new Queue(s.stack, 'Failures')],
    alarms: [],
    ...extra,
    ...(withStream ? { streams: { Raw: s.stream() } } : {}),
  });
  return s.template();
};

describe('Operations', () => {
  it('by default: an SSL-only topic without subscriptions, no stream alarms, a failure-queue alarm and a dashboard', () => {
    const t = operations();
    t.resourceCountIs('AWS::SNS::Topic', 1);
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
