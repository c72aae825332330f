/** The Glue permissions a writer of one Iceberg table needs (Firehose, the table optimizer). */
import type { Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';

export function icebergTableWriteAccess(
  stack: Stack,
  databaseName: string,
  tableName: string,
): PolicyStatement {
  return new PolicyStatement({
    actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:UpdateTable'],
    resources: [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/${tableName}` }),
    ],
  });
}
