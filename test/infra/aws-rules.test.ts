/**
 * AWS rules this project relies on that no emulator enforces, one test per rule, each naming its source.
 * They read the synthesized templates (and the SQL the table custom resource runs), so a change that would
 * only fail on a real `cdk deploy` fails here first.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { EMULATOR_GAPS, resolveStage } from '../../infra/config.js';
import { FRESHNESS_LIMIT_SECONDS } from '../../infra/constructs/iceberg-delivery.js';
import { LAKE_PREFIXES } from '../../infra/constructs/lake-storage.js';
import { OPTIMIZER_LOG_GROUPS } from '../../infra/constructs/table-optimizer.js';
import { SUPPORTED_REGIONS } from '../../infra/regions.js';
import {
  IMPRESSIONS_TABLE,
  LAKE_TABLES,
  type LakeTableDefinition,
  REJECTED_TABLE,
} from '../../lambdas/domain/lake-schema.js';
import { hiveType } from '../../lambdas/lake/catalog-types.js';
import { addColumnsSql, createTableSql, lastFieldId, reconcileColumns } from '../../lambdas/lake/lake-ddl.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };

function synth(stage: string, overrides: Parameters<typeof resolveStage>[1] = {}, region = ENV.region) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildApp(app, resolveStage(stage, overrides), { ...ENV, region });
  return { stateful: Template.fromStack(stacks.stateful), pipeline: Template.fromStack(stacks.pipeline) };
}

type Resource = { Properties: Record<string, unknown> & { PolicyDocument?: { Statement: Statement[] } } };
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The statements of the inline policies attached to roles whose logical id matches. */
function statementsOfRoles(t: Template, role: RegExp): Statement[] {
  return Object.values(t.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .filter((p) => JSON.stringify(p.Properties.Roles).match(role))
    .flatMap((p) => p.Properties.PolicyDocument!.Statement);
}

let aws: ReturnType<typeof synth>;
let local: ReturnType<typeof synth>;
beforeAll(() => {
  aws = synth('rules');
  local = synth('local', { emulator: true }, 'us-east-1');
});

describe('Glue Iceberg tables', () => {
  it('are created by Athena DDL (Athena guide, "Create Iceberg tables"), never by a Glue table carrying both TableInput and OpenTableFormatInput (rolled back on AWS: go-to-k/cdkd#1408, #1454; cloudformation-coverage-roadmap#1919)', () => {
    aws.stateful.resourceCountIs('AWS::Glue::Table', 0);
    const tables = Object.values(
      aws.stateful.findResources('Custom::IcebergTable') as Record<string, Resource>,
    );
    expect(
      tables.map((t) => (JSON.parse(String(t.Properties.Definition)) as LakeTableDefinition).name),
    ).toEqual(LAKE_TABLES.map((d) => d.name));
    for (const t of [aws, local]) {
      for (const g of Object.values(
        t.stateful.findResources('AWS::Glue::Table') as Record<string, Resource>,
      )) {
        expect(g.Properties.OpenTableFormatInput).toBeUndefined();
      }
    }
    // The emulator stage registers the same tables with TableInput only (EMULATOR_GAPS.icebergTableDdl).
    expect(EMULATOR_GAPS.icebergTableDdl).toMatch(/Athena refuses Iceberg DDL/);
    local.stateful.resourceCountIs('Custom::IcebergTable', 0);
    local.stateful.resourceCountIs('AWS::Glue::Table', 2);
  });

  it('CREATE TABLE sets table_type ICEBERG, is not EXTERNAL, and partitions by day(event_time) / day(received_at) (Athena guide, "Create Iceberg tables": "Running CREATE EXTERNAL TABLE results in … External keyword not supported for table type ICEBERG")', () => {
    const impressions = createTableSql(IMPRESSIONS_TABLE, 'db', 's3://bucket/warehouse/impressions');
    const rejected = createTableSql(REJECTED_TABLE, 'db', 's3://bucket/warehouse/impressions_rejected');
    for (const sql of [impressions, rejected]) {
      expect(sql).toMatch(/^CREATE TABLE `db`\./);
      expect(sql).not.toMatch(/EXTERNAL/);
      expect(sql).toMatch(/TBLPROPERTIES \('table_type'='ICEBERG'/);
    }
    expect(impressions).toContain('PARTITIONED BY (day(event_time))');
    expect(rejected).toContain('PARTITIONED BY (day(received_at))');
    expect(impressions).toContain("LOCATION 's3://bucket/warehouse/impressions/'");
  });

  it('DDL uses only types Athena can create in Iceberg tables: timestamp without zone, no tinyint/smallint/char (Athena guide, "Supported data types for Iceberg tables in Athena")', () => {
    for (const def of LAKE_TABLES) {
      const sql = createTableSql(def, 'db', 's3://b/t');
      expect(sql).not.toMatch(/timestamptz|timestamp with time zone|tinyint|smallint|\bchar\b/i);
      const types = [...sql.matchAll(/^ {2}`\w+` (\S+) COMMENT/gm)].map((m) => m[1]);
      expect(types).toHaveLength(def.columns.length);
      for (const type of types)
        expect(type).toMatch(/^(string|int|bigint|date|timestamp|boolean|array<\w+>|map<\w+,\w+>)$/);
    }
  });

  it('a column is added with ALTER TABLE ADD COLUMNS, keeping data (Athena guide, "Evolve Iceberg table schema"); other changes are refused', () => {
    const next = lastFieldId(REJECTED_TABLE) + 1;
    const grown: LakeTableDefinition = {
      ...REJECTED_TABLE,
      columns: [
        ...REJECTED_TABLE.columns,
        { id: next, name: 'source', type: 'string', required: false, doc: "producer's app" },
      ],
    };
    const catalog = (def: LakeTableDefinition) =>
      def.columns.map((c) => ({ name: c.name, type: hiveType(c.type) }));
    const { add } = reconcileColumns(catalog(REJECTED_TABLE), grown);
    expect(addColumnsSql('db', grown.name, add)).toBe(
      "ALTER TABLE `db`.`impressions_rejected` ADD COLUMNS (`source` string COMMENT 'producer''s app')",
    );
    expect(reconcileColumns(catalog(REJECTED_TABLE), REJECTED_TABLE)).toEqual({ add: [], kept: [] });
    // The table has a column the definition lacks (a rolled-back append): kept, nothing removed.
    expect(reconcileColumns(catalog(grown), REJECTED_TABLE)).toEqual({ add: [], kept: ['source'] });
    const dropped = { ...REJECTED_TABLE, columns: REJECTED_TABLE.columns.slice(1) };
    expect(() => reconcileColumns(catalog(REJECTED_TABLE), dropped)).toThrow(/only appending columns/);
    const wrongId = {
      ...grown,
      columns: [...REJECTED_TABLE.columns, { ...grown.columns.at(-1)!, id: next + 5 }],
    };
    expect(() => reconcileColumns(catalog(REJECTED_TABLE), wrongId)).toThrow(`must take field id ${next}`);
    const first = REJECTED_TABLE.columns[0]!;
    const retyped = {
      ...REJECTED_TABLE,
      columns: [{ ...first, type: 'long' as const }, ...REJECTED_TABLE.columns.slice(1)],
    };
    expect(() => reconcileColumns(catalog(REJECTED_TABLE), retyped, new Set([first.name]))).toThrow(
      /retyping it .* needs a migration/,
    );
    // The catalog already has the type asked for (the rollback of a refused retype): accepted.
    expect(reconcileColumns(catalog(retyped), retyped, new Set([first.name])).add).toEqual([]);
  });

  it('no table location is a string prefix of another, with or without its trailing slash (Iceberg strips it), nor of another prefix of the bucket', () => {
    // Table locations as Iceberg keeps them (no trailing slash); the other prefixes are always used with theirs.
    const tables = LAKE_TABLES.map((t) => LAKE_PREFIXES.table(t.name).replace(/\/$/, ''));
    const prefixes = [
      ...tables,
      ...LAKE_TABLES.map((t) => LAKE_PREFIXES.deliveryErrors(t.name)),
      LAKE_PREFIXES.athenaResults,
      LAKE_PREFIXES.ddlResults,
    ];
    for (const a of prefixes)
      for (const b of prefixes) if (a !== b) expect(b.startsWith(a), `${a} is a prefix of ${b}`).toBe(false);
  });

  it('each table is created in its own location under the lake bucket, through a workgroup whose results stay in the bucket (Athena guide, "Specify a query result location")', () => {
    const tables = Object.values(
      aws.stateful.findResources('Custom::IcebergTable') as Record<string, Resource>,
    );
    for (const t of tables) {
      const def = JSON.parse(String(t.Properties.Definition)) as LakeTableDefinition;
      expect(JSON.stringify(t.Properties.Location)).toContain(`/warehouse/${def.name}`);
      expect(t.Properties.WorkGroup).toEqual({ Ref: expect.stringMatching(/^LakeDdlWorkGroup/) });
    }
    const [workGroup] = Object.values(
      aws.stateful.findResources('AWS::Athena::WorkGroup') as Record<string, Resource>,
    );
    expect(workGroup!.Properties.WorkGroupConfiguration).toMatchObject({
      EnforceWorkGroupConfiguration: true,
      EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
      ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
    });
    expect(
      JSON.stringify(
        (workGroup!.Properties.WorkGroupConfiguration as Record<string, unknown>).ResultConfiguration,
      ),
    ).toMatch(/s3:\/\/.*LakeBucket.*\/athena-ddl-results\//);
  });
});

describe('table lifecycle', () => {
  it('tables are retained with the data by default; a throwaway stage drops them (Athena DROP TABLE) before its bucket is emptied and its database deleted (CloudFormation deletes dependents first)', () => {
    aws.stateful.hasResource('Custom::IcebergTable', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    const throwaway = synth('tmp', { retainData: false });
    const tables = Object.values(
      throwaway.stateful.findResources('Custom::IcebergTable') as Record<
        string,
        { DependsOn: string[]; DeletionPolicy: string }
      >,
    );
    for (const t of tables) {
      expect(t.DeletionPolicy).toBe('Delete');
      expect(t.DependsOn).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^LakeBucketAutoDeleteObjectsCustomResource/),
          expect.stringMatching(/^LakeDatabase/),
        ]),
      );
    }
  });
});

describe('alarm notifications', () => {
  it('CloudWatch may publish to the page and notice topics, only for this account\'s alarms (AWS knowledge center, "not authorized to perform: SNS:Publish"; SNS guide, aws:SourceAccount / aws:SourceArn)', () => {
    const policies = Object.values(
      aws.pipeline.findResources('AWS::SNS::TopicPolicy') as Record<string, Resource>,
    );
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      const statements = policy.Properties.PolicyDocument!.Statement;
      const publish = statements.filter(
        (s) => s.Effect === 'Allow' && list(s.Action).includes('sns:Publish'),
      );
      expect(publish).toHaveLength(1);
      expect(publish[0]!.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
      expect(publish[0]!.Condition!.StringEquals!['aws:SourceAccount']).toBe(ENV.account);
      expect(JSON.stringify(publish[0]!.Condition!.ArnLike!['aws:SourceArn'])).toMatch(
        /arn:.*:cloudwatch:eu-west-1:123456789012:alarm:\*/,
      );
      // The TLS-only deny stays.
      expect(statements.some((s) => s.Effect === 'Deny')).toBe(true);
    }
    const topics = Object.keys(aws.pipeline.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(2);
    const alarms = Object.values(
      aws.pipeline.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>,
    );
    // Each alarm notifies exactly one of the two topics (its tier: test/infra/operations.test.ts).
    for (const a of alarms) {
      const actions = a.Properties.AlarmActions as { Ref: string }[];
      expect(actions).toHaveLength(1);
      expect(topics).toContain(actions[0]!.Ref);
    }
  });

  it('a stage subscribes e-mail addresses and HTTPS endpoints to the topic, and refuses anything else', () => {
    const t = synth('subs', { alarmSubscriptions: ['ops@example.com', 'https://hooks.example.com/x'] });
    t.pipeline.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    t.pipeline.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://hooks.example.com/x',
    });
    aws.pipeline.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(() => resolveStage('x', { alarmSubscriptions: ['http://plain.example.com'] })).toThrow(
      /neither an e-mail address nor an https/,
    );
    expect(() => resolveStage('x', { noticeSubscriptions: ['http://plain.example.com'] })).toThrow(
      /neither an e-mail address nor an https/,
    );
  });
});

describe('alarm metrics', () => {
  it('Firehose: failed rows (DeliveryToIceberg.FailedRowCount, Sum) and lateness (DeliveryToIceberg.DataFreshness above the 15-minute buffering limit), not DeliveryToIceberg.Success, a count of commits (Firehose guide, "Monitor metrics" for Iceberg; "Implement best practices with CloudWatch Alarms")', () => {
    const alarms = Object.values(
      aws.pipeline.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>,
    ).map((a) => a.Properties);
    const firehose = alarms.filter((a) => a.Namespace === 'AWS/Firehose');
    expect(firehose.map((a) => a.MetricName).sort()).toEqual([
      'DeliveryToIceberg.DataFreshness',
      'DeliveryToIceberg.DataFreshness',
      'DeliveryToIceberg.FailedRowCount',
      'DeliveryToIceberg.FailedRowCount',
    ]);
    for (const a of firehose) {
      expect(a.Dimensions).toEqual([{ Name: 'DeliveryStreamName', Value: { Ref: expect.any(String) } }]);
      if (a.MetricName === 'DeliveryToIceberg.FailedRowCount')
        expect(a).toMatchObject({ Statistic: 'Sum', Threshold: 1 });
      else expect(a).toMatchObject({ Statistic: 'Maximum', Threshold: FRESHNESS_LIMIT_SECONDS });
    }
    expect(FRESHNESS_LIMIT_SECONDS).toBeLessThanOrEqual(900);
  });

  it('Kinesis: GetRecords.IteratorAgeMilliseconds at half the retention and WriteProvisionedThroughputExceeded above 0 on every stream (AWS Solutions Constructs, kinesis-streams-helper defaults)', () => {
    const alarms = Object.values(
      aws.pipeline.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>,
    ).map((a) => a.Properties);
    const kinesis = alarms.filter((a) => a.Namespace === 'AWS/Kinesis');
    const age = kinesis.filter((a) => a.MetricName === 'GetRecords.IteratorAgeMilliseconds');
    const throttled = kinesis.filter((a) => a.MetricName === 'WriteProvisionedThroughputExceeded');
    expect(age).toHaveLength(3);
    expect(throttled).toHaveLength(3);
    for (const a of age) {
      expect(a).toMatchObject({
        Statistic: 'Maximum',
        Threshold: 12 * 3600 * 1000,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
    for (const a of throttled)
      expect(a).toMatchObject({
        Statistic: 'Average',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    const streams = new Set(kinesis.map((a) => JSON.stringify(a.Dimensions)));
    expect(streams.size).toBe(3);
  });
});

describe('Glue table optimizers', () => {
  it('compaction, snapshot retention and orphan file deletion on both tables, with the stage retention (AWS Glue guide, "Optimizing Iceberg tables")', () => {
    const optimizers = Object.values(
      aws.pipeline.findResources('AWS::Glue::TableOptimizer') as Record<string, Resource>,
    ).map((o) => o.Properties);
    for (const def of LAKE_TABLES) {
      expect(
        optimizers
          .filter((o) => o.TableName === def.name)
          .map((o) => o.Type)
          .sort(),
      ).toEqual(['compaction', 'orphan_file_deletion', 'retention']);
    }
    const t = synth('ret', { lakeRetention: { snapshotDays: 3, orphanFileDays: 2 } });
    t.pipeline.hasResourceProperties('AWS::Glue::TableOptimizer', {
      Type: 'retention',
      TableOptimizerConfiguration: {
        RetentionConfiguration: {
          IcebergConfiguration: {
            SnapshotRetentionPeriodInDays: 3,
            NumberOfSnapshotsToRetain: 1,
            CleanExpiredFiles: true,
          },
        },
      },
    });
    t.pipeline.hasResourceProperties('AWS::Glue::TableOptimizer', {
      Type: 'orphan_file_deletion',
      TableOptimizerConfiguration: {
        OrphanFileDeletionConfiguration: { IcebergConfiguration: { OrphanFileRetentionPeriodInDays: 2 } },
      },
    });
  });

  it('roles as "Table optimization prerequisites" lists them: Glue trust, GetTable/UpdateTable, S3 on the table location, CloudWatch Logs on the optimizer log groups; the orphan-file role without glue:UpdateTable or s3:PutObject', () => {
    for (const def of LAKE_TABLES) {
      const id = def.name.replace(/_/g, '');
      const writer = statementsOfRoles(aws.pipeline, new RegExp(`Optimizer${id}Role[0-9A-F]{8}`));
      const orphan = statementsOfRoles(aws.pipeline, new RegExp(`Optimizer${id}OrphanFileDeletionRole`));
      for (const [statements, canWrite] of [
        [writer, true],
        [orphan, false],
      ] as const) {
        const actions = statements.flatMap((s) => list(s.Action));
        expect(actions).toContain('glue:GetTable');
        expect(actions.includes('glue:UpdateTable')).toBe(canWrite);
        expect(actions.includes('s3:PutObject')).toBe(canWrite);
        expect(actions).toEqual(expect.arrayContaining(['s3:GetObject', 's3:DeleteObject', 's3:ListBucket']));
        const logs = statements.find((s) => list(s.Action).includes('logs:PutLogEvents'))!;
        expect(list(logs.Action)).toEqual([
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
        ]);
        expect(JSON.stringify(logs.Resource)).toEqual(expect.stringContaining(OPTIMIZER_LOG_GROUPS[0]));
        for (const g of OPTIMIZER_LOG_GROUPS)
          expect(JSON.stringify(logs.Resource)).toContain(`log-group:${g}:*`);
        expectObjectsOnlyUnder(statements, [LAKE_PREFIXES.table(def.name)]);
      }
    }
    const roles = Object.values(
      aws.pipeline.findResources('AWS::IAM::Role') as Record<string, Resource>,
    ).filter((r) => JSON.stringify(r).includes('glue.amazonaws.com'));
    expect(roles).toHaveLength(4);
  });
});

/** Every S3 object resource of these statements lies under one of the prefixes. */
function expectObjectsOnlyUnder(statements: Statement[], prefixes: string[]) {
  const objectResources = statements
    .filter((s) => list(s.Action).some((a) => /^s3:(Get|Put|Delete)Object|^s3:AbortMultipartUpload/.test(a)))
    .flatMap((s) => list(s.Resource))
    .map((r) => JSON.stringify(r));
  expect(objectResources.length).toBeGreaterThan(0);
  for (const r of objectResources) expect(prefixes.some((p) => r.includes(`/${p}*`))).toBe(true);
}

describe('least privilege on the lake', () => {
  it('each Firehose role reaches only its own table: its catalog entry, its location and its error prefix (Firehose guide, "Grant Firehose access to Apache Iceberg Tables")', () => {
    for (const [role, def] of [
      ['ImpressionsDeliveryRole', IMPRESSIONS_TABLE],
      ['RejectedDeliveryRole', REJECTED_TABLE],
    ] as const) {
      const statements = statementsOfRoles(aws.pipeline, new RegExp(role));
      expectObjectsOnlyUnder(statements, [LAKE_PREFIXES.table(def.name), `delivery-errors/${def.name}/`]);
      const glue = statements.filter((s) => list(s.Action).some((a) => a.startsWith('glue:')));
      const other = LAKE_TABLES.find((d) => d !== def)!;
      expect(JSON.stringify(glue)).toContain(`/${def.name}`);
      expect(JSON.stringify(glue)).not.toContain(`/${other.name}"`);
    }
  });

  it('noncurrent object versions and delivery errors expire (S3 guide, "Lifecycle configuration on a versioned bucket": deletes only add markers), after the stage lake retention', () => {
    const t = synth('lc', { lakeRetention: { noncurrentVersionDays: 5, deliveryErrorDays: 10 } });
    const bucket = Object.values(t.stateful.findResources('AWS::S3::Bucket') as Record<string, Resource>)[0]!;
    const rules = (bucket.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 5 }, Status: 'Enabled' }),
        ...LAKE_TABLES.map((d) =>
          expect.objectContaining({
            Prefix: `delivery-errors/${d.name}/`,
            ExpirationInDays: 10,
            Status: 'Enabled',
          }),
        ),
      ]),
    );
    expect(() => resolveStage('x', { lakeRetention: { snapshotDays: 0 } })).toThrow(
      /lakeRetention.snapshotDays/,
    );
  });
});

describe('regions', () => {
  it('refuses to synthesize for a region without Glue table optimizers, HTTP APIs or the Firehose Iceberg destination, naming it (Glue guide, "Supported Regions for table optimizers"; Firehose guide, "Considerations and limitations")', () => {
    for (const region of ['us-west-1', 'eu-south-1', 'cn-north-1', 'us-gov-west-1', 'ap-southeast-5']) {
      expect(() => synth('r', {}, region)).toThrow(new RegExp(`region ${region} is not supported`));
    }
    expect(Object.keys(SUPPORTED_REGIONS)).toContain('us-east-1');
    expect(() => synth('r', {}, 'ap-southeast-3')).not.toThrow();
  });
});

describe('Firehose from the enriched and rejected streams', () => {
  it('both delivery streams exist before filter-enrich reads (a new Firehose stream reads its source from LATEST)', () => {
    const streams = Object.keys(aws.pipeline.findResources('AWS::KinesisFirehose::DeliveryStream'));
    expect(streams).toHaveLength(2);
    const mappings = Object.values(
      aws.pipeline.findResources('AWS::Lambda::EventSourceMapping') as Record<
        string,
        { DependsOn?: string[] }
      >,
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]!.DependsOn).toEqual(expect.arrayContaining(streams));
  });
});
