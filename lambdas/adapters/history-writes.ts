/**
 * The write side of the history store: `admit` (one conditional UpdateItem per profile and bucket stores a
 * batch's new impressions and detects duplicates and bursts in the same request) and `forgetFromRecord`.
 */
import { randomUUID } from 'node:crypto';
import {
  type Admission,
  admissionOf,
  type BucketPlan,
  type BucketState,
  type BurstKind,
  bucketState,
  DAY_MS,
  type DayPlan,
  dayStart,
  dayUnits,
  decideBucket,
  expiry,
  type HistoryCandidate,
  type HistoryLimits,
  ITEM_BUDGET_BYTES,
  itemSize,
  MAX_IMPRESSIONS_PER_WRITE,
  type PlannedImpression,
  planAdmission,
} from '../domain/history-model.js';
import {
  addTally,
  EMPTY_ROLLUP_DAYS,
  encodeTally,
  mustInvalidate,
  ROLLUP_BUDGET_BYTES,
  rollupSortKey,
  rollupState,
  type Tally,
  tally,
} from '../domain/rollup.js';
import { type BucketMemory, bucketMemory, counterToken } from './bucket-memory.js';
import { allowanceKey, type DayAllowances } from './day-allowance.js';
import {
  chunks,
  type HistoryTable,
  type Item,
  itemAccess,
  mapLimit,
  NotDone,
  type UpdateInput,
} from './history-table.js';

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

interface BucketResult {
  /** Impressions found already stored, with their tags. */
  readonly present: Map<string, string>;
  readonly written: Set<string>;
  readonly burst: Map<string, BurstKind>;
  /** The bucket's state after the writes, when it is known (read, returned by a failure, or remembered). */
  state?: BucketState;
}

export function historyWrites(
  table: HistoryTable,
  allowances: DayAllowances,
  memory: BucketMemory = bucketMemory(),
) {
  const { tableName, now } = table;
  const { update, getItem } = itemAccess(table);

  /**
   * Writes a bucket's impressions: first optimistically (all absent and within the caps: one conditional
   * write); when that fails, the stored state comes back with the failure, and the absent impressions that
   * fit are written on the condition that the count is still what was read (a concurrent writer makes it
   * fail and the state is read again). `state` known in advance skips the optimistic attempt; `day.left`
   * is the daily room this bucket may use.
   */
  async function writeBucket(
    b: BucketPlan,
    limits: HistoryLimits,
    day: { left: number },
    counters: { writes: number; stored: number; units: number },
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
          state = bucketState(await getItem({ pk: b.pk, sk: b.sk }));
          continue;
        } else room.left -= unitsOf(chunk);
        if (!toWrite.length) break;
        for (const imp of toWrite) result.burst.delete(imp.name);
        counters.writes++;
        const out = await update(bucketUpdate(b, toWrite, limits, state));
        if (!out.ok) {
          state = bucketState(out.item);
          continue;
        }
        done = true;
        day.left = room.left;
        counters.stored += toWrite.length;
        counters.units += unitsOf(toWrite);
        for (const imp of toWrite) result.written.add(imp.name);
        if (state !== undefined) {
          const tags = new Map(state.tags);
          for (const imp of toWrite) tags.set(imp.name, imp.value[8]);
          state = {
            counted: true,
            n: state.n + toWrite.length,
            s: state.s + toWrite.reduce((n, i) => n + i.bytes, 0),
            tags,
          };
        }
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
    b: BucketPlan,
    imps: readonly PlannedImpression[],
    limits: HistoryLimits,
    state: BucketState | undefined,
  ): UpdateInput {
    const names: Record<string, string> = { '#n': 'n', '#s': 's', '#x': 'x' };
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
      TableName: tableName,
      Key: { pk: b.pk, sk: b.sk },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  /** Adds `k` to a profile-day's count, on `condition` (the cap's, or the count read being current). */
  function dayUpdate(d: DayPlan, k: number, condition: string, values: Record<string, unknown>): UpdateInput {
    return {
      TableName: tableName,
      Key: { pk: d.pk, sk: d.sk },
      // `g`: the counter's generation, set when it is created (day-allowance.ts: an allowance held across an
      // erasure, which deletes the counter, is dropped).
      UpdateExpression: 'SET #n = if_not_exists(#n, :z) + :k, #x = :x, #g = if_not_exists(#g, :g)',
      ConditionExpression: condition,
      ExpressionAttributeNames: { '#n': 'n', '#x': 'x', '#g': 'g' },
      ExpressionAttributeValues: { ':z': 0, ':k': k, ':x': d.x, ':g': randomUUID(), ...values },
      ReturnValues: 'ALL_NEW',
    };
  }

  /**
   * One profile-day of a batch. The day's count is a reservation, raised before the buckets are written, so
   * it never falls below what is stored and the daily cap can never be passed. It is raised in blocks: the
   * batch's need plus `allowances.blockFor(perDay)` more, which this instance then counts against in memory
   * (day-allowance.ts) — most batches of a profile-day need no counter write at all. What is reserved and
   * not stored (duplicates, redeliveries, bursts) stays with the instance for the next batch (or, for a
   * one-shot tool, `ONE_SHOT_ALLOWANCE`, is given back at once). Near the cap
   * the block does not fit; then the buckets' state is read and exactly what fits, in batch order, is
   * reserved (on the condition that the count is the one read) and written.
   */
  async function admitDay(
    d: DayPlan,
    limits: HistoryLimits,
    total: { writes: number; stored: number },
  ): Promise<Map<BucketPlan, BucketResult>> {
    const results = new Map<BucketPlan, BucketResult>();
    // `units`: of the daily cap, taken by the impressions stored (dayUnits).
    const counters = { writes: 0, stored: 0, units: 0 };
    const key = allowanceKey(d.pk, d.sk);
    // Units of the day's count this call owns: held from earlier batches, plus what it reserves.
    const held = allowances.take(key);
    let pool = held.units;
    // The generation of the counter `pool` was reserved in (day-allowance.ts).
    let generation = held.generation;
    // The counter's generation and forget token, read before any bucket of this call is seen: remembered
    // bucket states count only under it (bucket-memory.ts).
    let token: string | undefined;
    const recall = (b: BucketPlan) => memory.recall(b.pk, b.sk, token);
    const remember = (b: BucketPlan, r: BucketResult) => memory.remember(b.pk, b.sk, token, r.state);
    try {
      if (pool > 0) {
        // A held allowance counts only while the counter it was reserved in exists: an erasure deletes it.
        const counter = await getItem({ pk: d.pk, sk: d.sk });
        token = counterToken(counter);
        if (counter === undefined || counter.g !== generation) {
          pool = 0;
          generation = undefined;
        }
      }
      let fast: { ok: true; attributes?: Item } | { ok: false; item: Item | undefined } = { ok: true };
      if (d.size > pool) {
        const want = d.size - pool + allowances.blockFor(limits.perDay);
        counters.writes++;
        fast =
          want <= limits.perDay
            ? await update(
                dayUpdate(d, want, 'attribute_not_exists(#n) OR #n <= :room', {
                  ':room': limits.perDay - want,
                }),
              )
            : { ok: false, item: await getItem({ pk: d.pk, sk: d.sk }) };
        if (fast.ok) {
          pool += want;
          generation = generationOf(fast.attributes);
          token = counterToken(fast.attributes);
        } else token = counterToken(fast.item);
      }
      if (fast.ok) {
        const day = { left: Number.POSITIVE_INFINITY };
        await Promise.all(
          d.buckets.map(async (b) => {
            const r = await writeBucket(b, limits, day, counters, recall(b));
            remember(b, r);
            results.set(b, r);
          }),
        );
        return results;
      }
      const n0 = Number(fast.item?.n ?? 0);
      const states = await Promise.all(
        d.buckets.map((b) => recall(b) ?? getItem({ pk: b.pk, sk: b.sk }).then(bucketState)),
      );
      // What this instance holds is part of n0 and usable here.
      const room = { left: limits.perDay - n0 + pool };
      const order = d.buckets
        .map((b, i) => ({
          b,
          state: states[i]!,
          first: Math.min(...b.impressions.map((p) => p.members[0]!)),
        }))
        .sort((a, z) => a.first - z.first);
      const shares = order.map((o) => {
        const before = room.left;
        decideBucket(o.b.impressions, o.state, limits, room);
        return before - room.left;
      });
      const needed = shares.reduce((a, b) => a + b, 0);
      if (needed > pool) {
        counters.writes++;
        const exact = await update(
          fast.item?.n === undefined
            ? dayUpdate(d, needed - pool, 'attribute_not_exists(#n)', {})
            : dayUpdate(d, needed - pool, '#n = :n0', { ':n0': n0 }),
        );
        if (!exact.ok) throw new NotDone(`day ${d.sk} changed while it was near its cap`);
        pool = needed;
        generation = generationOf(exact.attributes);
      }
      for (const [i, o] of order.entries()) {
        const r = await writeBucket(o.b, limits, { left: shares[i]! }, counters, o.state);
        remember(o.b, r);
        results.set(o.b, r);
      }
      return results;
    } finally {
      // Held for the next batch (an instance that goes away leaves the cap stricter), or given back.
      const unused = pool - counters.units;
      // Without a known generation nothing is held (it could not be checked): the cap only gets stricter.
      if (allowances.hold) {
        if (generation !== undefined) allowances.keep(key, unused, generation);
      } else if (unused > 0) {
        counters.writes++;
        await update({
          TableName: tableName,
          Key: { pk: d.pk, sk: d.sk },
          UpdateExpression: 'SET #n = #n - :k',
          ExpressionAttributeNames: { '#n': 'n' },
          ExpressionAttributeValues: { ':k': unused },
        }).catch(() => undefined); // a reservation not given back only makes the day's cap stricter
      }
      total.writes += counters.writes;
      total.stored += counters.stored;
    }
  }

  /** Units of the daily cap that impressions take (`dayUnits`). */
  const unitsOf = (imps: readonly PlannedImpression[]) => imps.reduce((n, i) => n + dayUnits(i.bytes), 0);

  /** The generation of a day counter, as an UpdateItem returned it (`ALL_NEW`). */
  const generationOf = (item: Item | undefined) => (typeof item?.g === 'string' ? item.g : undefined);

  /** Whether a bucket's write stored an impression, or found one stored by the same record. */
  const accepted = (b: BucketPlan, r: BucketResult) =>
    r.written.size > 0 || b.impressions.some((i) => r.present.get(i.name) === i.value[8]);

  /**
   * Invalidates a day's rollup: a new token in `d` (every later build keeps it) and the counts removed. The
   * item is created when absent, so that a reader that saw no item cannot store what it read before.
   */
  async function invalidate(pk: string, day: number, x: number): Promise<void> {
    await update({
      TableName: tableName,
      Key: { pk, sk: rollupSortKey(day) },
      UpdateExpression: 'SET #d = :d, #x = :x REMOVE #c, #b',
      ExpressionAttributeNames: { '#d': 'd', '#x': 'x', '#c': 'c', '#b': 'b' },
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
  async function addToRollup(seen: Item | undefined, added: Tally): Promise<boolean> {
    const state = rollupState(seen, now());
    // A rollup split into parts (a day of thousands of titles) is invalidated instead.
    if (!seen || !state.counts || typeof seen.b !== 'string' || !added.size || seen.p !== undefined)
      return false;
    const counts: Tally = new Map(state.counts);
    addTally(counts, added);
    const c = encodeTally(counts);
    if (itemSize({ ...seen, c }) > ROLLUP_BUDGET_BYTES) return false;
    const out = await update({
      TableName: tableName,
      Key: { pk: seen.pk, sk: seen.sk },
      UpdateExpression: 'SET #c = :c, #b = :b, #d = :d',
      ConditionExpression: '#b = :b0',
      ExpressionAttributeNames: { '#c': 'c', '#b': 'b', '#d': 'd' },
      ExpressionAttributeValues: { ':c': c, ':b': randomUUID(), ':d': randomUUID(), ':b0': seen.b },
    });
    return out.ok;
  }

  /**
   * Takes `by` off an item's counters, on the condition that they exist (and `condition`), removing the
   * attributes of `remove` (placeholder → name) in the same request.
   */
  function takeOff(
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
      TableName: tableName,
      Key,
      UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: [...(condition ? [condition] : []), ...exist].join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  /**
   * Forgets the impressions that exactly these user records stored, before their records are put on the
   * stream again (`npm run redrive`): a record re-put gets a new sequence number, so an impression it had
   * stored would be taken for a producer retry and never be enriched. Per impression, one UpdateItem removes
   * the attribute on the condition that its stored value's tag (`StoredImpression[8]`) is the one the
   * record would have written — a document path into a list element, "Referring to item attributes when
   * using expressions in DynamoDB", section "Document paths", DynamoDB developer guide
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.Attributes.html) — and
   * takes it off the bucket's counts `n` and `s`. One stored under another record's tag (accepted earlier
   * from another record) is kept; so is everything on a second run, once the re-put records stored theirs.
   * The day's count is given back what was forgotten, and the rollup of a day before yesterday is
   * invalidated, as `admit` does. `dryRun` reads (consistently) instead of writing.
   */
  async function forgetFromRecord(
    candidates: readonly HistoryCandidate[],
    options: { readonly dryRun?: boolean } = {},
  ): Promise<ForgetResult> {
    const result = { forgotten: 0, keptOtherRecord: 0, absent: 0, writes: 0 };
    // retentionDays only sets TTLs, which nothing here writes.
    await mapLimit(planAdmission(candidates, 0), 16, async (d) => {
      let forgotten = 0;
      let units = 0;
      for (const b of d.buckets) {
        const item = options.dryRun ? await getItem({ pk: b.pk, sk: b.sk }) : undefined;
        await mapLimit(b.impressions, 8, async (imp) => {
          const tag = imp.value[8];
          let outcome: 'forgotten' | 'kept' | 'absent';
          if (options.dryRun) {
            const stored = bucketState(item).tags.get(imp.name);
            outcome = stored === undefined ? 'absent' : stored === tag ? 'forgotten' : 'kept';
          } else {
            result.writes++;
            const out = await update(
              takeOff({ pk: b.pk, sk: b.sk }, { n: 1, s: imp.bytes }, '#a[8] = :tag', {
                remove: { '#a': imp.name },
                values: { ':tag': tag },
              }),
            );
            const stored = out.ok ? tag : bucketState(out.item).tags.get(imp.name);
            outcome = out.ok ? 'forgotten' : stored === undefined ? 'absent' : 'kept';
            if (!out.ok && stored === tag)
              throw new Error(`bucket ${b.pk} ${b.sk} holds ${imp.name} without its count n`);
          }
          if (outcome === 'forgotten') {
            forgotten++;
            units += dayUnits(imp.bytes);
          } else if (outcome === 'kept') result.keptOtherRecord++;
          else result.absent++;
        });
      }
      result.forgotten += forgotten;
      if (!forgotten || options.dryRun) return;
      // The day's count never falls below what is stored (see `admitDay`): what is removed is given back.
      result.writes++;
      // A new forget token `f`: what instances remember of this day's buckets no longer counts
      // (bucket-memory.ts), so an impression forgotten here is never taken for present.
      const giveBack = takeOff({ pk: d.pk, sk: d.sk }, { n: units });
      const day = await update({
        ...giveBack,
        UpdateExpression: `${giveBack.UpdateExpression}, #f = :f`,
        ExpressionAttributeNames: { ...giveBack.ExpressionAttributeNames, '#f': 'f' },
        ExpressionAttributeValues: { ...giveBack.ExpressionAttributeValues, ':f': randomUUID() },
      });
      const dayMs = dayStart(d.buckets[0]!.startMs);
      if (mustInvalidate(dayMs, now())) {
        result.writes++;
        const x = Number((day.ok ? await getItem({ pk: d.pk, sk: d.sk }) : day.item)?.x);
        await invalidate(d.pk, dayMs, Number.isFinite(x) ? x : expiry(dayMs, DAY_MS, EMPTY_ROLLUP_DAYS));
      }
    });
    return result;
  }

  /**
   * Offers a batch's candidates to the history: stores the new impressions within the caps and tells, per
   * candidate, whether it is accepted (new, or a redelivery of the record that stored it), a duplicate (a
   * producer's retry), a burst (past a cap) or failed (throttled: report and retry).
   */
  async function admit(
    candidates: readonly HistoryCandidate[],
    settings: AdmitSettings,
  ): Promise<AdmitResult> {
    const admissions: Admission[] = new Array(candidates.length).fill({ kind: 'failed' });
    const counters = { writes: 0, stored: 0 };
    await mapLimit(planAdmission(candidates, settings.retentionDays), 16, async (d) => {
      let results: Map<BucketPlan, BucketResult>;
      try {
        const day = dayStart(d.buckets[0]!.startMs);
        const late = mustInvalidate(day, now());
        // A day readers may have rolled up: its rollup as it is before the buckets are written.
        const rollup = late ? await getItem({ pk: d.pk, sk: rollupSortKey(day) }) : undefined;
        results = await admitDay(d, settings.limits, counters);
        // Late impressions newly stored are added to the day's rollup (a delta, the rollup stays warm);
        // otherwise (no built rollup, or it changed meanwhile), or when a redelivery found its impressions
        // already stored (its first attempt may have died before its delta or invalidation), the rollup is
        // invalidated, after the buckets are written.
        if (late && [...results].some(([b, r]) => accepted(b, r))) {
          const redelivered = [...results].some(([b, r]) =>
            b.impressions.some((i) => !r.written.has(i.name) && r.present.get(i.name) === i.value[8]),
          );
          const added = tally(
            [...results].flatMap(([b, r]) =>
              b.impressions
                .filter((i) => r.written.has(i.name))
                .map((i) => candidates[i.members[0]!]!.impression),
            ),
            day,
            day + DAY_MS - 1,
            null,
          );
          counters.writes++;
          if (redelivered || !(await addToRollup(rollup, added))) {
            counters.writes++;
            await invalidate(d.pk, day, d.x);
          }
        }
      } catch (err) {
        if (err instanceof NotDone) return; // its candidates stay 'failed'
        throw err;
      }
      for (const [b, r] of results) {
        for (const imp of b.impressions) {
          const stored = r.present.get(imp.name) ?? (r.written.has(imp.name) ? imp.value[8] : undefined);
          for (const m of imp.members)
            admissions[m] = admissionOf(candidates[m]!, stored, r.burst.get(imp.name), settings.limits);
        }
      }
    });
    return { admissions, writes: counters.writes, stored: counters.stored };
  }

  return { admit, forgetFromRecord };
}
