/** The prod stage synthesizes with every setting at its lowest and at its highest allowed value. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import { everyBound } from '../support/setting-bounds.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };

describe('every setting at its bounds', () => {
  it('the prod stage synthesizes with every setting at its minimum, and at its maximum', {
    timeout: 240_000,
  }, () => {
    for (const which of ['low', 'high'] as const) {
      const config = resolveStage('prod', everyBound(which));
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const { stateful, pipeline } = buildApp(app, config, ENV);
      const p = Template.fromStack(pipeline).toJSON() as {
        Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
      };
      const s = Template.fromStack(stateful).toJSON() as typeof p;
      const streams = Object.values(s.Resources).filter((r) => r.Type === 'AWS::Kinesis::Stream');
      expect(streams.map((r) => r.Properties?.RetentionPeriodHours)).toEqual(
        streams.map(() => (which === 'low' ? 24 : 8760)),
      );
      const mappings = Object.values(p.Resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
      expect(mappings.length).toBeGreaterThan(0);
      for (const m of mappings)
        expect(m.Properties).toMatchObject(
          which === 'low'
            ? {
                BatchSize: 1,
                ParallelizationFactor: 1,
                MaximumRetryAttempts: -1,
                MaximumRecordAgeInSeconds: 3600,
              }
            : {
                BatchSize: 10_000,
                ParallelizationFactor: 10,
                MaximumRetryAttempts: 10_000,
                MaximumRecordAgeInSeconds: 604_800,
              },
        );
    }
  });
});
