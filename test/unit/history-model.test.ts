import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EnrichedRecord, enrich } from '../../lambdas/domain/enrich.js';
import {
  admissionOf,
  BUCKET_MS,
  bucketStart,
  decideBucket,
  decodePosition,
  encodePosition,
  type HistoryCandidate,
  type Impression,
  ITEM_BUDGET_BYTES,
  impressionOf,
  recordTag,
} from '../../lambdas/domain/history-model.js';
import { bucketState, EMPTY_BUCKET, planAdmission } from '../../lambdas/history-store/admission-plan.js';
import {
  attributeName,
  bucketSortKey,
  bucketSortKeyEnd,
  impressionsOfItem,
  parseAttributeName,
  storedImpression,
} from '../../lambdas/history-store/item-codec.js';
import { impression, NOW_MS } from '../support/factories.js';
import { countWindow, pastCaps } from '../support/oracles.js';

const record = (overrides: Parameters<typeof impression>[0] = {}): EnrichedRecord => {
  const e = impression(overrides);
  return enrich(e, Date.parse(e.eventTime), NOW_MS, undefined);
};
const at = (ms: number, o: Parameters<typeof impression>[0] = {}) =>
  record({ eventTime: new Date(ms).toISOString(), ...o });

const cand = (r: EnrichedRecord, recordId: string): HistoryCandidate => ({
  profileId: r.profile_id,
  recordId,
  impression: impressionOf(r),
});

describe('planAdmission', () => {
  it('groups a batch by profile, day and 10-second bucket, one planned impression per identity', () => {
    const t = Date.parse('2026-06-15T11:59:50.000Z');
    const same = at(t + 5);
    const inputs = [at(t), same, same, at(t + 9999), at(t + 10_000), at(t, { profileId: 'other' })];
    const days = planAdmission(
      inputs.map((r, i) => cand(r, String(i))),
      30,
    );
    expect(days.map((d) => [d.pk, d.sk, d.size])).toEqual([
      ['P#profile-1', 'D#2026-06-15', 4],
      ['P#other', 'D#2026-06-15', 1],
    ]);
    const [first, second] = days[0]!.buckets;
    expect(first!.sk).toBe('B#2026-06-15T11:59:50.000Z');
    expect(first!.impressions.map((i) => i.members)).toEqual([[0], [1, 2], [3]]);
    expect(second!.sk).toBe('B#2026-06-15T12:00:00.000Z');
    expect(first!.x).toBe(Math.floor((t + BUCKET_MS + 30 * 86_400_000) / 1000));
    // The writer's tag is the first member's.
    expect(storedImpression.tag(first!.impressions[1]!.value)).toBe(recordTag('1'));
  });

  it('stores what the API serves and reads it back', () => {
    const r = record();
    const imp = planAdmission([cand(r, '1')], 30)[0]!.buckets[0]!;
    const item = {
      pk: imp.pk,
      sk: imp.sk,
      x: imp.x,
      n: 1,
      s: 10,
      [imp.impressions[0]!.name]: imp.impressions[0]!.value,
    };
    expect(impressionsOfItem(item)).toEqual([impressionOf(r)]);
    expect(bucketState(item).tags.get(imp.impressions[0]!.name)).toBe(recordTag('1'));
  });

  it('names an impression by eventId and event time: other times are other attributes', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 0, max: 4e12 }), (id, t) => {
        const name = attributeName(id.toLowerCase(), t);
        expect(parseAttributeName(name)).toEqual({ eventId: id.toLowerCase(), offsetMs: t - bucketStart(t) });
        expect(name).not.toBe(attributeName(id.toLowerCase(), t + 1));
        expect(name.length).toBeLessThanOrEqual(26);
      }),
    );
    expect(parseAttributeName('n')).toBeUndefined();
  });

  it('orders bucket sort keys by time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), (t) => {
        const b = bucketStart(t);
        expect(bucketSortKey(b) <= bucketSortKeyEnd(b)).toBe(true);
        expect(bucketSortKeyEnd(b) < bucketSortKey(b + BUCKET_MS)).toBe(true);
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

describe('decideBucket and admissionOf', () => {
  const t = Date.parse('2026-06-15T11:59:50.000Z');
  const limits = { perWindow: 3, perDay: 100 };
  const planned = (n: number) =>
    planAdmission(
      Array.from({ length: n }, (_, i) => cand(at(t + i), `r${i}`)),
      30,
    )[0]!.buckets[0]!.impressions;

  it('writes the absent ones within the window cap in order; the rest are a burst', () => {
    const imps = planned(5);
    const stored = new Map([[imps[1]!.name, 'tag']]);
    const d = decideBucket(imps, { n: 1, s: 100, tags: stored }, limits, { left: 10 });
    expect(d.write.map((i) => i.name)).toEqual([imps[0]!.name, imps[2]!.name]);
    expect([...d.burst]).toEqual([
      [imps[3]!.name, 'window'],
      [imps[4]!.name, 'window'],
    ]);
  });

  it('stops at the day’s room and at the item’s byte budget', () => {
    const imps = planned(3);
    const day = { left: 1 };
    expect(
      decideBucket(imps, EMPTY_BUCKET, { perWindow: 10, perDay: 10 }, day).burst.get(imps[1]!.name),
    ).toBe('day');
    expect(day.left).toBe(0);
    const full = { counted: true, n: 0, s: ITEM_BUDGET_BYTES - 10, tags: new Map() };
    expect(
      decideBucket(imps, full, { perWindow: 10, perDay: 10 }, { left: 10 }).burst.get(imps[0]!.name),
    ).toBe('storage');
  });

  it('tells a redelivery (own tag) from a producer retry (another record’s tag)', () => {
    const c = cand(record(), '900:1');
    expect(admissionOf(c, recordTag('900:1'), undefined, limits)).toEqual({ kind: 'accepted' });
    expect(admissionOf(c, recordTag('901'), undefined, limits)).toEqual({ kind: 'duplicate' });
    expect(admissionOf(c, undefined, 'window', limits)).toMatchObject({ kind: 'burst' });
    expect(admissionOf(c, undefined, undefined, limits)).toEqual({ kind: 'failed' });
  });
});

describe('pastCaps (the expectation of a generator)', () => {
  it('rejects past the window cap and the day cap, in stream order, per profile', () => {
    const t = Date.parse('2026-06-15T11:59:50.000Z');
    const limits = { perWindow: 2, perDay: 3 };
    const xs = [
      { profileId: 'a', eventTimeMs: t },
      { profileId: 'a', eventTimeMs: t + 1 },
      { profileId: 'a', eventTimeMs: t + 2 },
      { profileId: 'b', eventTimeMs: t },
      { profileId: 'a', eventTimeMs: t + 10_000 },
      { profileId: 'a', eventTimeMs: t + 10_001 },
    ];
    expect(pastCaps(xs, limits)).toEqual([false, false, true, false, false, true]);
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
