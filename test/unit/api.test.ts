import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CURSOR_LIFETIME_MS,
  type CursorBinding,
  cursorKey,
  decodeCursor,
  encodeCursor,
  UnknownCursorKeyError,
} from '../../lambdas/domain/cursor.js';
import { DomainError, InvalidParameterError } from '../../lambdas/domain/errors.js';
import { parseRfc3339 } from '../../lambdas/domain/time.js';
import { type MethodNotAllowedError, toProblem } from '../../lambdas/history-api/problems.js';
import { type ApiRequest, MAX_BODY_BYTES, parseRequest } from '../../lambdas/history-api/requests.js';

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

/** What `f` throws, with the status the API answers it with and the parameter it names (if any). */
const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return {
      error: e,
      status: toProblem(e, 'r1').status,
      parameter: e instanceof InvalidParameterError ? e.parameter : undefined,
    };
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
    expect((e.error as MethodNotAllowedError).allow).toEqual(['GET', 'POST', 'DELETE']);
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
    const { error } = errorOf(() => parseRequest(request));
    expect(error).toBeInstanceOf(InvalidParameterError);
    expect((error as InvalidParameterError).parameter).toBe(parameter);
    expect(toProblem(error, 'r1')).toMatchObject({ status: 400, detail: expect.stringContaining(parameter) });
  });

  it('title ids count code points as the event contract does: 64 astral characters pass, 65 or a lone surrogate do not', () => {
    const astral = (n: number) => '\u{1F3AC}'.repeat(n);
    expect(parseRequest(req('GET', '/v1/profiles/p1/frequency', { titleIds: astral(64) }))).toMatchObject({
      titleIds: [astral(64)],
    });
    for (const bad of [astral(65), 'a\uD800']) {
      expect(() => parseRequest(req('GET', '/v1/profiles/p1/frequency', { titleIds: bad }))).toThrow(
        expect.objectContaining({ parameter: 'titleIds' }),
      );
    }
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
            expect(toProblem(e, 'r1').status).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('cursors', () => {
  const key = cursorKey(Buffer.from('k'.repeat(64)));
  const ring = { current: key };
  const T = Date.parse('2026-06-15T12:00:00Z');
  const binding: CursorBinding = { profileId: 'p1', since: null, until: null, titleId: 't' };
  const refused = (f: () => unknown) =>
    expect(errorOf(f)).toMatchObject({ status: 400, parameter: 'cursor' });
  it('round-trip for the same query', () => {
    expect(decodeCursor(ring, binding, encodeCursor(ring, binding, 'I#2026#e', T), T + 1000)).toBe(
      'I#2026#e',
    );
  });
  it('are refused for another profile, other filters, tampering or another key', () => {
    const c = encodeCursor(ring, binding, 'I#2026#e', T);
    refused(() => decodeCursor(ring, { ...binding, profileId: 'p2' }, c, T));
    refused(() => decodeCursor(ring, { ...binding, titleId: null }, c, T));
    refused(() => decodeCursor({ current: cursorKey(Buffer.from('other'.repeat(8))) }, binding, c, T));
    refused(() => decodeCursor(ring, binding, `${c.slice(0, 5)}A${c.slice(6)}`, T));
    refused(() => decodeCursor(ring, binding, 'garbage', T));
  });
  it('a forged key id selects no key, and a cursor signed with another key under this key id fails its MAC', () => {
    const other = cursorKey(Buffer.from('o'.repeat(64)));
    const forged = encodeCursor({ current: { id: key.id, secret: other.secret } }, binding, 'I#2026#e', T);
    refused(() => decodeCursor(ring, binding, forged, T));
    expect(() => decodeCursor(ring, binding, encodeCursor({ current: other }, binding, 'k', T), T)).toThrow(
      UnknownCursorKeyError,
    );
  });

  describe('key rotation (key id in the cursor, previous key accepted for one cursor lifetime)', () => {
    const k1 = cursorKey(Buffer.from('1'.repeat(64)));
    const k2 = cursorKey(Buffer.from('2'.repeat(64)));
    const k3 = cursorKey(Buffer.from('3'.repeat(64)));
    it('key ids differ per key and reveal nothing of it', () => {
      expect(k1.id).not.toBe(k2.id);
      expect(k1.id).toMatch(/^[A-Za-z0-9_-]{8}$/);
    });
    it('a cursor issued before a rotation still pages after it', () => {
      const before = encodeCursor({ current: k1 }, binding, 'pos', T);
      expect(decodeCursor({ current: k2, previous: k1 }, binding, before, T + 3_600_000)).toBe('pos');
    });
    it('a cursor of a key two rotations old is refused', () => {
      const old = encodeCursor({ current: k1 }, binding, 'pos', T);
      refused(() => decodeCursor({ current: k3, previous: k2 }, binding, old, T + 60_000));
    });
    it('a cursor older than its lifetime is refused, whatever key signed it', () => {
      const c = encodeCursor({ current: k2 }, binding, 'pos', T);
      expect(decodeCursor({ current: k2 }, binding, c, T + CURSOR_LIFETIME_MS)).toBe('pos');
      expect(
        (errorOf(() => decodeCursor({ current: k2 }, binding, c, T + CURSOR_LIFETIME_MS + 1)).error as Error)
          .message,
      ).toContain('expired');
    });
    it('a cursor of the former format (no key id) is refused with a 400', () => {
      const body = Buffer.from(JSON.stringify({ v: 1, b: '["p1",null,null,"t"]', k: 'pos' })).toString(
        'base64url',
      );
      refused(() => decodeCursor(ring, binding, `${body}.${'A'.repeat(43)}`, T));
    });
  });
});

describe('strict RFC 3339 date-times (since, until)', () => {
  const list = (query: Record<string, string>) =>
    parseRequest(req('GET', '/v1/profiles/p/impressions', query));
  it.each([
    ['2024-02-30T00:00:00Z', 'a 30 February'],
    ['2023-02-29T00:00:00Z', 'a 29 February outside a leap year'],
    ['2026-04-31T00:00:00Z', 'a 31 April'],
    ['2026-01-01T24:00:00Z', 'hour 24'],
    ['2026-01-01T23:60:00Z', 'minute 60'],
    ['2026-01-01T23:59:60Z', 'a leap second (not representable)'],
    ['2026-13-01T00:00:00Z', 'month 13'],
    ['2026-01-01T00:00:00+24:00', 'an offset of 24 hours'],
    ['2026-01-01T00:00:00+01:60', 'an offset minute of 60'],
    ['2026-01-01 00:00:00Z', 'a space for T'],
    ['2026-01-01T00:00:00', 'no offset'],
    ['9999-12-31T23:59:59-23:59', 'an instant after year 9999'],
    ['0000-01-01T00:00:00+00:01', 'an instant before year 0000'],
  ])('refuses %s (%s)', (value) => {
    for (const name of ['since', 'until']) {
      expect(errorOf(() => list({ [name]: value }))).toMatchObject({ status: 400, parameter: name });
    }
  });
  it('accepts calendar-valid values, lower-case t and z, and digits past milliseconds', () => {
    expect(list({ since: '2024-02-29T23:59:59.123456789z' })).toMatchObject({
      since: '2024-02-29T23:59:59.123Z',
    });
    expect(list({ since: '2026-06-15t12:00:00+02:00' })).toMatchObject({ since: '2026-06-15T10:00:00.000Z' });
  });
  it('compares instants, not strings: -23:59 is a day later than the same wall time in UTC', () => {
    expect(
      errorOf(() => list({ since: '2026-01-01T00:00:00-23:59', until: '2026-01-01T12:00:00Z' })),
    ).toMatchObject({ status: 400, parameter: 'since' });
    expect(list({ since: '2026-01-01T12:00:00+23:59', until: '2026-01-01T00:00:00Z' })).toMatchObject({
      since: '2025-12-31T12:01:00.000Z',
      until: '2026-01-01T00:00:00.000Z',
    });
  });
  it('agrees with Date.parse on every valid date-time it generates', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0100-01-01T00:00:00Z'),
          max: new Date('9999-12-30T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        (d, offset) => {
          const local = new Date(d.getTime() + offset * 60_000).toISOString().slice(0, 23);
          const sign = offset < 0 ? '-' : '+';
          const abs = Math.abs(offset);
          const text = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          expect(parseRfc3339(text)).toBe(d.getTime());
        },
      ),
      { numRuns: 2000 },
    );
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
