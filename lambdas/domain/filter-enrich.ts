/**
 * The filter-enrich step for one Lambda batch, as pure functions: `planBatch` classifies and enriches every
 * record (with one read port, the title catalog); the history decides duplicates and bursts
 * (`HistoryStore.admit`); `settleBatch` turns its answers into the final outcomes and what to write.
 */
import { type Classification, type ClassifierConfig, classify, type FilterReason } from './classify.js';
import { type EnrichedRecord, enrich, lastIsoFormatter, type TitleInfo } from './enrich.js';
import { isErased } from './erasure.js';
import { type Admission, type HistoryCandidate, recordTag } from './history-model.js';
import { isProfileId } from './profile-id.js';

export interface RawRecord {
  /** The Kinesis record's sequence number (what a partial batch response names). */
  readonly sequenceNumber: string;
  /** Position within a KPL-aggregated Kinesis record; absent for a plain record. */
  readonly subSequenceNumber?: number;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** Kinesis approximate arrival time, epoch ms. */
  readonly arrivalMs: number;
  /**
   * Set on a KPL aggregate holding more user records than allowed: it is kept whole and rejected as one row
   * (`decode.aggregate-too-large`), never de-aggregated.
   */
  readonly tooManyUserRecords?: { readonly count: number; readonly limit: number };
  /**
   * Set on a record that starts with the KPL magic bytes but cannot be de-aggregated as a whole (why, in
   * words): it is kept whole and rejected as one row (`decode.bad-aggregate`), never de-aggregated.
   */
  readonly badAggregate?: string;
}

/** Row of `impressions_rejected`. */
export interface RejectedRow {
  readonly received_at: string;
  readonly reason: string;
  readonly detail: string;
  readonly partition_key: string;
  readonly sequence_number: string;
  readonly raw: string;
  /** The record's `profileId` where it can be read (a JSON object with a valid profile id), else null. */
  readonly profile_id: string | null;
}

export interface FilterEnrichPorts {
  /** Catalog entries of the titles that exist; unknown ids are simply absent. */
  readonly titles: (titleIds: readonly string[]) => Promise<ReadonlyMap<string, TitleInfo>>;
}

export type RecordOutcome =
  | { readonly outcome: 'enriched'; readonly unknownTitle: boolean; readonly ingestLagMs: number }
  | { readonly outcome: 'filtered'; readonly reason: FilterReason }
  | { readonly outcome: 'rejected'; readonly reason: string };

export interface EnrichedOut {
  /** The Kinesis record it came from. */
  readonly sequenceNumber: string;
  /** The user record it came from (see `recordId`): its tag is stored with the impression in the history. */
  readonly recordId: string;
  readonly partitionKey: string;
  readonly record: EnrichedRecord;
  /** Index of its record in the batch. */
  readonly index: number;
  readonly eventTimeMs: number;
}

export interface RejectedOut {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly row: RejectedRow;
}

/** Identity of one user record: the sequence number, with the sub-sequence number of an aggregated record. */
export const recordId = (r: Pick<RawRecord, 'sequenceNumber' | 'subSequenceNumber'>) =>
  r.subSequenceNumber === undefined ? r.sequenceNumber : `${r.sequenceNumber}:${r.subSequenceNumber}`;

export interface BatchPlan {
  /** One per input record, in input order. */
  readonly outcomes: readonly RecordOutcome[];
  /** Before `settleBatch`: the candidates offered to the history; after: what goes on the enriched stream. */
  readonly enriched: readonly EnrichedOut[];
  readonly rejected: readonly RejectedOut[];
}

/** Partition key of the rejected rows: bounded, spread evenly, and never the producer's key. */
export const rejectedPartitionKey = (recordIdentity: string) => `r-${recordTag(recordIdentity)}`;

/** Kinesis partition keys are at most 256 characters: the producer's key as the rejected row keeps it. */
export function keptPartitionKey(key: string): string {
  if (key.length <= 256) return key;
  const cut = key.slice(0, 256);
  const last = cut.charCodeAt(255);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, 255) : cut;
}

/** What one rejected row's `reason` and `detail` keep, in UTF-16 code units (cut at a character boundary). */
export const MAX_REASON_CHARS = 512;
export const MAX_DETAIL_CHARS = 1024;

/** `text` cut to at most `max` UTF-16 code units, never between the two halves of a surrogate pair. */
export function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/**
 * The `profileId` of a record that is a JSON object holding a valid one, else null: the rejected row's
 * `profile_id` column, so that erasure finds the row whatever its reason (a record too large to classify,
 * too, as long as it parses). Never throws.
 */
export function readableProfileId(data: Uint8Array): string | null {
  if (!looksLikeJsonObject(data)) return null;
  try {
    const parsed: unknown = JSON.parse(utf8.decode(data));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    const id = (parsed as Record<string, unknown>).profileId;
    return isProfileId(id) ? id : null;
  } catch {
    return null;
  }
}

/** First non-blank byte is `{`: anything else cannot hold a top-level `profileId`. */
function looksLikeJsonObject(data: Uint8Array): boolean {
  for (const b of data) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b;
  }
  return false;
}

function rejectedOut(rec: RawRecord, reason: string, detail: string, profileId?: string): RejectedOut {
  const { raw, note } = rawText(rec.data);
  return {
    sequenceNumber: rec.sequenceNumber,
    partitionKey: rejectedPartitionKey(recordId(rec)),
    row: {
      received_at: new Date(rec.arrivalMs).toISOString(),
      reason: cutChars(reason, MAX_REASON_CHARS),
      // The note (truncation, base64) is kept whole: the detail gives way to it.
      detail: cutChars(detail, MAX_DETAIL_CHARS - note.length) + note,
      partition_key: keptPartitionKey(rec.partitionKey),
      sequence_number: recordId(rec),
      raw,
      profile_id: profileId ?? readableProfileId(rec.data),
    },
  };
}

/** The history's view of a candidate. */
export const historyCandidate = (e: EnrichedOut): HistoryCandidate => ({
  profileId: e.record.profile_id,
  recordId: e.recordId,
  impression: {
    eventId: e.record.event_id,
    eventTimeMs: e.eventTimeMs,
    titleId: e.record.title_id,
    artworkId: e.record.artwork_id,
    page: e.record.page,
    rowId: e.record.row_id,
    rowIndex: e.record.row_index,
    position: e.record.position,
    deviceType: e.record.device_type,
    trackId: e.record.track_id,
  },
});

/**
 * The rejected row's `raw` keeps at most the record's first 16 KiB as UTF-8 text, cut at a character
 * boundary, or, where those bytes do not decode as UTF-8, base64 of at most its first 12 KiB (16 KiB of
 * base64 text); `detail` then gives the record's full length (contract: impression-event.md,
 * `impressions_rejected`, revision 2026-12-02). A rejected record on the stream is then at most ≈ 110 KB
 * once JSON-encoded, whatever the input: 16 KiB of control characters escaped as `\u00XX` (6 bytes each) is
 * 96 KiB, and `reason`, `detail` and `partition_key` are cut to 512, 1,024 and 256 code units (each ≤ 6
 * bytes encoded), far inside Kinesis' 1 MiB record limit.
 */
export const MAX_RAW_KEPT_BYTES = 16 * 1024;
export const MAX_RAW_BASE64_BYTES = 12 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The longest prefix of at most `max` bytes that does not end inside a UTF-8 sequence. */
function utf8Prefix(data: Uint8Array, max: number): Uint8Array {
  if (data.byteLength <= max) return data;
  let cut = max;
  // Back off over continuation bytes (10xxxxxx) to the lead byte of the character the cut falls in.
  for (let back = 0; back < 3 && cut > 0 && (data[cut]! & 0xc0) === 0x80; back++) cut--;
  return data.subarray(0, cut);
}

export function rawText(data: Uint8Array): { raw: string; note: string } {
  const kept = utf8Prefix(data, MAX_RAW_KEPT_BYTES);
  try {
    const raw = utf8.decode(kept);
    const note = kept === data ? '' : ` (raw truncated to ${kept.byteLength} of ${data.byteLength} bytes)`;
    return { raw, note };
  } catch {
    const bin = data.byteLength > MAX_RAW_BASE64_BYTES ? data.subarray(0, MAX_RAW_BASE64_BYTES) : data;
    const note =
      bin === data ? '' : ` (raw truncated to ${MAX_RAW_BASE64_BYTES} of ${data.byteLength} bytes)`;
    return { raw: Buffer.from(bin).toString('base64'), note: `${note} (raw is base64: not UTF-8)` };
  }
}

export async function planBatch(
  records: readonly RawRecord[],
  config: ClassifierConfig,
  ports: FilterEnrichPorts,
): Promise<BatchPlan> {
  const classified: Classification[] = records.map((r) =>
    r.badAggregate !== undefined
      ? {
          outcome: 'rejected',
          reason: 'decode.bad-aggregate',
          code: 'decode.bad-aggregate',
          detail: `KPL aggregate that cannot be de-aggregated: ${r.badAggregate}`,
        }
      : r.tooManyUserRecords
        ? {
            outcome: 'rejected',
            reason: 'decode.aggregate-too-large',
            code: 'decode.aggregate-too-large',
            detail: `KPL aggregate of ${r.tooManyUserRecords.count} user records, limit ${r.tooManyUserRecords.limit}`,
          }
        : classify(r.data, r.arrivalMs, config),
  );
  const candidateIdx: number[] = [];
  classified.forEach((c, i) => {
    if (c.outcome === 'candidate') candidateIdx.push(i);
  });
  const titles: ReadonlyMap<string, TitleInfo> = candidateIdx.length
    ? await ports.titles([
        ...new Set(
          candidateIdx.map(
            (i) => (classified[i] as Extract<Classification, { outcome: 'candidate' }>).event.titleId,
          ),
        ),
      ])
    : new Map();

  const outcomes: RecordOutcome[] = new Array(records.length);
  const enriched: EnrichedOut[] = [];
  const rejected: RejectedOut[] = [];
  const formatArrival = lastIsoFormatter();
  classified.forEach((c, i) => {
    const rec = records[i]!;
    if (c.outcome === 'filtered') outcomes[i] = { outcome: 'filtered', reason: c.reason };
    else if (c.outcome === 'rejected') {
      outcomes[i] = { outcome: 'rejected', reason: c.code };
      rejected.push(rejectedOut(rec, c.code, c.detail));
    } else {
      const title = titles.get(c.event.titleId);
      const record = enrich(c.event, c.eventTimeMs, rec.arrivalMs, title, formatArrival);
      enriched.push({
        sequenceNumber: rec.sequenceNumber,
        recordId: recordId(rec),
        partitionKey: record.profile_id,
        record,
        index: i,
        eventTimeMs: c.eventTimeMs,
      });
      outcomes[i] = { outcome: 'enriched', unknownTitle: !title, ingestLagMs: record.ingest_lag_ms };
    }
  });
  return { outcomes, enriched, rejected };
}

/**
 * The final plan once the history has answered for each candidate (`admissions`, in the order of
 * `plan.enriched`): accepted ones stay enriched, producer retries become `filtered.duplicate`, bursts become
 * `quality.profile-burst` rows; failed ones are handed back to be reported for retry.
 */
export function settleBatch(
  records: readonly RawRecord[],
  plan: BatchPlan,
  admissions: readonly Admission[],
): BatchPlan & { readonly failed: readonly EnrichedOut[] } {
  const outcomes = [...plan.outcomes];
  const enriched: EnrichedOut[] = [];
  const rejected = [...plan.rejected];
  const failed: EnrichedOut[] = [];
  plan.enriched.forEach((e, k) => {
    const a = admissions[k] ?? { kind: 'failed' };
    if (a.kind === 'accepted') enriched.push(e);
    else if (a.kind === 'failed') failed.push(e);
    else if (a.kind === 'duplicate')
      outcomes[e.index] = { outcome: 'filtered', reason: 'filtered.duplicate' };
    else {
      outcomes[e.index] = { outcome: 'rejected', reason: 'quality.profile-burst' };
      rejected.push(rejectedOut(records[e.index]!, 'quality.profile-burst', a.detail, e.record.profile_id));
    }
  });
  return { outcomes, enriched, rejected: boundRejectedRows(rejected), failed };
}

/** The distinct profiles of a plan's enriched records (whose erasure markers the history is asked for). */
export const profilesOf = (enriched: readonly EnrichedOut[]) => [
  ...new Set(enriched.map((e) => e.record.profile_id)),
];

/**
 * The plan without the impressions that an erasure covers (`filtered.erased`: a profile erased at E, event
 * time ≤ E), given the batch's profiles' erasure times (`erasedAt`) and the profiles whose marker could not
 * be read (`unknown`: their impressions are handed back in `failed`, to be reported for retry). Applied
 * before the history write (nothing of an erased profile is stored) and again after it, before the
 * enriched stream (a `DELETE` that came in between: nothing reaches the lake).
 */
export function applyErasures(
  plan: BatchPlan,
  erasedAt: ReadonlyMap<string, number>,
  unknown: ReadonlySet<string> = new Set(),
): BatchPlan & { readonly failed: readonly EnrichedOut[] } {
  if (!erasedAt.size && !unknown.size) return { ...plan, failed: [] };
  const outcomes = [...plan.outcomes];
  const enriched: EnrichedOut[] = [];
  const failed: EnrichedOut[] = [];
  for (const e of plan.enriched) {
    const profileId = e.record.profile_id;
    if (unknown.has(profileId)) failed.push(e);
    else if (isErased(e.eventTimeMs, erasedAt.get(profileId)))
      outcomes[e.index] = { outcome: 'filtered', reason: 'filtered.erased' };
    else enriched.push(e);
  }
  return { outcomes, enriched, rejected: plan.rejected, failed };
}

/**
 * Rejected rows one Kinesis record may add on its own, and rows a batch writes before each further Kinesis
 * record is held to one: an aggregate of 1,000 rejected user records (and a batch of 500 of them) would
 * otherwise be 1,000 rows (500,000).
 */
export const REJECTED_ROW_LIMITS = { perRecord: 100, perBatch: 1000 } as const;

/**
 * Holds the rejected rows of a batch within `REJECTED_ROW_LIMITS`: a Kinesis record keeps its first
 * `perRecord` rows while the batch is under `perBatch`, and the rest of its rejected user records are
 * summarised in one more row (the first of them, with a detail naming how many and their reasons). Every
 * user record keeps its own outcome (metrics count each); only the rows are bounded: at most
 * `perBatch + perRecord + 1` for a batch, plus one per further Kinesis record.
 */
export function boundRejectedRows(
  rejected: readonly RejectedOut[],
  limits: { readonly perRecord: number; readonly perBatch: number } = REJECTED_ROW_LIMITS,
): RejectedOut[] {
  const bySeq = new Map<string, RejectedOut[]>();
  for (const r of rejected) {
    const list = bySeq.get(r.sequenceNumber);
    if (list) list.push(r);
    else bySeq.set(r.sequenceNumber, [r]);
  }
  const out: RejectedOut[] = [];
  for (const rows of bySeq.values()) {
    const keep = Math.max(0, Math.min(limits.perRecord, limits.perBatch - out.length));
    if (rows.length <= Math.max(1, keep)) {
      out.push(...rows);
      continue;
    }
    out.push(...rows.slice(0, keep));
    out.push(summaryRow(rows.slice(keep)));
  }
  return out;
}

function summaryRow(rows: readonly RejectedOut[]): RejectedOut {
  const first = rows[0]!;
  const reasons = new Map<string, number>();
  for (const r of rows) {
    const base = r.row.reason.split(':')[0]!;
    reasons.set(base, (reasons.get(base) ?? 0) + 1);
  }
  const listed = [...reasons]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([reason, n]) => `${reason} ×${n}`)
    .join(', ');
  const summary = `${rows.length} rejected user records of Kinesis record ${first.sequenceNumber} from ${first.row.sequence_number} to ${rows[rows.length - 1]!.row.sequence_number} in this one row (${listed}); raw and reason are the first's. `;
  return {
    ...first,
    row: { ...first.row, detail: cutChars(summary + first.row.detail, MAX_DETAIL_CHARS + summary.length) },
  };
}
