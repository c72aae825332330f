/**
 * DynamoDB adapter of the history table (data model and admission rules in `domain/history-model.ts`,
 * design in `docs/history-model.md`). The write side is `admit`: one conditional UpdateItem per profile and
 * bucket stores a batch's new impressions and detects duplicates and bursts in the same request.
 */

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock } from './clock.js';
import { type DayAllowanceOptions, dayAllowances } from './day-allowance.js';
import { historyErase } from './history-erase.js';
import { historyReads } from './history-reads.js';
import { historyWrites } from './history-writes.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';

export { ONE_SHOT_ALLOWANCE } from './day-allowance.js';
export {
  ERASE_ITEMS_PER_CALL,
  type EraseOptions,
  type EraseResult,
  type Erasures,
} from './history-erase.js';
export { type HistoryPage, LIST_SCAN_BYTES, type ListQuery } from './history-reads.js';
export { mapLimit } from './history-table.js';
export type { AdmitResult, AdmitSettings, ForgetResult } from './history-writes.js';

/** What the store needs besides its table. */
export interface StoreOptions {
  /** The clock that decides which days are recent (rollups) for readers and writers. @default systemClock */
  readonly nowMs?: () => number;
  /** How the write side reserves the daily caps' counters in blocks (day-allowance.ts). */
  readonly dayAllowance?: DayAllowanceOptions;
}

/**
 * The history store: its write side (history-writes.ts), read side (history-reads.ts) and erasure
 * (history-erase.ts) over one table, client, retry policy and clock (history-table.ts).
 */
export function historyStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  policy: RetryPolicy = DEFAULT_RETRY,
  options: StoreOptions = {},
) {
  const table = { client, tableName, policy, now: options.nowMs ?? systemClock };
  const allowances = dayAllowances(options.dayAllowance);
  return {
    ...historyWrites(table, allowances),
    /** Units of daily caps this store reserved and holds unused (day-allowance.ts). */
    heldDayAllowance: allowances.held,
    ...historyReads(table),
    ...historyErase(table),
  };
}

export type HistoryStore = ReturnType<typeof historyStore>;
