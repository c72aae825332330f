/**
 * The write side's `admit`: one conditional UpdateItem per profile and bucket stores a batch's new
 * impressions and detects duplicates and bursts in the same request; the profile-day counters reserve the
 * daily caps (day-allowance.ts); late impressions update their day's rollup (rollup-writes.ts).
 */
import { randomUUID } from 'node:crypto';
import { batchGetAll, chunks } from '../adapters/dynamo-batch.js';
import {
  type Admission,
  admissionOf,
  type BurstKind,
  DAY_MS,
  dayStart,
  dayUnits,
  decideBucket,
  type HistoryCandidate,
  type HistoryLimits,
  ITEM_BUDGET_BYTES,
} from '../domain/history-model.js';
import { mustInvalidate, tally } from '../domain/rollup.js';
import {
  type BucketPlan,
  type BucketState,
  bucketState,
  type DayPlan,
  MAX_IMPRESSIONS_PER_WRITE,
  type PlannedImpression,
  planAdmission,
  plannedTag,
} from './admission-plan.js';
import type { BucketMemory } from './bucket-memory.js';
import { allowanceKey, type DayAllowances } from './day-allowance.js';
import { ATTR, counterToken, generationOf, type Item, rollupSortKey } from './item-codec.js';
import { addToRollup, invalidateRollup } from './rollup-writes.js';
import {
  type HistoryTable,
  type ItemAccess,
  mapLimit,
  NotDone,
  type UpdateInput,
  type UpdateResult,
} from './table.js';

/** Settings of the write side (stage settings, read once at cold start). */
export interface AdmitSettings {
  /** Days an impression is kept (TTL). */
  readonly retentionDays: number;
  readonly limits: HistoryLimits;
}

export interface AdmitResult {
  /** Per candidate, in order. */
  readonly admissions: readonly Admission[];
  /** UpdateItem requests issued (bucket and day items). */
  readonly writes: number;
  /** Impressions newly stored. */
  readonly stored: number;
}

/** What the write side works with: the table, its item access, the held allowances and remembered buckets. */
export interface WriteContext {
  readonly table: HistoryTable;
  readonly access: ItemAccess;
  readonly allowances: DayAllowances;
  readonly memory: BucketMemory;
}

export interface BucketResult {
  /** Impressions found already stored, with their tags. */
  readonly present: Map<string, string>;
  readonly written: Set<string>;
  readonly burst: Map<string, BurstKind>;
  /** The bucket's state after the writes, when it is known (read, returned by a failure, or remembered). */
  state?: BucketState;
}

/** Requests and impressions of one profile-day; `units`: of the daily cap, taken by those stored (dayUnits). */
interface DayCounters {
  writes: number;
  stored: number;
  units: number;
}

/** Units of the daily cap that impressions take (`dayUnits`). */
const unitsOf = (imps: readonly PlannedImpression[]) => imps.reduce((n, i) => n + dayUnits(i.bytes), 0);

/** A bucket's state once `written` is stored into it (`state` as it was). */
function withWritten(state: BucketState, written: readonly PlannedImpression[]): BucketState {
  const tags = new Map(state.tags);
  for (const imp of written) tags.set(imp.name, plannedTag(imp));
  return {
    counted: true,
    n: state.n + written.length,
    s: state.s + written.reduce((n, i) => n + i.bytes, 0),
    tags,
  };
}

/**
 * Writes a bucket's impressions: first optimistically (all absent and within the caps: one conditional
 * write); when that fails, the stored state comes back with the failure, and the absent impressions that
 * fit are written on the condition that the count is still what was read (a concurrent writer makes it
 * fail and the state is read again). `state` known in advance skips the optimistic attempt; `day.left`
 * is the daily room this bucket may use.
 */
async function writeBucket(
  ctx: WriteContext,
  b: BucketPlan,
  limits: HistoryLimits,
  day: { left: number },
  counters: DayCounters,
  known?: BucketState,
): Promise<BucketResult> {
  const result: BucketResult = { present: new Map(), written: new Set(), burst: new Map() };
  let state = known;
  const perWrite = Math.max(1, Math.min(MAX_IMPRESSIONS_PER_WRITE, limits.perWindow));
  for (const chunk of chunks(b.impressions, perWrite)) {
    let done = false;
    for (let round = 0; round < 5 && !done; round++) {
      let toWrite: readonly PlannedImpression[] = chunk;
      const room = { left: day.left };
      if (state !== undefined) {
        const d = decideBucket(chunk, state, limits, room);
        for (const imp of chunk) {
          const tag = state.tags.get(imp.name);
          if (tag !== undefined) result.present.set(imp.name, tag);
        }
        for (const [name, kind] of d.burst) result.burst.set(name, kind);
        toWrite = d.write;
      } else if (unitsOf(chunk) > day.left) {
        state = bucketState(await ctx.access.getItem({ pk: b.pk, sk: b.sk }));
        continue;
      } else room.left -= unitsOf(chunk);
      if (!toWrite.length) break;
      for (const imp of toWrite) result.burst.delete(imp.name);
      counters.writes++;
      const out = await ctx.access.update(bucketUpdate(ctx.table, b, toWrite, limits, state));
      if (!out.ok) {
        state = bucketState(out.item);
        continue;
      }
      done = true;
      day.left = room.left;
      counters.stored += toWrite.length;
      counters.units += unitsOf(toWrite);
      for (const imp of toWrite) result.written.add(imp.name);
      if (state !== undefined) state = withWritten(state, toWrite);
    }
    if (!done && chunk.some((i) => !result.present.has(i.name) && !result.burst.has(i.name)))
      throw new NotDone(`bucket ${b.sk} kept changing under concurrent writers`);
  }
  result.state = state;
  return result;
}

/**
 * The UpdateItem of a bucket: optimistic (`state` unknown: every impression absent, window and byte room
 * for all) or exact (`state` known: its count unchanged since it was read).
 */
function bucketUpdate(
  table: HistoryTable,
  b: BucketPlan,
  imps: readonly PlannedImpression[],
  limits: HistoryLimits,
  state: BucketState | undefined,
): UpdateInput {
  const names: Record<string, string> = { '#n': ATTR.count, '#s': ATTR.bytes, '#x': ATTR.ttl };
  const bytes = imps.reduce((n, i) => n + i.bytes, 0);
  const values: Record<string, unknown> = { ':x': b.x };
  const sets = ['#x = :x'];
  const absent: string[] = [];
  imps.forEach((imp, k) => {
    names[`#${k}`] = imp.name;
    values[`:${k}`] = imp.value;
    sets.push(`#${k} = :${k}`);
    absent.push(`attribute_not_exists(#${k})`);
  });
  let condition: string;
  if (state === undefined) {
    values[':z'] = 0;
    values[':k'] = imps.length;
    values[':b'] = bytes;
    values[':nr'] = limits.perWindow - imps.length;
    values[':sr'] = ITEM_BUDGET_BYTES - bytes;
    sets.push('#n = if_not_exists(#n, :z) + :k', '#s = if_not_exists(#s, :z) + :b');
    condition = `(attribute_not_exists(#n) OR (#n <= :nr AND #s <= :sr)) AND ${absent.join(' AND ')}`;
  } else {
    values[':n1'] = state.n + imps.length;
    values[':s1'] = state.s + bytes;
    sets.push('#n = :n1', '#s = :s1');
    if (state.counted) {
      values[':n0'] = state.n;
      condition = '#n = :n0';
    } else condition = 'attribute_not_exists(#n)';
  }
  return {
    TableName: table.tableName,
    Key: { pk: b.pk, sk: b.sk },
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** Adds `k` to a profile-day's count, on `condition` (the cap's, or the count read being current). */
function dayUpdate(
  table: HistoryTable,
  d: DayPlan,
  k: number,
  condition: string,
  values: Record<string, unknown>,
): UpdateInput {
  return {
    TableName: table.tableName,
    Key: { pk: d.pk, sk: d.sk },
    // `g`: the counter's generation, set when it is created (day-allowance.ts: an allowance held across an
    // erasure, which deletes the counter, is dropped).
    UpdateExpression: 'SET #n = if_not_exists(#n, :z) + :k, #x = :x, #g = if_not_exists(#g, :g)',
    ConditionExpression: condition,
    ExpressionAttributeNames: { '#n': ATTR.count, '#x': ATTR.ttl, '#g': ATTR.generation },
    ExpressionAttributeValues: { ':z': 0, ':k': k, ':x': d.x, ':g': randomUUID(), ...values },
    ReturnValues: 'ALL_NEW',
  };
}

/** What one call of `admitDay` owns of a profile-day's count. */
interface DayLedger {
  readonly key: string;
  /** Units of the day's count this call owns: held from earlier batches, plus what it reserves. */
  pool: number;
  /** The generation of the counter `pool` was reserved in (day-allowance.ts). */
  generation: string | undefined;
  /**
   * The counter's generation and forget token, read before any bucket of this call is seen: remembered
   * bucket states count only under it (bucket-memory.ts).
   */
  token: string | undefined;
}

/** Takes what this instance holds of the day (checked against its counter by `checkHeld`). */
function takeDay(ctx: WriteContext, d: DayPlan): DayLedger {
  const key = allowanceKey(d.pk, d.sk);
  const held = ctx.allowances.take(key);
  return { key, pool: held.units, generation: held.generation, token: undefined };
}

/**
 * The counters of the batch's profile-days this instance holds an allowance of, read before any of the
 * batch's writes (consistently: a counter an erasure deleted is seen gone) in one BatchGetItem per 100
 * instead of a GetItem each: `allowanceKey` → the counter, or undefined when there is none. A key left
 * unprocessed is absent from the map, and `checkHeld` reads it alone.
 */
export type HeldCounters = ReadonlyMap<string, Item | undefined>;

async function readHeldCounters(ctx: WriteContext, days: readonly DayPlan[]): Promise<HeldCounters> {
  const keys = days
    .filter((d) => ctx.allowances.holds(allowanceKey(d.pk, d.sk)))
    .map((d) => ({ pk: d.pk, sk: d.sk }));
  const out = new Map<string, Item | undefined>();
  if (!keys.length) return out;
  const { items, unprocessed } = await batchGetAll(
    ctx.table.client,
    ctx.table.tableName,
    keys,
    { consistent: true },
    ctx.table.policy,
  );
  const left = new Set(
    unprocessed.map((k) => allowanceKey(String(k[ATTR.partitionKey]), String(k[ATTR.sortKey]))),
  );
  for (const k of keys) {
    const key = allowanceKey(k.pk, k.sk);
    if (!left.has(key)) out.set(key, undefined);
  }
  for (const item of items)
    out.set(allowanceKey(String(item[ATTR.partitionKey]), String(item[ATTR.sortKey])), item);
  return out;
}

/** A held allowance counts only while the counter it was reserved in exists: an erasure deletes it. */
async function checkHeld(
  ctx: WriteContext,
  d: DayPlan,
  ledger: DayLedger,
  held: HeldCounters,
): Promise<void> {
  if (ledger.pool <= 0) return;
  const counter = held.has(ledger.key)
    ? held.get(ledger.key)
    : await ctx.access.getItem({ pk: d.pk, sk: d.sk });
  ledger.token = counterToken(counter);
  if (counter === undefined || generationOf(counter) !== ledger.generation) {
    ledger.pool = 0;
    ledger.generation = undefined;
  }
}

/**
 * Raises the day's count by the batch's need beyond what is owned plus a block, when the cap leaves room
 * for it; the counter as it is otherwise.
 */
async function reserveBlock(
  ctx: WriteContext,
  d: DayPlan,
  limits: HistoryLimits,
  ledger: DayLedger,
  counters: DayCounters,
): Promise<UpdateResult> {
  if (d.size <= ledger.pool) return { ok: true };
  const want = d.size - ledger.pool + ctx.allowances.blockFor(limits.perDay);
  counters.writes++;
  const out: UpdateResult =
    want <= limits.perDay
      ? await ctx.access.update(
          dayUpdate(ctx.table, d, want, 'attribute_not_exists(#n) OR #n <= :room', {
            ':room': limits.perDay - want,
          }),
        )
      : { ok: false, item: await ctx.access.getItem({ pk: d.pk, sk: d.sk }) };
  if (out.ok) {
    ledger.pool += want;
    ledger.generation = generationOf(out.attributes);
    ledger.token = counterToken(out.attributes);
  } else ledger.token = counterToken(out.item);
  return out;
}

/** Writes one bucket with its remembered state, and remembers what the write leaves. */
async function writeRemembered(
  ctx: WriteContext,
  b: BucketPlan,
  limits: HistoryLimits,
  day: { left: number },
  counters: DayCounters,
  ledger: DayLedger,
  known: BucketState | undefined,
): Promise<BucketResult> {
  const r = await writeBucket(ctx, b, limits, day, counters, known);
  ctx.memory.remember(b.pk, b.sk, ledger.token, r.state);
  return r;
}

/**
 * Near the cap: the buckets' state is read, exactly what fits (in batch order) is reserved on the
 * condition that the count is the one read (`counter`), and written.
 */
async function admitNearCap(
  ctx: WriteContext,
  d: DayPlan,
  limits: HistoryLimits,
  ledger: DayLedger,
  counters: DayCounters,
  counter: Item | undefined,
  results: Map<BucketPlan, BucketResult>,
): Promise<void> {
  const n0 = Number(counter?.[ATTR.count] ?? 0);
  const states = await Promise.all(
    d.buckets.map(
      (b) =>
        ctx.memory.recall(b.pk, b.sk, ledger.token) ??
        ctx.access.getItem({ pk: b.pk, sk: b.sk }).then(bucketState),
    ),
  );
  // What this instance holds is part of n0 and usable here.
  const room = { left: limits.perDay - n0 + ledger.pool };
  const order = d.buckets
    .map((b, i) => ({ b, state: states[i]!, first: Math.min(...b.impressions.map((p) => p.members[0]!)) }))
    .sort((a, z) => a.first - z.first);
  const shares = order.map((o) => {
    const before = room.left;
    decideBucket(o.b.impressions, o.state, limits, room);
    return before - room.left;
  });
  const needed = shares.reduce((a, b) => a + b, 0);
  if (needed > ledger.pool) {
    counters.writes++;
    const exact = await ctx.access.update(
      counter?.[ATTR.count] === undefined
        ? dayUpdate(ctx.table, d, needed - ledger.pool, 'attribute_not_exists(#n)', {})
        : dayUpdate(ctx.table, d, needed - ledger.pool, '#n = :n0', { ':n0': n0 }),
    );
    if (!exact.ok) throw new NotDone(`day ${d.sk} changed while it was near its cap`);
    ledger.pool = needed;
    ledger.generation = generationOf(exact.attributes);
  }
  for (const [i, o] of order.entries()) {
    const r = await writeRemembered(ctx, o.b, limits, { left: shares[i]! }, counters, ledger, o.state);
    results.set(o.b, r);
  }
}

/**
 * What was reserved and not stored is held for the next batch (an instance that goes away leaves the cap
 * stricter), or given back at once.
 */
async function settleDay(
  ctx: WriteContext,
  d: DayPlan,
  ledger: DayLedger,
  counters: DayCounters,
): Promise<void> {
  const unused = ledger.pool - counters.units;
  // Without a known generation nothing is held (it could not be checked): the cap only gets stricter.
  if (ctx.allowances.hold) {
    if (ledger.generation !== undefined) ctx.allowances.keep(ledger.key, unused, ledger.generation);
  } else if (unused > 0) {
    counters.writes++;
    await ctx.access
      .update({
        TableName: ctx.table.tableName,
        Key: { pk: d.pk, sk: d.sk },
        UpdateExpression: 'SET #n = #n - :k',
        ExpressionAttributeNames: { '#n': ATTR.count },
        ExpressionAttributeValues: { ':k': unused },
      })
      .catch(() => undefined); // a reservation not given back only makes the day's cap stricter
  }
}

/**
 * One profile-day of a batch. The day's count is a reservation, raised before the buckets are written, so
 * it never falls below what is stored and the daily cap can never be passed. It is raised in blocks: the
 * batch's need plus `allowances.blockFor(perDay)` more, which this instance then counts against in memory
 * (day-allowance.ts) — most batches of a profile-day need no counter write at all. What is reserved and
 * not stored (duplicates, redeliveries, bursts) stays with the instance for the next batch (or, for a
 * one-shot tool, `ONE_SHOT_ALLOWANCE`, is given back at once). Near the cap the block does not fit: see
 * `admitNearCap`.
 */
async function admitDay(
  ctx: WriteContext,
  d: DayPlan,
  limits: HistoryLimits,
  total: { writes: number; stored: number },
  held: HeldCounters,
): Promise<Map<BucketPlan, BucketResult>> {
  const results = new Map<BucketPlan, BucketResult>();
  const counters: DayCounters = { writes: 0, stored: 0, units: 0 };
  const ledger = takeDay(ctx, d);
  try {
    await checkHeld(ctx, d, ledger, held);
    const fast = await reserveBlock(ctx, d, limits, ledger, counters);
    if (!fast.ok) {
      await admitNearCap(ctx, d, limits, ledger, counters, fast.item, results);
      return results;
    }
    const day = { left: Number.POSITIVE_INFINITY };
    await Promise.all(
      d.buckets.map(async (b) => {
        const known = ctx.memory.recall(b.pk, b.sk, ledger.token);
        results.set(b, await writeRemembered(ctx, b, limits, day, counters, ledger, known));
      }),
    );
    return results;
  } finally {
    await settleDay(ctx, d, ledger, counters);
    total.writes += counters.writes;
    total.stored += counters.stored;
  }
}

/** Whether a bucket's write stored an impression, or found one stored by the same record. */
const accepted = (b: BucketPlan, r: BucketResult) =>
  r.written.size > 0 || b.impressions.some((i) => r.present.get(i.name) === plannedTag(i));

/**
 * After a day readers may have rolled up was written: late impressions newly stored are added to the day's
 * rollup as read before (`rollup`: a delta, the rollup stays warm); otherwise (no built rollup, or it
 * changed meanwhile), or when a redelivery found its impressions already stored (its first attempt may
 * have died before its delta or invalidation), the rollup is invalidated.
 */
async function refreshLateRollup(
  ctx: WriteContext,
  candidates: readonly HistoryCandidate[],
  d: DayPlan,
  day: number,
  rollup: Item | undefined,
  results: ReadonlyMap<BucketPlan, BucketResult>,
  counters: { writes: number },
): Promise<void> {
  if (![...results].some(([b, r]) => accepted(b, r))) return;
  const redelivered = [...results].some(([b, r]) =>
    b.impressions.some((i) => !r.written.has(i.name) && r.present.get(i.name) === plannedTag(i)),
  );
  const added = tally(
    [...results].flatMap(([b, r]) =>
      b.impressions.filter((i) => r.written.has(i.name)).map((i) => candidates[i.members[0]!]!.impression),
    ),
    day,
    day + DAY_MS - 1,
    null,
  );
  counters.writes++;
  if (redelivered || !(await addToRollup(ctx.table, ctx.access, rollup, added))) {
    counters.writes++;
    await invalidateRollup(ctx.table, ctx.access, d.pk, day, d.x);
  }
}

/** One profile-day of `admit`: its buckets' results, or undefined when it could not be done (NotDone). */
async function admitPlannedDay(
  ctx: WriteContext,
  candidates: readonly HistoryCandidate[],
  settings: AdmitSettings,
  d: DayPlan,
  counters: { writes: number; stored: number },
  held: HeldCounters,
): Promise<Map<BucketPlan, BucketResult> | undefined> {
  try {
    const day = dayStart(d.buckets[0]!.startMs);
    const late = mustInvalidate(day, ctx.table.now());
    // A day readers may have rolled up: its rollup as it is before the buckets are written.
    const rollup = late ? await ctx.access.getItem({ pk: d.pk, sk: rollupSortKey(day) }) : undefined;
    const results = await admitDay(ctx, d, settings.limits, counters, held);
    if (late) await refreshLateRollup(ctx, candidates, d, day, rollup, results, counters);
    return results;
  } catch (err) {
    if (err instanceof NotDone) return undefined; // its candidates stay 'failed'
    throw err;
  }
}

/**
 * Offers a batch's candidates to the history: stores the new impressions within the caps and tells, per
 * candidate, whether it is accepted (new, or a redelivery of the record that stored it), a duplicate (a
 * producer's retry), a burst (past a cap) or failed (throttled: report and retry).
 */
export async function admit(
  ctx: WriteContext,
  candidates: readonly HistoryCandidate[],
  settings: AdmitSettings,
): Promise<AdmitResult> {
  const admissions: Admission[] = new Array(candidates.length).fill({ kind: 'failed' });
  const counters = { writes: 0, stored: 0 };
  const days = planAdmission(candidates, settings.retentionDays);
  const held = await readHeldCounters(ctx, days);
  await mapLimit(days, 16, async (d) => {
    const results = await admitPlannedDay(ctx, candidates, settings, d, counters, held);
    for (const [b, r] of results ?? []) {
      for (const imp of b.impressions) {
        const stored = r.present.get(imp.name) ?? (r.written.has(imp.name) ? plannedTag(imp) : undefined);
        for (const m of imp.members)
          admissions[m] = admissionOf(candidates[m]!, stored, r.burst.get(imp.name), settings.limits);
      }
    }
  });
  return { admissions, writes: counters.writes, stored: counters.stored };
}
