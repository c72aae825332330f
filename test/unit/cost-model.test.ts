import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { leverMeasurements, measuredInputs, QUALITY_METRICS_SINCE } from '../../ops/cost.js';
import {
  type CostInputs,
  costModel,
  DEFAULT_INPUTS,
  DEFAULT_STAGE_INPUTS,
  DESIGN_PEAK_EVENTS_PER_SECOND,
  levers,
  PRICES,
  QUALITY_EMF_BYTES_PER_BATCH,
  reservedDiscount,
  SECONDS_PER_MONTH,
} from '../../ops/cost-model.js';

const line = (r: ReturnType<typeof costModel>, prefix: string) => {
  const l = r.lines.find((x) => x.component.startsWith(prefix));
  if (!l) throw new Error(`no line ${prefix} in ${r.lines.map((x) => x.component).join(', ')}`);
  return l;
};
const withStage = (stage: Partial<CostInputs['stage']>, more: Partial<CostInputs> = {}): CostInputs => ({
  ...DEFAULT_INPUTS,
  ...more,
  stage: { ...DEFAULT_INPUTS.stage, ...stage },
});

describe('cost model: what the stage deploys', () => {
  it('prices the default production stage of infra/config.ts (the same object, not a copy), and that stage sized for the design peak', () => {
    expect(DEFAULT_STAGE_INPUTS.stage).toBe(DEFAULT_STAGE);
    expect(DEFAULT_STAGE_INPUTS.eventsPerSec).toBe(DEFAULT_STAGE.peakEventsPerSecond);
    expect(DEFAULT_INPUTS.stage).toEqual({
      ...DEFAULT_STAGE,
      peakEventsPerSecond: DESIGN_PEAK_EVENTS_PER_SECOND,
    });
    const r = costModel(DEFAULT_INPUTS);
    expect(line(r, 'DynamoDB history writes').component).toContain(
      DEFAULT_STAGE.tableCapacity.mode === 'provisioned' ? 'provisioned' : 'on-demand',
    );
    expect(r.lines.reduce((n, l) => n + l.monthlyUsd, 0)).toBeCloseTo(r.totalMonthlyUsd, 6);
    expect(r.totalPerBillionUsd).toBeCloseTo(r.totalMonthlyUsd / (r.impressionsPerMonth / 1e9), 6);
  });

  it('every line names prices that exist, each with a source page', () => {
    for (const l of costModel(DEFAULT_INPUTS).lines)
      for (const k of l.prices) expect(PRICES[k].source).toMatch(/^https:\/\/aws\.amazon\.com\//);
  });

  it('on-demand DynamoDB: request units at the on-demand price; provisioned: capacity-hours at the target use', () => {
    const od = costModel(withStage({ tableCapacity: { ...DEFAULT_STAGE.tableCapacity, mode: 'on-demand' } }));
    const wru = 1_500_000 * 0.85 * DEFAULT_INPUTS.historyWcuPerImpression * SECONDS_PER_MONTH;
    // The write path's reads too: erasure markers before and after the writes, held counters.
    const rru = 1_500_000 * 0.85 * DEFAULT_INPUTS.historyRcuPerImpression * SECONDS_PER_MONTH;
    expect(DEFAULT_INPUTS.historyRcuPerImpression).toBeGreaterThan(0);
    expect(line(od, 'DynamoDB history writes (on-demand)').monthlyUsd).toBeCloseTo(
      (wru / 1e6) * 0.625 + (rru / 1e6) * 0.125,
      2,
    );
    const prov = costModel(
      withStage({
        tableCapacity: { ...DEFAULT_STAGE.tableCapacity, mode: 'provisioned', targetUtilizationPercent: 50 },
      }),
    );
    const wcu = (1_500_000 * 0.85 * DEFAULT_INPUTS.historyWcuPerImpression) / 0.5;
    const rcu = (1_500_000 * 0.85 * DEFAULT_INPUTS.historyRcuPerImpression) / 0.5;
    expect(line(prov, 'DynamoDB history writes (provisioned').monthlyUsd).toBeCloseTo(
      wcu * 730 * 0.00065 + rcu * 730 * 0.00013,
      2,
    );
  });

  it('point-in-time recovery follows the stage: off by default, priced on the table size when on', () => {
    expect(DEFAULT_STAGE.historyPointInTimeRecovery).toBe(false);
    expect(line(costModel(DEFAULT_INPUTS), 'DynamoDB point-in-time').monthlyUsd).toBe(0);
    const r30 = costModel(withStage({ historyPointInTimeRecovery: true }));
    const r7 = costModel(withStage({ historyPointInTimeRecovery: true, historyRetentionDays: 7 }));
    expect(line(r30, 'DynamoDB point-in-time').monthlyUsd).toBeGreaterThan(0);
    const pitr = line(r30, 'DynamoDB point-in-time').monthlyUsd;
    const stored = line(r30, 'DynamoDB storage').monthlyUsd + line(r30, 'DynamoDB rollup items').monthlyUsd;
    expect(pitr).toBeCloseTo((stored * 0.2) / 0.25, 6);
    expect(line(r7, 'DynamoDB point-in-time').monthlyUsd).toBeCloseTo((pitr * 7) / 30, 6);
  });

  it('prices the shards the stage is sized for (infra/sizing.ts), by bytes and by records per second', () => {
    const at = (peak: number, bytes: number) =>
      costModel(
        withStage(
          { peakEventsPerSecond: peak, eventBytes: bytes },
          { eventsPerSec: peak, eventBytes: bytes },
        ),
      );
    const small = at(10_000, 100);
    expect(small.sizing.rawShards).toBe(13); // 10,000 records/s: the 1,000 records/s limit, ×1.3
    const big = at(1000, 10_000);
    expect(big.sizing.rawShards).toBe(Math.ceil(1.3 * ((1000 * 10_000) / 1024 ** 2)));
    expect(line(big, 'Kinesis raw').monthlyUsd).toBeGreaterThan(
      big.stageSizing.rawStream.shards * 730 * 0.015,
    );
    // A load below the stage's peak pays for the stage's shards all the same.
    const idle = costModel({ ...DEFAULT_INPUTS, eventsPerSec: 1000 });
    expect(idle.sizing.rawShards).toBe(costModel(DEFAULT_INPUTS).sizing.rawShards);
  });

  it('invocations at the batch size the mapping cuts at the shard rate (≈ 336 at 1.5 M/s, parallelization 2, 1-s window), not 500', () => {
    const r = costModel(DEFAULT_INPUTS);
    expect(r.sizing.recordsPerInvocation).toBe(336);
    expect(line(r, 'Lambda filter-enrich').basis).toMatch(/4464 invocations\/s of ≈ 336 records/);
  });

  it('the rejected stream and its delivery, rollup items, S3 requests and log storage are priced', () => {
    const r = costModel(DEFAULT_INPUTS);
    for (const prefix of [
      'Kinesis rejected',
      'Firehose → rejected',
      'DynamoDB rollup',
      'S3 requests',
      'CloudWatch Logs storage',
    ])
      expect(line(r, prefix).monthlyUsd).toBeGreaterThan(0);
    const rollups = (1_500_000 * 0.85 * 86400 * 30 * 3 * 1024) / 300 / 1024 ** 3;
    expect(line(r, 'DynamoDB rollup items').monthlyUsd).toBeCloseTo(rollups * 0.25, 4);
    const rejectedGb = (1_500_000 * 0.01 * 1600 * SECONDS_PER_MONTH) / 1024 ** 3;
    expect(line(r, 'Firehose → rejected').monthlyUsd).toBeCloseTo(rejectedGb * 0.045, 4);
  });

  it('Lambda logs are tiered ($0.50, $0.25, $0.10, $0.05 per GB past 10, 30, 50 TB); access logs are not', () => {
    const logs = (bytesPerInvocation: number) =>
      line(
        costModel({ ...DEFAULT_INPUTS, logBytesPerInvocation: bytesPerInvocation }),
        'CloudWatch Logs ingestion',
      );
    // Past 50 TB a month of Lambda logs, one more GB costs $0.05.
    // 2,232 shards × parallelization 2 = 4,464 invocations/s at 1.5 M events/s.
    const gbPerByte = 4464 * (SECONDS_PER_MONTH / 1024 ** 3);
    const slope = (logs(2000).monthlyUsd - logs(1000).monthlyUsd) / (1000 * gbPerByte);
    expect(slope).toBeCloseTo(0.05, 6);
  });

  it('device traffic through the ingest route is priced at the device share (one request per client flush)', () => {
    const none = costModel(withStage({ deviceIngestShare: 0 }));
    const all = costModel(withStage({ deviceIngestShare: 1 }));
    expect(none.sizing.historyApiRequestsPerSec).toBe(6600);
    expect(all.sizing.historyApiRequestsPerSec).toBe(6600 + 150_000);
    for (const prefix of ['API Gateway', 'Lambda history API', 'X-Ray'])
      expect(line(all, prefix).monthlyUsd).toBeGreaterThan(line(none, prefix).monthlyUsd);
  });

  it('enhanced fan-out for a second consumer is an option line, outside the total', () => {
    const r = costModel(DEFAULT_INPUTS);
    expect(r.options.map((o) => o.component)).toEqual([
      'option: second enriched-stream consumer (enhanced fan-out)',
    ]);
    expect(r.lines.reduce((n, l) => n + l.monthlyUsd, 0)).toBeCloseTo(r.totalMonthlyUsd, 6);
    const efoGb = (1_500_000 * 0.85 * (1200 + 218) * SECONDS_PER_MONTH) / 1024 ** 3;
    expect(r.options[0]!.monthlyUsd).toBeCloseTo(
      r.stageSizing.enrichedStream.shards * 730 * 0.015 + efoGb * 0.013,
      4,
    );
  });

  it('on-demand Kinesis rounds each record up to 1 KB: a 1.2 KB record is billed as 2 KB', () => {
    const i = withStage(
      { rawStream: { mode: 'on-demand', shards: 1 } },
      { eventsPerSec: 1000, eventBytes: 1200 },
    );
    const raw = line(costModel(i), 'Kinesis raw (on-demand)');
    const inGb = (1000 * 2048 * SECONDS_PER_MONTH) / 1024 ** 3;
    const outGb = (1000 * 1200 * SECONDS_PER_MONTH) / 1024 ** 3;
    expect(raw.monthlyUsd).toBeCloseTo(730 * 0.04 + inGb * 0.08 + outGb * 0.04, 4);
  });

  it('Firehose into Iceberg bills bytes without per-record rounding: aggregation does not change it', () => {
    const plain = costModel(withStage({ aggregateEnriched: false }));
    const agg = costModel(withStage({ aggregateEnriched: true }));
    expect(line(agg, 'Firehose').monthlyUsd).toBe(line(plain, 'Firehose').monthlyUsd);
    expect(line(agg, 'Kinesis enriched').monthlyUsd).toBeLessThan(line(plain, 'Kinesis enriched').monthlyUsd);
  });

  it('the read side grows with the checks per page render, and nothing else does', () => {
    const one = costModel(withStage({ deviceIngestShare: 0 }));
    const ten = costModel(withStage({ deviceIngestShare: 0 }, { checksPerPageRender: 10 }));
    for (const prefix of ['API Gateway', 'Lambda history API', 'DynamoDB history reads'])
      expect(line(ten, prefix).monthlyUsd).toBeGreaterThan(5 * line(one, prefix).monthlyUsd);
    for (const prefix of ['Kinesis raw', 'Firehose', 'DynamoDB history writes', 'S3 lake'])
      expect(line(ten, prefix).monthlyUsd).toBe(line(one, prefix).monthlyUsd);
  });

  it('HTTP API requests beyond 300 million a month cost the lower tier', () => {
    const r = costModel(
      withStage(
        { deviceIngestShare: 0 },
        { eventsPerSec: 250_000, checksPerPageRender: 1, historyCallsPerPageRender: 0 },
      ),
    );
    const monthly = 1000 * SECONDS_PER_MONTH; // 250,000 / 250 = 1,000 checks/s
    expect(line(r, 'API Gateway').monthlyUsd).toBeCloseTo(300 + ((monthly - 300e6) / 1e6) * 0.9, 4);
  });

  it('the lake holds the retention days of Parquet, plus the days files replaced by compaction linger (lakeRetention)', () => {
    const days = 730 / 24;
    // A month of lake data at 100,000 events/s: under 50 TB, the first S3 tier alone.
    const r = costModel({ ...DEFAULT_INPUTS, lakeRetentionDays: days, eventsPerSec: 100_000 });
    const month = (100_000 * 0.85 * SECONDS_PER_MONTH * DEFAULT_INPUTS.parquetBytesPerImpression) / 1024 ** 3;
    const { snapshotDays, orphanFileDays, noncurrentVersionDays } = DEFAULT_STAGE.lakeRetention;
    const linger = snapshotDays + orphanFileDays + noncurrentVersionDays;
    expect(line(r, 'S3 lake').monthlyUsd).toBeCloseTo(month * ((days + linger) / days) * 0.023, 4);
    // At 1.5 M events/s and 365 days the lake is in S3's third tier: 50 TB at $0.023, 450 TB at $0.022.
    const big = costModel(DEFAULT_INPUTS);
    const heldGb =
      ((1_500_000 * 0.85 * SECONDS_PER_MONTH * DEFAULT_INPUTS.parquetBytesPerImpression) / 1024 ** 3) *
      ((365 + linger) / days);
    expect(line(big, 'S3 lake').monthlyUsd).toBeCloseTo(
      50 * 1024 * 0.023 + 450 * 1024 * 0.022 + (heldGb - 500 * 1024) * 0.021,
      4,
    );
  });
});

describe('cost model: measured figures from bench/results/latest.json', () => {
  it('prices the design as deployed: the history figures set writes, storage and reads; no duplicate table, one enriched-stream reader', () => {
    const { inputs, provenance } = measuredInputs(
      {
        history: {
          wcuPerImpression: 0.28,
          bytesPerImpression: 60,
          readUnits: { check: 9, history: 1.5 },
          assumptions: { check: '7d check, typical', history: 'limit 50, typical', flush: 'every 5 s' },
        },
      },
      'latest.json',
    );
    expect(inputs).toMatchObject({
      historyWcuPerImpression: 0.28,
      historyBytesPerImpression: 60,
      rruPerCheck: 9,
      rruPerHistoryCall: 1.5,
      enrichedConsumers: 1,
    });
    expect(provenance.historyWcuPerImpression).toMatch(
      /^measured: latest.json history.wcuPerImpression.*every 5 s/,
    );
    expect(provenance.rruPerCheck).toMatch(/^measured: .*7d check, typical/);
    const r = costModel(inputs);
    expect(r.lines.some((l) => /duplicate|history-writer/.test(l.component))).toBe(false);
    const writes = line(r, 'DynamoDB history writes');
    const wru = 1_500_000 * 0.85 * 0.28 * SECONDS_PER_MONTH;
    if (DEFAULT_STAGE.tableCapacity.mode === 'on-demand')
      expect(writes.monthlyUsd).toBeCloseTo((wru / 1e6) * 0.625, 2);
    // Reads: 1.5 M impressions/s ÷ 250 per page render = 6,000 checks/s × 9 + 600 history calls/s × 1.5.
    const rru = (6000 * 9 + 600 * 1.5) * SECONDS_PER_MONTH;
    if (DEFAULT_STAGE.tableCapacity.mode === 'on-demand')
      expect(line(r, 'DynamoDB history reads').monthlyUsd).toBeCloseTo((rru / 1e6) * 0.125, 2);
  });

  it('without results the read units and history bytes say they are assumed', () => {
    const { inputs, provenance } = measuredInputs({}, 'latest.json');
    expect(inputs.rruPerCheck).toBe(DEFAULT_INPUTS.rruPerCheck);
    expect(provenance.rruPerCheck).toMatch(/^assumed/);
    expect(provenance.historyBytesPerImpression).toMatch(/^assumed/);
  });

  it('the enriched stream is read once (Firehose): its retrieval is priced for one consumer', () => {
    const i = withStage({ enrichedStream: { mode: 'on-demand', shards: 1 } });
    const one = line(costModel(i), 'Kinesis enriched (on-demand)');
    const two = line(costModel({ ...i, enrichedConsumers: 2 }), 'Kinesis enriched (on-demand)');
    expect(one.basis).toMatch(/read by 1 consumer/);
    expect(two.monthlyUsd).toBeGreaterThan(one.monthlyUsd);
  });

  it('--flush-seconds prices the write units measured at that client flush interval, and refuses one not measured', () => {
    const latest = {
      history: {
        wcuPerImpression: 0.22,
        bytesPerImpression: 60,
        readUnits: { check: 9, history: 1.5 },
        byFlushInterval: [
          { flushSeconds: 5, wcuPerImpression: 0.22 },
          { flushSeconds: 15, wcuPerImpression: 0.2 },
        ],
      },
    };
    const { inputs, provenance } = measuredInputs(latest, 'latest.json', 15);
    expect(inputs.historyWcuPerImpression).toBe(0.2);
    expect(provenance.historyWcuPerImpression).toMatch(/byFlushInterval .*every 15 s/);
    expect(() => measuredInputs(latest, 'latest.json', 2)).toThrow(
      '--flush-seconds 2 was not measured (measured: 5, 15)',
    );
  });

  it('the enriched stream is priced with the records per aggregate within one invocation, when measured', () => {
    const streams = {
      rawBytesAvg: 1000,
      enrichedBytesAvg: 1200,
      raw: { userRecordsPerAggregate: 30 },
      enriched: { userRecordsPerAggregate: 27 },
    };
    expect(measuredInputs({ streams }, 'x').inputs.enrichedRecordsPerKinesisRecord).toBe(27);
    const { inputs, provenance } = measuredInputs(
      {
        streams: {
          ...streams,
          enriched: {
            userRecordsPerAggregate: 27,
            perInvocation: { userRecordsPerAggregate: 5.4, batchSize: 336, recordsPerProfile: 7 },
          },
        },
      },
      'x',
    );
    expect(inputs.enrichedRecordsPerKinesisRecord).toBe(5.4);
    expect(provenance.enrichedRecordsPerKinesisRecord).toMatch(/perInvocation.*336-record invocation/);
  });

  it('the device-ingest figures come from the ingest benchmark row of the events per request priced', () => {
    const ingest = {
      limitWcuPerRequest: 1,
      rows: [
        { batchEvents: 10, billedMsPerRequest: 29, logBytesPerRequest: 0 },
        { batchEvents: 100, billedMsPerRequest: 35, logBytesPerRequest: 12 },
      ],
    };
    const at10 = measuredInputs({ ingest }, 'x').inputs;
    expect(at10.ingestMsPerRequest).toBe(29);
    expect(at10.ingestLogBytesPerRequest).toBe(800);
    expect(at10.ingestWcuPerRequest).toBe(1);
    expect(measuredInputs({ ingest }, 'x', undefined, 100).inputs.ingestMsPerRequest).toBe(35);
    // Billed ms per ingest request drive the API function's line; reads are unchanged.
    const slow = costModel({ ...DEFAULT_INPUTS, ingestMsPerRequest: 2 * DEFAULT_INPUTS.ingestMsPerRequest });
    const base = costModel(DEFAULT_INPUTS);
    expect(line(slow, 'Lambda history API').monthlyUsd).toBeGreaterThan(
      line(base, 'Lambda history API').monthlyUsd,
    );
    const noDevices = withStage({ deviceIngestShare: 0 });
    expect(line(costModel(noDevices), 'DynamoDB ingest window counters').monthlyUsd).toBe(0);
    expect(line(base, 'DynamoDB ingest window counters').monthlyUsd).toBeGreaterThan(0);
  });

  it('the whole-handler benchmark sets the CPU per event and the log bytes per invocation', () => {
    const { inputs } = measuredInputs(
      { wholeHandler: { handlerCpuUsPerEvent: 42, logBytesPerBatch: 450 } },
      'x',
    );
    expect(inputs.filterEnrichCpuUsPerEvent).toBe(42);
    expect(inputs.logBytesPerInvocation).toBe(850);
  });

  it('adds the quality metrics’ EMF bytes to a whole-handler run that predates them, not to one after', () => {
    const wholeHandler = { handlerCpuUsPerEvent: 42, logBytesPerBatch: 450 };
    const before = measuredInputs({ date: '2026-11-26T22:41:24Z', wholeHandler }, 'x');
    expect(before.inputs.qualityEmfBytesPerBatch).toBe(QUALITY_EMF_BYTES_PER_BATCH.value);
    expect(before.provenance.qualityEmfBytesPerBatch).toMatch(/filter-enrich-quality\.test\.ts.*predates/);
    const after = measuredInputs({ date: QUALITY_METRICS_SINCE, wholeHandler }, 'x');
    expect(after.inputs.qualityEmfBytesPerBatch).toBe(0);
    expect(after.provenance.qualityEmfBytesPerBatch).toMatch(/in x wholeHandler\.logBytesPerBatch/);
  });
});

describe('cost model: quality metrics, quality report, levers', () => {
  it('the quality metrics: their series at $0.30 and their EMF bytes in the Lambda logs', () => {
    const r = costModel(DEFAULT_INPUTS);
    const m = line(r, 'CloudWatch custom metrics and alarms');
    expect(m.monthlyUsd).toBeCloseTo(
      (DEFAULT_INPUTS.customMetrics + DEFAULT_INPUTS.qualityMetricSeries) * 0.3 +
        DEFAULT_INPUTS.alarmMetrics * 0.1,
      6,
    );
    expect(m.basis).toContain(`${DEFAULT_INPUTS.qualityMetricSeries} data-quality series`);
    // Without the quality bytes, the Lambda logs are exactly those bytes fewer (at the marginal tier).
    const without = costModel({ ...DEFAULT_INPUTS, qualityEmfBytesPerBatch: 0 });
    const invocations = line(r, 'Lambda filter-enrich').basis.match(/(\d+) invocations\/s/)![1]!;
    const gb = (Number(invocations) * QUALITY_EMF_BYTES_PER_BATCH.value * SECONDS_PER_MONTH) / 1024 ** 3;
    const diff =
      line(r, 'CloudWatch Logs ingestion').monthlyUsd - line(without, 'CloudWatch Logs ingestion').monthlyUsd;
    // Past 50 TB a month every further GB is $0.05.
    expect(diff / gb).toBeCloseTo(0.05, 2);
  });

  it('the daily quality report: one day of each table scanned per day at $5 per TB', () => {
    const r = costModel(DEFAULT_INPUTS);
    const day =
      1_500_000 *
      86400 *
      (0.85 * DEFAULT_INPUTS.parquetBytesPerImpression +
        2 * 0.01 * DEFAULT_INPUTS.rejectedParquetBytesPerRow);
    expect(line(r, 'Athena quality report').monthlyUsd).toBeCloseTo((day / 1024 ** 4) * (730 / 24) * 5, 2);
    // A small stage pays Athena's 10 MB minimum per statement.
    const small = costModel({ ...DEFAULT_STAGE_INPUTS, eventsPerSec: 1 });
    expect(line(small, 'Athena quality report').monthlyUsd).toBeCloseTo(
      ((3 * 10) / 1024 ** 2) * (730 / 24) * 5,
      6,
    );
  });

  it('tracing pass-through records no traces', () => {
    const r = costModel(withStage({ tracing: 'pass-through' }));
    expect(line(r, 'X-Ray traces').monthlyUsd).toBe(0);
    expect(line(costModel(DEFAULT_INPUTS), 'X-Ray traces').monthlyUsd).toBeGreaterThan(0);
  });

  it('Intelligent-Tiering prices old lake data at the colder tiers, and costs no more than Standard', () => {
    const standard = line(costModel(DEFAULT_INPUTS), 'S3 lake storage').monthlyUsd;
    const tiered = (days: number, lakeRetentionDays = 365) =>
      line(
        costModel(
          withStage(
            { lakeRetention: { ...DEFAULT_STAGE.lakeRetention, intelligentTieringDays: days } },
            { lakeRetentionDays },
          ),
        ),
        'S3 lake storage (Intelligent-Tiering)',
      );
    const t = tiered(14);
    expect(t.basis).toMatch(
      /44 days \+ 17 of replaced files .* 60 days Infrequent Access .* 261 days Archive/,
    );
    expect(t.monthlyUsd).toBeLessThan(standard * 0.5);
    // Data kept no longer than it stays frequent: the same bytes at Standard rates (plus monitoring, transitions).
    const short = tiered(14, 30).monthlyUsd;
    const shortStandard = line(
      costModel({ ...DEFAULT_INPUTS, lakeRetentionDays: 30 }),
      'S3 lake storage',
    ).monthlyUsd;
    expect(short).toBeGreaterThanOrEqual(shortStandard);
    expect(short).toBeLessThan(shortStandard * 1.01);
  });

  it('levers: each a single change priced by the model, none already applied, reserved capacity by its published discount', () => {
    const m = { wcuPerImpressionAt15sFlush: 0.21, rawRecordsPerAggregate: 32.5, historyAvgItemBytes: 1431 };
    const list = levers(DEFAULT_INPUTS, m);
    const base = costModel(DEFAULT_INPUTS).totalPerBillionUsd;
    const by = (re: RegExp) => list.find((l) => re.test(l.lever))!;
    expect(by(/trace sampling/).perBillionUsd).toBeCloseTo(
      -line(costModel(DEFAULT_INPUTS), 'X-Ray').perBillionUsd,
      6,
    );
    expect(by(/50 events per ingest request/).perBillionUsd).toBeCloseTo(
      costModel({ ...DEFAULT_INPUTS, eventsPerIngestRequest: 50 }).totalPerBillionUsd - base,
      6,
    );
    expect(by(/flush interval 15 s/).perBillionUsd).toBeLessThan(0);
    expect(by(/KPL aggregation/).perBillionUsd).toBeLessThan(0);
    expect(by(/target utilization 85/).perBillionUsd).toBeLessThan(0);
    expect(by(/Intelligent-Tiering/).perBillionUsd).toBeLessThan(0);
    // 1 year: ($150 / 8,760 h + $0.0128) per 100 WCU against $0.065 list: 54 % off; 3 years 77 %.
    expect(reservedDiscount('wcu100', 'oneYear')).toBeCloseTo(0.54, 2);
    expect(reservedDiscount('wcu100', 'threeYears')).toBeCloseTo(0.77, 2);
    expect(by(/compact history item/).perBillionUsd).toBeUndefined();
    expect(by(/compact history item/).trade).toContain('1431 B per bucket item');
    // Applied levers are not listed again; unmeasured ones are left out.
    const applied = levers(withStage({ tracing: 'pass-through' }, { eventsPerIngestRequest: 50 }));
    expect(applied.some((l) => /trace sampling|ingest request|flush interval|KPL/.test(l.lever))).toBe(false);
    expect(leverMeasurements({})).toEqual({});
  });
});

describe('docs/cost.md', () => {
  it('lists every price of the model, with the same figure', () => {
    const doc = readFileSync(new URL('../../docs/cost.md', import.meta.url), 'utf8');
    for (const [key, price] of Object.entries(PRICES))
      expect(doc).toMatch(new RegExp(`\\| \`${key}\` +\\| \\$${String(price.usd).replace('.', '\\.')} +\\|`));
  });
});
