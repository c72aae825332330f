/** StreamConsumer: the event-source defaults of every Kinesis consumer, exercised one by one. */
import { Duration } from 'aws-cdk-lib';
import { describe, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { StreamConsumer } from '../../infra/constructs/stream-consumer.js';
import { constructStack } from '../support/construct-stack.js';

const consumer = (extra: { iteratorAgeAlarmThreshold?: Duration } = {}) => {
  const s = constructStack();
  new StreamConsumer(s.stack, 'Consumer', {
    entry: 'filter-enrich/handler.ts',
    stream: s.stream(),
    settings: DEFAULT_STAGE.consumer,
    ...extra,
  });
  return s.template();
};

describe('StreamConsumer', () => {
  it('maps the consumer settings, reports partial batches, bisects and sends what it gives up on to an encrypted queue', () => {
    const t = consumer();
    const c = DEFAULT_STAGE.consumer;
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: c.batchSize,
      MaximumBatchingWindowInSeconds: c.maxBatchingWindowSeconds,
      ParallelizationFactor: c.parallelizationFactor,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: c.retryAttempts,
      MaximumRecordAgeInSeconds: c.maxRecordAgeHours * 3600,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    t.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: 'alias/aws/sqs',
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('alarms on an iterator age over 60 s by default, or the given threshold', () => {
    consumer().hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Threshold: 60_000,
      EvaluationPeriods: 5,
      TreatMissingData: 'notBreaching',
    });
    consumer({ iteratorAgeAlarmThreshold: Duration.minutes(5) }).hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'IteratorAge', Threshold: 300_000 },
    );
  });
});
