/**
 * The history table's data model (single table, pure key and item logic).
 *
 * Per profile partition `P#<profileId>`:
 * - one history item per impression, sort key `I#<eventTime>#<eventId>`: newest-first queries, time-range
 *   filters by key condition, and idempotent puts (a replayed impression overwrites itself);
 * - one frequency item per title and UTC day, sort key `F#<titleId>#<yyyy-mm-dd>`, holding a string set of
 *   `<eventTimeMs>|<eventId>` members. `ADD` to a set is idempotent, so a replayed batch changes no count,
 *   and the member times make window counts exact at any boundary.
 * Both carry a TTL attribute (`x`, epoch seconds).
 */
import type { EnrichedRecord } from './enrich.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export const profileKey = (profileId: string) => `P#${profileId}`;
export const historySortKey = (eventTimeIso: string, eventId: string) => `I#${eventTimeIso}#${eventId}`;
export const frequencySortKey = (titleId: string, day: string) => `F#${titleId}#${day}`;
export const HISTORY_PREFIX = 'I#';

/** A history item as stored. Short attribute names keep items (and so write units) small. */
export interface HistoryItem {
  readonly pk: string;
  readonly sk: string;
  readonly e: string;
  readonly t: string;
  readonly ti: string;
  readonly a: string;
  readonly pg: string;
  readonly ri: string;
  readonly rx: number;
  readonly po: number;
  readonly d: string;
  readonly tr?: number;
  readonly x: number;
}

/** One `ADD` to a frequency item: the members to add and the records they come from. */
export interface FrequencyUpdate {
  readonly pk: string;
  readonly sk: string;
  readonly members: readonly string[];
  readonly x: number;
}

export interface HistoryWritePlan {
  readonly puts: readonly { readonly item: HistoryItem; readonly sources: readonly string[] }[];
  readonly updates: readonly { readonly update: FrequencyUpdate; readonly sources: readonly string[] }[];
}

export interface EnrichedInput {
  readonly sequenceNumber: string;
  readonly record: EnrichedRecord;
}

export const frequencyMember = (eventTimeMs: number, eventId: string) => `${eventTimeMs}|${eventId}`;

export function parseFrequencyMember(member: string): { timeMs: number; eventId: string } | undefined {
  const bar = member.indexOf('|');
  const timeMs = Number(member.slice(0, bar));
  if (bar < 1 || !Number.isFinite(timeMs)) return undefined;
  return { timeMs, eventId: member.slice(bar + 1) };
}

export function toHistoryItem(r: EnrichedRecord, retentionDays: number): HistoryItem {
  const timeMs = Date.parse(r.event_time);
  return {
    pk: profileKey(r.profile_id),
    sk: historySortKey(r.event_time, r.event_id),
    e: r.event_id,
    t: r.event_time,
    ti: r.title_id,
    a: r.artwork_id,
    pg: r.page,
    ri: r.row_id,
    rx: r.row_index,
    po: r.position,
    d: r.device_type,
    ...(r.track_id === null ? {} : { tr: r.track_id }),
    x: Math.floor((timeMs + retentionDays * DAY_MS) / 1000),
  };
}

/**
 * Builds the writes for a batch of enriched records: one put per distinct impression (a record repeated in
 * the batch is written once) and one set `ADD` per profile, title and day, merging the batch's impressions.
 * Frequency items live one day past the longest window (30 d) so every window stays exact.
 */
export function planHistoryWrites(inputs: readonly EnrichedInput[], retentionDays: number): HistoryWritePlan {
  const puts = new Map<string, { item: HistoryItem; sources: string[] }>();
  const updates = new Map<
    string,
    { pk: string; sk: string; members: Set<string>; x: number; sources: string[] }
  >();
  const frequencyTtlDays = Math.max(31, retentionDays);
  for (const { sequenceNumber, record } of inputs) {
    const item = toHistoryItem(record, retentionDays);
    const putKey = `${item.pk}\u0000${item.sk}`;
    const put = puts.get(putKey);
    if (put) put.sources.push(sequenceNumber);
    else puts.set(putKey, { item, sources: [sequenceNumber] });

    const sk = frequencySortKey(record.title_id, record.event_date);
    const updKey = `${item.pk}\u0000${sk}`;
    const timeMs = Date.parse(record.event_time);
    const member = frequencyMember(timeMs, record.event_id);
    const dayStartMs = Date.parse(`${record.event_date}T00:00:00.000Z`);
    const x = Math.floor((dayStartMs + (frequencyTtlDays + 1) * DAY_MS) / 1000);
    const upd = updates.get(updKey);
    if (upd) {
      upd.members.add(member);
      upd.sources.push(sequenceNumber);
    } else {
      updates.set(updKey, { pk: item.pk, sk, members: new Set([member]), x, sources: [sequenceNumber] });
    }
  }
  return {
    puts: [...puts.values()],
    updates: [...updates.values()].map(({ pk, sk, members, x, sources }) => ({
      update: { pk, sk, members: [...members], x },
      sources,
    })),
  };
}
