/**
 * Routing and validation of history API requests (contract v1). Pure: a request in, a typed query out,
 * or a named domain error that names the bad parameter.
 */
import {
  BadRequestError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
} from './errors.js';
import { DEFAULT_WINDOW, type FrequencyWindow, isWindow } from './frequency.js';

export const MAX_BODY_BYTES = 64 * 1024;
const PROFILE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  readonly bodyBytes: number;
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
export type RouteQuery = ListQuery | FrequencyQuery | CheckQuery | EraseQuery;

const ROUTES: readonly { pattern: RegExp; methods: Record<string, RouteQuery['route']> }[] = [
  { pattern: /^\/v1\/profiles\/([^/]+)\/impressions\/?$/, methods: { GET: 'list', DELETE: 'erase' } },
  { pattern: /^\/v1\/profiles\/([^/]+)\/frequency\/?$/, methods: { GET: 'frequency' } },
  { pattern: /^\/v1\/profiles\/([^/]+)\/frequency\/check\/?$/, methods: { POST: 'check' } },
];

/**
 * Who is calling, from the IAM authorizer: a caller scoped to one profile (an app's session on the client
 * role), or a service that may read any profile.
 */
export type Caller =
  | { readonly kind: 'service' }
  | { readonly kind: 'profile'; readonly profileId: string }
  | { readonly kind: 'unscoped-client' };

/**
 * Scoped callers assume the client role with the session name `p.<profileId>` (and the session tag
 * `profileId`, which the role's IAM policy matches against the path). Any other principal is a service.
 */
export function callerOf(userArn: string | undefined, scopedRoleNames: ReadonlySet<string>): Caller {
  const m = /^arn:[\w-]+:sts::\d+:assumed-role\/([^/]+)\/(.+)$/.exec(userArn ?? '');
  if (!m || !scopedRoleNames.has(m[1]!)) return { kind: 'service' };
  const session = /^p\.([A-Za-z0-9_-]{1,62})$/.exec(m[2]!);
  return session ? { kind: 'profile', profileId: session[1]! } : { kind: 'unscoped-client' };
}

/** Refuses a scoped caller's request for another profile. */
export function authorize(caller: Caller, profileId: string): void {
  if (caller.kind === 'service') return;
  if (caller.kind === 'unscoped-client')
    throw new ForbiddenError('client sessions must be scoped to a profile');
  if (caller.profileId !== profileId) throw new ForbiddenError('this caller may only read its own profile');
}

export function parseRequest(req: ApiRequest): RouteQuery {
  for (const { pattern, methods } of ROUTES) {
    const m = pattern.exec(req.path);
    if (!m) continue;
    const route = methods[req.method.toUpperCase()];
    if (!route) throw new MethodNotAllowedError(Object.keys(methods), req.method);
    const profileId = parseProfileId(m[1]!);
    switch (route) {
      case 'list':
        return parseList(profileId, req.query);
      case 'frequency':
        return parseFrequency(profileId, req.query);
      case 'check':
        return parseCheck(profileId, req);
      case 'erase':
        return { route, profileId };
    }
  }
  throw new NotFoundError(`no route for ${req.path}`);
}

function parseProfileId(raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError('profileId', 'is not valid percent-encoding');
  }
  if (!PROFILE_ID.test(id))
    throw new BadRequestError('profileId', 'must be 1-64 characters of [A-Za-z0-9_-]');
  return id;
}

function parseTime(name: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  if (!RFC3339.test(value) || Number.isNaN(ms))
    throw new BadRequestError(name, 'must be an RFC 3339 date-time');
  return new Date(ms).toISOString();
}

function parseIntIn(name: string, value: string, min: number, max: number): number {
  if (!/^\d{1,6}$/.test(value)) throw new BadRequestError(name, `must be an integer from ${min} to ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw new BadRequestError(name, `must be an integer from ${min} to ${max}`);
  return n;
}

function parseTitleId(name: string, value: string): string {
  if (value.length < 1 || value.length > 64) throw new BadRequestError(name, 'must be 1-64 characters');
  return value;
}

const KNOWN_LIST_PARAMS = new Set(['limit', 'since', 'until', 'titleId', 'cursor']);
const KNOWN_FREQUENCY_PARAMS = new Set(['titleIds', 'window']);

function rejectUnknownParams(query: ApiRequest['query'], known: ReadonlySet<string>): void {
  for (const name of Object.keys(query)) {
    if (!known.has(name)) throw new BadRequestError(name, 'is not a parameter of this route');
  }
}

function parseList(profileId: string, q: ApiRequest['query']): ListQuery {
  rejectUnknownParams(q, KNOWN_LIST_PARAMS);
  const limit = q.limit === undefined ? 50 : parseIntIn('limit', q.limit, 1, 500);
  const since = parseTime('since', q.since);
  const until = parseTime('until', q.until);
  if (since && until && since > until) throw new BadRequestError('since', 'must not be after until');
  const titleId = q.titleId === undefined ? null : parseTitleId('titleId', q.titleId);
  const cursor = q.cursor === undefined ? null : q.cursor;
  if (cursor !== null && cursor.length === 0) throw new BadRequestError('cursor', 'must not be empty');
  return { route: 'list', profileId, limit, since, until, titleId, cursor };
}

function parseWindow(name: string, value: unknown): FrequencyWindow {
  if (value === undefined) return DEFAULT_WINDOW;
  if (typeof value !== 'string' || !isWindow(value))
    throw new BadRequestError(name, 'must be one of 1h, 1d, 7d, 30d');
  return value;
}

function parseFrequency(profileId: string, q: ApiRequest['query']): FrequencyQuery {
  rejectUnknownParams(q, KNOWN_FREQUENCY_PARAMS);
  if (q.titleIds === undefined || q.titleIds === '') throw new BadRequestError('titleIds', 'is required');
  const titleIds = q.titleIds.split(',').map((t) => parseTitleId('titleIds', t));
  if (titleIds.length > 100) throw new BadRequestError('titleIds', 'must list 1-100 title ids');
  return { route: 'frequency', profileId, titleIds, window: parseWindow('window', q.window) };
}

function parseCheck(profileId: string, req: ApiRequest): CheckQuery {
  if (req.bodyBytes > MAX_BODY_BYTES) throw new PayloadTooLargeError(req.bodyBytes, MAX_BODY_BYTES);
  if (req.body === undefined || req.body === '') throw new BadRequestError('body', 'is required');
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    throw new BadRequestError('body', 'is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestError('body', 'must be a JSON object');
  }
  for (const k of Object.keys(body))
    if (k !== 'caps') throw new BadRequestError(`body.${k}`, 'is not allowed');
  const caps = (body as { caps?: unknown }).caps;
  if (!Array.isArray(caps) || caps.length < 1 || caps.length > 100) {
    throw new BadRequestError('caps', 'must be an array of 1-100 caps');
  }
  return {
    route: 'check',
    profileId,
    caps: caps.map((cap: unknown, i) => {
      const at = `caps[${i}]`;
      if (cap === null || typeof cap !== 'object' || Array.isArray(cap)) {
        throw new BadRequestError(at, 'must be an object');
      }
      const c = cap as Record<string, unknown>;
      for (const k of Object.keys(c)) {
        if (k !== 'titleId' && k !== 'max' && k !== 'window')
          throw new BadRequestError(`${at}.${k}`, 'is not allowed');
      }
      if (typeof c.titleId !== 'string') throw new BadRequestError(`${at}.titleId`, 'must be a string');
      const max = c.max;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1_000_000) {
        throw new BadRequestError(`${at}.max`, 'must be an integer from 0 to 1000000');
      }
      return {
        titleId: parseTitleId(`${at}.titleId`, c.titleId),
        max,
        window: parseWindow(`${at}.window`, c.window),
      };
    }),
  };
}
