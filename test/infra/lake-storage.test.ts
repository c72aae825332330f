/** LakeStorage: the lake bucket, Glue database and Iceberg tables, defaults exercised. */
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { LakeStorage } from '../../infra/constructs/lake-storage.js';
import { LAKE_TABLES } from '../../lambdas/domain/lake-schema.js';
import { constructStack } from '../support/construct-stack.js';

describe('LakeStorage', () => {
  it('by default retains an encrypted, versioned, private bucket, never empties it, and makes the tables with Athena DDL', () => {
    const s = constructStack();
    new LakeStorage(s.stack, 'Lake');
    const t = s.template();
    t.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: Match.objectLike({
          BlockPublicAcls: true,
          RestrictPublicBuckets: true,
        }),
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Id: 'noncurrent-versions',
              NoncurrentVersionExpiration: {
                NoncurrentDays: DEFAULT_STAGE.lakeRetention.noncurrentVersionDays,
              },
            }),
            Match.objectLike({
              Id: 'athena-results',
              ExpirationInDays: DEFAULT_STAGE.lakeRetention.queryResultDays,
            }),
          ]),
        },
      },
    });
    t.hasResource('AWS::Glue::Database', { DeletionPolicy: 'RetainExceptOnCreate' });
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    t.resourceCountIs('AWS::Glue::Table', 0);
    t.resourceCountIs('Custom::IcebergTable', LAKE_TABLES.length);
  });

  it('registers Glue tables instead where Athena has no Iceberg DDL, and empties a throwaway bucket', () => {
    const s = constructStack();
    new LakeStorage(s.stack, 'Lake', {
      athenaDdl: false,
      autoDeleteObjects: true,
      removalPolicy: RemovalPolicy.DESTROY,
      retention: { ...DEFAULT_STAGE.lakeRetention, queryResultDays: 2 },
    });
    const t = s.template();
    t.resourceCountIs('AWS::Glue::Table', LAKE_TABLES.length);
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    t.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Delete',
      Properties: {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ Id: 'athena-results', ExpirationInDays: 2 })]),
        },
      },
    });
  });
});
