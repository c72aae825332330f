import { describe, expect, it } from 'vitest';
import { inspectAggregate, isAggregated } from '../../lambdas/adapters/kinesis-event.js';
import {
  chunkForPut,
  MAX_BYTES_PER_PUT,
  MAX_RECORDS_PER_PUT,
} from '../../lambdas/adapters/kinesis-writer.js';
import { classify } from '../../lambdas/domain/classify.js';
import { reconcile } from '../../scripts/live-stats.js';
import { BAD_KINDS, type GeneratedRecord, prng, tally, traffic, zipf } from '../../scripts/traffic.js';
import { DEFAULT_CLASSIFIER_CONFIG } from '../support/oracles.js';

const titles = Array.from({ length: 1000 }, (_, i) => `title-${String(i + 1).padStart(4, '0')}`);
const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const take = (n: number, seed = 7, extra: Partial<Parameters<typeof traffic>[0]> = {}) => {
  const gen = traffic({ seed, titleIds: titles, testProfile: 'bot', nowMs: () => NOW, ...extra });
  return Array.from({ length: n }, () => gen.next().value as GeneratedRecord);
};

describe('traffic generator', () => {
  it('is reproducible for a seed and differs between seeds', () => {
    const a = take(500, 1).map((r) => Buffer.from(r.data).toString());
    expect(take(500, 1).map((r) => Buffer.from(r.data).toString())).toEqual(a);
    expect(take(500, 2).map((r) => Buffer.from(r.data).toString())).not.toEqual(a);
  });

  it("labels every record with the outcome the pipeline's classifier gives it", () => {
    const records = take(20_000);
    const config = { ...DEFAULT_CLASSIFIER_CONFIG, testProfiles: new Set(['bot']) };
    for (const r of records) {
      // A KPL aggregate is judged by its framing before any of it is classified (kinesis-event.ts).
      const framing = isAggregated(r.data) ? inspectAggregate(r.data) : undefined;
      if (framing) {
        expect('bad' in framing && r.expected).toBe('rejected.decode.bad-aggregate');
        continue;
      }
      const c = classify(r.data, NOW, config);
      const label =
        c.outcome === 'rejected' ? `rejected.${c.reason}` : c.outcome === 'filtered' ? c.reason : 'enriched';
      // Duplicates are valid events; telling them apart needs the dedup store, which the classifier does not see.
      expect(label).toBe(r.expected === 'filtered.duplicate' ? 'enriched' : r.expected);
    }
  });

  it('given an erased profile, sends filtered.erased: valid impressions of it from before its erasure', () => {
    const erasedProfile = { profileId: 'gone', erasedAtMs: NOW - 5_000 };
    const records = take(20_000, 5, { badShare: 0.05, erasedProfile });
    const erased = records.filter((r) => r.expected === 'filtered.erased');
    expect(erased.length).toBeGreaterThan(0);
    expect(take(20_000, 5, { badShare: 0.05 }).some((r) => r.expected === 'filtered.erased')).toBe(false);
    for (const r of erased) {
      // The classifier accepts it: only the erasure marker (filter-enrich's history read) filters it.
      const c = classify(r.data, NOW, DEFAULT_CLASSIFIER_CONFIG);
      expect(c.outcome).toBe('candidate');
      const event = JSON.parse(Buffer.from(r.data).toString()) as { profileId: string; eventTime: string };
      expect(event.profileId).toBe('gone');
      expect(r.partitionKey).toBe('gone');
      expect(Date.parse(event.eventTime)).toBeLessThanOrEqual(erasedProfile.erasedAtMs);
    }
  });

  it('covers every bad kind, duplicates and not-viewable impressions in plausible shares', () => {
    const counts = tally(take(50_000, 3, { badShare: 0.05 }));
    for (const kind of BAD_KINDS) expect(counts[kind], kind).toBeGreaterThan(0);
    expect(counts['filtered.duplicate']).toBeGreaterThan(0);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(counts.enriched! / total).toBeGreaterThan(0.6);
    expect(counts['filtered.not-viewable']! / total).toBeGreaterThan(0.05);
  });

  it('builds pages of rows of titles with a popular head', () => {
    const events = take(20_000)
      .filter((r) => r.expected === 'enriched')
      .map((r) => JSON.parse(Buffer.from(r.data).toString()));
    const rowIndexes = new Set(events.map((e) => e.row.index));
    expect(Math.max(...rowIndexes)).toBeGreaterThanOrEqual(9);
    expect(Math.max(...events.map((e) => e.position))).toBeGreaterThanOrEqual(20);
    const byTitle = new Map<string, number>();
    for (const e of events) byTitle.set(e.titleId, (byTitle.get(e.titleId) ?? 0) + 1);
    const top = [...byTitle.values()].sort((a, b) => b - a);
    expect(top[0]! / events.length).toBeGreaterThan(0.015);
    expect(byTitle.size).toBeGreaterThan(300);
    expect(new Set(events.map((e) => e.device.type)).size).toBe(5);
  });

  it('zipf samples rank 0 most often', () => {
    const next = zipf(100, 1.1, prng(5));
    const hits = new Array(100).fill(0);
    for (let i = 0; i < 20_000; i++) hits[next()]++;
    expect(hits[0]).toBeGreaterThan(hits[1]);
    expect(hits[1]).toBeGreaterThan(hits[50]);
  });
});

describe('PutRecords chunking', () => {
  it('respects 500 records and 5 MiB per request and keeps order', () => {
    const small = Array.from({ length: 1201 }, (_, i) => ({
      partitionKey: 'p',
      data: new Uint8Array(10),
      source: i,
    }));
    const chunks = chunkForPut(small);
    expect(chunks.map((c) => c.length)).toEqual([MAX_RECORDS_PER_PUT, MAX_RECORDS_PER_PUT, 201]);
    expect(chunks.flat().map((r) => r.source)).toEqual(small.map((r) => r.source));
    const big = Array.from({ length: 12 }, (_, i) => ({
      partitionKey: 'p',
      data: new Uint8Array(1024 * 1024 - 1),
      source: i,
    }));
    const bigChunks = chunkForPut(big);
    for (const c of bigChunks) {
      expect(c.reduce((n, r) => n + r.data.byteLength + 1, 0)).toBeLessThanOrEqual(MAX_BYTES_PER_PUT);
    }
    expect(bigChunks.flat()).toHaveLength(12);
  });
});

describe('reconcile', () => {
  it('passes only when totals balance and every reason matches', () => {
    const expected = { enriched: 5, 'filtered.duplicate': 1, 'rejected.time.future': 2 };
    const observed = {
      RecordsRead: 8,
      Enriched: 5,
      Filtered: 1,
      Rejected: 2,
      'filtered.duplicate': 1,
      'rejected.time.future': 2,
    };
    expect(reconcile(expected, observed).ok).toBe(true);
    expect(
      reconcile(expected, { ...observed, 'rejected.time.future': 1, 'rejected.time.too-late': 1 }).ok,
    ).toBe(false);
    expect(reconcile(expected, { ...observed, RecordsRead: 9 }).ok).toBe(false);
  });

  it('has a row for decode.bad-aggregate: one bad aggregate is one record read and one rejection', () => {
    const expected = { enriched: 1, 'rejected.decode.bad-aggregate': 2 };
    const observed = { RecordsRead: 3, Enriched: 1, Rejected: 2, 'rejected.decode.bad-aggregate': 2 };
    const r = reconcile(expected, observed);
    expect(r.ok).toBe(true);
    expect(r.rows).toContainEqual({ key: 'rejected.decode.bad-aggregate', expected: 2, observed: 2 });
    expect(
      reconcile(expected, { ...observed, 'rejected.decode.bad-aggregate': 1, 'rejected.decode.not-json': 1 })
        .ok,
    ).toBe(false);
  });
});
