/**
 * The one place the rebuild tool writes the history table: the pipeline's own write path, the history
 * store's `admit` (docs/history-model.md), with the deployed function's settings (retention, caps), so a
 * rebuilt table is what the pipeline would have written. Keep it the only call: when the write path moves,
 * rewire this function.
 *
 * The history write is also the pipeline's duplicate detector: each stored impression carries the tag of
 * the record that stored it. The lake does not keep the Kinesis sequence number of an impression, so a
 * rebuilt impression is tagged with `lakeRecordId(eventId)` — stable, and never a Kinesis sequence number.
 * What `admit` answers then reads as:
 * - accepted: stored by this call (counted in `stored`) or by an earlier rebuild (same tag): stored;
 * - duplicate: already stored by the pipeline's record (another tag): already present, not a problem;
 * - burst: refused by the caps (the window, the item's byte budget, or the day);
 * - failed: not written (throttled after retries): reported, a re-run writes it.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EnrichedRecord } from '../lambdas/domain/enrich.js';
import { type HistoryCandidate, impressionOf } from '../lambdas/domain/history-model.js';
import {
  type AdmitSettings,
  type HistoryStore,
  historyStore,
  ONE_SHOT_ALLOWANCE,
} from '../lambdas/history-store/index.js';
import { deployedFilterEnrichSettings } from './deployed-filter-enrich.js';

/** The columns of `impressions` the history keeps (what `impressionOf` reads of an enriched record). */
export const HISTORY_COLUMNS = [
  'event_id',
  'profile_id',
  'event_time',
  'title_id',
  'artwork_id',
  'page',
  'row_id',
  'row_index',
  'position',
  'device_type',
  'track_id',
] as const;

export type HistoryRow = Pick<EnrichedRecord, (typeof HISTORY_COLUMNS)[number]>;

export type HistoryWriteStore = Pick<HistoryStore, 'admit'>;

export const openHistoryStore = (documents: DynamoDBDocumentClient, tableName: string): HistoryWriteStore =>
  historyStore(documents, tableName, undefined, { dayAllowance: ONE_SHOT_ALLOWANCE });

/** The record identity a rebuilt impression is tagged with (a Kinesis sequence number is digits only). */
export const lakeRecordId = (eventId: string) => `lake:${eventId}`;

/** A lake row as the pipeline offers it to the history. */
export const candidateOf = (r: HistoryRow): HistoryCandidate => ({
  profileId: r.profile_id,
  recordId: lakeRecordId(r.event_id),
  // impressionOf reads only the history columns of an enriched record.
  impression: impressionOf(r as EnrichedRecord),
});

export interface WriteOutcome {
  /** Newly stored by this call. */
  readonly stored: number;
  /** Already in the table: stored by the pipeline (another record's tag) or by an earlier rebuild. */
  readonly alreadyPresent: number;
  /** Refused by the caps, with the reason the pipeline would give (`quality.profile-burst`). */
  readonly refused: readonly { readonly index: number; readonly detail: string }[];
  /** Indexes of the rows that could not be written (throttled after retries): a re-run writes them. */
  readonly failed: readonly number[];
}

/** Offers the rows to the history through `admit`; every row ends in exactly one of the outcomes. */
export async function writeImpressions(
  store: HistoryWriteStore,
  rows: readonly HistoryRow[],
  settings: AdmitSettings,
): Promise<WriteOutcome> {
  const result = await store.admit(rows.map(candidateOf), settings);
  let accepted = 0;
  let duplicates = 0;
  const refused: { index: number; detail: string }[] = [];
  const failed: number[] = [];
  result.admissions.forEach((a, index) => {
    if (a.kind === 'accepted') accepted++;
    else if (a.kind === 'duplicate') duplicates++;
    else if (a.kind === 'burst') refused.push({ index, detail: a.detail });
    else failed.push(index);
  });
  // `stored` counts distinct impressions written; the rows are distinct impressions (the rebuild reads
  // each once), and only accepted ones are written, so this is never negative.
  return { stored: result.stored, alreadyPresent: accepted - result.stored + duplicates, refused, failed };
}

/**
 * The history settings of a deployment, as its filter-enrich function reads them
 * (`deployedFilterEnrichSettings`: the function's environment in the deployed template, read by the function's
 * own settings reader).
 */
export async function deployedHistorySettings(
  cfn: CloudFormationClient,
  pipelineStack: string,
  outputs: Readonly<Record<string, string | undefined>>,
): Promise<AdmitSettings> {
  return (await deployedFilterEnrichSettings(cfn, pipelineStack, outputs)).historySettings;
}
