/**
 * The filter-enrich step for one Lambda batch, as pure functions: `planBatch` classifies and enriches every
 * record (with one read port, the title catalog); the history decides duplicates and bursts
 * (`HistoryStore.admit`); `settleBatch` turns its answers into the final outcomes and what to write.
 */
import { type Classification, type ClassifierConfig, classify, type FilterReason } from './classify.js';
import { type EnrichedRecord, enrich, type TitleInfo } from './enrich.js';
import { type Admission, type HistoryCandidate, recordTag } from './history-model.js';

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
}

/** Row of `impressions_rejected`. */
export interface RejectedRow {
  readonly received_at: string;
  readonly reason: string;
  readonly detail: string;
  readonly partition_key: string;
  readonly sequence_number: string;
  readonly raw: string;
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

function rejectedOut(rec: RawRecord, reason: string, detail: string): RejectedOut {
  const { raw, note } = rawText(rec.data);
  return {
    sequenceNumber: rec.sequenceNumber,
    partitionKey: rejectedPartitionKey(recordId(rec)),
    row: {
      received_at: new Date(rec.arrivalMs).toISOString(),
      reason,
      detail: detail + note,
      partition_key: keptPartitionKey(rec.partitionKey),
      sequence_number: recordId(rec),
      raw,
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

/** Raw payloads above this are kept truncated in the rejected row (a Kinesis record holds at most 1 MiB). */
export const MAX_RAW_KEPT_BYTES = 256 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function rawText(data: Uint8Array): { raw: string; note: string } {
  const kept = data.byteLength > MAX_RAW_KEPT_BYTES ? data.subarray(0, MAX_RAW_KEPT_BYTES) : data;
  const note = kept === data ? '' : ` (raw truncated to ${MAX_RAW_KEPT_BYTES} of ${data.byteLength} bytes)`;
  try {
    return { raw: utf8.decode(kept), note };
  } catch {
    return { raw: Buffer.from(kept).toString('base64'), note: `${note} (raw is base64: not UTF-8)` };
  }
}

export async function planBatch(
  records: readonly RawRecord[],
  config: ClassifierConfig,
  ports: FilterEnrichPorts,
): Promise<BatchPlan> {
  const classified: Classification[] = records.map((r) =>
    r.tooManyUserRecords
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
  classified.forEach((c, i) => {
    const rec = records[i]!;
    if (c.outcome === 'filtered') outcomes[i] = { outcome: 'filtered', reason: c.reason };
    else if (c.outcome === 'rejected') {
      outcomes[i] = { outcome: 'rejected', reason: c.code };
      rejected.push(rejectedOut(rec, c.code, c.detail));
    } else {
      const title = titles.get(c.event.titleId);
      const record = enrich(c.event, c.eventTimeMs, rec.arrivalMs, title);
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
      rejected.push(rejectedOut(records[e.index]!, 'quality.profile-burst', a.detail));
    }
  });
  return { outcomes, enriched, rejected, failed };
}
