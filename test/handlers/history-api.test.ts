import { describe, expect, it } from 'vitest';
import type { Impression } from '../../lambdas/domain/history-model.js';
import { makeHandler as realMakeHandler } from '../../lambdas/history-api/handler.js';
import { apiEvent, CALLERS, fakeStore, keyring, POLICY, parse } from '../support/api.js';

const ASOF = Date.parse('2026-06-15T12:00:00.000Z');

function imp(minutesAgo: number, titleId = 't1', eventId = `e${minutesAgo}`): Impression {
  return {
    eventId,
    eventTimeMs: ASOF - minutesAgo * 60_000,
    titleId,
    artworkId: 'a',
    page: 'home',
    rowId: 'r',
    rowIndex: 0,
    position: minutesAgo,
    deviceType: 'tv',
    trackId: null,
  };
}

const ERASER = { userArn: CALLERS.eraser };
const event = (method: string, pathAndQuery: string, query = '', body?: string, userArn?: string) =>
  apiEvent(method, query ? `${pathAndQuery}?${query}` : pathAndQuery, {
    body,
    ...(userArn ? { userArn } : {}),
  });
const makeHandler = (deps: Omit<Parameters<typeof realMakeHandler>[0], 'cursorKeys' | 'authorization'>) =>
  realMakeHandler({ cursorKeys: keyring, authorization: POLICY, ...deps });

describe('history-api handler', () => {
  it('pages through history newest first with cursors', async () => {
    const h = makeHandler({ store: fakeStore([imp(1), imp(2), imp(3)]) });
    const p1 = parse(await h(event('GET', '/v1/profiles/p1/impressions', 'limit=2')));
    expect(p1.items.map((i: { eventId: string }) => i.eventId)).toEqual(['e1', 'e2']);
    expect(p1.items[0]).toEqual({
      eventId: 'e1',
      eventTime: new Date(imp(1).eventTimeMs).toISOString(),
      titleId: 't1',
      artworkId: 'a',
      page: 'home',
      rowId: 'r',
      rowIndex: 0,
      position: 1,
      deviceType: 'tv',
      trackId: null,
    });
    const p2 = parse(await h(event('GET', '/v1/profiles/p1/impressions', `limit=2&cursor=${p1.nextCursor}`)));
    expect(p2.items.map((i: { eventId: string }) => i.eventId)).toEqual(['e3']);
    expect(p2.nextCursor).toBeNull();
  });

  it('refuses a cursor used with other filters or another profile with a 400 problem', async () => {
    const h = makeHandler({ store: fakeStore([imp(1), imp(2)]) });
    const { nextCursor } = parse(await h(event('GET', '/v1/profiles/p1/impressions', 'limit=1')));
    for (const [path, q] of [
      ['/v1/profiles/p2/impressions', `cursor=${nextCursor}`],
      ['/v1/profiles/p1/impressions', `titleId=t1&cursor=${nextCursor}`],
    ] as const) {
      const r = await h(event('GET', path, q));
      expect(r.statusCode).toBe(400);
      expect(r.headers?.['content-type']).toBe('application/problem+json');
      expect(parse(r).detail).toContain('cursor');
    }
  });

  it('answers frequency in request order with exact counts', async () => {
    const h = makeHandler({
      store: fakeStore([
        { ...imp(0, 't1', 'a'), eventTimeMs: ASOF - 1000 },
        imp(120, 't1', 'b'),
        imp(60, 't1', 'exactly-one-hour-ago'),
        { ...imp(0, 't1', 'future'), eventTimeMs: ASOF + 1 },
      ]),
      nowMs: () => ASOF,
    });
    const body = parse(await h(event('GET', '/v1/profiles/p1/frequency', 'titleIds=t9,t1&window=1h')));
    expect(body).toEqual({
      profileId: 'p1',
      window: '1h',
      asOf: new Date(ASOF).toISOString(),
      titles: [
        { titleId: 't9', count: 0, lastSeenAt: null },
        { titleId: 't1', count: 1, lastSeenAt: new Date(ASOF - 1000).toISOString() },
      ],
    });
  });

  it('checks caps', async () => {
    const h = makeHandler({
      store: fakeStore([
        { ...imp(0, 't1', 'a'), eventTimeMs: ASOF - 1000 },
        { ...imp(0, 't1', 'b'), eventTimeMs: ASOF - 2000 },
      ]),
      nowMs: () => ASOF,
    });
    const body = parse(
      await h(
        event(
          'POST',
          '/v1/profiles/p1/frequency/check',
          '',
          JSON.stringify({
            caps: [
              { titleId: 't1', max: 2 },
              { titleId: 't2', max: 1, window: '1d' },
            ],
          }),
        ),
      ),
    );
    expect(body.results).toEqual([
      { titleId: 't1', window: '7d', max: 2, count: 2, capped: true },
      { titleId: 't2', window: '1d', max: 1, count: 0, capped: false },
    ]);
    expect(body.capped).toEqual(['t1']);
  });

  it('erases with 202', async () => {
    const store = fakeStore([imp(1)]);
    const r = await makeHandler({ store })(
      event('DELETE', '/v1/profiles/p1/impressions', '', undefined, ERASER.userArn),
    );
    expect(r.statusCode).toBe(202);
    expect(parse(r)).toEqual({ profileId: 'p1', deleted: 1, complete: true });
    expect(store.erased).toEqual(['p1']);
  });

  it('maps a store fault to a 500 problem without internals, and 405 with Allow', async () => {
    const store = fakeStore([]);
    store.listHistory = async () => {
      throw new Error('ECONNRESET at 10.0.0.1');
    };
    const h = makeHandler({ store });
    const r = await h(event('GET', '/v1/profiles/p1/impressions'), { awsRequestId: 'abc' });
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toContain('ECONNRESET');
    expect(parse(r).detail).toContain('abc');
    const m = await h(event('PATCH', '/v1/profiles/p1/frequency'));
    expect(m.statusCode).toBe(405);
    expect(m.headers?.allow).toBe('GET');
  });
});
