/**
 * The history API's routes (contract v1), each declared once: its name, method, path and who may call it.
 * The router's patterns and methods (`history-api/requests.ts`), the per-route rule of `authorize`
 * (`authorization.ts`) and the client role's `execute-api:Invoke` resources (`infra/constructs/history-api.ts`)
 * are all read from this table; the handler's exhaustive switch is over its names. The client (`client/`,
 * standalone) spells its paths itself; `test/unit/route-table.test.ts` holds it to this table.
 */

/**
 * The kinds of caller a route may allow (`authorization.ts` tells them apart):
 * - `service`: a principal on the services allow-list, for any profile;
 * - `eraser`: a principal on the erasers allow-list, for any profile;
 * - `clientSession`: a session of the client role scoped to the path's profile (its own profile only).
 */
export type CallerKind = 'service' | 'eraser' | 'clientSession';

export interface RouteDeclaration {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The path, with the profile id as `{profileId}` (one path segment). */
  readonly path: `/v1/profiles/{profileId}/${string}`;
  /** Who may call it; everyone else is refused (fail closed). */
  readonly callers: readonly CallerKind[];
  /** The 403 detail for a caller that may not call it. @default 'this principal may not call this route' */
  readonly refusal?: string;
}

/**
 * Every route. Routes that share a path are listed in the order their methods are reported in a 405's
 * `Allow` header.
 */
export const API_ROUTES = {
  list: {
    method: 'GET',
    path: '/v1/profiles/{profileId}/impressions',
    callers: ['service', 'clientSession'],
  },
  frequency: {
    method: 'GET',
    path: '/v1/profiles/{profileId}/frequency',
    callers: ['service', 'clientSession'],
  },
  check: {
    method: 'POST',
    path: '/v1/profiles/{profileId}/frequency/check',
    callers: ['service', 'clientSession'],
  },
  ingest: {
    method: 'POST',
    path: '/v1/profiles/{profileId}/impressions',
    callers: ['service', 'clientSession'],
  },
  erase: {
    method: 'DELETE',
    path: '/v1/profiles/{profileId}/impressions',
    callers: ['eraser'],
    refusal: 'only principals on the erasure allow-list may erase a profile',
  },
} as const satisfies Record<string, RouteDeclaration>;

export type ApiRoute = keyof typeof API_ROUTES;

/** The table as a list, in declaration order. */
export const apiRoutes = (): readonly (RouteDeclaration & { readonly name: ApiRoute })[] =>
  (Object.keys(API_ROUTES) as ApiRoute[]).map((name) => ({ name, ...API_ROUTES[name] }));

/** The routes a caller of this kind may call. */
export const routesFor = (kind: CallerKind) =>
  apiRoutes().filter((r) => (r.callers as readonly CallerKind[]).includes(kind));
