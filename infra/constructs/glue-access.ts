/**
 * The permissions a writer of one Iceberg table needs (Firehose, the Glue table optimizers): the table's
 * catalog entries and the objects under the table's own prefixes of the lake bucket, nothing else.
 */
import type { Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';

export function icebergTableCatalogAccess(
  stack: Stack,
  databaseName: string,
  tableName: string,
  actions: readonly string[] = ['glue:GetDatabase', 'glue:GetTable', 'glue:UpdateTable'],
): PolicyStatement {
  return new PolicyStatement({
    actions: [...actions],
    resources: [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/${tableName}` }),
    ],
  });
}

/** The object ARNs of the lake bucket under the given key prefixes (each ending in `/`). */
export function lakeObjectArns(bucket: IBucket, prefixes: readonly string[]): string[] {
  return prefixes.map((p) => bucket.arnForObjects(`${p}*`));
}

/**
 * Object actions on the given key prefixes (each ending in `/`) and the bucket-level reads that object
 * stores need (location, listing, multipart uploads); listing reveals key names only, never data.
 */
export function lakeObjectAccess(
  bucket: IBucket,
  prefixes: readonly string[],
  objectActions: readonly string[],
): PolicyStatement[] {
  return [
    new PolicyStatement({
      actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      resources: [bucket.bucketArn],
    }),
    new PolicyStatement({
      actions: [...objectActions],
      resources: lakeObjectArns(bucket, prefixes),
    }),
  ];
}
