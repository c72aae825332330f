/**
 * What the write side does to a day's rollup (docs/history-model.md, "Reads"): invalidate it, or add a late
 * batch's impressions to it.
 */
import { randomUUID } from 'node:crypto';
import { addTally, ROLLUP_BUDGET_BYTES, type Tally } from '../domain/rollup.js';
import { ATTR, encodeTally, type Item, itemSize, rollupSortKey } from './item-codec.js';
import { rollupState } from './rollup-items.js';
import type { HistoryTable, ItemAccess } from './table.js';

/**
 * Invalidates a day's rollup: a new token in `d` (every later build keeps it) and the counts removed. The
 * item is created when absent, so that a reader that saw no item cannot store what it read before.
 */
export async function invalidateRollup(
  table: HistoryTable,
  access: ItemAccess,
  pk: string,
  day: number,
  x: number,
): Promise<void> {
  await access.update({
    TableName: table.tableName,
    Key: { pk, sk: rollupSortKey(day) },
    UpdateExpression: 'SET #d = :d, #x = :x REMOVE #c, #b',
    ExpressionAttributeNames: { '#d': ATTR.dirty, '#x': ATTR.ttl, '#c': ATTR.tally, '#b': ATTR.build },
    ExpressionAttributeValues: { ':d': randomUUID(), ':x': x },
  });
}

/**
 * Adds a late batch's newly stored impressions (`added`) to a day's built rollup, as read (`seen`) before
 * they were written: the counts rewritten with a new build token `b` and a new token `d` (so a reader that
 * read the buckets before these impressions cannot store its build over this one), on the condition that
 * the build is still the one read. A rollup read before the bucket writes cannot count them: it was stored
 * after its build's consistent bucket read. Whether it was applied; when not (no built rollup, too large,
 * or another writer or reader changed it since), the caller invalidates the day instead.
 */
export async function addToRollup(
  table: HistoryTable,
  access: ItemAccess,
  seen: Item | undefined,
  added: Tally,
): Promise<boolean> {
  const state = rollupState(seen, table.now());
  const build = seen?.[ATTR.build];
  // A rollup split into parts (a day of thousands of titles) is invalidated instead.
  if (!seen || !state.counts || typeof build !== 'string' || !added.size || seen[ATTR.parts] !== undefined)
    return false;
  const counts: Tally = new Map(state.counts);
  addTally(counts, added);
  const c = encodeTally(counts);
  if (itemSize({ ...seen, [ATTR.tally]: c }) > ROLLUP_BUDGET_BYTES) return false;
  const out = await access.update({
    TableName: table.tableName,
    Key: { pk: seen[ATTR.partitionKey], sk: seen[ATTR.sortKey] },
    UpdateExpression: 'SET #c = :c, #b = :b, #d = :d',
    ConditionExpression: '#b = :b0',
    ExpressionAttributeNames: { '#c': ATTR.tally, '#b': ATTR.build, '#d': ATTR.dirty },
    ExpressionAttributeValues: { ':c': c, ':b': randomUUID(), ':d': randomUUID(), ':b0': build },
  });
  return out.ok;
}
