/**
 * Reprocessing rejected records after a fix (a schema version registered, a catalog entry added, a
 * threshold changed, a producer's clock corrected): rows of `impressions_rejected` selected by reason, time
 * range and/or profile through the lake's query layer, their raw payloads decoded back (UTF-8, or base64 when
 * the row says so) and put on the raw stream again, where they get the outcome the event contract gives them
 * today. Rows rejected again stay rejected: the pipeline writes a second row, with the same raw payload and
 * its new reason. The outcome of each re-put record is read back from the lake: `impressions` by eventId
 * for the accepted ones, `impressions_rejected` by the new sequence number for the ones rejected again.
 */
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { chunks } from '../lambdas/adapters/dynamo-batch.js';
import { chunkForPut, type OutgoingRecord } from '../lambdas/adapters/kinesis-writer.js';
import { DEFAULT_RETRY, type RetryPolicy, retryingStep, retryPending } from '../lambdas/adapters/retry.js';
import { daysOf, type LakeQuery, lakeTime } from './lake-query.js';

export interface RejectedSelection {
  /** Rows received from this instant (epoch ms, inclusive) … */
  readonly fromMs: number;
  /** … to this one (exclusive). */
  readonly toMs: number;
  /** Reason codes: exact (`schema.wrong-type:row.index`), or a prefix ending before `:` or `.` (`schema.wrong-type`, `schema`). */
  readonly reasons: readonly string[];
  readonly profiles: readonly string[];
}

export interface RejectedLakeRow {
  readonly received_at: unknown;
  readonly reason: string;
  readonly detail: string | null;
  readonly partition_key: string;
  readonly sequence_number: string;
  readonly raw: string;
}

/** A reason matches a selector when it is the selector or continues it at a `:` or `.`. */
export const reasonMatches = (reason: string, selector: string) =>
  reason === selector || reason.startsWith(`${selector}:`) || reason.startsWith(`${selector}.`);

/** The SQL for one UTC day of the selection (coarse: reasons by prefix, profiles by key or substring). */
export function selectionSql(day: string, sel: RejectedSelection): { sql: string; params: string[] } {
  const params = [day];
  let sql =
    'SELECT received_at, reason, detail, partition_key, sequence_number, raw FROM impressions_rejected ' +
    'WHERE CAST(received_at AS date) = CAST(? AS date)';
  if (sel.reasons.length) {
    sql += ` AND (${sel.reasons.map(() => 'reason LIKE ?').join(' OR ')})`;
    params.push(...sel.reasons.map((r) => `${r}%`));
  }
  if (sel.profiles.length) {
    sql += ` AND (${sel.profiles.map(() => 'partition_key = ? OR strpos(raw, ?) > 0').join(' OR ')})`;
    for (const p of sel.profiles) params.push(p, p);
  }
  return { sql, params };
}

/** The profile a payload names, when it is a JSON object with a string profileId. */
function profileOf(raw: string): string | undefined {
  try {
    const v = JSON.parse(raw) as { profileId?: unknown } | null;
    return typeof v?.profileId === 'string' ? v.profileId : undefined;
  } catch {
    return undefined;
  }
}

/** The exact filter the SQL approximates. */
export function rowSelected(row: RejectedLakeRow, sel: RejectedSelection): boolean {
  const t = lakeTime(row.received_at);
  if (!(t >= sel.fromMs && t < sel.toMs)) return false;
  if (sel.reasons.length && !sel.reasons.some((r) => reasonMatches(row.reason, r))) return false;
  if (sel.profiles.length && !sel.profiles.includes(row.partition_key)) {
    const p = profileOf(row.raw);
    if (!p || !sel.profiles.includes(p)) return false;
  }
  return true;
}

export const BASE64_NOTE = '(raw is base64: not UTF-8)';
export const TRUNCATED_NOTE = '(raw truncated to';

/** The raw record's bytes, decoded back from the row; undefined when the row kept only part of them. */
export function payloadOf(row: Pick<RejectedLakeRow, 'raw' | 'detail'>): Uint8Array | undefined {
  const detail = row.detail ?? '';
  if (detail.includes(TRUNCATED_NOTE)) return undefined;
  return detail.includes(BASE64_NOTE) ? Buffer.from(row.raw, 'base64') : Buffer.from(row.raw, 'utf8');
}

export interface Planned {
  readonly row: RejectedLakeRow;
  readonly data: Uint8Array;
  /** The eventId the payload names (what `impressions` will hold if it is accepted). */
  readonly eventId?: string;
}

export interface Plan {
  readonly selected: number;
  readonly toPut: readonly Planned[];
  /** Rows whose raw payload was kept truncated (a record over 16 KiB): they cannot be put back. */
  readonly truncated: number;
  /** Rows with the same payload as an earlier one (e.g. a record rejected before, and again): put once. */
  readonly samePayload: number;
  readonly byReason: Readonly<Record<string, number>>;
}

/** Reads the selection day by day and plans what to put back. */
export async function planReprocess(
  query: LakeQuery,
  sel: RejectedSelection,
  onDay?: (done: number, total: number) => void,
): Promise<Plan> {
  const days = daysOf(sel.fromMs, sel.toMs);
  const seen = new Set<string>();
  const toPut: Planned[] = [];
  const byReason: Record<string, number> = {};
  let selected = 0;
  let truncated = 0;
  let samePayload = 0;
  for (const [i, day] of days.entries()) {
    const { sql, params } = selectionSql(day, sel);
    for (const r of (await query(sql, params)) as unknown as RejectedLakeRow[]) {
      const row = {
        ...r,
        reason: String(r.reason),
        raw: String(r.raw),
        partition_key: String(r.partition_key),
      };
      if (!rowSelected(row, sel)) continue;
      selected++;
      byReason[row.reason] = (byReason[row.reason] ?? 0) + 1;
      const data = payloadOf(row);
      if (!data) {
        truncated++;
        continue;
      }
      const key = Buffer.from(data).toString('base64');
      if (seen.has(key)) {
        samePayload++;
        continue;
      }
      seen.add(key);
      let eventId: string | undefined;
      try {
        const v = JSON.parse(Buffer.from(data).toString('utf8')) as { eventId?: unknown } | null;
        if (typeof v?.eventId === 'string') eventId = v.eventId;
      } catch {
        // not JSON: it cannot be accepted, and is looked for among the rejected rows
      }
      toPut.push({ row, data, eventId });
    }
    onDay?.(i + 1, days.length);
  }
  return { selected, toPut, truncated, samePayload, byReason };
}

/** PutRecords within the limits, retrying only failed entries; the sequence number each record got. */
export async function putKeepingSequences(
  kinesis: KinesisClient,
  streamName: string,
  records: readonly { partitionKey: string; data: Uint8Array }[],
  policy: RetryPolicy = DEFAULT_RETRY,
  onPut?: (n: number) => void,
): Promise<(string | undefined)[]> {
  const seqs: (string | undefined)[] = new Array(records.length).fill(undefined);
  const all: OutgoingRecord<number>[] = records.map((r, i) => ({
    // Kinesis partition keys are 1 to 256 characters.
    partitionKey: (r.partitionKey || 'reprocess').slice(0, 256),
    data: r.data,
    source: i,
  }));
  for (const chunk of chunkForPut(all)) {
    await retryPending(
      chunk,
      retryingStep(async (pending) => {
        const out = await kinesis.send(
          new PutRecordsCommand({
            StreamName: streamName,
            Records: pending.map((p) => ({ PartitionKey: p.partitionKey, Data: p.data })),
          }),
        );
        return pending.filter((p, k) => {
          const res = out.Records?.[k];
          if (res?.SequenceNumber && !res.ErrorCode) {
            seqs[p.source] = res.SequenceNumber;
            return false;
          }
          return true;
        });
      }),
      policy,
    );
    onPut?.(seqs.filter(Boolean).length);
  }
  return seqs;
}

export interface Outcomes {
  readonly enriched: number;
  /** Rejected again, by new reason. */
  readonly rejectedAgain: Readonly<Record<string, number>>;
  /** Neither in `impressions` nor rejected again: filtered (not stored), or not in the lake yet. */
  readonly notInLake: number;
}

/** The copies of these eventIds that reached `impressions` since the UTC day `day`. */
export const enrichedCopiesSql = (day: string, eventIds: readonly string[]) => ({
  sql: `SELECT event_id, received_at FROM impressions WHERE CAST(received_at AS date) >= CAST(? AS date) AND event_id IN (${eventIds.map(() => '?').join(', ')})`,
  params: [day, ...eventIds],
});

/** The rejections of these sequence numbers since the UTC day `day`. */
export const rejectedAgainSql = (day: string, sequenceNumbers: readonly string[]) => ({
  sql: `SELECT sequence_number, reason FROM impressions_rejected WHERE CAST(received_at AS date) >= CAST(? AS date) AND sequence_number IN (${sequenceNumbers.map(() => '?').join(', ')})`,
  params: [day, ...sequenceNumbers],
});

/** Where the re-put records are now, read from the lake. */
export async function readOutcomes(
  query: LakeQuery,
  put: readonly { eventId?: string; sequenceNumber: string }[],
  sinceMs: number,
): Promise<Outcomes> {
  const day = new Date(sinceMs).toISOString().slice(0, 10);
  const ids = [...new Set(put.map((p) => p.eventId).filter((x): x is string => Boolean(x)))];
  const enriched = new Set<string>();
  for (const c of chunks(ids, 200)) {
    const { sql, params } = enrichedCopiesSql(day, c);
    const rows = await query(sql, params);
    // Only copies that arrived with the re-put, not the eventId accepted from another record before.
    for (const r of rows) if (lakeTime(r.received_at) >= sinceMs) enriched.add(String(r.event_id));
  }
  const bySeq = new Map<string, string>();
  for (const c of chunks(
    put.map((p) => p.sequenceNumber),
    200,
  )) {
    const { sql, params } = rejectedAgainSql(day, c);
    const rows = await query(sql, params);
    for (const r of rows) bySeq.set(String(r.sequence_number), String(r.reason));
  }
  const rejectedAgain: Record<string, number> = {};
  let accepted = 0;
  let notInLake = 0;
  for (const p of put) {
    const reason = bySeq.get(p.sequenceNumber);
    if (reason) rejectedAgain[reason] = (rejectedAgain[reason] ?? 0) + 1;
    else if (p.eventId && enriched.has(p.eventId)) accepted++;
    else notInLake++;
  }
  return { enriched: accepted, rejectedAgain, notInLake };
}
