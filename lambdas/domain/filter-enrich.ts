/**
 * The filter-enrich step for one Lambda batch, as a pure function of the records and two read ports.
 * It decides every record's outcome and builds what must be written; the handler does the writing.
 */
import {
  type Classification,
  type ClassifierConfig,
  classify,
  type FilterReason,
  resolveDuplicates,
} from './classify.js';
import { type EnrichedRecord, enrich, type TitleInfo } from './enrich.js';

export interface RawRecord {
  /** The Kinesis record's sequence number (what a partial batch response names). */
  readonly sequenceNumber: string;
  /** Position within a KPL-aggregated Kinesis record; absent for a plain record. */
  readonly subSequenceNumber?: number;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** Kinesis approximate arrival time, epoch ms. */
  readonly arrivalMs: number;
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
  /** eventId → sequence number of the record that was accepted with it, for ids accepted in the last 24 h. */
  readonly acceptedEventIds: (eventIds: readonly string[]) => Promise<ReadonlyMap<string, string>>;
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
  /** The user record it came from (see `recordId`): what duplicate detection remembers. */
  readonly recordId: string;
  readonly partitionKey: string;
  readonly record: EnrichedRecord;
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
  readonly enriched: readonly EnrichedOut[];
  readonly rejected: readonly RejectedOut[];
}

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
  const classified: Classification[] = records.map((r) => classify(r.data, r.arrivalMs, config));

  const candidateIdx: number[] = [];
  classified.forEach((c, i) => {
    if (c.outcome === 'candidate') candidateIdx.push(i);
  });
  const candidateEvents = candidateIdx.map((i) => {
    const c = classified[i] as Extract<Classification, { outcome: 'candidate' }>;
    return {
      index: i,
      c,
      eventId: c.event.eventId.toLowerCase(),
      sequenceNumber: recordId(records[i]!),
    };
  });

  const [accepted, titles] = await Promise.all([
    candidateEvents.length
      ? ports.acceptedEventIds([...new Set(candidateEvents.map((c) => c.eventId))])
      : new Map(),
    candidateEvents.length
      ? ports.titles([...new Set(candidateEvents.map((c) => c.c.event.titleId))])
      : new Map(),
  ]);
  const isNew = resolveDuplicates(candidateEvents, accepted);

  const outcomes: RecordOutcome[] = new Array(records.length);
  const enriched: EnrichedOut[] = [];
  const rejected: RejectedOut[] = [];

  candidateEvents.forEach((cand, k) => {
    const rec = records[cand.index]!;
    if (!isNew[k]) {
      outcomes[cand.index] = { outcome: 'filtered', reason: 'filtered.duplicate' };
      return;
    }
    const title = titles.get(cand.c.event.titleId);
    const record = enrich(cand.c.event, cand.c.eventTimeMs, rec.arrivalMs, title);
    enriched.push({
      sequenceNumber: rec.sequenceNumber,
      recordId: cand.sequenceNumber,
      partitionKey: record.profile_id,
      record,
    });
    outcomes[cand.index] = { outcome: 'enriched', unknownTitle: !title, ingestLagMs: record.ingest_lag_ms };
  });

  classified.forEach((c, i) => {
    const rec = records[i]!;
    if (c.outcome === 'filtered') outcomes[i] = { outcome: 'filtered', reason: c.reason };
    if (c.outcome !== 'rejected') return;
    outcomes[i] = { outcome: 'rejected', reason: c.code };
    const { raw, note } = rawText(rec.data);
    rejected.push({
      sequenceNumber: rec.sequenceNumber,
      partitionKey: rec.partitionKey,
      row: {
        received_at: new Date(rec.arrivalMs).toISOString(),
        reason: c.code,
        detail: c.detail + note,
        partition_key: rec.partitionKey,
        sequence_number: recordId(rec),
        raw,
      },
    });
  });

  return { outcomes, enriched, rejected };
}
