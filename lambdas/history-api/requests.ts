/**
 * Routing and validation of history API requests (contract v1). Pure: a request in, a typed query out,
 * or a named error (`problems.ts` maps it to its answer) that names the bad parameter. The rules it
 * checks against are the domain's: profile ids, RFC 3339 instants, frequency windows, well-formed text.
 */

import { InvalidParameterError } from '../domain/errors.js';
import { isWellFormed } from '../domain/event-schema.js';
import { type FrequencyWindow, isWindow } from '../domain/frequency.js';
import { isProfileId, PROFILE_ID_RULE } from '../domain/profile-id.js';
import { parseRfc3339 } from '../domain/time.js';
import { type ApiRoute, apiRoutes } from './api-routes.js';
import {
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './problems.js';

/** The window of a frequency query or cap that names none (contract). */
const DEFAULT_WINDOW: FrequencyWindow = '7d';

export const MAX_BODY_BYTES = 64 * 1024;
/**
 * What Kinesis takes of one record (data and partition key) and of one PutRecords request (Kinesis API
 * reference, PutRecords: "Each record in the request can be as large as 1 MiB … The entire request can be as
 * large as 5 MiB, including partition keys").
 */
const KINESIS_RECORD_BYTES = 1024 * 1024;
const KINESIS_REQUEST_BYTES = 5 * 1024 * 1024;

/** The ingest route's limits (contract): 1–500 events in a body of at most 1 MiB. */
export const MAX_INGEST_BODY_BYTES = 1024 * 1024;
export const MAX_INGEST_EVENTS = 500;

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  readonly bodyBytes: number;
  /** The request's `Content-Type` header, if any. */
  readonly contentType?: string;
}

export interface ListQuery {
  readonly route: 'list';
  readonly profileId: string;
  readonly limit: number;
  readonly since: string | null;
  readonly until: string | null;
  readonly titleId: string | null;
  readonly cursor: string | null;
}
export interface FrequencyQuery {
  readonly route: 'frequency';
  readonly profileId: string;
  readonly titleIds: readonly string[];
  readonly window: FrequencyWindow;
}
export interface CheckQuery {
  readonly route: 'check';
  readonly profileId: string;
  readonly caps: readonly {
    readonly titleId: string;
    readonly max: number;
    readonly window: FrequencyWindow;
  }[];
}
export interface EraseQuery {
  readonly route: 'erase';
  readonly profileId: string;
}
/** A batch of one profile's events, each serialized as it is put on the raw stream. */
export interface IngestQuery {
  readonly route: 'ingest';
  readonly profileId: string;
  readonly records: readonly string[];
}
/** The parsed query of each route of the table (a route missing here does not compile). */
interface QueryOf {
  readonly list: ListQuery;
  readonly frequency: FrequencyQuery;
  readonly check: CheckQuery;
  readonly erase: EraseQuery;
  readonly ingest: IngestQuery;
}
export type RouteQuery = { [R in ApiRoute]: QueryOf[R] & { readonly route: R } }[ApiRoute];

/** A path template's pattern: `{profileId}` is one segment (captured), and a trailing `/` is accepted. */
function patternOf(template: string): RegExp {
  const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const [before = '', after = ''] = template.split('{profileId}');
  return new RegExp(`^${literal(before)}([^/]+)${literal(after)}\\/?$`);
}

/** The table's routes by path, each path with its methods in the table's order (a 405's `Allow`). */
const ROUTES: readonly { pattern: RegExp; methods: ReadonlyMap<string, ApiRoute> }[] = (() => {
  const byPath = new Map<string, Map<string, ApiRoute>>();
  for (const { name, method, path } of apiRoutes()) {
    const methods = byPath.get(path) ?? new Map<string, ApiRoute>();
    methods.set(method, name);
    byPath.set(path, methods);
  }
  return [...byPath].map(([path, methods]) => ({ pattern: patternOf(path), methods }));
})();

/** The route and profile of a request (404 for an unknown path, 405 for a wrong method, 400 for a bad id). */
export function routeOf(req: Pick<ApiRequest, 'method' | 'path'>): { route: ApiRoute; profileId: string } {
  for (const { pattern, methods } of ROUTES) {
    const m = pattern.exec(req.path);
    if (!m) continue;
    const route = methods.get(req.method.toUpperCase());
    if (!route) throw new MethodNotAllowedError([...methods.keys()], req.method);
    return { route, profileId: parseProfileId(m[1]!) };
  }
  throw new NotFoundError(`no route for ${req.path}`);
}

export function parseRequest(req: ApiRequest): RouteQuery {
  const { route, profileId } = routeOf(req);
  switch (route) {
    case 'list':
      return parseList(profileId, req.query);
    case 'frequency':
      return parseFrequency(profileId, req.query);
    case 'check':
      return parseCheck(profileId, req);
    case 'ingest':
      return parseIngest(profileId, req);
    case 'erase':
      return { route, profileId };
  }
}

function parseProfileId(raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new InvalidParameterError('profileId', 'is not valid percent-encoding');
  }
  if (!isProfileId(id)) throw new InvalidParameterError('profileId', `must be ${PROFILE_ID_RULE}`);
  return id;
}

/** The instants the contract's UTC form can print (years 0000–9999). */
const MIN_INSTANT_MS = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** An RFC 3339 parameter as its instant, in the contract's form (UTC, ms). */
function parseTime(name: string, value: string | undefined): { iso: string; ms: number } | null {
  if (value === undefined) return null;
  const ms = parseRfc3339(value);
  if (!(ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS))
    throw new InvalidParameterError(name, 'must be an RFC 3339 date-time that exists in the calendar');
  return { iso: new Date(ms).toISOString(), ms };
}

function parseIntIn(name: string, value: string, min: number, max: number): number {
  if (!/^\d{1,6}$/.test(value))
    throw new InvalidParameterError(name, `must be an integer from ${min} to ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw new InvalidParameterError(name, `must be an integer from ${min} to ${max}`);
  return n;
}

/** A title id as the event contract has it: 1-64 characters counted in code points, well-formed Unicode. */
function parseTitleId(name: string, value: string): string {
  const chars = [...value].length;
  if (chars < 1 || chars > 64 || !isWellFormed(value)) {
    throw new InvalidParameterError(name, 'must be 1-64 characters of well-formed Unicode');
  }
  return value;
}

const KNOWN_LIST_PARAMS = new Set(['limit', 'since', 'until', 'titleId', 'cursor']);
const KNOWN_FREQUENCY_PARAMS = new Set(['titleIds', 'window']);

function rejectUnknownParams(query: ApiRequest['query'], known: ReadonlySet<string>): void {
  for (const name of Object.keys(query)) {
    if (!known.has(name)) throw new InvalidParameterError(name, 'is not a parameter of this route');
  }
}

function parseList(profileId: string, q: ApiRequest['query']): ListQuery {
  rejectUnknownParams(q, KNOWN_LIST_PARAMS);
  const limit = q.limit === undefined ? 50 : parseIntIn('limit', q.limit, 1, 500);
  const since = parseTime('since', q.since);
  const until = parseTime('until', q.until);
  if (since && until && since.ms > until.ms)
    throw new InvalidParameterError('since', 'must not be after until');
  const titleId = q.titleId === undefined ? null : parseTitleId('titleId', q.titleId);
  const cursor = q.cursor === undefined ? null : q.cursor;
  if (cursor !== null && cursor.length === 0) throw new InvalidParameterError('cursor', 'must not be empty');
  return {
    route: 'list',
    profileId,
    limit,
    since: since?.iso ?? null,
    until: until?.iso ?? null,
    titleId,
    cursor,
  };
}

function parseWindow(name: string, value: unknown): FrequencyWindow {
  if (value === undefined) return DEFAULT_WINDOW;
  if (typeof value !== 'string' || !isWindow(value))
    throw new InvalidParameterError(name, 'must be one of 1h, 1d, 7d, 30d');
  return value;
}

function parseFrequency(profileId: string, q: ApiRequest['query']): FrequencyQuery {
  rejectUnknownParams(q, KNOWN_FREQUENCY_PARAMS);
  if (q.titleIds === undefined || q.titleIds === '')
    throw new InvalidParameterError('titleIds', 'is required');
  const titleIds = q.titleIds.split(',').map((t) => parseTitleId('titleIds', t));
  if (titleIds.length > 100) throw new InvalidParameterError('titleIds', 'must list 1-100 title ids');
  return { route: 'frequency', profileId, titleIds, window: parseWindow('window', q.window) };
}

/** A JSON object body within `limit` bytes, with no keys but `allowed`. */
function objectBody(req: ApiRequest, limit: number, allowed: string): Record<string, unknown> {
  if (req.bodyBytes > limit) throw new PayloadTooLargeError(req.bodyBytes, limit);
  if (req.body === undefined || req.body === '') throw new InvalidParameterError('body', 'is required');
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    throw new InvalidParameterError('body', 'is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidParameterError('body', 'must be a JSON object');
  }
  for (const k of Object.keys(body))
    if (k !== allowed) throw new InvalidParameterError(`body.${k}`, 'is not allowed');
  return body as Record<string, unknown>;
}

/**
 * The ingest body: `{ "events": [...] }`, 1–500 events, every one an object whose `profileId` is the
 * path's. One bad event refuses the whole request (nothing is written). Each event is serialized back to
 * JSON, so what is put on the stream is exactly what was checked here (same keys and values; a key given
 * twice keeps its last value, as every JSON reader of the pipeline reads it).
 */
function parseIngest(profileId: string, req: ApiRequest): IngestQuery {
  if (!isJsonMediaType(req.contentType)) throw new UnsupportedMediaTypeError(req.contentType);
  const events = objectBody(req, MAX_INGEST_BODY_BYTES, 'events').events;
  if (!Array.isArray(events) || events.length < 1 || events.length > MAX_INGEST_EVENTS) {
    throw new InvalidParameterError('events', `must be an array of 1-${MAX_INGEST_EVENTS} impression events`);
  }
  let total = 0;
  const records = events.map((e: unknown, i) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) {
      throw new InvalidParameterError(`events[${i}]`, 'must be an impression event (a JSON object)');
    }
    if ((e as { profileId?: unknown }).profileId !== profileId) {
      throw new InvalidParameterError(`events[${i}].profileId`, "must equal the path's profileId");
    }
    let record: string;
    try {
      record = JSON.stringify(e);
    } catch {
      throw new InvalidParameterError(`events[${i}]`, 'is nested too deeply');
    }
    // Serialized again, an event can outgrow what it took in the body (`1E9` is written `1000000000`): what
    // Kinesis would refuse is refused here, never retried into a 503.
    const bytes = Buffer.byteLength(record) + Buffer.byteLength(profileId);
    if (bytes > KINESIS_RECORD_BYTES)
      throw new PayloadTooLargeError(bytes, KINESIS_RECORD_BYTES, `events[${i}]`);
    total += bytes;
    return record;
  });
  if (total > KINESIS_REQUEST_BYTES) throw new PayloadTooLargeError(total, KINESIS_REQUEST_BYTES, 'events');
  return { route: 'ingest', profileId, records };
}

/** `application/json`, with or without parameters (`; charset=utf-8`), in any case. */
function isJsonMediaType(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

function parseCheck(profileId: string, req: ApiRequest): CheckQuery {
  const caps = objectBody(req, MAX_BODY_BYTES, 'caps').caps;
  if (!Array.isArray(caps) || caps.length < 1 || caps.length > 100) {
    throw new InvalidParameterError('caps', 'must be an array of 1-100 caps');
  }
  return {
    route: 'check',
    profileId,
    caps: caps.map((cap: unknown, i) => {
      const at = `caps[${i}]`;
      if (cap === null || typeof cap !== 'object' || Array.isArray(cap)) {
        throw new InvalidParameterError(at, 'must be an object');
      }
      const c = cap as Record<string, unknown>;
      for (const k of Object.keys(c)) {
        if (k !== 'titleId' && k !== 'max' && k !== 'window')
          throw new InvalidParameterError(`${at}.${k}`, 'is not allowed');
      }
      if (typeof c.titleId !== 'string') throw new InvalidParameterError(`${at}.titleId`, 'must be a string');
      const max = c.max;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1_000_000) {
        throw new InvalidParameterError(`${at}.max`, 'must be an integer from 0 to 1000000');
      }
      return {
        titleId: parseTitleId(`${at}.titleId`, c.titleId),
        max,
        window: parseWindow(`${at}.window`, c.window),
      };
    }),
  };
}
