/** What the history API's handler tests share: an in-memory store, request events, callers and keys. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { cursorKey } from '../../lambdas/domain/cursor.js';
import { type Impression, isAfter, newestFirst } from '../../lambdas/domain/history-model.js';
import { tally } from '../../lambdas/domain/rollup.js';
import type { AuthorizationPolicy } from '../../lambdas/history-api/authorization.js';
import type { makeHandler } from '../../lambdas/history-api/handler.js';
import type { HistoryStore } from '../../lambdas/history-store/index.js';

export const ACCOUNT = '123456789012';
export const CLIENT_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/Impressions-prod-Pipeline-ClientRole-ABC123`;
export const SERVICE_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/services/PageConstruction`;
export const ERASER_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/PrivacyEraser`;

/** The `userArn` API Gateway reports for a session of a role (no path, whatever the role's path). */
export const sessionArn = (roleName: string, session: string, account = ACCOUNT) =>
  `arn:aws:sts::${account}:assumed-role/${roleName}/${session}`;

export const CALLERS = {
  client: (profileId: string) => sessionArn('Impressions-prod-Pipeline-ClientRole-ABC123', `p.${profileId}`),
  service: sessionArn('PageConstruction', 'i-0abc'),
  eraser: sessionArn('PrivacyEraser', 'ticket-42'),
} as const;

export const POLICY: AuthorizationPolicy = {
  clientRoleArn: CLIENT_ROLE_ARN,
  services: [SERVICE_ROLE_ARN],
  erasers: [ERASER_ROLE_ARN],
};

/**
 * A payload-2.0 event as API Gateway sends it for an IAM-authorized route. `userArn`: the caller (`null`:
 * an authorizer context without `userArn`; `undefined`: no authorizer context at all).
 */
export function apiEvent(
  method: string,
  pathAndQuery: string,
  options: { body?: string; userArn?: string | null; base64?: boolean; contentType?: string | null } = {},
): APIGatewayProxyEventV2 {
  const [rawPath, rawQueryString = ''] = pathAndQuery.split('?');
  const userArn = 'userArn' in options ? options.userArn : CALLERS.service;
  // A body is sent as JSON unless the test says otherwise (null: no Content-Type header at all).
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  return {
    rawPath,
    rawQueryString,
    headers: options.body !== undefined && contentType !== null ? { 'content-type': contentType } : {},
    body: options.body,
    isBase64Encoded: options.base64 ?? false,
    requestContext: {
      http: { method },
      requestId: 'req-1',
      ...(userArn === undefined ? {} : { authorizer: { iam: userArn === null ? {} : { userArn } } }),
    },
  } as unknown as APIGatewayProxyEventV2;
}

export const KEY = cursorKey(Buffer.from('x'.repeat(64)));
export const keyring = async () => ({ current: KEY });

export const parse = (r: Awaited<ReturnType<ReturnType<typeof makeHandler>>>) => JSON.parse(String(r.body));

/** An in-memory store with the port's semantics (newest first, pages strictly after a position). */
export function fakeStore(all: Impression[]) {
  const store: Pick<HistoryStore, 'listHistory' | 'titleCounts' | 'erase'> & { erased: string[] } = {
    erased: [],
    async listHistory(q) {
      const since = q.since ? Date.parse(q.since) : -Infinity;
      const until = q.until ? Date.parse(q.until) : Infinity;
      const matching = [...all]
        .sort(newestFirst)
        .filter(
          (i) => (!q.titleId || i.titleId === q.titleId) && i.eventTimeMs >= since && i.eventTimeMs <= until,
        )
        .filter((i) => !q.after || isAfter(i, q.after));
      const page = matching.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        impressions: page,
        last:
          matching.length > q.limit && last ? { eventTimeMs: last.eventTimeMs, eventId: last.eventId } : null,
      };
    },
    async titleCounts(_p, from, to, titleIds) {
      const t = tally(all, from, to, new Set(titleIds));
      return new Map(titleIds.map((id) => [id, t.get(id) ?? { count: 0, lastSeenMs: null }]));
    },
    async erase(profileId) {
      store.erased.push(profileId);
      return { deleted: all.length, complete: true, erasedAtMs: 0 };
    },
  };
  return store;
}
