/** LakeStorage: the lake bucket, Glue database and Iceberg tables, defaults exercised. */
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
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

  it("logs the DDL waiter state machine to a log group under /aws/vendedlogs/ (CloudWatch Logs' resource-policy size)", () => {
    const s = constructStack();
    new LakeStorage(s.stack, 'Lake');
    const t = s.template();
    const machines = Object.values(t.findResources('AWS::StepFunctions::StateMachine'));
    expect(machines).toHaveLength(1);
    const groups = t.findResources('AWS::Logs::LogGroup');
    const destinations = machines.flatMap((m) =>
      (m.Properties.LoggingConfiguration?.Destinations ?? []).map(
        (d: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }) =>
          d.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0],
      ),
    );
    expect(destinations).toHaveLength(1);
    for (const id of destinations)
      expect(groups[id]?.Properties.LogGroupName).toMatch(/^\/aws\/vendedlogs\/states\//);
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

  it('moves data files (not metadata) to Intelligent-Tiering after lakeRetention.intelligentTieringDays, none by default', () => {
    const rules = (retention?: typeof DEFAULT_STAGE.lakeRetention) => {
      const s = constructStack();
      new LakeStorage(s.stack, 'Lake', retention ? { retention } : {});
      const [bucket] = Object.values(s.template().findResources('AWS::S3::Bucket'));
      return bucket!.Properties.LifecycleConfiguration.Rules as {
        Id: string;
        Prefix?: string;
        Transitions?: unknown[];
      }[];
    };
    expect(rules().filter((r) => r.Transitions)).toEqual([]);
    const tiered = rules({ ...DEFAULT_STAGE.lakeRetention, intelligentTieringDays: 7 }).filter(
      (r) => r.Transitions,
    );
    expect(tiered).toEqual(
      LAKE_TABLES.map((t) => ({
        Id: `intelligent-tiering-${t.name}`,
        Prefix: `warehouse/${t.name}.iceberg/data/`,
        Status: 'Enabled',
        Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 7 }],
      })),
    );
  });
});
