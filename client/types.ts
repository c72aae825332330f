/**
 * Requests and responses of the history API (contract v1, docs/contract/history-api.md), as a caller sees
 * them. Standalone: nothing here comes from the service's own code.
 */

/** The frequency windows the API knows. */
export type FrequencyWindow = '1h' | '1d' | '7d' | '30d';

/** A JSON value, as an event's fields are. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [k: string]: JsonValue };

/** One stored impression, as `GET …/impressions` lists it. */
export interface HistoryItem {
  readonly eventId: string;
  /** RFC 3339 UTC with ms. */
  readonly eventTime: string;
  readonly titleId: string;
  readonly artworkId: string;
  readonly page: string;
  readonly rowId: string;
  readonly rowIndex: number;
  readonly position: number;
  readonly deviceType: string;
  readonly trackId: number | null;
}

/** The history list's filters (`cursor` comes from the previous page). */
export interface HistoryQuery {
  /** 1–500. @default 50 (the API's) */
  readonly limit?: number;
  /** RFC 3339, or a Date. */
  readonly since?: string | Date;
  readonly until?: string | Date;
  readonly titleId?: string;
}

export interface HistoryPage {
  readonly profileId: string;
  readonly items: readonly HistoryItem[];
  /** Pass it back (with the same profile and filters) for the next page; `null` on the last page. */
  readonly nextCursor: string | null;
}

export interface TitleFrequency {
  readonly titleId: string;
  readonly count: number;
  readonly lastSeenAt: string | null;
}

export interface FrequencyResponse {
  readonly profileId: string;
  readonly window: FrequencyWindow;
  readonly asOf: string;
  /** One entry per requested title, in request order. */
  readonly titles: readonly TitleFrequency[];
}

export interface FrequencyCap {
  readonly titleId: string;
  readonly max: number;
  /** @default '7d' (the API's) */
  readonly window?: FrequencyWindow;
}

export interface CapResult {
  readonly titleId: string;
  readonly window: FrequencyWindow;
  readonly max: number;
  readonly count: number;
  /** `count >= max`. */
  readonly capped: boolean;
}

export interface CheckResponse {
  readonly profileId: string;
  readonly asOf: string;
  readonly results: readonly CapResult[];
  /** The titles whose cap is reached (`count >= max`). */
  readonly capped: readonly string[];
}

/**
 * An event of the event contract (`impression/1-*-*`), as an object or as its JSON text (sent unchanged).
 * The API checks it; the client only requires its `profileId` to be the path's.
 */
export type IngestEvent = EventObject | string;
/** What the client needs of an event object (the methods take any object type with it). */
export interface EventObject {
  readonly profileId: string;
}

export interface IngestResponse {
  readonly profileId: string;
  readonly accepted: number;
}

export interface EraseResponse {
  readonly profileId: string;
  /** Items removed by this request. */
  readonly deleted: number;
  /** False when the rest is being removed in the background: repeat the DELETE (`eraseCompletely`). */
  readonly complete: boolean;
}

/** The ingest route's limits (contract): 1–500 events in a body of at most 1 MiB. */
export const INGEST_LIMITS = { events: 500, bodyBytes: 1024 * 1024 } as const;
