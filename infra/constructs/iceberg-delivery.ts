/**
 * Firehose delivery from a Kinesis stream into a Glue Iceberg table (append-only), with errors to an S3
 * prefix and delivery logs. aws-cdk-lib has no Iceberg destination for its L2 delivery stream, so this is a
 * small construct over the L1 resource.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { LogGroup, LogStream, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { icebergTableWriteAccess } from './glue-access.js';

export interface IcebergDeliveryProps {
  readonly source: IStream;
  readonly bucket: IBucket;
  readonly databaseName: string;
  readonly tableName: string;
  /** @default 300 */
  readonly bufferSeconds?: number;
  /** @default 128 */
  readonly bufferMiB?: number;
}

export class IcebergDelivery extends Construct {
  readonly deliveryStream: CfnDeliveryStream;
  readonly failureAlarm: Alarm;

  constructor(scope: Construct, id: string, props: IcebergDeliveryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('firehose.amazonaws.com') });
    props.source.grantRead(role);
    props.bucket.grantReadWrite(role);
    const catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog' });
    role.addToPolicy(icebergTableWriteAccess(stack, props.databaseName, props.tableName));
    const logGroup = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const logStream = new LogStream(this, 'DeliveryLog', { logGroup, removalPolicy: RemovalPolicy.DESTROY });
    logGroup.grantWrite(role);

    this.deliveryStream = new CfnDeliveryStream(this, 'Resource', {
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: { kinesisStreamArn: props.source.streamArn, roleArn: role.roleArn },
      icebergDestinationConfiguration: {
        roleArn: role.roleArn,
        appendOnly: true,
        catalogConfiguration: { catalogArn },
        destinationTableConfigurationList: [
          { destinationDatabaseName: props.databaseName, destinationTableName: props.tableName },
        ],
        bufferingHints: { intervalInSeconds: props.bufferSeconds ?? 300, sizeInMBs: props.bufferMiB ?? 128 },
        retryOptions: { durationInSeconds: 3600 },
        s3BackupMode: 'FailedDataOnly',
        s3Configuration: {
          bucketArn: props.bucket.bucketArn,
          roleArn: role.roleArn,
          errorOutputPrefix: `delivery-errors/${props.tableName}/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/`,
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
      },
    });
    this.deliveryStream.node.addDependency(role);

    this.failureAlarm = new Alarm(this, 'DeliveryFailureAlarm', {
      alarmDescription: `Firehose delivery to ${props.tableName} is failing (success ratio below 1)`,
      metric: new Metric({
        namespace: 'AWS/Firehose',
        metricName: 'DeliveryToIceberg.Success',
        dimensionsMap: { DeliveryStreamName: this.deliveryStream.ref },
        statistic: 'Minimum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
