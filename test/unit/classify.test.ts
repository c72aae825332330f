import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Classification, classify, MAX_RECORD_BYTES } from '../../lambdas/domain/classify.js';
import { parseRfc3339 } from '../../lambdas/domain/time.js';
import { impression, NOW_MS } from '../support/factories.js';
import { DEFAULT_CLASSIFIER_CONFIG } from '../support/oracles.js';

const run = (body: unknown, arrivalMs = NOW_MS, config = DEFAULT_CLASSIFIER_CONFIG): Classification =>
  classify(
    body instanceof Uint8Array ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    arrivalMs,
    config,
  );

const codeOf = (c: Classification) =>
  c.outcome === 'rejected' ? c.code : c.outcome === 'filtered' ? c.reason : 'candidate';

describe('classify: accepted records', () => {
  it('accepts a full valid event as a candidate with its parsed time', () => {
    const e = impression();
    const c = run(e);
    expect(c.outcome).toBe('candidate');
    if (c.outcome === 'candidate') expect(c.eventTimeMs).toBe(Date.parse(e.eventTime));
  });

  it('accepts an event with only the required fields', () => {
    const { entityId, trackId, context, ...rest } = impression();
    const minimal = { ...rest, device: { type: 'web' }, row: { index: 0, id: 'r' } };
    expect(codeOf(run(minimal))).toBe('candidate');
  });

  it('accepts a zone offset and normalises nothing away', () => {
    expect(codeOf(run(impression({ eventTime: '2026-06-15T13:59:58.000+02:00' })))).toBe('candidate');
  });
});

describe('classify: every reject reason of the contract', () => {
  const cases: [string, unknown, string][] = [
    ['decode.not-json', '{"schema": ', 'decode.not-json'],
    ['decode.not-json (invalid UTF-8)', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'decode.not-json'],
    ['decode.not-object (array)', [1, 2], 'decode.not-object'],
    ['decode.not-object (number)', '42', 'decode.not-object'],
    ['decode.not-object (null)', 'null', 'decode.not-object'],
    [
      'schema.missing-field top level',
      (({ titleId, ...e }) => e)(impression()),
      'schema.missing-field:titleId',
    ],
    [
      'schema.missing-field nested',
      impression({ visibility: { percent: 80 } as never }),
      'schema.missing-field:visibility.durationMs',
    ],
    ['schema.missing-field schema', (({ schema, ...e }) => e)(impression()), 'schema.missing-field:schema'],
    [
      'schema.wrong-type nested',
      impression({ row: { index: '2' as never, id: 'r' } }),
      'schema.wrong-type:row.index',
    ],
    ['schema.wrong-type non-integer', impression({ position: 1.5 }), 'schema.wrong-type:position'],
    ['schema.wrong-type schema', impression({ schema: 7 as never }), 'schema.wrong-type:schema'],
    ['schema.out-of-range max', impression({ position: 1000 }), 'schema.out-of-range:position'],
    [
      'schema.out-of-range percent',
      impression({ visibility: { percent: 101, durationMs: 5 } }),
      'schema.out-of-range:visibility.percent',
    ],
    [
      'schema.out-of-range enum',
      impression({ device: { type: 'fridge' as never } }),
      'schema.out-of-range:device.type',
    ],
    [
      'schema.out-of-range profileId chars',
      impression({ profileId: 'a b' }),
      'schema.out-of-range:profileId',
    ],
    ['schema.out-of-range eventId', impression({ eventId: 'not-a-uuid' }), 'schema.out-of-range:eventId'],
    [
      'schema.out-of-range eventTime without ms',
      impression({ eventTime: '2026-06-15T11:59:58Z' }),
      'schema.out-of-range:eventTime',
    ],
    [
      'schema.out-of-range impossible date',
      impression({ eventTime: '2026-02-30T11:59:58.000Z' }),
      'schema.out-of-range:eventTime',
    ],
    ['schema.out-of-range country', impression({ country: 'usa' }), 'schema.out-of-range:country'],
    [
      'schema.out-of-range context value',
      impression({ context: { k: 'v'.repeat(257) } }),
      'schema.out-of-range:context.k',
    ],
    [
      'schema.out-of-range context size',
      impression({ context: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }),
      'schema.out-of-range:context',
    ],
    [
      'schema.wrong-type context value',
      impression({ context: { k: 1 as never } }),
      'schema.wrong-type:context.k',
    ],
    ['schema.unknown-field top level', { ...impression(), titel: 'x' }, 'schema.unknown-field:titel'],
    [
      'schema.unknown-field nested',
      impression({ device: { type: 'tv', colour: 'red' } as never }),
      'schema.unknown-field:device.colour',
    ],
    [
      'schema.unknown-field __proto__',
      JSON.stringify(impression()).replace(/^\{/, '{"__proto__":{"x":1},'),
      'schema.unknown-field:__proto__',
    ],
    [
      'schema.unsupported-version',
      impression({ schema: 'impression/2-0-0' }),
      'schema.unsupported-version:schema',
    ],
    [
      'time.future',
      impression({ eventTime: new Date(NOW_MS + 5 * 60_000 + 1).toISOString() }),
      'time.future',
    ],
    [
      'time.too-late',
      impression({ eventTime: new Date(NOW_MS - 7 * 86_400_000 - 1).toISOString() }),
      'time.too-late',
    ],
    ['quality.entity-mismatch', impression({ entityId: 'other' }), 'quality.entity-mismatch'],
  ];
  it.each(cases)('%s', (_name, body, expected) => {
    expect(codeOf(run(body))).toBe(expected);
  });

  it('decode.too-large above 16 KiB, even for valid JSON', () => {
    const big = impression({ page: 'x'.repeat(MAX_RECORD_BYTES) });
    expect(codeOf(run(big))).toBe('decode.too-large');
  });

  it('keeps the time limits inclusive at their boundaries', () => {
    expect(codeOf(run(impression({ eventTime: new Date(NOW_MS + 5 * 60_000).toISOString() })))).toBe(
      'candidate',
    );
    expect(codeOf(run(impression({ eventTime: new Date(NOW_MS - 7 * 86_400_000).toISOString() })))).toBe(
      'candidate',
    );
  });

  it('does not pollute Object.prototype', () => {
    run('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('classify: filter reasons', () => {
  it('filtered.not-viewable below the visible share or time', () => {
    expect(codeOf(run(impression({ visibility: { percent: 49, durationMs: 5000 } })))).toBe(
      'filtered.not-viewable',
    );
    expect(codeOf(run(impression({ visibility: { percent: 100, durationMs: 999 } })))).toBe(
      'filtered.not-viewable',
    );
    expect(codeOf(run(impression({ visibility: { percent: 50, durationMs: 1000 } })))).toBe('candidate');
  });

  it('filtered.test-profile for deny-listed profiles', () => {
    const config = { ...DEFAULT_CLASSIFIER_CONFIG, testProfiles: new Set(['bot-1']) };
    expect(codeOf(run(impression({ profileId: 'bot-1' }), NOW_MS, config))).toBe('filtered.test-profile');
  });

  it('uses configured thresholds', () => {
    const config = { ...DEFAULT_CLASSIFIER_CONFIG, minVisiblePercent: 90 };
    expect(codeOf(run(impression({ visibility: { percent: 80, durationMs: 5000 } }), NOW_MS, config))).toBe(
      'filtered.not-viewable',
    );
  });
});

describe('parseRfc3339 on event times', () => {
  it('agrees with Date.parse on every valid time, offsets included', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('2200-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (date, offsetMin) => {
          const local = new Date(date.getTime() + offsetMin * 60_000).toISOString().slice(0, 23);
          const sign = offsetMin < 0 ? '-' : '+';
          const abs = Math.abs(offsetMin);
          const zone =
            offsetMin === 0
              ? 'Z'
              : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const text = `${local}${zone}`;
          expect(parseRfc3339(text)).toBe(Date.parse(text));
          expect(parseRfc3339(text)).toBe(date.getTime());
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('refuses dates and times that do not exist', () => {
    for (const t of [
      '2026-02-29T00:00:00.000Z',
      '2026-04-31T00:00:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '2026-01-01T00:60:00.000Z',
      '2026-01-01T00:00:60.000Z',
      '2026-01-00T00:00:00.000Z',
      '2026-01-01T00:00:00.000+25:00',
    ]) {
      expect(parseRfc3339(t), t).toBeNaN();
    }
    expect(parseRfc3339('2024-02-29T00:00:00.000Z')).toBe(Date.parse('2024-02-29T00:00:00.000Z'));
  });
});

describe('classify never throws', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(['rejected', 'filtered', 'candidate']).toContain(
          classify(bytes, NOW_MS, DEFAULT_CLASSIFIER_CONFIG).outcome,
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary JSON values and mutated events', () => {
    const mutated = fc
      .record({ key: fc.constantFrom(...Object.keys(impression())), value: fc.jsonValue() })
      .map(({ key, value }) => ({ ...impression(), [key]: value }));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), mutated), (value) => {
        const c = classify(Buffer.from(JSON.stringify(value) ?? 'null'), NOW_MS, DEFAULT_CLASSIFIER_CONFIG);
        if (c.outcome === 'rejected')
          expect(c.code).toMatch(/^(decode|schema|time|quality)\.[a-z-]+(:[\w.$-]*)?/);
      }),
      { numRuns: 2000 },
    );
  });
});
