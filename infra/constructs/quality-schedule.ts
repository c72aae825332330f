/**
 * The daily quality report over the lake on AWS: EventBridge Scheduler starts each report statement of
 * `infra/quality-report.ts` in Athena every day (universal target `aws-sdk:athena:startQueryExecution`,
 * EventBridge Scheduler user guide, "Using universal targets"), for the day before the run (the scheduler
 * replaces `<aws.scheduler.scheduled-time>` in the input: "Adding context attributes"). Each statement is an
 * `UNLOAD` to `quality-reports/<report>/run=<time>-<execution>/` of the lake bucket, JSON, where analysts
 * read it (or `npm run quality -- --day … --stack …` runs the same statements and prints the findings).
 */
import { Aws, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { LAKE_TABLES } from '../../lambdas/domain/lake-schema.js';
import {
  DAY_BEFORE_SCHEDULED_RUN,
  QUALITY_REPORTS_PREFIX,
  reportStatements,
  unloadSql,
} from '../quality-report.js';
import { lakeObjectArns } from './glue-access.js';
import { LAKE_PREFIXES } from './lake-storage.js';
import { nagLakePrefixes } from './nag.js';

export interface QualityScheduleProps {
  readonly bucket: IBucket;
  readonly databaseName: string;
  /** The Athena workgroup the statements run in (its results location is `athena-results/`). */
  readonly workGroupName: string;
  /**
   * When the reports run, as an EventBridge Scheduler expression in UTC.
   * @default 'cron(0 6 * * ? *)' (06:00 UTC: yesterday's late impressions have had six hours to arrive)
   */
  readonly scheduleExpression?: string;
}

/** The construct id of each report's schedule (stable, by report). */
const SCHEDULE_IDS: Readonly<Record<string, string>> = {
  impressions: 'ImpressionsReport',
  impressions_rejected: 'RejectedReport',
  reject_reasons: 'RejectReasonsReport',
};

export class QualitySchedule extends Construct {
  readonly role: Role;
  readonly schedules: readonly CfnSchedule[];

  constructor(scope: Construct, id: string, props: QualityScheduleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'impressions: starts the daily lake quality report in Athena',
    });
    const glue = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
    // It reads the tables; it writes the reports it unloads and the workgroup results Athena writes with its credentials.
    const readPrefixes = LAKE_TABLES.map((t) => LAKE_PREFIXES.table(t.name));
    const writtenPrefixes = [QUALITY_REPORTS_PREFIX, LAKE_PREFIXES.athenaResults];
    const statements = [
      new PolicyStatement({
        actions: ['athena:StartQueryExecution'],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workGroupName }),
        ],
      }),
      // Athena runs the statement with these credentials: the catalog and `default` database of the Region
      // (Athena user guide, "Configure access to databases and tables in the AWS Glue Data Catalog"), the
      // lake's tables, their files, the results location and the reports' folder.
      new PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:CreateDatabase'],
        resources: [glue('catalog'), glue('database', 'default')],
      }),
      new PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
        resources: [
          glue('catalog'),
          glue('database', props.databaseName),
          ...LAKE_TABLES.map((t) => glue('table', `${props.databaseName}/${t.name}`)),
        ],
      }),
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket'],
        resources: [props.bucket.bucketArn],
      }),
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: lakeObjectArns(props.bucket, readPrefixes),
      }),
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: lakeObjectArns(props.bucket, writtenPrefixes),
      }),
    ];
    for (const s of statements) this.role.addToPrincipalPolicy(s);
    nagLakePrefixes(
      this.role,
      [...readPrefixes, ...writtenPrefixes],
      'the tables it reads, the reports it unloads (one folder per run, named by the scheduler at run time) and ' +
        'the workgroup results Athena writes with its credentials.',
    );

    this.schedules = Object.entries(reportStatements(DAY_BEFORE_SCHEDULED_RUN)).map(
      ([report, select]) =>
        new CfnSchedule(this, SCHEDULE_IDS[report]!, {
          description: `impressions lake quality report: ${report}, the day before each run`,
          scheduleExpression: props.scheduleExpression ?? 'cron(0 6 * * ? *)',
          scheduleExpressionTimezone: 'UTC',
          flexibleTimeWindow: { mode: 'OFF' },
          target: {
            arn: 'arn:aws:scheduler:::aws-sdk:athena:startQueryExecution',
            roleArn: this.role.roleArn,
            input: stack.toJsonString({
              QueryString: unloadSql(select, props.bucket.bucketName, report),
              WorkGroup: props.workGroupName,
              QueryExecutionContext: { Database: props.databaseName },
            }),
            retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
          },
        }),
    );
  }
}
