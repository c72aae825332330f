/**
 * The route table (`API_ROUTES`) against what is derived from it and what is written apart from it: the
 * router's routes, `authorize`'s per-route rule, and the standalone client, which spells its paths itself
 * and must call every route of the table and nothing else. (The client role's `execute-api` resources are
 * held to the table in test/infra/history-api.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { HistoryClient, historyClient } from '../../client/index.js';
import { NotPermittedError } from '../../lambdas/domain/errors.js';
import {
  API_ROUTES,
  type ApiRoute,
  apiRoutes,
  type CallerKind,
} from '../../lambdas/history-api/api-routes.js';
import { authorize, type Caller } from '../../lambdas/history-api/authorization.js';
import { routeOf } from '../../lambdas/history-api/requests.js';

const PROFILE = 'p-1';
const pathOf = (route: ApiRoute, profileId = PROFILE) =>
  API_ROUTES[route].path.replace('{profileId}', encodeURIComponent(profileId));

/** A client whose every request is recorded (method and path) and answered with a body every method accepts. */
function recordingClient() {
  const sent: string[] = [];
  const client = historyClient({
    baseUrl: 'https://api.example.test/',
    sign: false,
    fetch: async (url, init) => {
      sent.push(`${init.method} ${new URL(url).pathname}`);
      const body = { items: [], nextCursor: null, deleted: 0, complete: true, results: [], counts: {} };
      return new Response(JSON.stringify(body), { status: 200 });
    },
  });
  return { client, sent };
}

/** The client's method for each route of the table (a route without one does not compile). */
const CLIENT_CALLS: Record<
  ApiRoute,
  { readonly method: keyof HistoryClient; readonly call: (c: HistoryClient) => Promise<unknown> }
> = {
  list: { method: 'historyPage', call: (c) => c.historyPage(PROFILE, { limit: 1 }) },
  frequency: { method: 'frequency', call: (c) => c.frequency(PROFILE, ['t1'], '1d') },
  check: { method: 'check', call: (c) => c.check(PROFILE, [{ titleId: 't1', max: 1 }]) },
  ingest: { method: 'ingest', call: (c) => c.ingest(PROFILE, [{ profileId: PROFILE }]) },
  erase: { method: 'erase', call: (c) => c.erase(PROFILE) },
};

/** The client's other methods: built on the route methods, or the raw `request`. */
const COMPOSITE_CALLS: Partial<Record<keyof HistoryClient, (c: HistoryClient) => Promise<unknown>>> = {
  history: async (c) => {
    for await (const _ of c.history(PROFILE)) break;
  },
  impressions: async (c) => {
    for await (const _ of c.impressions(PROFILE)) break;
  },
  ingestAll: (c) => c.ingestAll(PROFILE, [{ profileId: PROFILE }]),
  eraseCompletely: (c) => c.eraseCompletely(PROFILE),
};

describe('the client and the route table', () => {
  it.each(apiRoutes().map((r) => [r.name, r] as const))(
    'the client calls %s as the table declares it',
    async (name, route) => {
      const { client, sent } = recordingClient();
      await CLIENT_CALLS[name].call(client);
      expect(sent).toEqual([`${route.method} ${pathOf(name)}`]);
    },
  );

  it('every other method of the client calls only routes of the table', async () => {
    const declared = new Set(apiRoutes().map((r) => `${r.method} ${pathOf(r.name)}`));
    for (const call of Object.values(COMPOSITE_CALLS)) {
      const { client, sent } = recordingClient();
      await call(client);
      expect(sent.length).toBeGreaterThan(0);
      for (const s of sent) expect(declared).toContain(s);
    }
  });

  it('knows every method of the client (a new one must be listed here, as a route or as built on them)', () => {
    const methods = Object.getOwnPropertyNames(HistoryClient.prototype).filter((m) => m !== 'constructor');
    expect(methods.sort()).toEqual(
      [
        ...Object.values(CLIENT_CALLS).map((c) => c.method),
        ...Object.keys(COMPOSITE_CALLS),
        'request',
      ].sort(),
    );
  });
});

describe('what is derived from the table', () => {
  it.each(apiRoutes().map((r) => [r.name, r] as const))('the router finds %s', (name, route) => {
    expect(routeOf({ method: route.method, path: pathOf(name, 'P_x-1') })).toEqual({
      route: name,
      profileId: 'P_x-1',
    });
    expect(routeOf({ method: route.method.toLowerCase(), path: `${pathOf(name)}/` }).route).toBe(name);
  });

  const CALLERS: Record<CallerKind, Caller> = {
    service: { service: true, eraser: false },
    eraser: { service: false, eraser: true },
    clientSession: { client: { profileId: PROFILE }, service: false, eraser: false },
  };
  const decision = (caller: Caller, route: ApiRoute, profileId = PROFILE) => {
    try {
      authorize(caller, route, profileId);
      return 'allowed';
    } catch (err) {
      expect(err).toBeInstanceOf(NotPermittedError);
      return 'refused';
    }
  };

  it.each(apiRoutes().map((r) => [r.name, r] as const))(
    'authorize lets exactly the declared callers call %s',
    (name, route) => {
      for (const kind of Object.keys(CALLERS) as CallerKind[]) {
        const declared = (route.callers as readonly CallerKind[]).includes(kind);
        expect([kind, decision(CALLERS[kind], name)]).toEqual([kind, declared ? 'allowed' : 'refused']);
      }
      // A client session only ever for its own profile.
      expect(decision(CALLERS.clientSession, name, 'p-2')).toBe('refused');
    },
  );
});
