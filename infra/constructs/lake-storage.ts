/**
 * The lake's stateful part: an encrypted, versioned, TLS-only bucket, a Glue database, and the Iceberg v2
 * tables generated from `lambdas/domain/lake-schema.ts` (columns, field ids, `day()` partitions).
 */
import { Aws, Names, RemovalPolicy } from 'aws-cdk-lib';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  hiveType,
  icebergTypeJson,
  LAKE_TABLES,
  type LakeTableDefinition,
} from '../../lambdas/domain/lake-schema.js';

export interface LakeStorageProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Empty the bucket when the stack is deleted (throwaway stages; needs a CDK-provided function). @default false */
  readonly autoDeleteObjects?: boolean;
}

/** The `OpenTableFormatInput` of a table definition; exported so tests compare it with the schema source. */
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
  readonly tables: Readonly<Record<LakeTableDefinition['name'], CfnTable>>;

  constructor(scope: Construct, id: string, props: LakeStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.KMS_MANAGED,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects ?? false,
    });
    // Glue database names allow only lower-case letters, digits and underscores.
    this.databaseName = Names.uniqueResourceName(this, { maxLength: 200, separator: '_' })
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_');
    this.database = new CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'impressions lake (Iceberg)' },
    });
    this.database.applyRemovalPolicy(removalPolicy);

    const tables: Partial<Record<LakeTableDefinition['name'], CfnTable>> = {};
    for (const def of LAKE_TABLES) {
      const location = `s3://${this.bucket.bucketName}/warehouse/${def.name}`;
      const table = new CfnTable(this, `Table-${def.name}`, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: this.databaseName,
        tableInput: {
          name: def.name,
          tableType: 'EXTERNAL_TABLE',
          storageDescriptor: {
            location,
            columns: def.columns.map((c) => ({ name: c.name, type: hiveType(c.type), comment: c.doc })),
          },
        },
        openTableFormatInput: {
          icebergInput: {
            metadataOperation: 'CREATE',
            version: '2',
            icebergTableInput: icebergTableInput(def, location),
          },
        },
      });
      table.addResourceDependency(this.database);
      table.applyRemovalPolicy(removalPolicy);
      tables[def.name] = table;
    }
    this.tables = tables as Record<LakeTableDefinition['name'], CfnTable>;
  }
}
