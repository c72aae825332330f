/**
 * The stored impression (lambdas/history-store/item-codec.ts): the packed Binary decodes to the impression
 * and tag it was encoded from, whatever the fields hold within the contract's bounds; a value that does not
 * parse is not read as an impression; and it is the size DynamoDB bills (a Binary: its bytes).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketStart, type Impression, recordTag } from '../../lambdas/domain/history-model.js';
import {
  attributeName,
  bucketSortKey,
  impressionsOfItem,
  isStoredImpression,
  parseAttributeName,
  storedImpression,
  tagsOfItem,
  valueSize,
} from '../../lambdas/history-store/item-codec.js';

// Strings as the contract bounds them: well-formed Unicode, up to 128 characters (row.id, the longest).
const text = fc.string({ unit: 'binary', maxLength: 128 }).filter((s) => s.isWellFormed());
const anImpression: fc.Arbitrary<Impression> = fc.record({
  eventId: fc.uuid(),
  eventTimeMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  titleId: text,
  artworkId: text,
  page: text,
  rowId: text,
  rowIndex: fc.integer({ min: 0, max: 999 }),
  position: fc.integer({ min: 0, max: 999 }),
  deviceType: text,
  trackId: fc.option(fc.constantFrom(0, 1, 127, 128, 2 ** 31, Number.MAX_SAFE_INTEGER), { nil: null }),
});

const typical = (overrides: Partial<Impression> = {}): Impression => ({
  eventId: '4805dd1c-64e2-4bcb-81b5-ab6c1e6fdb54',
  eventTimeMs: Date.parse('2026-12-04T17:14:16.577Z'),
  titleId: 'title-0001',
  artworkId: 'title-0001-art-0',
  page: 'search',
  rowId: 'new-releases-0',
  rowIndex: 0,
  position: 3,
  deviceType: 'tv',
  trackId: 1004,
  ...overrides,
});

const roundTrip = (i: Impression, tag: string) => {
  const value = storedImpression.encode(i, tag);
  const attr = parseAttributeName(attributeName(i.eventId, i.eventTimeMs))!;
  return { value, back: storedImpression.decode(attr, value, bucketStart(i.eventTimeMs)) };
};

describe('stored impression', () => {
  it('decodes to the impression and tag it was encoded from', () => {
    fc.assert(
      fc.property(anImpression, fc.string(), (i, record) => {
        const tag = recordTag(record);
        const { value, back } = roundTrip(i, tag);
        expect(back).toEqual(i);
        expect(storedImpression.tag(value)).toBe(tag);
        expect(isStoredImpression(value)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('is billed on its bytes, 12 fewer than the same fields as a list for a typical impression', () => {
    const i = typical();
    const tag = recordTag('49590338271490256608559692538361571095921575989136588898');
    const value = storedImpression.encode(i, tag);
    expect(valueSize(value)).toBe(value.byteLength);
    const asList = [
      i.titleId,
      i.artworkId,
      i.page,
      i.rowId,
      i.rowIndex,
      i.position,
      i.deviceType,
      i.trackId,
      tag,
    ];
    expect(valueSize(asList) - valueSize(value)).toBeGreaterThanOrEqual(12);
  });

  it('a value that does not parse is not read as an impression (truncated, trailing bytes, overlong varint)', () => {
    const i = typical({ trackId: null });
    const tag = recordTag('r');
    const good = storedImpression.encode(i, tag);
    const name = attributeName(i.eventId, i.eventTimeMs);
    const sk = bucketSortKey(bucketStart(i.eventTimeMs));
    const overlong = Uint8Array.from([...good.subarray(0, 6), ...new Array(9).fill(0xff), 0, 0, 0, 0, 0]);
    for (const bad of [good.subarray(0, good.length - 1), Uint8Array.from([...good, 0]), overlong]) {
      const item = { pk: 'P#p', sk, [name]: bad };
      expect(impressionsOfItem(item)).toEqual([]);
    }
    // The tag of a value too short to hold one impression is not read either: the name is free for admission.
    expect(tagsOfItem({ pk: 'P#p', sk, [name]: good.subarray(0, 5) }).size).toBe(0);
    expect(impressionsOfItem({ pk: 'P#p', sk, [name]: good })).toEqual([i]);
  });

  it('refuses a tag that is not the 48 bits recordTag spells', () => {
    expect(() => storedImpression.encode(typical(), 'short')).toThrow(/6 bytes/);
  });
});
