/**
 * The history store: the DynamoDB table of impressions, day counters, rollups and erasure markers, behind
 * one interface. Design, layout and costs: `docs/history-model.md`; the item layout is `item-codec.ts`, the
 * history's rules (identity, caps, outcomes) `lambdas/domain/history-model.ts` and
 * `lambdas/domain/rollup.ts`. Nothing outside this folder imports its other files, but `table-schema.ts` (the
 * table's keys and TTL, which infra creates the table with) and `item-codec.ts` (for the tests and benchmarks
 * that read or answer the table's items).
 *
 * Parts: `admit.ts` and `forget.ts` (the write side), `reads.ts` and `title-counts.ts` (the read side),
 * `erase.ts` (erasure), `ingest-limit.ts` (the ingest route's per-profile window counters), over one table, client, retry policy and clock (`table.ts`); `day-allowance.ts`
 * and `bucket-memory.ts` are what a store holds in memory between batches.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock } from '../adapters/clock.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../adapters/retry.js';
import type { HistoryCandidate, Impression } from '../domain/history-model.js';
import type { TitleTally } from '../domain/rollup.js';
import { type AdmitResult, type AdmitSettings, admit } from './admit.js';
import { bucketMemory } from './bucket-memory.js';
import { type DayAllowanceOptions, dayAllowances } from './day-allowance.js';
import { type EraseOptions, type EraseResult, type Erasures, erase, erasures } from './erase.js';
import { type ForgetResult, forgetFromRecord } from './forget.js';
import { type HistoryPage, impressionsBetween, type ListQuery, listHistory } from './reads.js';
import { itemAccess } from './table.js';
import { titleCounts } from './title-counts.js';

export type { AdmitResult, AdmitSettings } from './admit.js';
export { type DayAllowanceOptions, ONE_SHOT_ALLOWANCE } from './day-allowance.js';
export {
  ERASE_ITEMS_PER_CALL,
  type EraseOptions,
  type EraseResult,
  type Erasures,
} from './erase.js';
export type { ForgetResult } from './forget.js';
export {
  INGEST_LIMIT_RETRY,
  INGEST_WINDOW_MS,
  type IngestAllowance,
  type IngestLimiter,
  type IngestLimitOptions,
  ingestLimiter,
} from './ingest-limit.js';
// Sizes as DynamoDB bills them (benchmarks and tests measure items with them); the layout itself stays inside.
export { ingestWindowSortKey, itemSize, valueSize } from './item-codec.js';
export { type HistoryPage, LIST_SCAN_BYTES, type ListQuery } from './reads.js';
export { mapLimit } from './table.js';

/** What the store needs besides its table. */
export interface StoreOptions {
  /** The clock that decides which days are recent (rollups) for readers and writers. @default systemClock */
  readonly nowMs?: () => number;
  /** How the write side reserves the daily caps' counters in blocks (day-allowance.ts). */
  readonly dayAllowance?: DayAllowanceOptions;
}

/** The history of impressions: what filter-enrich, the history API and the operator tools use. */
export interface HistoryStore {
  /**
   * Offers a batch's candidates to the history: stores the new impressions within the caps and tells, per
   * candidate, whether it is accepted (new, or a redelivery of the record that stored it), a duplicate (a
   * producer's retry), a burst (past a cap) or failed (throttled: report and retry).
   */
  admit(candidates: readonly HistoryCandidate[], settings: AdmitSettings): Promise<AdmitResult>;
  /**
   * Forgets the impressions that exactly these user records stored, before their records are put on the
   * stream again (`npm run redrive`); one stored by another record is kept. `dryRun` reads instead of
   * writing.
   */
  forgetFromRecord(
    candidates: readonly HistoryCandidate[],
    options?: { readonly dryRun?: boolean },
  ): Promise<ForgetResult>;
  /** Units of daily caps this store reserved and holds unused (day-allowance.ts), per profile-day counter. */
  heldDayAllowance(): { pk: string; sk: string; units: number; generation: string }[];
  /**
   * Per title of `titleIds`: distinct impressions with event time in `[fromMs, toMs]` and the latest such
   * time, from the day rollups (built on read) and the buckets.
   */
  titleCounts(
    profileId: string,
    fromMs: number,
    toMs: number,
    titleIds: readonly string[],
  ): Promise<Map<string, TitleTally>>;
  /** Newest-first page of a profile's impressions, each call's reads bounded (`LIST_SCAN_BYTES`). */
  listHistory(q: ListQuery): Promise<HistoryPage>;
  /** A profile's distinct impressions with event time in `[since, toMs]`. */
  impressionsBetween(profileId: string, since: number, toMs: number): Promise<Impression[]>;
  /** The erasure markers of `profileIds` (consistent reads), for the write path. */
  erasures(profileIds: readonly string[]): Promise<Erasures>;
  /**
   * Erases a profile at the clock's now (or continues the erasure at `options.erasedAtMs`): the marker
   * first, then a bounded number of its other items; repeating it continues.
   */
  erase(profileId: string, options?: EraseOptions): Promise<EraseResult>;
}

/** The history store over one table, client, retry policy and clock. */
export function historyStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  policy: RetryPolicy = DEFAULT_RETRY,
  options: StoreOptions = {},
): HistoryStore {
  const table = { client, tableName, policy, now: options.nowMs ?? systemClock };
  const access = itemAccess(table);
  const allowances = dayAllowances(options.dayAllowance);
  const writes = { table, access, allowances, memory: bucketMemory() };
  return {
    admit: (candidates, settings) => admit(writes, candidates, settings),
    forgetFromRecord: (candidates, opts) => forgetFromRecord(writes, candidates, opts),
    heldDayAllowance: allowances.held,
    titleCounts: (profileId, fromMs, toMs, titleIds) => titleCounts(table, profileId, fromMs, toMs, titleIds),
    listHistory: (q) => listHistory(table, q),
    impressionsBetween: (profileId, since, toMs) => impressionsBetween(table, profileId, since, toMs),
    erasures: (profileIds) => erasures(table, profileIds),
    erase: (profileId, opts) => erase(table, profileId, opts),
  };
}
