/**
 * Stateful resources: the three streams, the DynamoDB tables, the lake's bucket, database and tables, and
 * the cursor secret. Their logical IDs are pinned by a test: renaming one would replace the resource.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, Capacity, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import {
  HISTORY_TABLE_SCHEMA,
  type KeyAttribute,
  type TableSchema,
} from '../lambdas/history-store/table-schema.js';
import { includes, type StageConfig } from './config.js';
import { LakeStorage } from './constructs/lake-storage.js';
import { nagCursorSecret } from './constructs/nag.js';
import { output } from './contract.js';
import { type StageSizing, type StreamSizing, sizeStage, type TableSizing } from './sizing.js';

export interface StatefulStackProps extends StackProps {
  readonly config: StageConfig;
  /** The capacities to deploy. @default sizeStage(config) */
  readonly sizing?: StageSizing;
}

export class StatefulStack extends Stack {
  readonly rawStream: Stream;
  readonly enrichedStream: Stream;
  readonly rejectedStream: Stream;
  readonly historyTable: TableV2;
  readonly catalogTable: TableV2;
  readonly lake: LakeStorage;
  readonly cursorSecret: Secret;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;
    const sizing = props.sizing ?? sizeStage(config);
    // Kept on delete and on replacement, but removed when their own creation fails (CloudFormation's
    // `RetainExceptOnCreate`): these resources have fixed names, and a retained leftover of a rolled-back first
    // deploy would make its retry fail with AlreadyExists.
    const removalPolicy = config.retainData
      ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
      : RemovalPolicy.DESTROY;

    const stream = (logicalId: string, capacity: StreamSizing) =>
      new Stream(this, logicalId, {
        encryption: StreamEncryption.MANAGED,
        retentionPeriod: Duration.hours(config.streamRetentionHours),
        streamMode: capacity.mode === 'on-demand' ? StreamMode.ON_DEMAND : StreamMode.PROVISIONED,
        ...(capacity.mode === 'provisioned' ? { shardCount: capacity.shards } : {}),
        removalPolicy,
      });
    this.rawStream = stream('RawStream', sizing.rawStream);
    this.enrichedStream = stream('EnrichedStream', sizing.enrichedStream);
    this.rejectedStream = stream('RejectedStream', sizing.rejectedStream);

    const table = (
      logicalId: string,
      capacity: TableSizing,
      pointInTimeRecovery: boolean,
      { partitionKey, sortKey, ttlAttribute }: TableSchema,
    ) =>
      new TableV2(this, logicalId, {
        partitionKey: attribute(partitionKey),
        ...(sortKey ? { sortKey: attribute(sortKey) } : {}),
        billing: tableBilling(capacity),
        encryption: TableEncryptionV2.awsManagedKey(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: pointInTimeRecovery },
        ...(ttlAttribute ? { timeToLiveAttribute: ttlAttribute } : {}),
        removalPolicy,
      });
    // The history store declares its table's keys and TTL: the attribute names its items are written with.
    this.historyTable = table(
      'HistoryTable',
      sizing.historyTable,
      config.historyPointInTimeRecovery,
      HISTORY_TABLE_SCHEMA,
    );
    this.catalogTable = table('TitleCatalogTable', sizing.catalogTable, true, {
      partitionKey: { name: 'titleId', type: 'S' },
    });

    this.lake = new LakeStorage(this, 'Lake', {
      removalPolicy,
      // A throwaway stage on AWS must be able to delete its bucket (EMULATOR_GAPS.lakeAutoDeleteObjects).
      autoDeleteObjects: !config.retainData && includes(config, 'lakeAutoDeleteObjects'),
      athenaDdl: includes(config, 'icebergTableDdl'),
      retention: config.lakeRetention,
    });
    this.cursorSecret = new Secret(this, 'CursorSecret', {
      description: 'HMAC key of the history API pagination cursors',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    nagCursorSecret(this.cursorSecret);

    new CfnOutput(this, output('RawStreamName'), { value: this.rawStream.streamName });
    new CfnOutput(this, output('EnrichedStreamName'), { value: this.enrichedStream.streamName });
    new CfnOutput(this, output('HistoryTableName'), { value: this.historyTable.tableName });
    new CfnOutput(this, output('LakeBucketName'), { value: this.lake.bucket.bucketName });
    new CfnOutput(this, output('GlueDatabaseName'), { value: this.lake.databaseName });
    new CfnOutput(this, output('RejectedStreamName'), { value: this.rejectedStream.streamName });
    new CfnOutput(this, output('TitleCatalogTableName'), { value: this.catalogTable.tableName });
  }
}

// The schema's type codes are DynamoDB's own, which CDK spells as `AttributeType`.
const ATTRIBUTE_TYPE = { S: AttributeType.STRING, N: AttributeType.NUMBER, B: AttributeType.BINARY } as const;
const attribute = (a: KeyAttribute) => ({ name: a.name, type: ATTRIBUTE_TYPE[a.type] });

/** On-demand, or provisioned with target-tracking auto scaling of reads and writes (TableV2 requires autoscaled writes). */
function tableBilling(c: TableSizing): Billing {
  if (c.mode === 'on-demand') return Billing.onDemand();
  const target = c.targetUtilizationPercent;
  return Billing.provisioned({
    readCapacity: Capacity.autoscaled({
      minCapacity: c.minReadCapacity,
      maxCapacity: c.maxReadCapacity,
      targetUtilizationPercent: target,
    }),
    writeCapacity: Capacity.autoscaled({
      minCapacity: c.minWriteCapacity,
      maxCapacity: c.maxWriteCapacity,
      targetUtilizationPercent: target,
    }),
  });
}
