/**
 * A Lambda function consuming a Kinesis stream with the event-source defaults in one place: partial batch
 * responses, bisect on error, bounded retries and record age, an encrypted SQS on-failure destination,
 * a batching window, a parallelization factor, and an iterator-age alarm.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ConsumerSettings } from '../config.js';
import { nagOnFailureQueue } from './nag.js';
import { NodeFunction, type NodeFunctionProps } from './node-function.js';

export interface StreamConsumerProps extends NodeFunctionProps {
  readonly stream: IStream;
  readonly settings: ConsumerSettings;
  /** Alarm when the oldest unprocessed record is older than this. @default 60 seconds */
  readonly iteratorAgeAlarmThreshold?: Duration;
}

export class StreamConsumer extends Construct {
  /** The consuming function. */
  readonly fn: NodeFunction;
  readonly failureQueue: Queue;
  readonly iteratorAgeAlarm: Alarm;

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    this.fn = new NodeFunction(this, 'Handler', props);
    this.failureQueue = new Queue(this, 'OnFailure', {
      encryption: QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    nagOnFailureQueue(this.failureQueue);
    const s = props.settings;
    this.fn.addEventSource(
      new KinesisEventSource(props.stream, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: s.batchSize,
        maxBatchingWindow: Duration.seconds(s.maxBatchingWindowSeconds),
        parallelizationFactor: s.parallelizationFactor,
        bisectBatchOnError: true,
        retryAttempts: s.retryAttempts,
        maxRecordAge: Duration.hours(s.maxRecordAgeHours),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.failureQueue),
      }),
    );
    this.iteratorAgeAlarm = new Alarm(this, 'IteratorAgeAlarm', {
      alarmDescription:
        'Oldest record in the stream waits longer than the threshold: the consumer falls behind',
      metric: this.fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: (props.iteratorAgeAlarmThreshold ?? Duration.seconds(60)).toMilliseconds(),
      evaluationPeriods: 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
