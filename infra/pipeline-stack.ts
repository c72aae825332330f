/**
 * Stateless resources: the three functions and their stream wiring, the history API, lake delivery and
 * optimizers, the Athena workgroup and the operations dashboard. Composes constructs only.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { IMPRESSIONS_TABLE, REJECTED_TABLE } from '../lambdas/domain/lake-schema.js';
import { includes, type StageConfig } from './config.js';
import { Analytics } from './constructs/analytics.js';
import { FilterEnrich } from './constructs/filter-enrich.js';
import { HistoryApi } from './constructs/history-api.js';
import { IcebergDelivery } from './constructs/iceberg-delivery.js';
import { Operations } from './constructs/operations.js';
import { QualitySchedule } from './constructs/quality-schedule.js';
import { TableOptimizer } from './constructs/table-optimizer.js';
import { output } from './contract.js';
import { LAKE_QUERIES } from './lake-queries.js';
import { type StageSizing, sizeStage } from './sizing.js';

export interface PipelineStackProps extends StackProps {
  readonly config: StageConfig;
  readonly rawStream: IStream;
  readonly enrichedStream: IStream;
  readonly rejectedStream: IStream;
  readonly historyTable: ITableV2;
  readonly catalogTable: ITableV2;
  readonly lakeBucket: IBucket;
  readonly glueDatabaseName: string;
  readonly cursorSecret: ISecret;
  /** The capacities to deploy. @default sizeStage(config) */
  readonly sizing?: StageSizing;
}

export class PipelineStack extends Stack {
  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const sizing = props.sizing ?? sizeStage(config);

    const filterEnrich = new FilterEnrich(this, 'FilterEnrich', {
      rawStream: props.rawStream,
      enrichedStream: props.enrichedStream,
      rejectedStream: props.rejectedStream,
      historyTable: props.historyTable,
      catalogTable: props.catalogTable,
      config,
    });

    const api = new HistoryApi(this, 'HistoryApi', {
      table: props.historyTable,
      tracing: config.tracing,
      cursorSecret: props.cursorSecret,
      rawStream: props.rawStream,
      servicePrincipals: config.apiServices,
      eraserPrincipals: config.apiErasers,
      ingestEventsPerWindow: config.profileBurstPerWindow,
      retentionDays: config.historyRetentionDays,
      clientSessionVendors: config.clientSessionVendors.length ? config.clientSessionVendors : undefined,
      throttle: { rateLimit: sizing.api.rateLimit, burstLimit: sizing.api.burstLimit },
    });

    const alarms = [filterEnrich.iteratorAgeAlarm, api.serverErrorAlarm];
    for (const [id, source, table] of [
      ['ImpressionsDelivery', props.enrichedStream, IMPRESSIONS_TABLE.name],
      ['RejectedDelivery', props.rejectedStream, REJECTED_TABLE.name],
    ] as const) {
      const delivery = new IcebergDelivery(this, id, {
        source,
        bucket: props.lakeBucket,
        databaseName: props.glueDatabaseName,
        tableName: table,
        bufferSeconds: config.lakeBufferSeconds,
        bufferMiB: config.lakeBufferMiB,
      });
      alarms.push(delivery.failedRowsAlarm, delivery.freshnessAlarm);
      // A Firehose stream reads its Kinesis source from LATEST when it is created (Firehose developer guide,
      // "Configure source settings", Kinesis Data Streams): filter-enrich starts after both exist, or the
      // first deploy's first records would never reach the lake.
      filterEnrich.node.addDependency(delivery);
    }
    if (includes(config, 'glueTableOptimizer')) {
      for (const table of [IMPRESSIONS_TABLE.name, REJECTED_TABLE.name]) {
        new TableOptimizer(this, `Optimizer-${table}`, {
          bucket: props.lakeBucket,
          databaseName: props.glueDatabaseName,
          tableName: table,
          retention: config.lakeRetention,
        });
      }
    }

    const analytics = new Analytics(this, 'Analytics', {
      bucket: props.lakeBucket,
      databaseName: props.glueDatabaseName,
      bytesScannedCutoffPerQuery: config.athenaBytesScannedCutoff,
      erasureBytesScannedCutoffPerQuery: config.erasureBytesScannedCutoff,
      queries: includes(config, 'athenaNamedQueries') ? LAKE_QUERIES : [],
      removalPolicy: RemovalPolicy.DESTROY,
    });

    new Operations(this, 'Operations', {
      filterEnrich: filterEnrich.fn,
      historyApi: api.fn,
      failureQueues: { FilterEnrich: filterEnrich.failureQueue },
      alarms,
      // Slow answers lose no data: a notice.
      noticeAlarms: [api.latencyAlarm],
      rejectionRateAlarmPercent: includes(config, 'metricMathAlarms')
        ? config.rejectionRateAlarmPercent
        : undefined,
      anomalyDetection: includes(config, 'metricMathAlarms'),
      streams: { Raw: props.rawStream, Enriched: props.enrichedStream, Rejected: props.rejectedStream },
      tables: { History: props.historyTable, Catalog: props.catalogTable },
      streamRetentionHours: config.streamRetentionHours,
      alarmSubscriptions: config.alarmSubscriptions,
      noticeSubscriptions: config.noticeSubscriptions,
    });

    new CfnOutput(this, output('HistoryApiUrl'), { value: api.url });
    new CfnOutput(this, output('AthenaWorkGroupName'), { value: analytics.workGroup.ref });
    new CfnOutput(this, output('AthenaErasureWorkGroupName'), { value: analytics.erasureWorkGroup.ref });
    if (includes(config, 'lakeQualitySchedule')) {
      new QualitySchedule(this, 'QualityReport', {
        bucket: props.lakeBucket,
        databaseName: props.glueDatabaseName,
        workGroupName: analytics.workGroup.ref,
      });
    }
    new CfnOutput(this, output('ClientRoleArn'), { value: api.clientRole.roleArn });
    // The on-failure queues, for `npm run redrive` (every output ending in FailureQueueUrl is one).
    new CfnOutput(this, output('FilterEnrichFailureQueueUrl'), { value: filterEnrich.failureQueue.queueUrl });
    // Where `npm start` reads filter-enrich's metrics (EMF) from, by output rather than by logical id.
    new CfnOutput(this, output('FilterEnrichLogGroupName'), { value: filterEnrich.fn.logGroup.logGroupName });
  }
}
