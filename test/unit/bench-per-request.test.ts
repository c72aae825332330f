import { describe, expect, it } from 'vitest';
import { benchIngest } from '../../bench/ingest.js';
import { perInvocationAggregation } from '../../bench/stream-bytes.js';

describe('benchmarks of what the cost model prices per invocation and per request', () => {
  it('aggregates the enriched records within one batch: at most the records of one profile per aggregate', async () => {
    const r = await perInvocationAggregation(336, 7, 4);
    expect(r.enrichedRecords).toBeGreaterThan(0);
    expect(r.enrichedRecords).toBeLessThanOrEqual(4 * 336);
    expect(r.userRecordsPerAggregate).toBeGreaterThan(1);
    expect(r.userRecordsPerAggregate).toBeLessThanOrEqual(7);
    expect(r.aggregatedPutUnits).toBe(r.aggregates);
  });

  it('measures the ingest route per request: the limit’s UpdateItem and one PutRecords, billed ms on 1,024 MB', async () => {
    const r = await benchIngest({ runs: 1, batchSizes: [10] });
    const [row] = r.rows;
    expect(row!.batchEvents).toBe(10);
    expect(row!.awsRequestsPerRequest).toEqual({ UpdateItem: 1, PutRecords: 1 });
    // At least the assumed round trips; the CPU part is measured.
    expect(row!.billedMsPerRequest).toBeGreaterThanOrEqual(r.limitLatencyMs + r.putLatencyMs);
    expect(row!.gbSecondsPerRequest).toBeCloseTo(row!.billedMsPerRequest / 1000, 9);
    expect(row!.logBytesPerRequest).toBeGreaterThanOrEqual(0);
  }, 60_000);
});
