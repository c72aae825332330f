import { describe, expect, it } from 'vitest';
import type { TitleInfo } from '../../lambdas/domain/enrich.js';
import {
  type FilterEnrichPorts,
  historyCandidate,
  MAX_RAW_KEPT_BYTES,
  planBatch,
  rawText,
  settleBatch,
} from '../../lambdas/domain/filter-enrich.js';
import { IMPRESSIONS_TABLE } from '../../lambdas/domain/lake-schema.js';
import { impression, NOW_MS, rawRecord } from '../support/factories.js';
import { DEFAULT_CLASSIFIER_CONFIG } from '../support/oracles.js';

const TITLE: TitleInfo = {
  titleId: 'title-1',
  name: 'Stranger Things',
  type: 'show',
  genres: ['drama'],
  maturityRating: 'TV-14',
};

const ports = (): FilterEnrichPorts & { asked: string[][] } => {
  const asked: string[][] = [];
  return {
    asked,
    titles: async (ids) => {
      asked.push([...ids]);
      return new Map(ids.includes('title-1') ? [['title-1', TITLE]] : []);
    },
  };
};

describe('planBatch', () => {
  it('gives every record exactly one outcome and the counts add up', async () => {
    const records = [
      rawRecord(impression()),
      rawRecord(impression({ visibility: { percent: 10, durationMs: 10 } })),
      rawRecord('not json'),
      rawRecord(impression({ titleId: 'unknown', entityId: 'unknown' })),
    ];
    const plan = await planBatch(records, DEFAULT_CLASSIFIER_CONFIG, ports());
    expect(plan.outcomes.map((o) => o.outcome)).toEqual(['enriched', 'filtered', 'rejected', 'enriched']);
    expect(plan.enriched).toHaveLength(2);
    expect(plan.rejected).toHaveLength(1);
  });

  it('enriches with catalog data, arrival time and lag; unknown titles get nulls and are counted', async () => {
    const e = impression({ eventTime: '2026-06-15T13:59:58.000+02:00' });
    const plan = await planBatch(
      [rawRecord(e), rawRecord(impression({ titleId: 'nope', entityId: undefined }))],
      DEFAULT_CLASSIFIER_CONFIG,
      ports(),
    );
    const r = plan.enriched[0]!.record;
    expect(r).toMatchObject({
      event_id: e.eventId,
      event_time: '2026-06-15T11:59:58.000Z',
      received_at: new Date(NOW_MS).toISOString(),
      ingest_lag_ms: 2000,
      event_date: '2026-06-15',
      title_name: 'Stranger Things',
      title_type: 'show',
      title_genres: ['drama'],
      maturity_rating: 'TV-14',
      row_index: 2,
      visible_percent: 100,
    });
    expect(Object.keys(r)).toEqual(IMPRESSIONS_TABLE.columns.map((c) => c.name));
    expect(plan.enriched[0]!.partitionKey).toBe(e.profileId);
    expect(plan.enriched[1]!.record.title_name).toBeNull();
    expect(plan.outcomes[1]).toMatchObject({ outcome: 'enriched', unknownTitle: true });
  });

  it('settles the history’s answers: duplicates filtered, bursts rejected with the raw payload, failures handed back', async () => {
    const records = [0, 1, 2, 3].map(() => rawRecord(impression()));
    const plan = await planBatch(records, DEFAULT_CLASSIFIER_CONFIG, ports());
    const settled = settleBatch(records, plan, [
      { kind: 'accepted' },
      { kind: 'duplicate' },
      { kind: 'burst', detail: 'too many' },
      { kind: 'failed' },
    ]);
    expect(settled.enriched.map((e) => e.index)).toEqual([0]);
    expect(settled.outcomes[1]).toEqual({ outcome: 'filtered', reason: 'filtered.duplicate' });
    expect(settled.outcomes[2]).toEqual({ outcome: 'rejected', reason: 'quality.profile-burst' });
    expect(settled.rejected[0]!.row).toMatchObject({ reason: 'quality.profile-burst', detail: 'too many' });
    expect(JSON.parse(settled.rejected[0]!.row.raw).eventId).toBe(plan.enriched[2]!.record.event_id);
    expect(settled.failed.map((e) => e.index)).toEqual([3]);
  });

  it('offers the history each candidate under its user record’s identity', async () => {
    const plan = await planBatch(
      [{ ...rawRecord(impression()), sequenceNumber: '5', subSequenceNumber: 2 }],
      DEFAULT_CLASSIFIER_CONFIG,
      ports(),
    );
    const c = historyCandidate(plan.enriched[0]!);
    expect(c.recordId).toBe('5:2');
    expect(c.impression.eventTimeMs).toBe(Date.parse(plan.enriched[0]!.record.event_time));
  });

  it('keeps rejected records with reason, detail and the raw payload', async () => {
    const plan = await planBatch(
      [rawRecord(impression({ position: 5000 }), { sequenceNumber: '42', partitionKey: 'pk' })],
      DEFAULT_CLASSIFIER_CONFIG,
      ports(),
    );
    expect(plan.rejected[0]!.partitionKey).toMatch(/^r-/);
    expect(plan.rejected[0]!.row).toMatchObject({
      reason: 'schema.out-of-range:position',
      partition_key: 'pk',
      sequence_number: '42',
      received_at: new Date(NOW_MS).toISOString(),
    });
    expect(JSON.parse(plan.rejected[0]!.row.raw).position).toBe(5000);
    expect(plan.rejected[0]!.row.detail).toContain('position');
  });

  it('does not ask the stores anything for a batch without candidates', async () => {
    const p = ports();
    await planBatch([rawRecord('x')], DEFAULT_CLASSIFIER_CONFIG, p);
    expect(p.asked).toEqual([]);
  });
});

describe('rawText', () => {
  it('keeps UTF-8 as text, other bytes as base64, and says when it truncates', () => {
    expect(rawText(Buffer.from('héllo'))).toEqual({ raw: 'héllo', note: '' });
    const bin = rawText(new Uint8Array([0xff, 0x00]));
    expect(bin.raw).toBe('/wA=');
    expect(bin.note).toContain('base64');
    const big = rawText(Buffer.alloc(MAX_RAW_KEPT_BYTES + 10, 0x61));
    expect(big.raw).toHaveLength(MAX_RAW_KEPT_BYTES);
    expect(big.note).toContain('truncated');
  });
});
