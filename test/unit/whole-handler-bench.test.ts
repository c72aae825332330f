import { describe, expect, it } from 'vitest';
import { benchWholeHandler } from '../../bench/whole-handler.js';

describe('whole-handler benchmark harness', () => {
  it('runs the deployed filter-enrich handler with real SDK clients against the instant local AWS', async () => {
    const r = await benchWholeHandler({ runs: 1, batches: 2, warmup: 3, profile: true });
    // Every batch reached Kinesis through the SDK (the harness throws on any batch item failure).
    expect(r.requestsPerBatch.PutRecords).toBeGreaterThanOrEqual(1);
    expect(r.handlerEventsPerSec.median).toBeGreaterThan(0);
    expect(r.ratio).toBeGreaterThan(0);
    expect(r.handlerCpuUsPerEvent).toBeGreaterThan(r.baselineCpuUsPerEvent);
    const shares = r.profile!.reduce((n, p) => n + p.share, 0);
    expect(shares).toBeCloseTo(1, 6);
    expect(r.profile!.some((p) => p.part.startsWith('AWS SDK'))).toBe(true);
  }, 120_000);
});
