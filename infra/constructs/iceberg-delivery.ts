/**
 * Firehose delivery from a Kinesis stream into a Glue Iceberg table (append-only), with errors to an S3
 * prefix and delivery logs. aws-cdk-lib has no Iceberg destination for its L2 delivery stream, so this is a
 * small construct over the L1 resource. Its role reaches only its own table: the catalog entry and the
 * objects under the table's location and its error prefix.
 *
 * Alarms (Firehose guide, "Monitor metrics" for Iceberg, and "Implement best practices with CloudWatch
 * Alarms"): `DeliveryToIceberg.FailedRowCount` (rows sent to the error prefix instead of the table) and
 * `DeliveryToIceberg.DataFreshness` above the 15-minute buffering limit. `DeliveryToIceberg.Success` is a
 * count of commits, not a ratio, so it is not alarmed on.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { LogGroup, LogStream, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_STAGE } from '../config.js';
import { icebergTableCatalogAccess, lakeObjectAccess } from './glue-access.js';
import { LAKE_PREFIXES } from './lake-storage.js';
import { nagLakePrefixes, nagStreamSourcedDelivery } from './nag.js';

export interface IcebergDeliveryProps {
  readonly source: IStream;
  readonly bucket: IBucket;
  readonly databaseName: string;
  readonly tableName: string;
  /** Firehose buffering interval, seconds. @default the stage default, `DEFAULT_STAGE.lakeBufferSeconds` */
  readonly bufferSeconds?: number;
  /** Firehose buffering size, MiB. @default the stage default, `DEFAULT_STAGE.lakeBufferMiB` */
  readonly bufferMiB?: number;
}

export class IcebergDelivery extends Construct {
  readonly deliveryStream: CfnDeliveryStream;
  readonly failedRowsAlarm: Alarm;
  readonly freshnessAlarm: Alarm;

  constructor(scope: Construct, id: string, props: IcebergDeliveryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('firehose.amazonaws.com') });
    props.source.grantRead(role);
    const catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog' });
    role.addToPolicy(icebergTableCatalogAccess(stack, props.databaseName, props.tableName));
    // The S3 actions of the Firehose guide's Iceberg role policy, on this table's prefixes only.
    const prefixes = [LAKE_PREFIXES.table(props.tableName), LAKE_PREFIXES.deliveryErrors(props.tableName)];
    const objectAccess = lakeObjectAccess(props.bucket, prefixes, [
      's3:AbortMultipartUpload',
      's3:GetObject',
      's3:PutObject',
      's3:DeleteObject',
    ]);
    for (const statement of objectAccess) role.addToPolicy(statement);
    nagLakePrefixes(
      role,
      prefixes,
      "the table's Iceberg files and Firehose's error files, whose keys are not known in advance.",
    );
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
        bufferingHints: {
          intervalInSeconds: props.bufferSeconds ?? DEFAULT_STAGE.lakeBufferSeconds,
          sizeInMBs: props.bufferMiB ?? DEFAULT_STAGE.lakeBufferMiB,
        },
        retryOptions: { durationInSeconds: 3600 },
        s3BackupMode: 'FailedDataOnly',
        s3Configuration: {
          bucketArn: props.bucket.bucketArn,
          roleArn: role.roleArn,
          errorOutputPrefix: `${LAKE_PREFIXES.deliveryErrors(props.tableName)}!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/`,
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
      },
    });
    nagStreamSourcedDelivery(this.deliveryStream);
    this.deliveryStream.node.addDependency(role);

    const metric = (metricName: string, statistic: string) =>
      new Metric({
        namespace: 'AWS/Firehose',
        metricName,
        dimensionsMap: { DeliveryStreamName: this.deliveryStream.ref },
        statistic,
        period: Duration.minutes(5),
      });
    this.failedRowsAlarm = new Alarm(this, 'FailedRowsAlarm', {
      alarmDescription: `Rows for ${props.tableName} went to the error prefix instead of the table`,
      metric: metric('DeliveryToIceberg.FailedRowCount', 'Sum'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.freshnessAlarm = new Alarm(this, 'FreshnessAlarm', {
      alarmDescription: `Records wait more than 15 minutes for delivery to ${props.tableName}`,
      metric: metric('DeliveryToIceberg.DataFreshness', 'Maximum'),
      threshold: FRESHNESS_LIMIT_SECONDS,
      evaluationPeriods: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}

/** Firehose's buffering limit: delivery later than this means records are stuck, not buffered. */
export const FRESHNESS_LIMIT_SECONDS = 900;
