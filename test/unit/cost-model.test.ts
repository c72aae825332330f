import { describe, expect, it } from 'vitest';
import { costModel, DEFAULT_INPUTS } from '../../scripts/cost-model.js';

describe('cost model', () => {
  it('derives per-billion cost from monthly cost and volume', () => {
    const r = costModel(DEFAULT_INPUTS);
    const billions = (DEFAULT_INPUTS.eventsPerSec * 730 * 3600) / 1e9;
    expect(r.totalPerBillionUsd).toBeCloseTo(r.totalMonthlyUsd / billions, 6);
    expect(r.lines.reduce((n, l) => n + l.monthlyUsd, 0)).toBeCloseTo(r.totalMonthlyUsd, 6);
  });

  it('sizes shards by bytes and records per second', () => {
    const r = costModel({ ...DEFAULT_INPUTS, eventsPerSec: 10_000, eventBytes: 100 });
    // 10,000 records/s of 100 B: the 1,000 records/s per shard limit decides (×1.3 headroom).
    expect(r.sizing.rawShards).toBe(13);
    const big = costModel({ ...DEFAULT_INPUTS, eventsPerSec: 1000, eventBytes: 10_000 });
    // 1,000 × 10 KB = 9.5 MiB/s: the 1 MiB/s limit decides.
    expect(big.sizing.rawShards).toBe(Math.ceil(1.3 * ((1000 * 10_000) / 1024 ** 2)));
  });

  it('charges less for Kinesis and Firehose when records are aggregated, and the same for DynamoDB', () => {
    const plain = costModel(DEFAULT_INPUTS);
    const agg = costModel({
      ...DEFAULT_INPUTS,
      rawRecordsPerKinesisRecord: 40,
      enrichedRecordsPerKinesisRecord: 25,
    });
    const line = (r: typeof plain, prefix: string) =>
      r.lines.find((l) => l.component.startsWith(prefix))!.monthlyUsd;
    expect(line(agg, 'Kinesis raw')).toBeLessThan(line(plain, 'Kinesis raw'));
    expect(line(agg, 'Firehose')).toBeLessThan(line(plain, 'Firehose') / 2);
    expect(line(agg, 'DynamoDB history')).toBe(line(plain, 'DynamoDB history'));
  });

  it('prices on-demand modes from bytes and requests', () => {
    const r = costModel({ ...DEFAULT_INPUTS, kinesisMode: 'on-demand', dynamoMode: 'on-demand' });
    expect(r.lines.some((l) => l.component === 'Kinesis raw (on-demand)')).toBe(true);
    const history = r.lines.find((l) => l.component === 'DynamoDB history writes (on-demand)')!;
    const wru =
      DEFAULT_INPUTS.eventsPerSec *
      DEFAULT_INPUTS.acceptedShare *
      DEFAULT_INPUTS.historyWcuPerImpression *
      730 *
      3600;
    expect(history.monthlyUsd).toBeCloseTo((wru / 1e6) * 0.625, 2);
  });
});
