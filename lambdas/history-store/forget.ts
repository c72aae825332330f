/**
 * The write side's `forgetFromRecord`: removes the impressions that exactly these user records stored, so
 * that their records can be put on the stream again (`npm run redrive`).
 */
import { randomUUID } from 'node:crypto';
import { DAY_MS, dayStart, dayUnits, type HistoryCandidate } from '../domain/history-model.js';
import { EMPTY_ROLLUP_DAYS, mustInvalidate } from '../domain/rollup.js';
import {
  type BucketPlan,
  bucketState,
  type DayPlan,
  type PlannedImpression,
  planAdmission,
  plannedTag,
} from './admission-plan.js';
import { ATTR, expiry, type Item } from './item-codec.js';
import { invalidateRollup } from './rollup-writes.js';
import { type HistoryTable, type ItemAccess, mapLimit, type UpdateInput } from './table.js';

/** What `forgetFromRecord` did (or, in a dry run, would do), in distinct impressions. */
export interface ForgetResult {
  /** Stored under the tag of the record that offered them: removed. */
  readonly forgotten: number;
  /** Stored under another record's tag (accepted earlier from another record): kept, still a duplicate. */
  readonly keptOtherRecord: number;
  /** Not in the history (never stored, or already forgotten). */
  readonly absent: number;
  /** UpdateItem requests issued. */
  readonly writes: number;
}

/** What forgetting works with. */
export interface ForgetContext {
  readonly table: HistoryTable;
  readonly access: ItemAccess;
}

type Tallies = { forgotten: number; keptOtherRecord: number; absent: number; writes: number };

/**
 * Takes `by` off an item's counters, on the condition that they exist (and `condition`), removing the
 * attributes of `remove` (placeholder → name) in the same request.
 */
function takeOff(
  table: HistoryTable,
  Key: Item,
  by: Readonly<Record<string, number>>,
  condition?: string,
  more: { readonly remove?: Record<string, string>; readonly values?: Record<string, unknown> } = {},
): UpdateInput {
  const names: Record<string, string> = { ...more.remove };
  const values: Record<string, unknown> = { ...more.values };
  const sets: string[] = [];
  const exist: string[] = [];
  Object.entries(by).forEach(([attr, k], i) => {
    names[`#c${i}`] = attr;
    values[`:c${i}`] = k;
    sets.push(`#c${i} = #c${i} - :c${i}`);
    exist.push(`attribute_exists(#c${i})`);
  });
  const removes = Object.keys(more.remove ?? {});
  return {
    TableName: table.tableName,
    Key,
    UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ConditionExpression: [...(condition ? [condition] : []), ...exist].join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/**
 * Forgets one impression of a bucket: removes its attribute on the condition that its stored value is the
 * one the record would have written (the same impression under the same tag), and takes it off the bucket's counts `n` and `s`. In a dry
 * run, judges it from `item` (the bucket as read) instead.
 */
async function forgetImpression(
  ctx: ForgetContext,
  b: BucketPlan,
  imp: PlannedImpression,
  dryRun: { readonly item: Item | undefined } | undefined,
  result: Tallies,
): Promise<'forgotten' | 'kept' | 'absent'> {
  const tag = plannedTag(imp);
  if (dryRun) {
    const stored = bucketState(dryRun.item).tags.get(imp.name);
    return stored === undefined ? 'absent' : stored === tag ? 'forgotten' : 'kept';
  }
  result.writes++;
  const out = await ctx.access.update(
    takeOff(ctx.table, { pk: b.pk, sk: b.sk }, { [ATTR.count]: 1, [ATTR.bytes]: imp.bytes }, '#a = :stored', {
      remove: { '#a': imp.name },
      values: { ':stored': imp.value },
    }),
  );
  const stored = out.ok ? tag : bucketState(out.item).tags.get(imp.name);
  if (!out.ok && stored === tag)
    throw new Error(`bucket ${b.pk} ${b.sk} holds ${imp.name} without its count n`);
  return out.ok ? 'forgotten' : stored === undefined ? 'absent' : 'kept';
}

/**
 * The day's count is given back what was forgotten (it never falls below what is stored), with a new
 * forget token `f`: what instances remember of this day's buckets no longer counts (bucket-memory.ts), so
 * an impression forgotten here is never taken for present. The rollup of a day before yesterday is
 * invalidated, as `admit` does.
 */
async function giveBackDay(ctx: ForgetContext, d: DayPlan, units: number, result: Tallies) {
  result.writes++;
  const giveBack = takeOff(ctx.table, { pk: d.pk, sk: d.sk }, { [ATTR.count]: units });
  const day = await ctx.access.update({
    ...giveBack,
    UpdateExpression: `${giveBack.UpdateExpression}, #f = :f`,
    ExpressionAttributeNames: { ...giveBack.ExpressionAttributeNames, '#f': ATTR.forget },
    ExpressionAttributeValues: { ...giveBack.ExpressionAttributeValues, ':f': randomUUID() },
  });
  const dayMs = dayStart(d.buckets[0]!.startMs);
  if (mustInvalidate(dayMs, ctx.table.now())) {
    result.writes++;
    const counter = day.ok ? await ctx.access.getItem({ pk: d.pk, sk: d.sk }) : day.item;
    const x = Number(counter?.[ATTR.ttl]);
    const ttl = Number.isFinite(x) ? x : expiry(dayMs, DAY_MS, EMPTY_ROLLUP_DAYS);
    await invalidateRollup(ctx.table, ctx.access, d.pk, dayMs, ttl);
  }
}

/**
 * Forgets the impressions that exactly these user records stored, before their records are put on the
 * stream again (`npm run redrive`): a record re-put gets a new sequence number, so an impression it had
 * stored would be taken for a producer retry and never be enriched. Per impression, one UpdateItem removes
 * the attribute on the condition that its stored value equals the one the record would have written (a
 * Binary compared byte by byte; the value starts with the record's tag, `item-codec.ts`), and takes it off
 * the bucket's counts `n` and `s`. One stored under another record's tag (accepted earlier
 * from another record) is kept; so is everything on a second run, once the re-put records stored theirs.
 * `dryRun` reads (consistently) instead of writing.
 */
export async function forgetFromRecord(
  ctx: ForgetContext,
  candidates: readonly HistoryCandidate[],
  options: { readonly dryRun?: boolean } = {},
): Promise<ForgetResult> {
  const result: Tallies = { forgotten: 0, keptOtherRecord: 0, absent: 0, writes: 0 };
  // retentionDays only sets TTLs, which nothing here writes.
  await mapLimit(planAdmission(candidates, 0), 16, async (d) => {
    let forgotten = 0;
    let units = 0;
    for (const b of d.buckets) {
      const dryRun = options.dryRun ? { item: await ctx.access.getItem({ pk: b.pk, sk: b.sk }) } : undefined;
      await mapLimit(b.impressions, 8, async (imp) => {
        const outcome = await forgetImpression(ctx, b, imp, dryRun, result);
        if (outcome === 'forgotten') {
          forgotten++;
          units += dayUnits(imp.bytes);
        } else if (outcome === 'kept') result.keptOtherRecord++;
        else result.absent++;
      });
    }
    result.forgotten += forgotten;
    if (forgotten && !options.dryRun) await giveBackDay(ctx, d, units, result);
  });
  return result;
}
