/**
 * history-api: the routes of the history API contract (v1) behind an IAM-authenticated HTTP API.
 * Thin adapter: decide who is calling (fail closed), parse the request with the pure router, call the
 * store or the raw stream, map errors with `toProblem`.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { documentClient, kinesisClient } from '../adapters/clients.js';
import { type HistoryStore, historyStore } from '../adapters/history-store.js';
import { observability } from '../adapters/observability.js';
import {
  type ApiRequest,
  type CheckQuery,
  type FrequencyQuery,
  type IngestQuery,
  type ListQuery,
  parseRequest,
  routeOf,
} from '../domain/api-requests.js';
import { type AuthorizationPolicy, authorize, callerOf, mayCallAnything } from '../domain/authorization.js';
import {
  type CursorBinding,
  type CursorKeyring,
  decodeCursor,
  encodeCursor,
  UnknownCursorKeyError,
} from '../domain/cursor.js';
import { BadRequestError, ForbiddenError, ServiceUnavailableError, toProblem } from '../domain/errors.js';
import { type FrequencyWindow, type TitleCount, toTitleCount, WINDOWS } from '../domain/frequency.js';
import { decodePosition, encodePosition } from '../domain/history-model.js';
import { secretsManagerKeyring } from './cursor-keys.js';
import { type RawStreamWriter, rawStreamWriter } from './raw-stream.js';
import { historyApiSettings } from './settings.js';

export interface HistoryApiDeps {
  readonly store: Pick<HistoryStore, 'listHistory' | 'titleCounts' | 'erase'>;
  /** The cursor keys; `refresh` asks for a fresh read (a cursor named a key this instance does not hold). */
  readonly cursorKeys: (request?: { refresh?: boolean }) => Promise<CursorKeyring>;
  /** Who may call what. @default nobody may call anything */
  readonly authorization?: AuthorizationPolicy;
  /** Puts the ingest route's events on the raw stream. @default the ingest route answers 503 */
  readonly ingest?: RawStreamWriter;
  readonly nowMs?: () => number;
}

/** What a 503 asks the client to wait before retrying the same request. */
export const RETRY_AFTER_SECONDS = 1;

const { logger } = observability('history-api');
const NEVER_SEEN: TitleCount = { count: 0, lastSeenAt: null };

const json = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode: status,
  headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers },
  body: JSON.stringify(body),
});

export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const raw = event.body ?? undefined;
  const body = raw !== undefined && event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  return {
    method: event.requestContext?.http?.method ?? 'GET',
    path: event.rawPath ?? '/',
    query: Object.fromEntries(new URLSearchParams(event.rawQueryString ?? '')),
    body,
    bodyBytes: body === undefined ? 0 : Buffer.byteLength(body),
  };
}

export function makeHandler(deps: HistoryApiDeps) {
  const now = deps.nowMs ?? Date.now;

  async function list(q: ListQuery) {
    const binding: CursorBinding = {
      profileId: q.profileId,
      since: q.since,
      until: q.until,
      titleId: q.titleId,
    };
    let keys = await deps.cursorKeys();
    let after: ReturnType<typeof decodePosition> | null = null;
    if (q.cursor !== null) {
      let sortKey: string;
      try {
        sortKey = decodeCursor(keys, binding, q.cursor, now());
      } catch (err) {
        if (!(err instanceof UnknownCursorKeyError)) throw err;
        // Signed by a key newer than this instance's cached keys (the secret was just rotated)?
        keys = await deps.cursorKeys({ refresh: true });
        sortKey = decodeCursor(keys, binding, q.cursor, now());
      }
      after = decodePosition(sortKey);
    }
    if (after === undefined) throw new BadRequestError('cursor', 'invalid cursor');
    const page = await deps.store.listHistory({ ...binding, limit: q.limit, after });
    return json(200, {
      profileId: q.profileId,
      items: page.impressions.map((i) => ({
        eventId: i.eventId,
        eventTime: new Date(i.eventTimeMs).toISOString(),
        titleId: i.titleId,
        artworkId: i.artworkId,
        page: i.page,
        rowId: i.rowId,
        rowIndex: i.rowIndex,
        position: i.position,
        deviceType: i.deviceType,
        trackId: i.trackId,
      })),
      nextCursor: page.last === null ? null : encodeCursor(keys, binding, encodePosition(page.last), now()),
    });
  }

  /** Counts for each (title, window): one store call per window requested (rollups and recent buckets). */
  async function counts(
    profileId: string,
    wanted: readonly { titleId: string; window: FrequencyWindow }[],
    asOfMs: number,
  ): Promise<TitleCount[]> {
    const byWindow = new Map<FrequencyWindow, Map<string, TitleCount>>();
    await Promise.all(
      [...new Set(wanted.map((x) => x.window))].map(async (w) => {
        const titles = wanted.filter((x) => x.window === w).map((x) => x.titleId);
        const got = await deps.store.titleCounts(profileId, asOfMs - WINDOWS[w] + 1, asOfMs, titles);
        byWindow.set(w, new Map([...got].map(([t, c]) => [t, toTitleCount(c)])));
      }),
    );
    // A title the store has no tally for was never seen in the window.
    return wanted.map((x) => byWindow.get(x.window)?.get(x.titleId) ?? NEVER_SEEN);
  }

  async function frequency(q: FrequencyQuery) {
    const asOfMs = now();
    const results = await counts(
      q.profileId,
      q.titleIds.map((titleId) => ({ titleId, window: q.window })),
      asOfMs,
    );
    return json(200, {
      profileId: q.profileId,
      window: q.window,
      asOf: new Date(asOfMs).toISOString(),
      titles: q.titleIds.map((titleId, i) => ({
        titleId,
        count: results[i]!.count,
        lastSeenAt: results[i]!.lastSeenAt,
      })),
    });
  }

  async function check(q: CheckQuery) {
    const asOfMs = now();
    const results = await counts(q.profileId, q.caps, asOfMs);
    const rows = q.caps.map((cap, i) => ({
      titleId: cap.titleId,
      window: cap.window,
      max: cap.max,
      count: results[i]!.count,
      capped: results[i]!.count >= cap.max,
    }));
    return json(200, {
      profileId: q.profileId,
      asOf: new Date(asOfMs).toISOString(),
      results: rows,
      capped: [...new Set(rows.filter((r) => r.capped).map((r) => r.titleId))],
    });
  }

  async function ingest(q: IngestQuery) {
    const unavailable = () =>
      new ServiceUnavailableError(
        'the events could not all be written now; retry the same request',
        RETRY_AFTER_SECONDS,
      );
    if (!deps.ingest) throw unavailable();
    let failed: number;
    try {
      ({ failed } = await deps.ingest(q.profileId, q.records));
    } catch (err) {
      logger.warn('ingest put failed', { error: err as Error, events: q.records.length });
      throw unavailable();
    }
    if (failed > 0) {
      logger.warn('ingest put left records out', { failed, events: q.records.length });
      throw unavailable();
    }
    return json(202, { profileId: q.profileId, accepted: q.records.length });
  }

  const policy: AuthorizationPolicy = deps.authorization ?? { services: [], erasers: [] };

  return async (event: APIGatewayProxyEventV2, context?: Pick<Context, 'awsRequestId'>) => {
    const requestId = context?.awsRequestId ?? event.requestContext?.requestId ?? 'unknown';
    try {
      // Fail closed: no identity, or one that may call nothing, is refused before the request is read.
      const caller = callerOf(identityOf(event)?.userArn, policy);
      if (!mayCallAnything(caller))
        throw new ForbiddenError('this caller is not allowed to call the history API');
      const request = toApiRequest(event);
      const target = routeOf(request);
      authorize(caller, target.route, target.profileId);
      const q = parseRequest(request);
      switch (q.route) {
        case 'list':
          return await list(q);
        case 'frequency':
          return await frequency(q);
        case 'check':
          return await check(q);
        case 'ingest':
          return await ingest(q);
        case 'erase': {
          const deleted = await deps.store.erase(q.profileId);
          logger.info('profile erased', { profileId: q.profileId, deleted });
          return json(202, { profileId: q.profileId, deleted });
        }
        default:
          // A route the router can return but no case handles does not compile.
          return unhandledRoute(q);
      }
    } catch (err) {
      const problem = toProblem(err, requestId);
      if (problem.status >= 500) logger.error('request failed', { error: err as Error, requestId });
      const allow = (err as { allow?: readonly string[] }).allow;
      return json(problem.status, problem, {
        ...(allow ? { allow: allow.join(', ') } : {}),
        ...(err instanceof ServiceUnavailableError ? { 'retry-after': String(err.retryAfterSeconds) } : {}),
      });
    }
  };
}

/** The exhaustiveness check of the route switch: `q` is `never` once every route has a case. */
function unhandledRoute(q: never): never {
  throw new Error(`no handler for route ${(q as { route?: unknown }).route}`);
}

/** API Gateway's IAM authorizer context (payload 2.0), if the request has one. */
function identityOf(event: APIGatewayProxyEventV2): { userArn?: unknown } | undefined {
  const ctx = event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } } | undefined;
  const iam = ctx?.authorizer?.iam;
  return iam !== null && typeof iam === 'object' ? iam : undefined;
}

let defaultHandler: ReturnType<typeof makeHandler> | undefined;

export const handler = (event: APIGatewayProxyEventV2, context: Context) => {
  if (!defaultHandler) {
    const s = historyApiSettings();
    defaultHandler = makeHandler({
      store: historyStore(documentClient(), s.historyTableName),
      cursorKeys: secretsManagerKeyring(new SecretsManagerClient({}), s.cursorSecretId),
      ingest: rawStreamWriter(kinesisClient(), s.rawStreamName),
      authorization: {
        clientRoleArn: s.clientRoleArn,
        services: s.servicePrincipals,
        erasers: s.eraserPrincipals,
      },
    });
  }
  return defaultHandler(event, context);
};
