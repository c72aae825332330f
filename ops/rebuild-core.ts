/**
 * Rebuilding the history table from the lake: for a time range (and optionally some profiles), the
 * impressions of `impressions`, each once by the history's identity (profile, eventId, event time: the
 * attribute an impression is stored under; at-least-once delivery can land copies in the lake, and the
 * first copy by arrival is kept, as in the `impressions-deduplicated` named query), offered day by day to
 * the pipeline's own history write path (`admit`, ops/history-write.ts) with the deployment's
 * retention and caps. The history write is the duplicate detector, so a rebuild over a table that still
 * holds some of it finds those impressions already present (not a problem, not written again), and a
 * rebuild into an empty table stores everything the caps allow — the lake holds only impressions that
 * passed them, so with unchanged caps that is everything.
 */

import { DAY_MS } from '../lambdas/domain/history-model.js';
import type { AdmitSettings } from '../lambdas/history-store/index.js';
import { type HistoryRow, type HistoryWriteStore, writeImpressions } from './history-write.js';
import { daysOf, type LakeQuery, type LakeRow, lakeTime } from './lake-query.js';

export interface RebuildSelection {
  readonly fromMs: number;
  readonly toMs: number;
  readonly profiles: readonly string[];
  /** The deployment's history settings: retention (TTL, and what is too old to write) and caps. */
  readonly settings: AdmitSettings;
  readonly nowMs: number;
}

export function rebuildSql(day: string, profiles: readonly string[]): { sql: string; params: string[] } {
  const cols =
    'event_id, profile_id, event_time, title_id, artwork_id, page, row_id, row_index, position, device_type, track_id';
  const byProfile = profiles.length ? ` AND profile_id IN (${profiles.map(() => '?').join(', ')})` : '';
  return {
    sql: `SELECT ${cols}, copies FROM (
  SELECT ${cols},
         row_number() OVER (PARTITION BY profile_id, event_id, event_time ORDER BY received_at) AS copy,
         count(*) OVER (PARTITION BY profile_id, event_id, event_time) AS copies
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
  /**
   * Distinct impressions read; they add up: offered + outsideRange + pastRetention + unusable, and what was
   * offered: stored + alreadyPresent + refusedByCaps + failed (in a dry run nothing is offered to the table:
   * `offered` is what would be).
   */
  readonly impressions: number;
  readonly offered: number;
  readonly stored: number;
  readonly alreadyPresent: number;
  readonly refusedByCaps: number;
  readonly failed: number;
  readonly outsideRange: number;
  readonly pastRetention: number;
  readonly unusable: number;
  readonly profiles: number;
  /** Up to 20 lines naming impressions refused by the caps, with the reason the pipeline gives. */
  readonly problems: readonly string[];
}

/** Reads and writes day by day (bounded memory), `chunk` impressions per write call. */
export async function rebuild(
  query: LakeQuery,
  store: HistoryWriteStore | undefined,
  sel: RebuildSelection,
  options: { chunk?: number; onDay?: (done: number, total: number, stored: number) => void } = {},
): Promise<RebuildSummary> {
  const days = daysOf(sel.fromMs, sel.toMs);
  const oldest = sel.nowMs - sel.settings.retentionDays * DAY_MS;
  const profiles = new Set<string>();
  const problems: string[] = [];
  const n = {
    lakeRows: 0,
    impressions: 0,
    offered: 0,
    stored: 0,
    alreadyPresent: 0,
    refusedByCaps: 0,
    failed: 0,
    outsideRange: 0,
    pastRetention: 0,
    unusable: 0,
  };
  for (const [i, day] of days.entries()) {
    const { sql, params } = rebuildSql(day, sel.profiles);
    const rows: HistoryRow[] = [];
    for (const r of await query(sql, params)) {
      n.impressions++;
      n.lakeRows += Number(r.copies ?? 1);
      const row = historyRowOf(r);
      if (!row) {
        n.unusable++;
        continue;
      }
      const t = Date.parse(row.event_time);
      if (t < sel.fromMs || t >= sel.toMs) n.outsideRange++;
      else if (t < oldest) n.pastRetention++;
      else rows.push(row);
    }
    const chunk = options.chunk ?? 5000;
    for (let k = 0; k < rows.length; k += chunk) {
      const part = rows.slice(k, k + chunk);
      n.offered += part.length;
      for (const r of part) profiles.add(r.profile_id);
      if (!store) continue;
      const w = await writeImpressions(store, part, sel.settings);
      n.stored += w.stored;
      n.alreadyPresent += w.alreadyPresent;
      n.refusedByCaps += w.refused.length;
      n.failed += w.failed.length;
      for (const { index, detail } of w.refused)
        if (problems.length < 20)
          problems.push(`${part[index]!.profile_id} ${part[index]!.event_id}: refused, ${detail}`);
    }
    options.onDay?.(i + 1, days.length, n.stored);
  }
  return { days: days.length, ...n, profiles: profiles.size, problems };
}
