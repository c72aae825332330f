import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ApiRequest, MAX_BODY_BYTES, parseRequest } from '../../lambdas/domain/api-requests.js';
import { type CursorBinding, decodeCursor, encodeCursor } from '../../lambdas/domain/cursor.js';
import { BadRequestError, DomainError, toProblem } from '../../lambdas/domain/errors.js';

const req = (
  method: string,
  path: string,
  query: Record<string, string> = {},
  body?: string,
): ApiRequest => ({
  method,
  path,
  query,
  body,
  bodyBytes: body === undefined ? 0 : Buffer.byteLength(body),
});

const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as DomainError;
  }
  throw new Error('expected an error');
};

describe('routing', () => {
  it('parses each route of the contract', () => {
    expect(parseRequest(req('GET', '/v1/profiles/p1/impressions'))).toMatchObject({
      route: 'list',
      limit: 50,
    });
    expect(parseRequest(req('DELETE', '/v1/profiles/p1/impressions'))).toEqual({
      route: 'erase',
      profileId: 'p1',
    });
    expect(parseRequest(req('GET', '/v1/profiles/p1/frequency', { titleIds: 'a,b' }))).toEqual({
      route: 'frequency',
      profileId: 'p1',
      titleIds: ['a', 'b'],
      window: '7d',
    });
    expect(
      parseRequest(
        req(
          'POST',
          '/v1/profiles/p1/frequency/check',
          {},
          '{"caps":[{"titleId":"t","max":3,"window":"1h"}]}',
        ),
      ),
    ).toEqual({ route: 'check', profileId: 'p1', caps: [{ titleId: 't', max: 3, window: '1h' }] });
  });

  it('answers 404 for unknown routes and 405 with the allowed methods for wrong ones', () => {
    expect(errorOf(() => parseRequest(req('GET', '/v2/x'))).status).toBe(404);
    const e = errorOf(() => parseRequest(req('PUT', '/v1/profiles/p1/impressions')));
    expect(e.status).toBe(405);
    expect((e as unknown as { allow: string[] }).allow).toEqual(['GET', 'DELETE']);
  });
});

describe('validation names the bad parameter', () => {
  const bad: [string, ApiRequest, string][] = [
    ['profileId', req('GET', '/v1/profiles/a%20b/impressions'), 'profileId'],
    ['limit 0', req('GET', '/v1/profiles/p/impressions', { limit: '0' }), 'limit'],
    ['limit 501', req('GET', '/v1/profiles/p/impressions', { limit: '501' }), 'limit'],
    ['limit text', req('GET', '/v1/profiles/p/impressions', { limit: '1e2' }), 'limit'],
    ['since', req('GET', '/v1/profiles/p/impressions', { since: 'yesterday' }), 'since'],
    [
      'since after until',
      req('GET', '/v1/profiles/p/impressions', {
        since: '2026-01-02T00:00:00Z',
        until: '2026-01-01T00:00:00Z',
      }),
      'since',
    ],
    ['unknown param', req('GET', '/v1/profiles/p/impressions', { foo: '1' }), 'foo'],
    ['titleIds missing', req('GET', '/v1/profiles/p/frequency'), 'titleIds'],
    [
      'titleIds > 100',
      req('GET', '/v1/profiles/p/frequency', { titleIds: Array(101).fill('t').join(',') }),
      'titleIds',
    ],
    ['titleIds empty id', req('GET', '/v1/profiles/p/frequency', { titleIds: 'a,,b' }), 'titleIds'],
    ['window', req('GET', '/v1/profiles/p/frequency', { titleIds: 'a', window: '2d' }), 'window'],
    ['body missing', req('POST', '/v1/profiles/p/frequency/check'), 'body'],
    ['body not JSON', req('POST', '/v1/profiles/p/frequency/check', {}, '{'), 'body'],
    ['caps empty', req('POST', '/v1/profiles/p/frequency/check', {}, '{"caps":[]}'), 'caps'],
    [
      'cap max',
      req('POST', '/v1/profiles/p/frequency/check', {}, '{"caps":[{"titleId":"t","max":-1}]}'),
      'caps[0].max',
    ],
    [
      'cap window',
      req('POST', '/v1/profiles/p/frequency/check', {}, '{"caps":[{"titleId":"t","max":1,"window":"9y"}]}'),
      'caps[0].window',
    ],
    [
      'cap extra',
      req('POST', '/v1/profiles/p/frequency/check', {}, '{"caps":[{"titleId":"t","max":1,"x":1}]}'),
      'caps[0].x',
    ],
  ];
  it.each(bad)('%s', (_n, request, parameter) => {
    const e = errorOf(() => parseRequest(request));
    expect(e).toBeInstanceOf(BadRequestError);
    expect((e as BadRequestError).parameter).toBe(parameter);
    expect(toProblem(e, 'r1')).toMatchObject({ status: 400, detail: expect.stringContaining(parameter) });
  });

  it('413 for a body over 64 KiB', () => {
    const body = JSON.stringify({ caps: [{ titleId: 'x'.repeat(MAX_BODY_BYTES), max: 1 }] });
    expect(errorOf(() => parseRequest(req('POST', '/v1/profiles/p/frequency/check', {}, body))).status).toBe(
      413,
    );
  });

  it('never throws anything but a domain error on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH'),
        fc.constantFrom(
          '/v1/profiles/p/impressions',
          '/v1/profiles/p/frequency',
          '/v1/profiles/p/frequency/check',
        ),
        fc.dictionary(
          fc.constantFrom('limit', 'since', 'until', 'titleId', 'cursor', 'titleIds', 'window'),
          fc.string(),
        ),
        fc.option(fc.oneof(fc.string(), fc.json()), { nil: undefined }),
        (method, path, query, body) => {
          try {
            parseRequest(req(method, path, query, body));
          } catch (e) {
            expect(e).toBeInstanceOf(DomainError);
            expect((e as DomainError).status).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('cursors', () => {
  const key = Buffer.from('k'.repeat(64));
  const binding: CursorBinding = { profileId: 'p1', since: null, until: null, titleId: 't' };
  it('round-trip for the same query', () => {
    expect(decodeCursor(key, binding, encodeCursor(key, binding, 'I#2026#e'))).toBe('I#2026#e');
  });
  it('are refused for another profile, other filters, tampering or another key', () => {
    const c = encodeCursor(key, binding, 'I#2026#e');
    const refused = (f: () => unknown) =>
      expect(errorOf(f)).toMatchObject({ status: 400, parameter: 'cursor' });
    refused(() => decodeCursor(key, { ...binding, profileId: 'p2' }, c));
    refused(() => decodeCursor(key, { ...binding, titleId: null }, c));
    refused(() => decodeCursor(Buffer.from('other'), binding, c));
    refused(() => decodeCursor(key, binding, `${c.slice(0, 5)}A${c.slice(6)}`));
    refused(() => decodeCursor(key, binding, 'garbage'));
  });
});

describe('toProblem', () => {
  it('hides the internals of unknown errors', () => {
    const p = toProblem(new Error('secret stack detail'), 'req-7');
    expect(p.status).toBe(500);
    expect(p.detail).not.toContain('secret');
    expect(p.detail).toContain('req-7');
  });
});
