/**
 * The history API contract's "Who may call what", through the real handler: one test per row of the table,
 * and one per way of being "anyone else" (each refused with a 403 RFC 9457 problem on every route).
 */
import { describe, expect, it } from 'vitest';
import { callerOf, profileOfSessionName, sessionNameFor } from '../../lambdas/history-api/authorization.js';
import { makeHandler } from '../../lambdas/history-api/handler.js';
import { ACCOUNT, apiEvent, CALLERS, fakeStore, keyring, POLICY, parse, sessionArn } from '../support/api.js';
import { impression } from '../support/factories.js';

const ingestBody = (profileId: string) => JSON.stringify({ events: [impression({ profileId })] });

/** One request per route of the contract, for a profile. */
const routes = (p: string) =>
  [
    ['list', 'GET', `/v1/profiles/${p}/impressions`, undefined],
    ['frequency', 'GET', `/v1/profiles/${p}/frequency?titleIds=t1`, undefined],
    ['check', 'POST', `/v1/profiles/${p}/frequency/check`, '{"caps":[{"titleId":"t1","max":1}]}'],
    ['ingest', 'POST', `/v1/profiles/${p}/impressions`, ingestBody(p)],
    ['erase', 'DELETE', `/v1/profiles/${p}/impressions`, undefined],
  ] as const;

const OK = { list: 200, frequency: 200, check: 200, ingest: 202, erase: 202 } as const;

function setup() {
  const store = fakeStore([]);
  const writes: string[] = [];
  const handler = makeHandler({
    store,
    cursorKeys: keyring,
    authorization: POLICY,
    ingest: async (profileId, records) => {
      writes.push(...records.map(() => profileId));
      return { failed: 0 };
    },
  });
  /** The status of each route for `userArn` (see `apiEvent` for `null` and `undefined`). */
  const statuses = async (userArn: string | null | undefined, profile: string) => {
    const out: Record<string, number> = {};
    for (const [name, method, path, body] of routes(profile)) {
      const r = await handler(apiEvent(method, path, { body, userArn }));
      if (r.statusCode === 403) {
        expect(r.headers?.['content-type']).toBe('application/problem+json');
        expect(parse(r)).toMatchObject({ status: 403, title: 'Forbidden' });
      }
      out[name] = r.statusCode ?? 0;
    }
    return out;
  };
  return { store, writes, handler, statuses };
}

const NOTHING = { list: 403, frequency: 403, check: 403, ingest: 403, erase: 403 };

describe('who may call what: one test per row of the contract table', () => {
  it('a client session: both GET routes, check and ingest for its own profile only; never DELETE', async () => {
    const { statuses, store, writes } = setup();
    expect(await statuses(CALLERS.client('p1'), 'p1')).toEqual({ ...OK, erase: 403 });
    expect(await statuses(CALLERS.client('p1'), 'p2')).toEqual(NOTHING);
    expect(store.erased).toEqual([]);
    expect(writes).toEqual(['p1']);
  });

  it('a service on the allow-list: every read route, check and ingest for any profile; not DELETE', async () => {
    const { statuses, store } = setup();
    for (const p of ['p1', 'p2']) expect(await statuses(CALLERS.service, p)).toEqual({ ...OK, erase: 403 });
    expect(store.erased).toEqual([]);
  });

  it('an eraser on the erasure allow-list: DELETE for any profile, and nothing else', async () => {
    const { statuses, store } = setup();
    for (const p of ['p1', 'p2'])
      expect(await statuses(CALLERS.eraser, p)).toEqual({ ...NOTHING, erase: 202 });
    expect(store.erased).toEqual(['p1', 'p2']);
  });

  it('a principal on both lists (the emulator stage’s default credentials) may call every route', async () => {
    const root = `arn:aws:iam::000000000000:root`;
    const handler = makeHandler({
      store: fakeStore([]),
      cursorKeys: keyring,
      authorization: { services: [root], erasers: [root] },
      ingest: async () => ({ failed: 0 }),
    });
    for (const [name, method, path, body] of routes('p1')) {
      expect((await handler(apiEvent(method, path, { body, userArn: root }))).statusCode).toBe(OK[name]);
    }
  });
});

describe('anyone else may call nothing (fail closed)', () => {
  const someone: [string, string | null | undefined][] = [
    ['another role of the same account', sessionArn('SomeOtherRole', 'session-1')],
    ['an IAM user of the same account', `arn:aws:iam::${ACCOUNT}:user/alice`],
    ['the account root', `arn:aws:iam::${ACCOUNT}:root`],
    ['a federated user', `arn:aws:sts::${ACCOUNT}:federated-user/bob`],
    [
      'a role of another account named like the service role',
      sessionArn('PageConstruction', 'x', '210987654321'),
    ],
    [
      'a role of another account named like the client role',
      sessionArn('Impressions-prod-Pipeline-ClientRole-ABC123', 'p.p1', '210987654321'),
    ],
    [
      'a client-role session not scoped to a profile (a Cognito identity pool session)',
      sessionArn('Impressions-prod-Pipeline-ClientRole-ABC123', 'CognitoIdentityCredentials'),
    ],
    [
      'a client-role session named for a profile id that is not valid',
      sessionArn('Impressions-prod-Pipeline-ClientRole-ABC123', 'p.'),
    ],
    ['an empty userArn', ''],
    ['an authorizer context without userArn', null],
    ['a request without an authorizer context', undefined],
    ['a userArn that is not an ARN', 'PageConstruction'],
  ];
  it.each(someone)('%s', async (_name, userArn) => {
    const { statuses, store, writes } = setup();
    for (const p of ['p1', 'p2']) expect(await statuses(userArn, p)).toEqual(NOTHING);
    expect(store.erased).toEqual([]);
    expect(writes).toEqual([]);
  });

  it('is refused before the request is read: no 404, 405 or 400 tells it anything', async () => {
    const { handler } = setup();
    for (const [method, path] of [
      ['GET', '/v2/nothing'],
      ['PATCH', '/v1/profiles/p1/impressions'],
      ['GET', '/v1/profiles/p1/impressions?limit=banana'],
      ['GET', '/v1/profiles/a%20b/impressions'],
    ] as const) {
      const r = await handler(apiEvent(method, path, { userArn: sessionArn('SomeOtherRole', 's') }));
      expect(r.statusCode).toBe(403);
    }
  });

  it('a handler given no authorization settings refuses everyone', async () => {
    const handler = makeHandler({ store: fakeStore([]), cursorKeys: keyring });
    for (const arn of [CALLERS.service, CALLERS.eraser, CALLERS.client('p1')]) {
      expect(
        (await handler(apiEvent('GET', '/v1/profiles/p1/impressions', { userArn: arn }))).statusCode,
      ).toBe(403);
    }
  });
});

describe('client session names reach every valid profile id (AWS RoleSessionName: 2–64 of [\\w+=,.@-])', () => {
  const ids = ['a', 'p1', 'x'.repeat(62), 'y'.repeat(63), `${'z'.repeat(63)}-`, '_-A9'.repeat(16)];
  it.each(ids.map((id) => [id.length, id]))('an id of %i characters', async (_n, id) => {
    const name = sessionNameFor(id);
    expect(name.length).toBeGreaterThanOrEqual(2);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^[\w+=,.@-]+$/);
    expect(profileOfSessionName(name)).toBe(id);
    const { statuses } = setup();
    const arn = sessionArn('Impressions-prod-Pipeline-ClientRole-ABC123', name);
    expect(await statuses(arn, id)).toEqual({ ...OK, erase: 403 });
    expect((await statuses(arn, id === 'a' ? 'b' : 'a')).list).toBe(403);
  });

  it('names of 2–62 id characters without the prefix, or with a dot anywhere else, name no profile', () => {
    for (const name of [
      'ab',
      'x'.repeat(62),
      'p.',
      'p.a.b',
      'q.abc',
      `p.${'x'.repeat(63)}`,
      'CognitoIdentityCredentials',
    ])
      expect(profileOfSessionName(name)).toBeNull();
  });

  it('a role path on the allow-list still matches the session (its ARN carries no path)', () => {
    expect(callerOf(CALLERS.service, POLICY)).toMatchObject({ service: true, eraser: false });
    expect(
      callerOf(CALLERS.client('p1'), {
        ...POLICY,
        services: [`arn:aws:iam::${ACCOUNT}:role/Impressions-prod-Pipeline-ClientRole-ABC123`],
      }),
    ).toMatchObject({
      service: false,
      client: { profileId: 'p1' },
    });
  });
});
