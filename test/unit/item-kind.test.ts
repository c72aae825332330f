/**
 * The kind of a history item (lambdas/history-store/item-codec.ts, `itemKind`), which the benchmarks read the
 * table's items by: every sort key the store builds is of the kind it builds, and an item it does not write
 * is of none. The key attributes are the table's own declaration (`table-schema.ts`).
 */
import { describe, expect, it } from 'vitest';
import {
  ATTR,
  bucketSortKey,
  daySortKey,
  ERASURE_SORT_KEY,
  type ItemKind,
  ingestWindowSortKey,
  itemKind,
  profileKey,
  rollupPartSortKey,
  rollupSortKey,
} from '../../lambdas/history-store/item-codec.js';
import { HISTORY_TABLE_SCHEMA } from '../../lambdas/history-store/table-schema.js';

const T = Date.parse('2026-06-15T12:34:50.000Z');
const DAY = Date.parse('2026-06-15T00:00:00.000Z');
const item = (sk: unknown) => ({ [ATTR.partitionKey]: profileKey('p-1'), [ATTR.sortKey]: sk });

describe('itemKind', () => {
  it('tells the kind of every sort key the store builds', () => {
    const built: [string, ItemKind][] = [
      [bucketSortKey(T), 'bucket'],
      [daySortKey(DAY), 'dayCounter'],
      [rollupSortKey(DAY), 'rollup'],
      [rollupPartSortKey(DAY, 2), 'rollup'],
      [ingestWindowSortKey(T), 'ingestWindow'],
      [ERASURE_SORT_KEY, 'erasure'],
    ];
    for (const [sk, kind] of built) expect(itemKind(item(sk)), sk).toBe(kind);
  });

  it('is undefined for an item the store does not write', () => {
    expect(itemKind(item('C#title#2026-06-15'))).toBeUndefined();
    expect(itemKind(item(undefined))).toBeUndefined();
    expect(itemKind({ titleId: 't-1' })).toBeUndefined();
  });

  it('reads the key attributes the table is created with', () => {
    expect([ATTR.partitionKey, ATTR.sortKey, ATTR.ttl]).toEqual([
      HISTORY_TABLE_SCHEMA.partitionKey.name,
      HISTORY_TABLE_SCHEMA.sortKey.name,
      HISTORY_TABLE_SCHEMA.ttlAttribute,
    ]);
  });
});
