/**
 * Enrichment: the contract's enriched record (the columns of the Iceberg table `impressions`, snake_case)
 * from a valid event, its arrival time and the title's catalog entry. Pure.
 */
import type { ImpressionEvent } from './event-schema.js';

export interface TitleInfo {
  readonly titleId: string;
  readonly name: string;
  readonly type: 'movie' | 'show';
  readonly genres: readonly string[];
  readonly maturityRating: string;
}

/** One row of `impressions`; field order and names follow `IMPRESSIONS_TABLE`. */
export interface EnrichedRecord {
  readonly event_id: string;
  readonly schema_version: string;
  readonly event_time: string;
  readonly received_at: string;
  readonly ingest_lag_ms: number;
  readonly event_date: string;
  readonly profile_id: string;
  readonly account_id: string;
  readonly session_id: string;
  readonly device_type: string;
  readonly device_os: string | null;
  readonly app_version: string | null;
  readonly country: string;
  readonly page: string;
  readonly row_index: number;
  readonly row_id: string;
  readonly row_type: string | null;
  readonly position: number;
  readonly title_id: string;
  readonly entity_id: string | null;
  readonly artwork_id: string;
  readonly track_id: number | null;
  readonly visible_percent: number;
  readonly visible_ms: number;
  readonly title_name: string | null;
  readonly title_type: string | null;
  readonly title_genres: readonly string[] | null;
  readonly maturity_rating: string | null;
  readonly context: Readonly<Record<string, string>> | null;
  /** `device.locale`, sent since `impression/1-1-0`; null for older events. */
  readonly device_locale: string | null;
}

/** UTC RFC 3339 with milliseconds; the input itself when it already is that (most clients send UTC). */
function utcIso(text: string, ms: number): string {
  return text.length === 24 && text.charCodeAt(23) === 90 /* Z */ ? text : new Date(ms).toISOString();
}

/** An instant (epoch ms) as UTC RFC 3339 with milliseconds. */
export type IsoFormatter = (ms: number) => string;

const toIso: IsoFormatter = (ms) => new Date(ms).toISOString();

/**
 * A formatter that remembers the last instant it formatted. Records of one batch share few arrival times, so
 * the caller of `enrich` makes one per batch and passes it for every record of that batch.
 */
export function lastIsoFormatter(): IsoFormatter {
  let lastMs = Number.NaN;
  let lastIso = '';
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = toIso(ms);
    }
    return lastIso;
  };
}

/**
 * Builds the enriched record. Times are normalised to UTC RFC 3339 with milliseconds; `formatArrival` writes
 * the arrival time (a caller enriching a batch passes its `lastIsoFormatter()`).
 */
export function enrich(
  event: ImpressionEvent,
  eventTimeMs: number,
  arrivalMs: number,
  title: TitleInfo | undefined,
  formatArrival: IsoFormatter = toIso,
): EnrichedRecord {
  const eventTime = utcIso(event.eventTime, eventTimeMs);
  return {
    event_id: event.eventId.toLowerCase(),
    schema_version: event.schema,
    event_time: eventTime,
    received_at: formatArrival(arrivalMs),
    ingest_lag_ms: arrivalMs - eventTimeMs,
    event_date: eventTime.slice(0, 10),
    profile_id: event.profileId,
    account_id: event.accountId,
    session_id: event.sessionId,
    device_type: event.device.type,
    device_os: event.device.os ?? null,
    app_version: event.device.appVersion ?? null,
    country: event.country,
    page: event.page,
    row_index: event.row.index,
    row_id: event.row.id,
    row_type: event.row.type ?? null,
    position: event.position,
    title_id: event.titleId,
    entity_id: event.entityId ?? null,
    artwork_id: event.artworkId,
    track_id: event.trackId ?? null,
    visible_percent: event.visibility.percent,
    visible_ms: event.visibility.durationMs,
    title_name: title?.name ?? null,
    title_type: title?.type ?? null,
    title_genres: title?.genres ?? null,
    maturity_rating: title?.maturityRating ?? null,
    context: event.context ?? null,
    device_locale: event.device.locale ?? null,
  };
}
