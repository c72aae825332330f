/** Athena workgroup (engine v3, encrypted results in the lake bucket, bytes-scanned cutoff) and named queries. */
import { Names, RemovalPolicy } from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { LakeQuery } from '../lake-queries.js';

export interface AnalyticsProps {
  readonly bucket: IBucket;
  readonly databaseName: string;
  /** @default 100 GiB */
  readonly bytesScannedCutoffPerQuery?: number;
  /** Named queries to create; none when empty. */
  readonly queries: readonly LakeQuery[];
  /** @default RemovalPolicy.DESTROY (a workgroup holds no data) */
  readonly removalPolicy?: RemovalPolicy;
}

export class Analytics extends Construct {
  readonly workGroup: CfnWorkGroup;

  constructor(scope: Construct, id: string, props: AnalyticsProps) {
    super(scope, id);
    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: Names.uniqueResourceName(this, { maxLength: 128 }),
      description: 'impressions lake queries',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 100 * 1024 ** 3,
        resultConfiguration: {
          outputLocation: `s3://${props.bucket.bucketName}/athena-results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    this.workGroup.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.DESTROY);
    for (const q of props.queries) {
      new CfnNamedQuery(this, q.id, {
        name: q.name,
        description: `${q.description}${q.parameters.length ? ` (parameters: ${q.parameters.join(', ')})` : ''}`,
        database: props.databaseName,
        workGroup: this.workGroup.ref,
        queryString: q.sql,
      }).addResourceDependency(this.workGroup);
    }
  }
}
