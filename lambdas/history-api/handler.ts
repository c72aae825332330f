/**
 * history-api: the four routes of the history API contract (v1) behind an IAM-authenticated HTTP API.
 * Thin adapter: parse the request with the pure router, call the store, map errors with `toProblem`.
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { documentClient } from '../adapters/clients.js';
import { type HistoryStore, historyStore } from '../adapters/history-store.js';
import { observability } from '../adapters/observability.js';
import {
  type ApiRequest,
  authorize,
  type CheckQuery,
  callerOf,
  type FrequencyQuery,
  type ListQuery,
  parseRequest,
} from '../domain/api-requests.js';
import { type CursorBinding, decodeCursor, encodeCursor } from '../domain/cursor.js';
import { BadRequestError, toProblem } from '../domain/errors.js';
import { countWindow, type FrequencyWindow, type TitleCount, WINDOWS } from '../domain/frequency.js';
import { decodePosition, encodePosition } from '../domain/history-model.js';

export interface HistoryApiDeps {
  readonly store: Pick<HistoryStore, 'listHistory' | 'impressionsBetween' | 'erase'>;
  readonly cursorKey: () => Promise<Uint8Array>;
  readonly nowMs?: () => number;
  /** Roles whose sessions are scoped to one profile (see `callerOf`). @default none */
  readonly scopedRoleNames?: ReadonlySet<string>;
}

const { logger } = observability('history-api');

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
    const key = await deps.cursorKey();
    const after = q.cursor === null ? null : decodePosition(decodeCursor(key, binding, q.cursor));
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
      nextCursor: page.last === null ? null : encodeCursor(key, binding, encodePosition(page.last)),
    });
  }

  /** Counts for each (title, window), from one read of the profile's impressions in the widest window. */
  async function counts(
    profileId: string,
    wanted: readonly { titleId: string; window: FrequencyWindow }[],
    asOfMs: number,
  ): Promise<TitleCount[]> {
    const widest = Math.max(...wanted.map((w) => WINDOWS[w.window]));
    const impressions = await deps.store.impressionsBetween(profileId, asOfMs - widest + 1, asOfMs);
    const byWindow = new Map<FrequencyWindow, Map<string, TitleCount>>();
    for (const w of new Set(wanted.map((x) => x.window))) {
      const titles = wanted.filter((x) => x.window === w).map((x) => x.titleId);
      byWindow.set(w, countWindow(impressions, titles, asOfMs, w));
    }
    return wanted.map((x) => byWindow.get(x.window)!.get(x.titleId)!);
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

  return async (event: APIGatewayProxyEventV2, context?: Pick<Context, 'awsRequestId'>) => {
    const requestId = context?.awsRequestId ?? event.requestContext?.requestId ?? 'unknown';
    try {
      const q = parseRequest(toApiRequest(event));
      const iam = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } } | undefined)
        ?.authorizer?.iam;
      authorize(callerOf(iam?.userArn, deps.scopedRoleNames ?? new Set()), q.profileId);
      switch (q.route) {
        case 'list':
          return await list(q);
        case 'frequency':
          return await frequency(q);
        case 'check':
          return await check(q);
        case 'erase': {
          const deleted = await deps.store.erase(q.profileId);
          logger.info('profile erased', { profileId: q.profileId, deleted });
          return json(202, { profileId: q.profileId, deleted });
        }
      }
    } catch (err) {
      const problem = toProblem(err, requestId);
      if (problem.status >= 500) logger.error('request failed', { error: err as Error, requestId });
      const allow = (err as { allow?: readonly string[] }).allow;
      return json(problem.status, problem, allow ? { allow: allow.join(', ') } : {});
    }
  };
}

let defaultHandler: ReturnType<typeof makeHandler> | undefined;

export const handler = (event: APIGatewayProxyEventV2, context: Context) => {
  if (!defaultHandler) {
    const table = process.env.HISTORY_TABLE_NAME;
    const secretId = process.env.CURSOR_SECRET_ID;
    if (!table || !secretId) throw new Error('HISTORY_TABLE_NAME and CURSOR_SECRET_ID must be set');
    defaultHandler = makeHandler({
      store: historyStore(documentClient(), table),
      scopedRoleNames: new Set((process.env.SCOPED_ROLE_NAMES ?? '').split(',').filter(Boolean)),
      cursorKey: async () => {
        const secret = await getSecret(secretId, { maxAge: 300 });
        if (typeof secret !== 'string' || secret.length < 32)
          throw new Error('cursor secret is missing or short');
        return Buffer.from(secret, 'utf8');
      },
    });
  }
  return defaultHandler(event, context);
};
