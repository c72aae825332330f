import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { EMULATOR_GAPS, resolveStage } from '../../infra/config.js';
import { OUTPUT_KEYS } from '../../infra/contract.js';
import { LAKE_QUERIES } from '../../infra/lake-queries.js';
import { IMPRESSIONS_TABLE, LAKE_TABLES, REJECTED_TABLE } from '../../lambdas/domain/lake-schema.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };

function synth(stage = 'test', overrides: Parameters<typeof resolveStage>[1] = {}) {
  // No asset bundling: templates are what these tests read (the bundles are built by `cdk synth`/deploy).
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildApp(app, resolveStage(stage, overrides), ENV);
  return {
    app,
    stacks,
    stateful: Template.fromStack(stacks.stateful),
    pipeline: Template.fromStack(stacks.pipeline),
  };
}

let t: ReturnType<typeof synth>;
beforeAll(() => {
  t = synth('test', {
    rawStream: { mode: 'provisioned', shards: 4 },
    enrichedStream: { mode: 'on-demand', shards: 1 },
  });
});

/** The resource types of the stateful stack that hold data or carry a fixed name. */
const STATEFUL_TYPES = [
  'AWS::Kinesis::Stream',
  'AWS::DynamoDB::GlobalTable',
  'AWS::S3::Bucket',
  'AWS::Glue::Database',
  'Custom::IcebergTable',
  'AWS::SecretsManager::Secret',
];

describe('streams', () => {
  it('encrypts every stream with KMS and applies the stage capacity', () => {
    const streams = t.stateful.findResources('AWS::Kinesis::Stream');
    expect(Object.keys(streams)).toHaveLength(3);
    for (const s of Object.values(streams)) {
      expect(s.Properties.StreamEncryption).toEqual({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    }
    expect(streams.RawStreamCF061B5E!.Properties).toMatchObject({
      ShardCount: 4,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
    });
    expect(streams.EnrichedStreamDDC7F55D!.Properties.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    expect(streams.EnrichedStreamDDC7F55D!.Properties.ShardCount).toBeUndefined();
  });
});

describe('event source mappings', () => {
  it('use partial batch responses, bisect, bounded retries and age, a batching window, parallelization and an SQS on-failure destination', () => {
    const mappings = t.pipeline.findResources('AWS::Lambda::EventSourceMapping');
    // One consumer of the raw stream: filter-enrich also writes the history (no history-writer mapping).
    expect(Object.keys(mappings)).toHaveLength(1);
    for (const m of Object.values(mappings)) {
      expect(m.Properties).toMatchObject({
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 24 * 3600,
        MaximumBatchingWindowInSeconds: 1,
        ParallelizationFactor: 2,
        BatchSize: 500,
        StartingPosition: 'TRIM_HORIZON',
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/OnFailure/), 'Arn'] } },
        },
      });
    }
  });

  it('alarms on iterator age of the consumer', () => {
    t.pipeline.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'IteratorAge', Statistic: 'Maximum' },
      1,
    );
  });

  it('encrypts the on-failure queues', () => {
    t.pipeline.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: 'alias/aws/sqs' });
  });
});

describe('functions', () => {
  it('run Node.js 22 on arm64 with tracing and bundled code', () => {
    const fns = t.pipeline.findResources('AWS::Lambda::Function');
    expect(Object.keys(fns)).toHaveLength(2);
    for (const f of Object.values(fns)) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
      });
    }
  });

  it('configure filter-enrich thresholds, caps and history from the stage', () => {
    t.pipeline.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MIN_VISIBLE_PERCENT: '50',
          MIN_VISIBLE_MS: '1000',
          TEST_PROFILES: '',
          RETENTION_DAYS: '30',
          PROFILE_BURST_PER_WINDOW: '1000',
          PROFILE_BURST_PER_DAY: '20000',
          MAX_USER_RECORDS_PER_AGGREGATE: '1000',
          HISTORY_TABLE_NAME: Match.anyValue(),
        }),
      },
    });
    const custom = synth('caps', {
      profileBurstPerWindow: 250,
      profileBurstPerDay: 5000,
      maxUserRecordsPerAggregate: 10,
    });
    custom.pipeline.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PROFILE_BURST_PER_WINDOW: '250',
          PROFILE_BURST_PER_DAY: '5000',
          MAX_USER_RECORDS_PER_AGGREGATE: '10',
        }),
      },
    });
    expect(() => resolveStage('bad', { profileBurstPerDay: 0 })).toThrow(/profileBurstPerDay/);
  });

  it('grant each function only the actions it uses on the history table', () => {
    const policies = Object.values(t.pipeline.findResources('AWS::IAM::Policy'));
    const actionsOf = (match: RegExp) =>
      policies
        .filter((p) => JSON.stringify(p.Properties.Roles).match(match))
        .flatMap((p) =>
          p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => s.Action),
        );
    const api = actionsOf(/HistoryApiHandler/);
    // Exactly what the history store's read side and erasure send (history-store/title-counts.ts stores day rollups with
    // PutItem; a role without it answers every frequency route with an un-rolled day 500 on AWS; GetItem and
    // PutItem: the erasure marker), and the ingest route's per-profile window counter (UpdateItem,
    // ingest-limit.ts).
    expect([...new Set(api.filter((a: string) => a.startsWith('dynamodb:')))].sort()).toEqual([
      'dynamodb:BatchWriteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    // The ingest route's PutRecords (scoped to the raw stream: test/infra/history-api.test.ts).
    expect(api.filter((a: string) => a.startsWith('kinesis:'))).toEqual(['kinesis:PutRecords']);
    const fe = actionsOf(/FilterEnrich/);
    expect([...new Set(fe.filter((a: string) => a.startsWith('dynamodb:')))].sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
    ]);
    expect(fe.filter((a: string) => a.startsWith('kinesis:Put'))).toEqual(
      expect.arrayContaining(['kinesis:PutRecords']),
    );
    // No function may touch a table it does not use.
    const feResources = JSON.stringify(
      policies
        .filter((p) => JSON.stringify(p.Properties.Roles).match(/FilterEnrich/))
        .map((p) => p.Properties),
    );
    expect(feResources).not.toContain('CursorSecret');
    // The catalog is only read, the history only updated and read item by item.
    const feStatements = policies
      .filter((p) => JSON.stringify(p.Properties.Roles).match(/FilterEnrich/))
      .flatMap((p) => p.Properties.PolicyDocument.Statement) as {
      Action: string | string[];
      Resource: unknown;
    }[];
    const on = (table: string) =>
      feStatements.filter((st) => JSON.stringify(st.Resource).includes(table)).flatMap((st) => st.Action);
    expect(on('TitleCatalogTable')).toEqual(['dynamodb:BatchGetItem']);
    // BatchGetItem on the history table: the batch's erasure markers (`filtered.erased`).
    expect([...on('HistoryTable')].sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
    ]);
  });
});

describe('DynamoDB', () => {
  it('provisioned by default, encryption, TTL on history, PITR on the catalog only (no dedup table: the history detects duplicates)', () => {
    const tables = t.stateful.findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables).sort()).toEqual(['HistoryTable24A0CCCB', 'TitleCatalogTable14E1879A']);
    const pitr = (enabled: boolean) => [
      expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: enabled } }),
    ];
    for (const tb of Object.values(tables)) {
      expect(tb.Properties).toMatchObject({
        BillingMode: 'PROVISIONED',
        SSESpecification: { SSEEnabled: true },
      });
    }
    // The history is rebuilt from the lake, and a restore would bring erased impressions back.
    expect(tables.HistoryTable24A0CCCB!.Properties.Replicas).toEqual(pitr(false));
    expect(tables.TitleCatalogTable14E1879A!.Properties.Replicas).toEqual(pitr(true));
    const on = synth('test', { historyPointInTimeRecovery: true }).stateful.findResources(
      'AWS::DynamoDB::GlobalTable',
    );
    expect(on.HistoryTable24A0CCCB!.Properties.Replicas).toEqual(pitr(true));
    expect(tables.HistoryTable24A0CCCB!.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'x',
      Enabled: true,
    });
  });
});

describe('lake', () => {
  it('bucket: KMS, versioned, TLS only, no public access', () => {
    t.stateful.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    t.stateful.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('Iceberg tables are created by Athena DDL from the lake schema (details in aws-rules.test.ts)', () => {
    t.stateful.resourceCountIs('AWS::Glue::Table', 0);
    const tables = Object.values(t.stateful.findResources('Custom::IcebergTable'));
    expect(tables.map((tb) => JSON.parse(tb.Properties.Definition))).toEqual([...LAKE_TABLES]);
  });

  it('Firehose delivers both streams into their Iceberg tables, append-only, errors to a prefix', () => {
    for (const table of [IMPRESSIONS_TABLE.name, REJECTED_TABLE.name]) {
      t.pipeline.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
        DeliveryStreamType: 'KinesisStreamAsSource',
        IcebergDestinationConfiguration: Match.objectLike({
          AppendOnly: true,
          DestinationTableConfigurationList: [Match.objectLike({ DestinationTableName: table })],
          S3Configuration: Match.objectLike({
            ErrorOutputPrefix: Match.stringLikeRegexp(`^delivery-errors/${table}/`),
          }),
        }),
      });
    }
    t.pipeline.resourceCountIs('AWS::Glue::TableOptimizer', 6);
    t.pipeline.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'DeliveryToIceberg.FailedRowCount' },
      2,
    );
  });

  it('Athena workgroup: engine v3, results in the lake bucket, a bytes-scanned cutoff, and the named queries', () => {
    t.pipeline.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        BytesScannedCutoffPerQuery: 100 * 1024 ** 3,
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: Match.objectLike({ OutputLocation: Match.anyValue() }),
      }),
    });
    const queries = Object.values(t.pipeline.findResources('AWS::Athena::NamedQuery'));
    expect(queries.map((q) => q.Properties.Name).sort()).toEqual(LAKE_QUERIES.map((q) => q.name).sort());
  });
});

describe('history API', () => {
  it('requires IAM (SigV4) auth on its route', () => {
    t.pipeline.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$default',
      AuthorizationType: 'AWS_IAM',
    });
    const routes = Object.values(t.pipeline.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.every((r) => r.Properties.AuthorizationType === 'AWS_IAM')).toBe(true);
  });

  it('has a client role that can call the API only for the profile of its session tag', () => {
    const roles = t.pipeline.findResources('AWS::IAM::Role', {
      Properties: { Description: Match.stringLikeRegexp('scoped to one profile') },
    });
    const [roleId, role] = Object.entries(roles)[0]!;
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain('sts:TagSession');
    const policy = Object.values(t.pipeline.findResources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties.Roles).includes(roleId),
    )!;
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toBe('execute-api:Invoke');
    for (const r of statements[0].Resource) {
      expect(JSON.stringify(r)).toMatch(
        /\/\$default\/(GET|POST)\/v1\/profiles\/\$\{aws:PrincipalTag\/profileId\}/,
      );
    }
    t.pipeline.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CLIENT_ROLE_ARN: { 'Fn::GetAtt': [roleId, 'Arn'] } }) },
    });
  });

  it('alarms on 5xx and latency', () => {
    t.pipeline.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5xx' });
    t.pipeline.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
    });
  });
});

describe('operations', () => {
  it('has a dashboard, DLQ-depth, error and throttle alarms, and the rejection-rate alarm at the stage threshold', () => {
    t.pipeline.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    t.pipeline.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'ApproximateNumberOfMessagesVisible' },
      1,
    );
    t.pipeline.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'Errors' }, 2);
    t.pipeline.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'Throttles' }, 2);
    // DynamoDB throttling of both tables, which reaches no function error (filter-enrich reports it as partial
    // batch failures): a read and a write alarm per table, on that table.
    for (const metric of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      const tables = Object.values(
        t.pipeline.findResources('AWS::CloudWatch::Alarm', {
          Properties: { Namespace: 'AWS/DynamoDB', MetricName: metric },
        }),
      ).map((a) => JSON.stringify(a.Properties.Dimensions));
      expect(tables).toHaveLength(2);
      expect(tables.some((d) => /HistoryTable/.test(d))).toBe(true);
      expect(tables.some((d) => /TitleCatalogTable/.test(d))).toBe(true);
    }
    t.pipeline.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(read > 0, 100 * rejected / read, 0)' })]),
    });
    const alarms = Object.values(t.pipeline.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.every((a) => (a.Properties.AlarmActions ?? []).length === 1)).toBe(true);
  });
});

describe('stack outputs', () => {
  it('carry each contract key exactly once across the stage', () => {
    const keys = [...Object.keys(t.stateful.findOutputs('*')), ...Object.keys(t.pipeline.findOutputs('*'))];
    for (const k of OUTPUT_KEYS) {
      expect(keys.filter((x) => x === k)).toHaveLength(1);
    }
  });
});

describe('stateful resources', () => {
  it('keep their logical IDs (renaming one would replace data)', () => {
    const ids = (type: string) => Object.keys(t.stateful.findResources(type)).sort();
    expect(ids('AWS::Kinesis::Stream')).toEqual([
      'EnrichedStreamDDC7F55D',
      'RawStreamCF061B5E',
      'RejectedStream64A750F5',
    ]);
    // The dedup table of earlier versions is gone on purpose (its 24-hour TTL data has no successor).
    expect(ids('AWS::DynamoDB::GlobalTable')).toEqual(['HistoryTable24A0CCCB', 'TitleCatalogTable14E1879A']);
    expect(ids('AWS::S3::Bucket')).toEqual(['LakeBucketB1D32E10']);
    expect(ids('AWS::Glue::Database')).toEqual(['LakeDatabase161E1CC7']);
    // Re-pinned when the tables moved from AWS::Glue::Table to Athena DDL (Custom::IcebergTable): the old
    // shape could not deploy on AWS, so no deployed table is replaced by this change.
    expect(ids('Custom::IcebergTable')).toEqual([
      'LakeIcebergTableimpressions80D5DB24',
      'LakeIcebergTableimpressionsrejectedFA3C2FE0',
    ]);
    expect(ids('AWS::SecretsManager::Secret')).toEqual(['CursorSecretABAE1358']);
  });

  it('are retained by default and destroyed for throwaway stages, the lake bucket emptied first', () => {
    // Every resource of the stateful stack that holds data or has a fixed name is kept on delete and on
    // replacement, and removed only when its own creation fails (`RetainExceptOnCreate`), so that a rolled-back
    // first deploy can be retried without AlreadyExists.
    const stateful = Object.entries(
      t.stateful.toJSON().Resources as Record<
        string,
        { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string }
      >,
    ).filter(([, r]) => STATEFUL_TYPES.includes(r.Type));
    expect(new Set(stateful.map(([, r]) => r.Type))).toEqual(new Set(STATEFUL_TYPES));
    for (const [id, r] of stateful) {
      expect({ id, deletion: r.DeletionPolicy, replace: r.UpdateReplacePolicy }).toEqual({
        id,
        deletion: 'RetainExceptOnCreate',
        replace: 'Retain',
      });
    }
    t.stateful.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    const throwaway = synth('tmp', { retainData: false });
    throwaway.stateful.hasResource('AWS::Kinesis::Stream', { DeletionPolicy: 'Delete' });
    throwaway.stateful.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    synth('local', { emulator: true, retainData: false }).stateful.resourceCountIs(
      'Custom::S3AutoDeleteObjects',
      0,
    );
  });

  it('hold no stateless resources', () => {
    // The only functions are the ones that run the tables' DDL during deployments.
    const functions = Object.keys(t.stateful.findResources('AWS::Lambda::Function'));
    expect(functions.filter((id) => !id.startsWith('LakeDdl'))).toEqual([]);
    for (const type of ['AWS::ApiGatewayV2::Api', 'AWS::KinesisFirehose::DeliveryStream']) {
      t.stateful.resourceCountIs(type, 0);
    }
  });
});

describe('emulator stage', () => {
  it('leaves out exactly the documented gaps and keeps everything else', () => {
    const local = synth('local', { emulator: true });
    local.pipeline.resourceCountIs('AWS::Athena::NamedQuery', 0);
    local.pipeline.resourceCountIs('AWS::Glue::TableOptimizer', 0);
    local.pipeline.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 2);
    local.pipeline.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    // The lake queries' workgroup and the erasure's.
    local.pipeline.resourceCountIs('AWS::Athena::WorkGroup', 2);
    local.pipeline.resourceCountIs('AWS::Scheduler::Schedule', 0);
    local.stateful.resourceCountIs('AWS::Glue::Table', 2);
    expect(Object.keys(EMULATOR_GAPS)).toEqual([
      'athenaNamedQueries',
      'glueTableOptimizer',
      'metricMathAlarms',
      'icebergTableDdl',
      'lakeQualitySchedule',
      'lakeAutoDeleteObjects',
    ]);
    const alarms = Object.values(local.pipeline.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.some((a) => a.Properties.Metrics)).toBe(false);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unsuppressed warning or error', () => {
    for (const stack of [t.stacks.stateful, t.stacks.pipeline]) {
      const findings = [
        ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
        ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ];
      expect(findings.map((f) => `${f.id}: ${String(f.entry.data).slice(0, 120)}`)).toEqual([]);
    }
  });

  it('would report a finding (the check is live)', () => {
    const app = new App();
    const { stateful } = buildApp(app, resolveStage('nagcheck'), ENV);
    new Bucket(stateful, 'UnencryptedProbe', {});
    const errors = Annotations.fromStack(stateful).findError('*', Match.stringLikeRegexp('AwsSolutions-S10'));
    expect(errors.length).toBeGreaterThan(0);
  });
});
