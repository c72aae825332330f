/**
 * Strings as well-formed Unicode (event contract, revision 2026-12-02): a string field holding a lone
 * surrogate (JSON's `\ud800` escape parses into one) is `schema.wrong-type:<path>`, whatever other rule the
 * field has; lengths are counted in code points, so ids of astral characters up to their limit are valid.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Classification, classify } from '../../lambdas/domain/classify.js';
import { impression, NOW_MS } from '../support/factories.js';
import { DEFAULT_CLASSIFIER_CONFIG } from '../support/oracles.js';

const run = (body: unknown): Classification =>
  classify(Buffer.from(JSON.stringify(body)), NOW_MS, DEFAULT_CLASSIFIER_CONFIG);
const codeOf = (c: Classification) =>
  c.outcome === 'rejected' ? c.code : c.outcome === 'filtered' ? c.reason : 'candidate';

/** Every string field of impression/1-0-0 and how to set it on a valid event. */
const FIELDS: ReadonlyArray<[string, (e: ReturnType<typeof impression>, v: string) => unknown]> = [
  ['eventId', (e, v) => ({ ...e, eventId: v })],
  ['profileId', (e, v) => ({ ...e, profileId: v })],
  ['accountId', (e, v) => ({ ...e, accountId: v })],
  ['sessionId', (e, v) => ({ ...e, sessionId: v })],
  ['device.os', (e, v) => ({ ...e, device: { ...e.device, os: v } })],
  ['country', (e, v) => ({ ...e, country: v })],
  ['page', (e, v) => ({ ...e, page: v })],
  ['row.id', (e, v) => ({ ...e, row: { ...e.row, id: v } })],
  ['titleId', (e, v) => ({ ...e, titleId: v, entityId: v })],
  ['artworkId', (e, v) => ({ ...e, artworkId: v })],
  ['context.k', (e, v) => ({ ...e, context: { k: v } })],
];

const lone = fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF');
const malformed = fc
  .tuple(fc.string({ maxLength: 4 }), lone, fc.string({ maxLength: 4 }))
  // A high surrogate followed by a low one would pair up: keep the lone one lone.
  .map(([a, s, b]) => `${a.replace(/[\uD800-\uDFFF]/g, '')}${s}${b.replace(/[\uD800-\uDFFF]/g, '')}`)
  .filter((s) => [...s].length <= 16);

describe('strings that are not well-formed Unicode', () => {
  for (const [path, set] of FIELDS) {
    it(`${path}: a lone surrogate is schema.wrong-type:${path}`, () => {
      fc.assert(
        fc.property(malformed, (v) => {
          expect(codeOf(run(set(impression(), v)))).toBe(`schema.wrong-type:${path}`);
        }),
        { numRuns: 50 },
      );
    });
  }

  it('a context key with a lone surrogate is schema.wrong-type at that key', () => {
    expect(codeOf(run({ ...impression(), context: { 'k\uD800': 'v' } }))).toBe(
      'schema.wrong-type:context["k\\ud800"]',
    );
  });

  it('well-formed astral characters are valid, counted in code points up to each limit', () => {
    const astral = (n: number) => '\u{1F3AC}'.repeat(n); // 2 UTF-16 units each
    expect(codeOf(run({ ...impression(), titleId: astral(64), entityId: astral(64) }))).toBe('candidate');
    expect(codeOf(run({ ...impression(), titleId: astral(65), entityId: astral(65) }))).toBe(
      'schema.out-of-range:titleId',
    );
    expect(codeOf(run({ ...impression(), context: { k: astral(256) } }))).toBe('candidate');
  });
});
