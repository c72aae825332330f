import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { DEFAULT_STAGE, resolveStage } from '../../infra/config.js';
import { QUOTAS, quotaFindings, SIZING, sizeStage } from '../../infra/sizing.js';
import { costModel, DEFAULT_INPUTS } from '../../ops/cost-model.js';

const ENV = { account: '123456789012', region: 'us-east-1' };

/** The prod stage synthesized at a load, with the figures read back from its templates. */
function synthesized(overrides: Parameters<typeof resolveStage>[1] = {}, env = ENV) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const config = resolveStage('prod', overrides);
  const stacks = buildApp(app, config, env);
  const stateful = Template.fromStack(stacks.stateful);
  const pipeline = Template.fromStack(stacks.pipeline);
  const streams = stateful.findResources('AWS::Kinesis::Stream');
  const shards = (prefix: string) => {
    const [, s] = Object.entries(streams).find(([id]) => id.startsWith(prefix))!;
    return (s.Properties.ShardCount as number | undefined) ?? 0;
  };
  const tables = stateful.findResources('AWS::DynamoDB::GlobalTable');
  const bounds = (prefix: string) => {
    const [, t] = Object.entries(tables).find(([id]) => id.startsWith(prefix))!;
    const w = t.Properties.WriteProvisionedThroughputSettings?.WriteCapacityAutoScalingSettings;
    const r = t.Properties.Replicas[0].ReadProvisionedThroughputSettings?.ReadCapacityAutoScalingSettings;
    return {
      minWriteCapacity: w?.MinCapacity,
      maxWriteCapacity: w?.MaxCapacity,
      minReadCapacity: r?.MinCapacity,
      maxReadCapacity: r?.MaxCapacity,
    };
  };
  const stage = Object.values(pipeline.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
  const esm = Object.values(pipeline.findResources('AWS::Lambda::EventSourceMapping'))[0]!;
  return {
    app,
    stacks,
    config,
    template: {
      rawShards: shards('RawStream'),
      enrichedShards: shards('EnrichedStream'),
      rejectedShards: shards('RejectedStream'),
      history: bounds('HistoryTable'),
      catalog: bounds('TitleCatalogTable'),
      apiRateLimit: stage.Properties.DefaultRouteSettings.ThrottlingRateLimit as number,
      apiBurstLimit: stage.Properties.DefaultRouteSettings.ThrottlingBurstLimit as number,
      parallelizationFactor: esm.Properties.ParallelizationFactor as number,
    },
  };
}

const warnings = (s: ReturnType<typeof synthesized>) =>
  [
    ...Annotations.fromStack(s.stacks.stateful).findWarning('*', Match.stringLikeRegexp('.*')),
    ...Annotations.fromStack(s.stacks.pipeline).findWarning('*', Match.stringLikeRegexp('.*')),
  ]
    .map((w) => String(w.entry.data))
    .filter((m) => m.includes('[ack: impressions:account-quota]'));

describe('one load figure sizes the stage', () => {
  it('shards are bound by bytes (1 MiB/s) or by records (1,000/s) per shard, with the headroom', () => {
    const bytes = sizeStage({ ...DEFAULT_STAGE, peakEventsPerSecond: 10_000, eventBytes: 1200 });
    expect(bytes.rawStream.shards).toBe(Math.ceil((1.3 * 10_000 * 1200) / 1024 ** 2));
    const records = sizeStage({ ...DEFAULT_STAGE, peakEventsPerSecond: 10_000, eventBytes: 100 });
    expect(records.rawStream.shards).toBe(13);
    expect(SIZING.headroom.value).toBe(1.3);
  });

  it('an explicit shard count or capacity bound wins; on-demand streams have no shards', () => {
    const z = sizeStage({
      ...DEFAULT_STAGE,
      rawStream: { mode: 'provisioned', shards: 3 },
      enrichedStream: { mode: 'on-demand', shards: 0 },
      tableCapacity: { ...DEFAULT_STAGE.tableCapacity, maxWriteCapacity: 777 },
    });
    expect(z.rawStream.shards).toBe(3);
    expect(z.enrichedStream.shards).toBe(0);
    expect(z.historyTable.maxWriteCapacity).toBe(777);
  });

  it('at the parallelization factor and 1-s window a batch holds what one lane receives, not the batch size', () => {
    const z = sizeStage({ ...DEFAULT_STAGE, peakEventsPerSecond: 1_500_000 });
    expect(z.rawStream.shards).toBe(2232);
    expect(z.filterEnrichBatches.recordsPerInvocation).toBeCloseTo(1_500_000 / (2232 * 2), 6);
    expect(Math.round(z.filterEnrichBatches.recordsPerInvocation)).toBe(336);
  });

  it('the template deploys exactly what sizeStage derives, at the default and at 1.5 M events/s', () => {
    for (const overrides of [{}, { peakEventsPerSecond: 1_500_000 }]) {
      const s = synthesized(overrides);
      const z = sizeStage(s.config);
      expect(s.template).toEqual({
        rawShards: z.rawStream.shards,
        enrichedShards: z.enrichedStream.shards,
        rejectedShards: z.rejectedStream.shards,
        history: {
          minWriteCapacity: z.historyTable.minWriteCapacity,
          maxWriteCapacity: z.historyTable.maxWriteCapacity,
          minReadCapacity: z.historyTable.minReadCapacity,
          maxReadCapacity: z.historyTable.maxReadCapacity,
        },
        catalog: {
          minWriteCapacity: z.catalogTable.minWriteCapacity,
          maxWriteCapacity: z.catalogTable.maxWriteCapacity,
          minReadCapacity: z.catalogTable.minReadCapacity,
          maxReadCapacity: z.catalogTable.maxReadCapacity,
        },
        apiRateLimit: z.api.rateLimit,
        apiBurstLimit: z.api.burstLimit,
        parallelizationFactor: z.concurrency.parallelizationFactor,
      });
    }
  });

  it("the cost model prices the synthesized stage: its shard counts and capacities are the template's, at the default and at 1.5 M events/s", () => {
    for (const overrides of [{}, { peakEventsPerSecond: 1_500_000 }]) {
      const s = synthesized(overrides);
      const m = costModel({
        ...DEFAULT_INPUTS,
        stage: s.config,
        eventsPerSec: s.config.peakEventsPerSecond,
      }).sizing;
      expect({
        rawShards: m.rawShards,
        enrichedShards: m.enrichedShards,
        rejectedShards: m.rejectedShards,
        historyMaxWriteCapacity: m.historyMaxWriteCapacity,
        historyMaxReadCapacity: m.historyMaxReadCapacity,
        catalogMaxWriteCapacity: m.catalogMaxWriteCapacity,
        catalogMaxReadCapacity: m.catalogMaxReadCapacity,
        apiRateLimit: m.apiRateLimit,
        apiBurstLimit: m.apiBurstLimit,
      }).toEqual({
        rawShards: s.template.rawShards,
        enrichedShards: s.template.enrichedShards,
        rejectedShards: s.template.rejectedShards,
        historyMaxWriteCapacity: s.template.history.maxWriteCapacity,
        historyMaxReadCapacity: s.template.history.maxReadCapacity,
        catalogMaxWriteCapacity: s.template.catalog.maxWriteCapacity,
        catalogMaxReadCapacity: s.template.catalog.maxReadCapacity,
        apiRateLimit: s.template.apiRateLimit,
        apiBurstLimit: s.template.apiBurstLimit,
      });
      // The priced Kinesis lines are the template's shards at the shard-hour price (and PUT units on top).
      const r = costModel({ ...DEFAULT_INPUTS, stage: s.config, eventsPerSec: s.config.peakEventsPerSecond });
      const raw = r.lines.find((l) => l.component.startsWith('Kinesis raw'))!;
      expect(raw.basis).toMatch(new RegExp(`^${s.template.rawShards} shards`));
    }
    // The figures above are not trivially equal: the design's scale deploys thousands of shards.
    expect(synthesized({ peakEventsPerSecond: 1_500_000 }).template.rawShards).toBe(2232);
  });

  it("the cost model's alarm metrics and quality schedules are the template's", () => {
    const s = synthesized();
    const alarms = Object.values(
      Template.fromStack(s.stacks.pipeline).findResources('AWS::CloudWatch::Alarm'),
    );
    const bands = alarms.filter((a) =>
      JSON.stringify(a.Properties).includes('ANOMALY_DETECTION_BAND'),
    ).length;
    // A plain alarm is billed as one alarm metric, an anomaly-detection alarm as three (CloudWatch pricing).
    expect(DEFAULT_INPUTS.alarmMetrics).toBe(alarms.length - bands + bands * 3);
    const schedules = Template.fromStack(s.stacks.pipeline).findResources('AWS::Scheduler::Schedule');
    expect(DEFAULT_INPUTS.qualityReportStatementsPerDay).toBe(Object.keys(schedules).length);
  });

  it('the default stage (5,000 events/s) passes no default quota; 1.5 M events/s warns, naming each quota to raise', () => {
    expect(DEFAULT_STAGE.peakEventsPerSecond).toBe(5000);
    expect(warnings(synthesized())).toEqual([]);
    const big = warnings(synthesized({ peakEventsPerSecond: 1_500_000 }));
    for (const q of [QUOTAS.lambdaConcurrency, QUOTAS.apiGatewayAccountRps, QUOTAS.dynamoTableCapacity])
      expect(big.some((m) => m.includes(q.name))).toBe(true);
    // us-east-1's shard quota is 20,000: 2,232 + 2,637 + 140 shards fit; elsewhere the lower default does not.
    expect(big.some((m) => m.includes('Shards per Region'))).toBe(false);
    const z = sizeStage({ ...DEFAULT_STAGE, peakEventsPerSecond: 1_500_000 });
    expect(quotaFindings(z, 'ap-south-1').some((f) => f.message.includes('Shards per Region'))).toBe(true);
  });

  it('an emulator stage is sized for test traffic: one shard per stream', () => {
    const z = sizeStage(resolveStage('local', { emulator: true }));
    expect([z.rawStream.shards, z.enrichedStream.shards, z.rejectedStream.shards]).toEqual([1, 1, 1]);
  });
});
