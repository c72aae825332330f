/** Glue table optimizer (compaction) for an Iceberg table, with its own least-privilege role. */
import { Aws, Stack } from 'aws-cdk-lib';
import { CfnTableOptimizer } from 'aws-cdk-lib/aws-glue';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { icebergTableWriteAccess } from './glue-access.js';

export interface TableOptimizerProps {
  readonly bucket: IBucket;
  readonly databaseName: string;
  readonly tableName: string;
}

export class TableOptimizer extends Construct {
  constructor(scope: Construct, id: string, props: TableOptimizerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('glue.amazonaws.com') });
    props.bucket.grantReadWrite(role);
    role.addToPolicy(icebergTableWriteAccess(stack, props.databaseName, props.tableName));
    const optimizer = new CfnTableOptimizer(this, 'Compaction', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: props.databaseName,
      tableName: props.tableName,
      type: 'compaction',
      tableOptimizerConfiguration: { enabled: true, roleArn: role.roleArn },
    });
    optimizer.node.addDependency(role);
  }
}
