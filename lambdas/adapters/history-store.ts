/**
 * DynamoDB adapter of the history table (data model and admission rules in `domain/history-model.ts`,
 * design in `docs/history-model.md`). The write side is `admit`: one conditional UpdateItem per profile and
 * bucket stores a batch's new impressions and detects duplicates and bursts in the same request.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
  type DayPlan,
  decideBucket,
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
import { batchWriteAll } from './dynamo-batch.js';
import { isRetryable } from './kinesis-writer.js';
import { DEFAULT_RETRY, type RetryPolicy, retryPending } from './retry.js';

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

export function historyStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  policy: RetryPolicy = DEFAULT_RETRY,
) {
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
      async (pending) => {
        try {
          await client.send(
            new UpdateCommand({
              ...input,
              TableName: tableName,
              ...(input.ConditionExpression ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } : {}),
            }),
          );
          holder.result = { ok: true };
          return [];
        } catch (err) {
          if (conditionFailed(err)) {
            const raw = (err as { Item?: Record<string, AttributeValue> }).Item;
            holder.result = {
              ok: false,
              item: raw ? unmarshall(raw) : undefined,
              returned: raw !== undefined,
            };
            return [];
          }
          if (isRetryable(err)) return pending;
          throw err;
        }
      },
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
      async (pending) => {
        try {
          item = (await client.send(new GetCommand({ TableName: tableName, Key, ConsistentRead: true })))
            .Item;
          return [];
        } catch (err) {
          if (isRetryable(err)) return pending;
          throw err;
        }
      },
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
  ): AsyncGenerator<{ impressions: Impression[]; bytes: number }> {
    let start: Record<string, unknown> | undefined;
    let items = 0;
    let total = 0;
    do {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':pk': pk, ':lo': lo, ':hi': hi },
          ScanIndexForward: false,
          Limit: Math.max(1, Math.min(200, Math.floor(pageSize(items, total)))),
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const bytes = itemSize(item);
        items++;
        total += bytes;
        yield { impressions: impressionsOfItem(item), bytes };
      }
      start = out.LastEvaluatedKey;
    } while (start);
  }

  return {
    admit,

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
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ExclusiveStartKey: start,
          }),
        );
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
