import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STAGE, resolveStage } from '../../infra/config.js';
import { sizeStage } from '../../infra/sizing.js';
import { StatefulStack } from '../../infra/stateful-stack.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };

const tables = (overrides: Parameters<typeof resolveStage>[1] = {}) =>
  Object.values(
    Template.fromStack(
      new StatefulStack(new App(), 'Stateful', { config: resolveStage('capacity', overrides), env: ENV }),
    ).findResources('AWS::DynamoDB::GlobalTable'),
  ).map((t) => t.Properties as Record<string, unknown>);

// AWS::DynamoDB::GlobalTable: a PROVISIONED table takes WriteProvisionedThroughputSettings with
// WriteCapacityAutoScalingSettings (required) and per-replica ReadProvisionedThroughputSettings
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-globaltable.html).
describe('DynamoDB capacity follows the stage setting tableCapacity', () => {
  it('provisioned with target-tracking auto scaling of writes and reads by default', () => {
    expect(DEFAULT_STAGE.tableCapacity.mode).toBe('provisioned');
    // The ceilings are sized from the stage's load (infra/sizing.ts); at the default load both tables share them.
    const c = sizeStage(resolveStage('capacity')).historyTable;
    expect(c).toEqual(sizeStage(resolveStage('capacity')).catalogTable);
    expect(c.maxWriteCapacity).toBeGreaterThan(c.minWriteCapacity);
    for (const p of tables()) {
      expect(p.BillingMode).toBe('PROVISIONED');
      expect(p.WriteProvisionedThroughputSettings).toEqual({
        WriteCapacityAutoScalingSettings: {
          MinCapacity: c.minWriteCapacity,
          MaxCapacity: c.maxWriteCapacity,
          TargetTrackingScalingPolicyConfiguration: { TargetValue: c.targetUtilizationPercent },
        },
      });
      expect(p.Replicas).toEqual([
        expect.objectContaining({
          ReadProvisionedThroughputSettings: {
            ReadCapacityAutoScalingSettings: {
              MinCapacity: c.minReadCapacity,
              MaxCapacity: c.maxReadCapacity,
              TargetTrackingScalingPolicyConfiguration: { TargetValue: c.targetUtilizationPercent },
            },
          },
        }),
      ]);
    }
  });

  it('on-demand when the stage asks for it, with no provisioned settings', () => {
    for (const p of tables({ tableCapacity: { mode: 'on-demand' } })) {
      expect(p.BillingMode).toBe('PAY_PER_REQUEST');
      expect(p.WriteProvisionedThroughputSettings).toBeUndefined();
    }
  });

  it('refuses bounds and targets auto scaling would refuse', () => {
    expect(() => resolveStage('x', { tableCapacity: { minWriteCapacity: 10, maxWriteCapacity: 5 } })).toThrow(
      /maxWriteCapacity/,
    );
    expect(() => resolveStage('x', { tableCapacity: { targetUtilizationPercent: 95 } })).toThrow(/20–90/);
    expect(() => resolveStage('x', { tableCapacity: { mode: 'free' as 'on-demand' } })).toThrow(/mode/);
  });
});
