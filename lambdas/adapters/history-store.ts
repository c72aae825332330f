/**
 * DynamoDB adapter of the history table (data model and admission rules in `domain/history-model.ts`,
 * design in `docs/history-model.md`). The write side is `admit`: one conditional UpdateItem per profile and
 * bucket stores a batch's new impressions and detects duplicates and bursts in the same request.
 */
import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type Admission,
  admissionOf,
  BUCKET_PREFIX,
  type BucketPlan,
  type BucketState,
  type BurstKind,
  bucketSortKey,
  bucketSortKeyEnd,
  bucketStart,
  bucketState,
  DAY_MS,
  type DayPlan,
  dayStart,
  decideBucket,
  expiry,
  type HistoryCandidate,
  type HistoryLimits,
  type Impression,
  ITEM_BUDGET_BYTES,
  impressionsOfItem,
  isAfter,
  itemSize,
  MAX_IMPRESSIONS_PER_WRITE,
  newestFirst,
  type PagePosition,
  type PlannedImpression,
  planAdmission,
  profileKey,
} from '../domain/history-model.js';
import {
  addTally,
  dayOfRollupSortKey,
  EMPTY_ROLLUP_DAYS,
  encodeTally,
  MAX_BUILDS_PER_REQUEST,
  mergeRanges,
  mustInvalidate,
  planCounts,
  ROLLUP_BUDGET_BYTES,
  type RollupState,
  rollupSortKey,
  rollupState,
  type Tally,
  type TimeRange,
  type TitleTally,
  tally,
} from '../domain/rollup.js';
import { batchWriteAll } from './dynamo-batch.js';
import {
  DEFAULT_RETRY,
  isRetryable,
  type RetryPolicy,
  retryCall,
  retryingStep,
  retryPending,
} from './retry.js';

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

/**
 * Bytes of history one list call reads at most (≈ 32 read units, eventually consistent): a list filtered
 * to a title rarely seen returns a short page and a cursor rather than read a whole heavy profile.
 */
export const LIST_SCAN_BYTES = 256 * 1024;

/** A write that kept being throttled or kept losing races: its records are reported and retried. */
class NotDone extends Error {}

const conditionFailed = (err: unknown) =>
  err instanceof Error && err.name === 'ConditionalCheckFailedException';

type UpdateInput = ConstructorParameters<typeof UpdateCommand>[0];
type Item = Record<string, unknown>;

interface BucketResult {
  /** Impressions found already stored, with their tags. */
  readonly present: Map<string, string>;
  readonly written: Set<string>;
  readonly burst: Map<string, BurstKind>;
}

const chunks = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export interface HistoryPage {
  readonly impressions: readonly Impression[];
  /** Position of the last impression returned, when more may follow. */
  readonly last: PagePosition | null;
}

export interface ListQuery {
  readonly profileId: string;
  readonly since: string | null;
  readonly until: string | null;
  readonly titleId: string | null;
  readonly limit: number;
  readonly after: PagePosition | null;
}

/** What the store needs besides its table. */
export interface StoreOptions {
  /** The clock that decides which days are recent (rollups) for readers and writers. @default Date.now */
  readonly nowMs?: () => number;
}

export function historyStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  policy: RetryPolicy = DEFAULT_RETRY,
  options: StoreOptions = {},
) {
  const now = options.nowMs ?? Date.now;
  /**
   * One UpdateItem retried on throttling: `{ ok: true }`, or the item as it is when the condition failed
   * (returned with the failure: `ReturnValuesOnConditionCheckFailure: ALL_OLD`, UpdateItem API reference;
   * read with a consistent GetItem where an endpoint does not return it).
   */
  async function update(input: UpdateInput): Promise<{ ok: true } | { ok: false; item: Item | undefined }> {
    const holder: { result: { ok: true } | { ok: false; item: Item | undefined; returned: boolean } } = {
      result: { ok: true },
    };
    const left = await retryPending(
      [input],
      retryingStep<UpdateInput>(async () => {
        try {
          await client.send(
            new UpdateCommand({
              ...input,
              TableName: tableName,
              ...(input.ConditionExpression ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } : {}),
            }),
          );
          holder.result = { ok: true };
        } catch (err) {
          if (!conditionFailed(err)) throw err;
          const raw = (err as { Item?: Record<string, AttributeValue> }).Item;
          holder.result = {
            ok: false,
            item: raw ? unmarshall(raw) : undefined,
            returned: raw !== undefined,
          };
        }
        return [];
      }),
      policy,
    );
    if (left.length) throw new NotDone('UpdateItem throttled after retries');
    const result = holder.result;
    if (!result.ok && !result.returned) return { ok: false, item: await getItem(input.Key as Item) };
    return result;
  }

  async function getItem(Key: Item): Promise<Item | undefined> {
    let item: Item | undefined;
    const left = await retryPending(
      [Key],
      retryingStep<Item>(async () => {
        item = (await client.send(new GetCommand({ TableName: tableName, Key, ConsistentRead: true }))).Item;
        return [];
      }),
      policy,
    );
    if (left.length) throw new NotDone('GetItem throttled after retries');
    return item;
  }

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
    counters: { writes: number; stored: number },
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
        } else if (chunk.length > day.left) {
          state = bucketState(await getItem({ pk: b.pk, sk: b.sk }));
          continue;
        } else room.left -= chunk.length;
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
      UpdateExpression: 'SET #n = if_not_exists(#n, :z) + :k, #x = :x',
      ConditionExpression: condition,
      ExpressionAttributeNames: { '#n': 'n', '#x': 'x' },
      ExpressionAttributeValues: { ':z': 0, ':k': k, ':x': d.x, ...values },
    };
  }

  /**
   * One profile-day of a batch. The day's count is raised first (a reservation: the count never falls
   * below what is stored, so the daily cap can never be passed), the buckets are written, and what was
   * reserved and not stored (duplicates, redeliveries, bursts) is given back. Near the cap the reservation
   * fails; then the buckets' state is read and exactly what fits, in batch order, is reserved and written.
   */
  async function admitDay(
    d: DayPlan,
    limits: HistoryLimits,
    total: { writes: number; stored: number },
  ): Promise<Map<BucketPlan, BucketResult>> {
    const results = new Map<BucketPlan, BucketResult>();
    const counters = { writes: 0, stored: 0 };
    let reserved = 0;
    try {
      counters.writes++;
      const fast =
        d.size <= limits.perDay
          ? await update(
              dayUpdate(d, d.size, 'attribute_not_exists(#n) OR #n <= :room', {
                ':room': limits.perDay - d.size,
              }),
            )
          : { ok: false as const, item: await getItem({ pk: d.pk, sk: d.sk }) };
      if (fast.ok) {
        reserved = d.size;
        const day = { left: Number.POSITIVE_INFINITY };
        await Promise.all(
          d.buckets.map(async (b) => results.set(b, await writeBucket(b, limits, day, counters))),
        );
        return results;
      }
      const n0 = Number(fast.item?.n ?? 0);
      const states = await Promise.all(
        d.buckets.map((b) => getItem({ pk: b.pk, sk: b.sk }).then(bucketState)),
      );
      const room = { left: limits.perDay - n0 };
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
      const total = shares.reduce((a, b) => a + b, 0);
      if (total > 0) {
        counters.writes++;
        const exact = await update(
          fast.item?.n === undefined
            ? dayUpdate(d, total, 'attribute_not_exists(#n)', {})
            : dayUpdate(d, total, '#n = :n0', { ':n0': n0 }),
        );
        if (!exact.ok) throw new NotDone(`day ${d.sk} changed while it was near its cap`);
        reserved = total;
      }
      for (const [i, o] of order.entries()) {
        results.set(o.b, await writeBucket(o.b, limits, { left: shares[i]! }, counters, o.state));
      }
      return results;
    } finally {
      const unused = reserved - counters.stored;
      if (unused > 0) {
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
          if (outcome === 'forgotten') forgotten++;
          else if (outcome === 'kept') result.keptOtherRecord++;
          else result.absent++;
        });
      }
      result.forgotten += forgotten;
      if (!forgotten || options.dryRun) return;
      // The day's count never falls below what is stored (see `admitDay`): what is removed is given back.
      result.writes++;
      const day = await update(takeOff({ pk: d.pk, sk: d.sk }, { n: forgotten }));
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
        results = await admitDay(d, settings.limits, counters);
        // A late impression (a day readers may have rolled up) invalidates that day's rollup, after the
        // buckets are written; a redelivery does it again (its first attempt may have died in between).
        const day = dayStart(d.buckets[0]!.startMs);
        if (mustInvalidate(day, now()) && [...results].some(([b, r]) => accepted(b, r))) {
          counters.writes++;
          await invalidate(d.pk, day, d.x);
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

  /**
   * Impressions of the items of one query, newest bucket first, with the bytes read. `pageSize` sizes each
   * query page from what was read so far (items, bytes), so a reader that stops early reads little more
   * than it needs; by default pages of 200 items.
   */
  async function* buckets(
    pk: string,
    lo: string,
    hi: string,
    pageSize: (items: number, bytes: number) => number = () => 200,
    consistent = false,
  ): AsyncGenerator<{ impressions: Impression[]; bytes: number; item: Item }> {
    let start: Record<string, unknown> | undefined;
    let items = 0;
    let total = 0;
    do {
      const query = new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':pk': pk, ':lo': lo, ':hi': hi },
        ScanIndexForward: false,
        Limit: Math.max(1, Math.min(200, Math.floor(pageSize(items, total)))),
        ExclusiveStartKey: start,
        ...(consistent ? { ConsistentRead: true } : {}),
      });
      const out = await retryCall(() => client.send(query), policy);
      for (const item of out.Items ?? []) {
        const bytes = itemSize(item);
        items++;
        total += bytes;
        yield { impressions: impressionsOfItem(item), bytes, item };
      }
      start = out.LastEvaluatedKey;
    } while (start);
  }

  /** Per title, over the buckets of `[fromMs, toMs]` (one query). */
  async function countRange(pk: string, r: TimeRange, titles: ReadonlySet<string>): Promise<Tally> {
    const all: Impression[] = [];
    for await (const g of buckets(
      pk,
      bucketSortKey(bucketStart(r.fromMs)),
      bucketSortKeyEnd(bucketStart(r.toMs)),
    ))
      all.push(...g.impressions);
    return tally(all, r.fromMs, r.toMs, titles);
  }

  /** The rollup items of `days` (one query over their sort keys), by day start. */
  async function readRollups(pk: string, days: readonly number[]): Promise<Map<number, Item>> {
    const out = new Map<number, Item>();
    let start: Record<string, unknown> | undefined;
    do {
      const query = new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: {
          ':pk': pk,
          ':lo': rollupSortKey(days[0]!),
          ':hi': rollupSortKey(days.at(-1)!),
        },
        ExclusiveStartKey: start,
      });
      const page = await retryCall(() => client.send(query), policy);
      for (const item of page.Items ?? []) out.set(dayOfRollupSortKey(String(item.sk)), item);
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /**
   * Counts a whole day from its buckets (consistent reads: every impression whose invalidation preceded the
   * token seen is visible; "a strongly consistent read reflects the updates from all prior write operations
   * that were successful", DynamoDB developer guide, "DynamoDB read consistency") and stores the rollup on the condition that no writer invalidated it since
   * `seen` was read; when a writer did, the counts still answer this request but nothing is stored.
   */
  async function build(pk: string, day: number, seen: RollupState): Promise<Tally> {
    const all: Impression[] = [];
    let x = expiry(day, DAY_MS, EMPTY_ROLLUP_DAYS);
    let first = true;
    for await (const g of buckets(
      pk,
      bucketSortKey(day),
      bucketSortKeyEnd(day + DAY_MS - 1),
      undefined,
      true,
    )) {
      all.push(...g.impressions);
      // The rollup expires with the first of its day's buckets: it never outlives what it counts.
      const bx = Number(g.item.x);
      if (Number.isFinite(bx) && (first || bx < x)) x = bx;
      first = false;
    }
    const counts = tally(all, day, day + DAY_MS - 1, null);
    const item: Item = {
      pk,
      sk: rollupSortKey(day),
      c: encodeTally(counts),
      b: randomUUID(),
      x,
      ...(seen.dirty === undefined ? {} : { d: seen.dirty }),
    };
    if (itemSize(item) > ROLLUP_BUDGET_BYTES) return counts;
    try {
      const put = new PutCommand({
        TableName: tableName,
        Item: item,
        ...(seen.exists
          ? {
              ConditionExpression: '#d = :d',
              ExpressionAttributeNames: { '#d': 'd' },
              ExpressionAttributeValues: { ':d': seen.dirty },
            }
          : {
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': 'pk' },
            }),
      });
      await retryCall(() => client.send(put), policy);
    } catch (err) {
      // Lost the race with a writer, or throttled after retries: the answer stands, a later read builds the rollup.
      if (!conditionFailed(err) && !isRetryable(err)) throw err;
    }
    return counts;
  }

  return {
    admit,
    forgetFromRecord,

    /**
     * Per title of `titleIds`: distinct impressions (by eventId, within each UTC day) with event time in
     * `[fromMs, toMs]`, and the latest such time. Whole days before yesterday come from their rollups;
     * up to `MAX_BUILDS_PER_REQUEST` missing ones are built (newest first), the rest of the window is read
     * from the buckets.
     */
    async titleCounts(
      profileId: string,
      fromMs: number,
      toMs: number,
      titleIds: readonly string[],
    ): Promise<Map<string, TitleTally>> {
      const pk = profileKey(profileId);
      const nowMs = now();
      const titles = new Set(titleIds);
      const plan = planCounts(fromMs, toMs, nowMs);
      const total: Tally = new Map();
      const stored = plan.days.length ? await readRollups(pk, plan.days) : new Map<number, Item>();
      const missing: { day: number; state: RollupState }[] = [];
      for (const day of plan.days) {
        const state = rollupState(stored.get(day), nowMs);
        if (state.counts) addTally(total, state.counts, titles);
        else missing.push({ day, state });
      }
      // Buildable: no item yet, or one a writer invalidated (its token is the condition).
      const buildable = missing.filter((m) => !m.state.exists || m.state.dirty !== undefined).reverse();
      const builds = buildable.slice(0, MAX_BUILDS_PER_REQUEST);
      const rest = missing
        .filter((m) => !builds.includes(m))
        .map((m) => ({ fromMs: m.day, toMs: m.day + DAY_MS - 1 }));
      const jobs: (() => Promise<Tally>)[] = [
        ...builds.map((b) => () => build(pk, b.day, b.state)),
        ...mergeRanges([...plan.ranges, ...rest]).map((r) => () => countRange(pk, r, titles)),
      ];
      for (const t of await mapLimit(jobs, 8, (job) => job())) addTally(total, t, titles);
      return new Map(titleIds.map((t) => [t, total.get(t) ?? { count: 0, lastSeenMs: null }]));
    },

    /**
     * Newest-first page of a profile's impressions within [since, until], optionally of one title. Reads
     * only what `limit` needs (pages sized from the limit), and at most `LIST_SCAN_BYTES` per call: a
     * filtered list that has not filled its page by then returns what it has and a position to continue
     * from (the last impression it examined), so every request's work is bounded.
     */
    async listHistory(q: ListQuery): Promise<HistoryPage> {
      const sinceMs = q.since === null ? null : Date.parse(q.since);
      const untilMs = q.until === null ? null : Date.parse(q.until);
      const lo = sinceMs === null ? BUCKET_PREFIX : bucketSortKey(bucketStart(sinceMs));
      const top = q.after ? q.after.eventTimeMs : untilMs;
      const hi = top === null ? `${BUCKET_PREFIX}~` : bucketSortKeyEnd(bucketStart(top));
      const seen = new Set<string>();
      const out: Impression[] = [];
      let scanned = 0;
      let examined: Impression | undefined;
      // One item first, then pages that at most double, never more than the rest of the limit needs at the
      // fill seen so far, nor more than the byte budget leaves.
      let lastPage = 0;
      const pageSize = (items: number, bytes: number) => {
        lastPage =
          items === 0
            ? 1
            : Math.min(
                2 * lastPage,
                Math.ceil((q.limit + 1 - out.length) / Math.max(1, seen.size / items)),
                Math.floor((LIST_SCAN_BYTES - bytes) / (bytes / items)),
              );
        return Math.max(1, lastPage);
      };
      for await (const group of buckets(profileKey(q.profileId), lo, hi, pageSize)) {
        group.impressions.sort(newestFirst);
        for (const i of group.impressions) {
          if (seen.has(i.eventId)) continue;
          if (q.after && !isAfter(i, q.after)) continue;
          seen.add(i.eventId);
          examined = i;
          if (sinceMs !== null && i.eventTimeMs < sinceMs) continue;
          if (untilMs !== null && i.eventTimeMs > untilMs) continue;
          if (q.titleId !== null && i.titleId !== q.titleId) continue;
          out.push(i);
        }
        scanned += group.bytes;
        if (out.length > q.limit) break;
        if (scanned >= LIST_SCAN_BYTES && examined) {
          return { impressions: out, last: { eventTimeMs: examined.eventTimeMs, eventId: examined.eventId } };
        }
      }
      if (out.length > q.limit) {
        const page = out.slice(0, q.limit);
        const last = page[page.length - 1]!;
        return { impressions: page, last: { eventTimeMs: last.eventTimeMs, eventId: last.eventId } };
      }
      return { impressions: out, last: null };
    },

    /** A profile's distinct impressions with event time in [fromMs, toMs]. */
    async impressionsBetween(profileId: string, fromMs: number, toMs: number): Promise<Impression[]> {
      const seen = new Set<string>();
      const out: Impression[] = [];
      for await (const group of buckets(
        profileKey(profileId),
        bucketSortKey(bucketStart(fromMs)),
        bucketSortKeyEnd(bucketStart(toMs)),
      )) {
        for (const i of group.impressions) {
          if (seen.has(i.eventId) || i.eventTimeMs < fromMs || i.eventTimeMs > toMs) continue;
          seen.add(i.eventId);
          out.push(i);
        }
      }
      return out;
    },

    /** Deletes every item of a profile; returns how many distinct impressions were removed. */
    async erase(profileId: string): Promise<number> {
      const pk = profileKey(profileId);
      const removed = new Set<string>();
      let start: Record<string, unknown> | undefined;
      do {
        const query = new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ExclusiveStartKey: start,
        });
        const out = await retryCall(() => client.send(query), policy);
        for (const item of out.Items ?? []) for (const i of impressionsOfItem(item)) removed.add(i.eventId);
        const keys = (out.Items ?? []).map((it) => ({ pk: it.pk, sk: it.sk }));
        const failed = await batchWriteAll(
          client,
          tableName,
          keys.map((Key) => ({ DeleteRequest: { Key } })),
          policy,
        );
        if (failed.length)
          throw new Error(`erasure of ${profileId}: ${failed.length} deletes failed after retries`);
        start = out.LastEvaluatedKey;
      } while (start);
      return removed.size;
    },
  };
}

export type HistoryStore = ReturnType<typeof historyStore>;
