/**
 * The lake's stateful part: an encrypted, versioned, TLS-only bucket with lifecycle rules, a Glue database,
 * and the two Iceberg v2 tables generated from `lambdas/domain/lake-schema.ts` (columns, field ids, `day()`
 * partitions).
 *
 * On AWS the tables are created by Athena DDL through a custom resource (`IcebergTables`): Athena's
 * `CREATE TABLE … PARTITIONED BY (day(…)) TBLPROPERTIES ('table_type'='ICEBERG')` is the documented way to
 * create a partitioned Iceberg table (Athena guide, "Create Iceberg tables"), and the CloudFormation Glue
 * shapes are disputed or lose the partition spec (see `lambdas/lake/lake-ddl.ts`). The emulator's Athena
 * refuses Iceberg DDL, so an emulator stage registers the tables with `AWS::Glue::Table` (`TableInput` only:
 * location and columns) and the local delivery writes their first Iceberg metadata from the same schema.
 */
import { Aws, CustomResource, Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { LogLevel } from 'aws-cdk-lib/aws-stepfunctions';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { LAKE_TABLES, type LakeTableDefinition } from '../../lambdas/domain/lake-schema.js';
import { hiveType, icebergTypeJson } from '../../lambdas/lake/catalog-types.js';
import { DEFAULT_STAGE, type LakeRetention } from '../config.js';
import { lakeObjectArns } from './glue-access.js';
import { nagLakeBucket, nagLakePrefixes, nagProviderFramework } from './nag.js';
import { type FunctionEntry, NodeFunction } from './node-function.js';

/** Key prefixes of the lake bucket; every role is scoped to the prefixes of its own table. */
export const LAKE_PREFIXES = {
  /**
   * A table's location. `.iceberg` keeps locations prefix-free even without their trailing slash (Iceberg
   * strips it from a table location; lake identifiers have no `.`): `warehouse/impressions` would be a string
   * prefix of `warehouse/impressions_rejected`, and anything that lists a table's files by key prefix (orphan
   * file deletion, a lifecycle rule, an IAM `s3:prefix` condition) would take the other table's files too.
   */
  table: (name: string) => `warehouse/${name}.iceberg/`,
  /** A table's data files (Iceberg's default `write.data.path`: `<location>/data`). */
  data: (name: string) => `warehouse/${name}.iceberg/data/`,
  deliveryErrors: (name: string) => `delivery-errors/${name}/`,
  athenaResults: 'athena-results/',
  ddlResults: 'athena-ddl-results/',
} as const;

export interface LakeStorageProps {
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (named resources: a failed first deploy can be retried) */
  readonly removalPolicy?: RemovalPolicy;
  /** Empty the bucket when the stack is deleted (throwaway stages; needs a CDK-provided function). @default false */
  readonly autoDeleteObjects?: boolean;
  /**
   * Create the tables with Athena DDL (AWS). When false, register them with `AWS::Glue::Table` instead
   * (emulators, whose Athena has no Iceberg DDL). @default true
   */
  readonly athenaDdl?: boolean;
  /** @default DEFAULT_STAGE.lakeRetention */
  readonly retention?: LakeRetention;
}

/**
 * The Iceberg schema and partition spec a definition stands for, in the shape of Glue's
 * `IcebergTableInput`: what the local delivery writes as a table's first metadata, compared by tests.
 */
export function icebergTableInput(
  def: LakeTableDefinition,
  location: string,
): CfnTable.IcebergTableInputProperty {
  const ids = new Map(def.columns.map((c) => [c.name, c.id]));
  return {
    location,
    schema: {
      type: 'struct',
      schemaId: 0,
      fields: def.columns.map((c) => ({
        id: c.id,
        name: c.name,
        required: c.required,
        // Primitive types are plain names; nested ones are the Iceberg JSON type, which this property carries.
        type: ((t) => (typeof t === 'string' ? t : JSON.stringify(t)))(icebergTypeJson(c.type)),
        doc: c.doc,
      })),
    },
    partitionSpec: {
      specId: 0,
      fields: def.partition.map((p) => ({
        sourceId: ids.get(p.sourceColumn)!,
        transform: p.transform,
        name: p.name,
        fieldId: p.fieldId,
      })),
    },
    properties: { 'write.format.default': 'parquet', 'write.parquet.compression-codec': 'zstd' },
  };
}

export class LakeStorage extends Construct {
  readonly bucket: Bucket;
  readonly database: CfnDatabase;
  readonly databaseName: string;
  /** The tables' resources: Athena DDL custom resources on AWS, Glue tables on an emulator. */
  readonly tables: Readonly<Record<LakeTableDefinition['name'], CustomResource | CfnTable>>;
  /** The workgroup the table DDL runs in (AWS only). */
  readonly ddlWorkGroup?: CfnWorkGroup;

  constructor(scope: Construct, id: string, props: LakeStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    const retention = props.retention ?? DEFAULT_STAGE.lakeRetention;
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.KMS_MANAGED,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects ?? false,
      // Expired snapshots and orphan files are deleted by the Glue optimizers; on a versioned bucket a delete
      // only adds a marker, so noncurrent versions are expired here or the lake would never shrink.
      lifecycleRules: [
        {
          id: 'noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(retention.noncurrentVersionDays),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        ...LAKE_TABLES.map((t) => ({
          id: `delivery-errors-${t.name}`,
          prefix: LAKE_PREFIXES.deliveryErrors(t.name),
          expiration: Duration.days(retention.deliveryErrorDays),
        })),
        {
          id: 'athena-results',
          prefix: LAKE_PREFIXES.athenaResults,
          expiration: Duration.days(retention.queryResultDays),
        },
        { id: 'athena-ddl-results', prefix: LAKE_PREFIXES.ddlResults, expiration: Duration.days(7) },
        // Data files, not metadata (read at every query planning): S3 Intelligent-Tiering moves those not read
        // for 30 days to cheaper tiers with no retrieval fee (docs/cost.md, "Levers").
        ...(retention.intelligentTieringDays > 0
          ? LAKE_TABLES.map((t) => ({
              id: `intelligent-tiering-${t.name}`,
              prefix: LAKE_PREFIXES.data(t.name),
              transitions: [
                {
                  storageClass: StorageClass.INTELLIGENT_TIERING,
                  transitionAfter: Duration.days(retention.intelligentTieringDays),
                },
              ],
            }))
          : []),
      ],
    });
    nagLakeBucket(this.bucket);
    // Glue database names allow only lower-case letters, digits and underscores.
    this.databaseName = Names.uniqueResourceName(this, { maxLength: 200, separator: '_' })
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_');
    this.database = new CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'impressions lake (Iceberg)' },
    });
    this.database.applyRemovalPolicy(removalPolicy);

    const location = (def: LakeTableDefinition) =>
      `s3://${this.bucket.bucketName}/${LAKE_PREFIXES.table(def.name).replace(/\/$/, '')}`;
    const tables: Partial<Record<LakeTableDefinition['name'], CustomResource | CfnTable>> = {};
    if (props.athenaDdl ?? true) {
      this.ddlWorkGroup = this.ddlWorkGroupOf();
      const provider = this.ddlProvider(this.ddlWorkGroup);
      for (const def of LAKE_TABLES) {
        const table = new CustomResource(this, `IcebergTable-${def.name}`, {
          serviceToken: provider.serviceToken,
          resourceType: 'Custom::IcebergTable',
          properties: {
            WorkGroup: this.ddlWorkGroup.ref,
            Database: this.databaseName,
            Location: location(def),
            Definition: JSON.stringify(def),
          },
          removalPolicy,
        });
        // On a throwaway stage the DROP TABLE must run before the bucket is emptied (auto-delete is a child of
        // the bucket), and the database must outlive its tables.
        table.node.addDependency(this.database, this.ddlWorkGroup, this.bucket);
        tables[def.name] = table;
      }
    } else {
      for (const def of LAKE_TABLES) {
        // The shape the live probes of go-to-k/cdkd#1408 show deploying (TableInput with storage descriptor,
        // no IcebergTableInput); used only where Athena cannot create Iceberg tables.
        const table = new CfnTable(this, `Table-${def.name}`, {
          catalogId: Aws.ACCOUNT_ID,
          databaseName: this.databaseName,
          tableInput: {
            name: def.name,
            tableType: 'EXTERNAL_TABLE',
            storageDescriptor: {
              location: location(def),
              columns: def.columns.map((c) => ({ name: c.name, type: hiveType(c.type), comment: c.doc })),
            },
          },
        });
        table.addResourceDependency(this.database);
        table.applyRemovalPolicy(removalPolicy);
        tables[def.name] = table;
      }
    }
    this.tables = tables as Record<LakeTableDefinition['name'], CustomResource | CfnTable>;
  }

  private ddlWorkGroupOf(): CfnWorkGroup {
    const workGroup = new CfnWorkGroup(this, 'DdlWorkGroup', {
      name: `${Names.uniqueResourceName(this, { maxLength: 120 })}-ddl`,
      description: 'impressions lake: table DDL run by the deployment',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: false,
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${LAKE_PREFIXES.ddlResults}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    workGroup.applyRemovalPolicy(RemovalPolicy.DESTROY);
    return workGroup;
  }

  /** What the DDL functions call: Athena in the DDL work group, and what Athena needs of the caller to run DDL. */
  private grantDdl(onEvent: NodeFunction, isComplete: NodeFunction, workGroup: CfnWorkGroup): void {
    const stack = Stack.of(this);
    const workGroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: workGroup.ref,
    });
    onEvent.addToRolePolicy(
      new PolicyStatement({ actions: ['athena:StartQueryExecution'], resources: [workGroupArn] }),
    );
    isComplete.addToRolePolicy(
      new PolicyStatement({ actions: ['athena:GetQueryExecution'], resources: [workGroupArn] }),
    );
    // Athena runs DDL with the caller's permissions: the Glue catalog entries of this database's tables, the
    // tables' locations (Athena writes the first metadata.json) and the DDL results prefix.
    onEvent.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'glue:GetDatabase',
          'glue:GetTable',
          'glue:CreateTable',
          'glue:UpdateTable',
          'glue:DeleteTable',
        ],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName }),
          ...LAKE_TABLES.map((t) =>
            stack.formatArn({
              service: 'glue',
              resource: 'table',
              resourceName: `${this.databaseName}/${t.name}`,
            }),
          ),
        ],
      }),
    );
    // Athena also needs the catalog and the `default` database of the Region for every statement, whatever the
    // statement's database (Athena user guide, "Configure access to databases and tables in the AWS Glue Data
    // Catalog", section "Configure AWS Glue access to the catalog and database per AWS Region"): without it the
    // first CREATE TABLE fails with AccessDenied and the stateful stack rolls back.
    onEvent.addToRolePolicy(
      new PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:CreateDatabase'],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: 'default' }),
        ],
      }),
    );
    // On delete, on-event lists its own stack's resources: a table another resource of the stack names (a
    // renamed logical id adopted it) is kept.
    onEvent.addToRolePolicy(
      new PolicyStatement({ actions: ['cloudformation:ListStackResources'], resources: [stack.stackId] }),
    );
    onEvent.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
    const ddlPrefixes = [...LAKE_TABLES.map((t) => LAKE_PREFIXES.table(t.name)), LAKE_PREFIXES.ddlResults];
    onEvent.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: lakeObjectArns(this.bucket, ddlPrefixes),
      }),
    );
    nagLakePrefixes(
      onEvent,
      ddlPrefixes,
      "the tables' locations (Athena writes the first metadata.json) and the DDL results, whose keys are not known in advance.",
    );
  }

  /** The provider whose functions run and wait for the DDL statements, with least privilege. */
  private ddlProvider(workGroup: CfnWorkGroup): Provider {
    const fn = (name: string, entry: FunctionEntry) =>
      new NodeFunction(this, name, { entry, memorySize: 256, timeout: Duration.seconds(30) });
    const onEvent = fn('DdlOnEvent', 'iceberg-table/on-event.ts');
    const isComplete = fn('DdlIsComplete', 'iceberg-table/is-complete.ts');
    this.grantDdl(onEvent, isComplete, workGroup);
    const logGroup = new LogGroup(this, 'DdlProviderLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Step Functions writes execution logs through a CloudWatch Logs resource policy, which has a 5,120-character
    // limit per Region; log groups under /aws/vendedlogs/ share one policy entry for the prefix instead of one
    // each (Step Functions developer guide, "Avoiding Amazon CloudWatch Logs resource policy size restrictions").
    const waiterLogs = new LogGroup(this, 'DdlWaiterLogs', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-table-ddl-waiter`,
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const provider = new Provider(this, 'DdlProvider', {
      onEventHandler: onEvent,
      isCompleteHandler: isComplete,
      queryInterval: Duration.seconds(5),
      totalTimeout: Duration.minutes(10),
      logGroup,
      disableWaiterStateMachineLogging: false,
      waiterStateMachineLogOptions: {
        destination: waiterLogs,
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    nagProviderFramework(provider);
    return provider;
  }
}
