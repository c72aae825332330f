/** Glue table optimizer (compaction) for an Iceberg table, with its own least-privilege role. */
import { Aws, Stack } from 'aws-cdk-lib';
import { CfnTableOptimizer } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

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
    role.addToPolicy(
      new PolicyStatement({
        actions: ['glue:GetTable', 'glue:UpdateTable', 'glue:GetDatabase'],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: props.databaseName }),
          stack.formatArn({
            service: 'glue',
            resource: 'table',
            resourceName: `${props.databaseName}/${props.tableName}`,
          }),
        ],
      }),
    );
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
