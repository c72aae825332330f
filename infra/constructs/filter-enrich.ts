/**
 * filter-enrich: the raw stream's one consumer, with its settings and exactly the grants its handler's calls
 * need (test/infra/iam-calls.test.ts checks every call against them).
 */
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import type { Construct } from 'constructs';
import { filterEnrichEnvironment } from '../../lambdas/filter-enrich/settings.js';
import type { StageConfig } from '../config.js';
import { StreamConsumer } from './stream-consumer.js';

export interface FilterEnrichProps {
  readonly rawStream: IStream;
  readonly enrichedStream: IStream;
  readonly rejectedStream: IStream;
  readonly historyTable: ITableV2;
  readonly catalogTable: ITableV2;
  /** The stage's settings the function and its event-source mapping take. */
  readonly config: StageConfig;
}

export class FilterEnrich extends StreamConsumer {
  constructor(scope: Construct, id: string, props: FilterEnrichProps) {
    const { config } = props;
    super(scope, id, {
      entry: 'filter-enrich/handler.ts',
      tracing: config.tracing,
      stream: props.rawStream,
      settings: config.consumer,
      environment: filterEnrichEnvironment({
        enrichedStreamName: props.enrichedStream.streamName,
        rejectedStreamName: props.rejectedStream.streamName,
        catalogTableName: props.catalogTable.tableName,
        historyTableName: props.historyTable.tableName,
        retentionDays: config.historyRetentionDays,
        profileBurstPerWindow: config.profileBurstPerWindow,
        profileBurstPerDay: config.profileBurstPerDay,
        maxUserRecordsPerAggregate: config.maxUserRecordsPerAggregate,
        minVisiblePercent: config.minVisiblePercent,
        minVisibleMs: config.minVisibleMs,
        testProfiles: config.testProfiles,
        aggregateEnriched: config.aggregateEnriched,
      }),
    });
    props.enrichedStream.grantWrite(this.fn);
    props.rejectedStream.grantWrite(this.fn);
    props.catalogTable.grant(this.fn, 'dynamodb:BatchGetItem');
    // The history write is the duplicate detector: conditional updates, and consistent reads near a cap.
    // BatchGetItem: the erasure markers of a batch's profiles (`filtered.erased`), read consistently.
    props.historyTable.grant(this.fn, 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem');
  }
}
