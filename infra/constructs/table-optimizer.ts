/**
 * The Glue table optimizers of one Iceberg table: compaction, snapshot retention and orphan file deletion,
 * with the roles and permissions of the AWS Glue guide, "Table optimization prerequisites": S3 read/write on
 * the table's location, `glue:GetTable`/`glue:UpdateTable` on the table, and CloudWatch Logs writes to the
 * optimizers' log groups (`/aws-glue/iceberg-compaction|retention|orphan-file-deletion/logs`). "The orphan
 * file deletion optimizer doesn't require the glue:updateTable or s3:putObject permissions", so it has a
 * role of its own without them. Both roles are scoped to this table's prefix.
 */
import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import { CfnTableOptimizer } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { LakeRetention } from '../config.js';
import { icebergTableCatalogAccess, lakeObjectAccess } from './glue-access.js';
import { LAKE_PREFIXES } from './lake-storage.js';
import { nagGlueOptimizerLogs, nagLakePrefixes } from './nag.js';

export interface TableOptimizerProps {
  readonly bucket: IBucket;
  readonly databaseName: string;
  readonly tableName: string;
  readonly retention: Pick<LakeRetention, 'snapshotDays' | 'snapshotsToKeep' | 'orphanFileDays'>;
}

/** The log groups the Glue guide's optimizer policy names, one per optimizer type. */
export const OPTIMIZER_LOG_GROUPS = [
  '/aws-glue/iceberg-compaction/logs',
  '/aws-glue/iceberg-retention/logs',
  '/aws-glue/iceberg-orphan-file-deletion/logs',
] as const;

export class TableOptimizer extends Construct {
  readonly optimizers: readonly CfnTableOptimizer[];

  constructor(scope: Construct, id: string, props: TableOptimizerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = LAKE_PREFIXES.table(props.tableName);
    const logs = new PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: OPTIMIZER_LOG_GROUPS.map((g) =>
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: `${g}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    });
    const role = (roleId: string, glueActions: string[], s3Actions: string[]) => {
      const r = new Role(this, roleId, { assumedBy: new ServicePrincipal('glue.amazonaws.com') });
      r.addToPolicy(icebergTableCatalogAccess(stack, props.databaseName, props.tableName, glueActions));
      for (const s of lakeObjectAccess(props.bucket, [prefix], s3Actions)) r.addToPolicy(s);
      r.addToPolicy(logs);
      nagLakePrefixes(
        r,
        [prefix],
        "the table's Iceberg data and metadata files, whose keys are not known in advance.",
      );
      nagGlueOptimizerLogs(r, OPTIMIZER_LOG_GROUPS);
      return r;
    };
    const writer = role(
      'Role',
      ['glue:GetDatabase', 'glue:GetTable', 'glue:UpdateTable'],
      ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
    );
    const orphanCleaner = role(
      'OrphanFileDeletionRole',
      ['glue:GetDatabase', 'glue:GetTable'],
      ['s3:GetObject', 's3:DeleteObject'],
    );
    const optimizer = (optimizerId: string, type: string, roleArn: string, extra: object) =>
      new CfnTableOptimizer(this, optimizerId, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: props.databaseName,
        tableName: props.tableName,
        type,
        tableOptimizerConfiguration: { enabled: true, roleArn, ...extra },
      });
    this.optimizers = [
      optimizer('Compaction', 'compaction', writer.roleArn, {}),
      optimizer('SnapshotRetention', 'retention', writer.roleArn, {
        retentionConfiguration: {
          icebergConfiguration: {
            snapshotRetentionPeriodInDays: props.retention.snapshotDays,
            numberOfSnapshotsToRetain: props.retention.snapshotsToKeep,
            cleanExpiredFiles: true,
          },
        },
      }),
      optimizer('OrphanFileDeletion', 'orphan_file_deletion', orphanCleaner.roleArn, {
        orphanFileDeletionConfiguration: {
          icebergConfiguration: { orphanFileRetentionPeriodInDays: props.retention.orphanFileDays },
        },
      }),
    ];
    // The role's policy must exist before Glue validates the role.
    for (const o of this.optimizers) o.node.addDependency(writer, orphanCleaner);
  }
}
