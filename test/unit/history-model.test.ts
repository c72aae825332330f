import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EnrichedRecord, enrich } from '../../lambdas/domain/enrich.js';
import { countWindow } from '../../lambdas/domain/frequency.js';
import {
  attributeName,
  BUCKET_MS,
  bucketSortKey,
  bucketSortKeyEnd,
  decodePosition,
  encodePosition,
  eventIdOf,
  type Impression,
  impressionsOfItem,
  MAX_IMPRESSIONS_PER_WRITE,
  planHistoryWrites,
} from '../../lambdas/domain/history-model.js';
import { impression, NOW_MS } from '../support/factories.js';

const record = (overrides: Parameters<typeof impression>[0] = {}): EnrichedRecord => {
  const e = impression(overrides);
  return enrich(e, Date.parse(e.eventTime), NOW_MS, undefined);
};
const at = (ms: number, o: Parameters<typeof impression>[0] = {}) =>
  record({ eventTime: new Date(ms).toISOString(), ...o });

describe('planHistoryWrites', () => {
  it('packs a profile’s impressions of one 10-second bucket into one write', () => {
    const t = Date.parse('2026-06-15T11:59:50.000Z');
    const inputs = [at(t), at(t + 3000), at(t + 9999), at(t + 10_000), at(t, { profileId: 'other' })].map(
      (r, i) => ({
        sequenceNumber: String(i),
        record: r,
      }),
    );
    const writes = planHistoryWrites(inputs, 30);
    expect(writes).toHaveLength(3);
    const first = writes.find((w) => w.pk === 'P#profile-1' && w.bucketStartMs === t)!;
    expect([...first.impressions.keys()]).toEqual(inputs.slice(0, 3).map((i) => i.record.event_id));
    expect(first.sources).toEqual(['0', '1', '2']);
    expect(first.x).toBe(Math.floor((t + BUCKET_MS + 30 * 86_400_000) / 1000));
  });

  it('writes a record repeated in the batch once and names every source', () => {
    const r = record();
    const writes = planHistoryWrites(
      [
        { sequenceNumber: '1', record: r },
        { sequenceNumber: '2', record: r },
      ],
      30,
    );
    expect(writes).toHaveLength(1);
    expect(writes[0]!.impressions.size).toBe(1);
    expect(writes[0]!.sources).toEqual(['1', '2']);
  });

  it('writes a large bucket of one batch into parts of at most 200 impressions, each once', () => {
    const t = Date.parse('2026-06-15T11:59:50.000Z');
    const writes = planHistoryWrites(
      Array.from({ length: 250 }, (_, i) => ({ sequenceNumber: String(i), record: at(t + (i % 10)) })),
      30,
    );
    expect(writes.map((w) => [w.part, w.impressions.size])).toEqual([
      [0, MAX_IMPRESSIONS_PER_WRITE],
      [1, 50],
    ]);
  });

  it('stores what the API serves and reads it back', () => {
    const r = record();
    const w = planHistoryWrites([{ sequenceNumber: '1', record: r }], 30)[0]!;
    const item = {
      pk: w.pk,
      sk: bucketSortKey(w.bucketStartMs),
      x: w.x,
      [attributeName(r.event_id)]: w.impressions.get(r.event_id),
    };
    expect(impressionsOfItem(item)).toEqual([
      {
        eventId: r.event_id,
        eventTimeMs: Date.parse(r.event_time),
        titleId: r.title_id,
        artworkId: r.artwork_id,
        page: r.page,
        rowId: r.row_id,
        rowIndex: r.row_index,
        position: r.position,
        deviceType: r.device_type,
        trackId: r.track_id,
      },
    ]);
  });

  it('orders bucket sort keys by time, with overflow parts inside their bucket’s range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 1, max: 15 }), (t, part) => {
        const b = Math.floor(t / BUCKET_MS) * BUCKET_MS;
        expect(bucketSortKey(b) < bucketSortKey(b, part)).toBe(true);
        expect(bucketSortKey(b, part) <= bucketSortKeyEnd(b)).toBe(true);
        expect(bucketSortKeyEnd(b) < bucketSortKey(b + BUCKET_MS)).toBe(true);
      }),
    );
  });

  it('names attributes with the eventId in 23 characters, reversibly', () => {
    fc.assert(
      fc.property(fc.uuid(), (id) => {
        const name = attributeName(id.toLowerCase());
        expect(name).toHaveLength(23);
        expect(eventIdOf(name)).toBe(id.toLowerCase());
      }),
    );
  });

  it('page positions round-trip and reject garbage', () => {
    expect(decodePosition(encodePosition({ eventTimeMs: 5, eventId: 'a|b' }))).toEqual({
      eventTimeMs: 5,
      eventId: 'a|b',
    });
    expect(decodePosition('garbage')).toBeUndefined();
  });
});

describe('frequency windows', () => {
  const asOf = Date.parse('2026-06-15T12:00:00.000Z');
  const imp = (t: number, eventId: string, titleId = 't'): Impression => ({
    eventId,
    eventTimeMs: t,
    titleId,
    artworkId: 'a',
    page: 'p',
    rowId: 'r',
    rowIndex: 0,
    position: 0,
    deviceType: 'tv',
    trackId: null,
  });

  it('counts (asOf - window, asOf], exactly at both boundaries', () => {
    const imps = [
      imp(asOf - 3_600_000, 'excluded-lower'),
      imp(asOf - 3_600_000 + 1, 'included-lower'),
      imp(asOf, 'included-upper'),
      imp(asOf + 1, 'excluded-upper'),
    ];
    expect(countWindow(imps, ['t'], asOf, '1h').get('t')).toEqual({
      count: 2,
      lastSeenAt: new Date(asOf).toISOString(),
    });
  });

  it('counts distinct event ids per requested title and answers 0 for unseen titles', () => {
    const i = imp(asOf - 10, 'a');
    const counts = countWindow([i, i, imp(asOf - 20, 'b', 'u')], ['t', 'never'], asOf, '1d');
    expect(counts.get('t')!.count).toBe(1);
    expect(counts.get('never')).toEqual({ count: 0, lastSeenAt: null });
    expect(counts.has('u')).toBe(false);
  });
});
