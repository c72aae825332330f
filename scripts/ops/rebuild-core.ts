/**
 * Rebuilding the history table from the lake: for a time range (and optionally some profiles), the
 * impressions of `impressions`, each eventId once (at-least-once delivery can land it more than once; the
 * first copy by arrival is kept, as in the `impressions-deduplicated` named query), written day by day
 * through the pipeline's own history write path (scripts/ops/history-write.ts). Writing is idempotent: an
 * impression always lands on the same attribute of the same item, so a rebuild over a table that still
 * holds some of it, or a rebuild run twice, leaves the same table.
 */
const DAY_MS = 86_400_000;

import { type HistoryRow, type HistoryWriteStore, writeImpressions } from './history-write.js';
import { daysOf, type LakeQuery, type LakeRow, lakeTime } from './lake-query.js';

export interface RebuildSelection {
  readonly fromMs: number;
  readonly toMs: number;
  readonly profiles: readonly string[];
  readonly retentionDays: number;
  readonly nowMs: number;
}

export function rebuildSql(day: string, profiles: readonly string[]): { sql: string; params: string[] } {
  const cols =
    'event_id, profile_id, event_time, title_id, artwork_id, page, row_id, row_index, position, device_type, track_id';
  const byProfile = profiles.length ? ` AND profile_id IN (${profiles.map(() => '?').join(', ')})` : '';
  return {
    sql: `SELECT ${cols}, copies FROM (
  SELECT ${cols},
         row_number() OVER (PARTITION BY event_id ORDER BY received_at, ingest_lag_ms) AS copy,
         count(*) OVER (PARTITION BY event_id) AS copies
  FROM impressions
  WHERE event_date = CAST(? AS date)${byProfile}
) WHERE copy = 1`,
    params: [day, ...profiles],
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** A lake row as the history write path takes it, or undefined when it cannot be one. */
export function historyRowOf(r: LakeRow): HistoryRow | undefined {
  const t = lakeTime(r.event_time);
  const rowIndex = Number(r.row_index);
  const position = Number(r.position);
  const track =
    r.track_id === null || r.track_id === undefined || r.track_id === '' ? null : Number(r.track_id);
  if (!UUID.test(str(r.event_id)) || !str(r.profile_id) || Number.isNaN(t)) return undefined;
  if (!Number.isInteger(rowIndex) || !Number.isInteger(position) || (track !== null && Number.isNaN(track)))
    return undefined;
  return {
    event_id: str(r.event_id).toLowerCase(),
    profile_id: str(r.profile_id),
    event_time: new Date(t).toISOString(),
    title_id: str(r.title_id),
    artwork_id: str(r.artwork_id),
    page: str(r.page),
    row_id: str(r.row_id),
    row_index: rowIndex,
    position,
    device_type: str(r.device_type),
    track_id: track,
  };
}

export interface RebuildSummary {
  readonly days: number;
  /** Rows of `impressions` read, copies included. */
  readonly lakeRows: number;
  /** Distinct eventIds read; they add up: written + outsideRange + pastRetention + unusable + failed. */
  readonly impressions: number;
  readonly written: number;
  readonly outsideRange: number;
  readonly pastRetention: number;
  readonly unusable: number;
  readonly failed: number;
  readonly profiles: number;
}

/** Reads and writes day by day (bounded memory), `chunk` impressions per write call. */
export async function rebuild(
  query: LakeQuery,
  store: HistoryWriteStore | undefined,
  sel: RebuildSelection,
  options: { chunk?: number; onDay?: (done: number, total: number, written: number) => void } = {},
): Promise<RebuildSummary> {
  const days = daysOf(sel.fromMs, sel.toMs);
  const oldest = sel.nowMs - sel.retentionDays * DAY_MS;
  const profiles = new Set<string>();
  let lakeRows = 0;
  let impressions = 0;
  let written = 0;
  let outsideRange = 0;
  let pastRetention = 0;
  let unusable = 0;
  let failed = 0;
  for (const [i, day] of days.entries()) {
    const { sql, params } = rebuildSql(day, sel.profiles);
    const rows: HistoryRow[] = [];
    for (const r of await query(sql, params)) {
      impressions++;
      lakeRows += Number(r.copies ?? 1);
      const row = historyRowOf(r);
      if (!row) {
        unusable++;
        continue;
      }
      const t = Date.parse(row.event_time);
      if (t < sel.fromMs || t >= sel.toMs) outsideRange++;
      else if (t < oldest) pastRetention++;
      else rows.push(row);
    }
    const chunk = options.chunk ?? 5000;
    for (let k = 0; k < rows.length; k += chunk) {
      const part = rows.slice(k, k + chunk);
      const notWritten = store ? await writeImpressions(store, part, sel.retentionDays) : [];
      failed += notWritten.length;
      written += part.length - notWritten.length;
      for (const r of part) profiles.add(r.profile_id);
    }
    options.onDay?.(i + 1, days.length, written);
  }
  return {
    days: days.length,
    lakeRows,
    impressions,
    written,
    outsideRange,
    pastRetention,
    unusable,
    failed,
    profiles: profiles.size,
  };
}
