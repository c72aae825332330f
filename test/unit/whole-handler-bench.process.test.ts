import { describe, expect, it } from 'vitest';
import { benchWholeHandler } from '../../bench/whole-handler.js';

// One run per test file: the deployed handler keeps its clients (and so the instant AWS's endpoint) for the
// life of the module, as in a Lambda execution environment.
describe('whole-handler benchmark harness', () => {
  it('runs the deployed filter-enrich handler with real SDK clients against the instant local AWS: a bucket write per profile (day counters once per block), failed conditions survived, the history writes measured alone', async () => {
    const r = await benchWholeHandler({
      runs: 1,
      batches: 3,
      warmup: 3,
      profile: true,
      recordsPerProfile: 14,
    });
    // Every batch reached Kinesis through the SDK (the harness throws on any batch item failure).
    expect(r.requestsPerBatch.PutRecords).toBeGreaterThanOrEqual(1);
    expect(r.profilesPerBatch).toBeGreaterThanOrEqual(30);
    // At least one bucket write per profile (a profile's records may span buckets); the day counters, in
    // blocks, are counted in test/unit/day-allowance.test.ts.
    expect(r.requestsPerBatch.UpdateItem).toBeGreaterThanOrEqual(r.profilesPerBatch);
    // The history writes alone make the handler's writes: the same bucket writes and counter raises, each
    // failed condition followed by its exact write (the harness pins the sample's time, so whatever the clock
    // the same buckets are written).
    const alone = r.historyWrites.operationsPerBatch;
    const attempted = (ops: Readonly<Record<string, number>>) =>
      (ops.UpdateItem ?? 0) - (ops.ConditionalCheckFailed ?? 0);
    expect(Math.abs(attempted(alone) - attempted(r.requestsPerBatch))).toBeLessThanOrEqual(
      0.02 * attempted(r.requestsPerBatch),
    );
    expect(r.historyWrites.cpuUsPerEvent).toBeGreaterThan(0);
    expect(r.historyWrites.cpuUsPerEvent).toBeLessThan(r.handlerCpuUsPerEvent);
    expect(r.ceilingCpuRatio).toBeGreaterThan(r.cpuRatio);
    // The rest alone (history port answering at once): cheaper than the whole, dearer than the baseline.
    expect(r.restCpuUsPerEvent).toBeLessThan(r.handlerCpuUsPerEvent);
    expect(r.restCpuRatio).toBeGreaterThan(r.cpuRatio);
    // Some optimistic bucket writes failed their condition (a stored impression came back with the failure),
    // and still no record was reported as failed.
    expect(r.requestsPerBatch.ConditionalCheckFailed).toBeGreaterThan(0);
    expect(r.handlerEventsPerSec.median).toBeGreaterThan(0);
    expect(r.ratio).toBeGreaterThan(0);
    expect(r.handlerCpuUsPerEvent).toBeGreaterThan(r.baselineCpuUsPerEvent);
    const shares = r.profile!.reduce((n, p) => n + p.share, 0);
    expect(shares).toBeCloseTo(1, 6);
    expect(r.profile!.some((p) => p.part.startsWith('AWS SDK'))).toBe(true);
  }, 120_000);
});
