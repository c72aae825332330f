/** Athena workgroup (engine v3, encrypted results in the lake bucket, bytes-scanned cutoff) and named queries. */
import { Names, RemovalPolicy } from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_STAGE } from '../config.js';
import type { LakeQuery } from '../lake-queries.js';

export interface AnalyticsProps {
  readonly bucket: IBucket;
  readonly databaseName: string;
  /** @default the stage default, `DEFAULT_STAGE.athenaBytesScannedCutoff` */
  readonly bytesScannedCutoffPerQuery?: number;
  /**
   * Bytes-scanned cutoff of the erasure workgroup, whose statements scan whole tables
   * (docs/privacy-erasure.md, "At production size").
   * @default the stage default, `DEFAULT_STAGE.erasureBytesScannedCutoff`
   */
  readonly erasureBytesScannedCutoffPerQuery?: number;
  /** Named queries to create; none when empty. */
  readonly queries: readonly LakeQuery[];
  /** @default RemovalPolicy.DESTROY (a workgroup holds no data) */
  readonly removalPolicy?: RemovalPolicy;
}

export class Analytics extends Construct {
  readonly workGroup: CfnWorkGroup;
  /** The workgroup `npm run erase` runs in: the lake queries' settings, a cutoff sized for whole-table scans. */
  readonly erasureWorkGroup: CfnWorkGroup;

  constructor(scope: Construct, id: string, props: AnalyticsProps) {
    super(scope, id);
    const workGroup = (id: string, description: string, cutoff: number, suffix = '') => {
      const wg = new CfnWorkGroup(this, id, {
        name: `${Names.uniqueResourceName(this, { maxLength: 128 - suffix.length })}${suffix}`,
        description,
        recursiveDeleteOption: true,
        workGroupConfiguration: {
          engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
          enforceWorkGroupConfiguration: true,
          publishCloudWatchMetricsEnabled: true,
          bytesScannedCutoffPerQuery: cutoff,
          resultConfiguration: {
            outputLocation: `s3://${props.bucket.bucketName}/athena-results/`,
            encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          },
        },
      });
      wg.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.DESTROY);
      return wg;
    };
    this.workGroup = workGroup(
      'WorkGroup',
      'impressions lake queries',
      props.bytesScannedCutoffPerQuery ?? DEFAULT_STAGE.athenaBytesScannedCutoff,
    );
    this.erasureWorkGroup = workGroup(
      'ErasureWorkGroup',
      'impressions lake erasure (npm run erase): whole-table scans',
      props.erasureBytesScannedCutoffPerQuery ?? DEFAULT_STAGE.erasureBytesScannedCutoff,
      '-erasure',
    );
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
