/**
 * `impression/1-1-0`, an ADDITION of `impression/1-0-0` (the optional `device.locale`): both versions are
 * accepted side by side, the new field is checked as strictly as every other string, it reaches the
 * enriched record and the lake column `device_locale` appended with the next field id, and the traffic
 * generator sends both versions.
 */
import { describe, expect, it } from 'vitest';
import { type Classification, classify } from '../../lambdas/domain/classify.js';
import { enrich } from '../../lambdas/domain/enrich.js';
import { IMPRESSION_1_0_0, IMPRESSION_1_1_0, SCHEMA_REGISTRY } from '../../lambdas/domain/event-schema.js';
import { IMPRESSIONS_TABLE } from '../../lambdas/domain/lake-schema.js';
import { lastFieldId } from '../../lambdas/lake/lake-ddl.js';
import { traffic } from '../../scripts/traffic.js';
import { impression, NOW_MS } from '../support/factories.js';
import { DEFAULT_CLASSIFIER_CONFIG } from '../support/oracles.js';

const run = (body: unknown): Classification =>
  classify(
    Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    NOW_MS,
    DEFAULT_CLASSIFIER_CONFIG,
  );
const codeOf = (c: Classification) =>
  c.outcome === 'rejected' ? c.code : c.outcome === 'filtered' ? c.reason : 'candidate';

const v110 = (locale: unknown, overrides: Record<string, unknown> = {}) => {
  const e = impression();
  return { ...e, schema: 'impression/1-1-0', device: { ...e.device, locale }, ...overrides };
};

describe('impression/1-1-0', () => {
  it('is registered next to 1-0-0, in the same model', () => {
    expect([...SCHEMA_REGISTRY.keys()]).toEqual(['impression/1-0-0', 'impression/1-1-0']);
    expect(SCHEMA_REGISTRY.get('impression/1-1-0')?.model).toBe(1);
  });

  it('only adds the optional device.locale to 1-0-0', () => {
    const { properties: p0, ...rest0 } = IMPRESSION_1_0_0;
    const { properties: p1, ...rest1 } = IMPRESSION_1_1_0;
    expect({ ...rest1, $id: rest0.$id }).toEqual(rest0);
    const { device: d0, ...others0 } = p0;
    const { device: d1, ...others1 } = p1;
    expect(others1).toEqual(others0);
    expect(d1.required).toEqual(d0.required);
    expect(Object.keys(d1.properties)).toEqual([...Object.keys(d0.properties), 'locale']);
  });

  it.each(['en-US', 'pt-BR', 'zh-Hant-TW', 'de', 'es-419', 'x-private', 'sr-Latn-RS-u-nu-latn'])(
    'accepts the locale %s',
    (locale) => {
      expect(codeOf(run(v110(locale)))).toBe('candidate');
    },
  );

  it('accepts a 1-1-0 event without a locale, and every 1-0-0 event as before', () => {
    const e = impression();
    expect(codeOf(run({ ...e, schema: 'impression/1-1-0' }))).toBe('candidate');
    expect(codeOf(run(e))).toBe('candidate');
  });

  it.each([
    ['empty', '', 'schema.out-of-range:device.locale'],
    ['one letter', 'e', 'schema.out-of-range:device.locale'],
    ['an underscore', 'en_US', 'schema.out-of-range:device.locale'],
    ['a space', 'en US', 'schema.out-of-range:device.locale'],
    ['an empty subtag', 'en--US', 'schema.out-of-range:device.locale'],
    ['a subtag of 9', 'en-abcdefghi', 'schema.out-of-range:device.locale'],
    ['over 35 characters', `en-${'abcdefgh-'.repeat(4)}x`, 'schema.out-of-range:device.locale'],
    ['not a string', 42, 'schema.wrong-type:device.locale'],
    ['a lone surrogate', 'en-\ud800', 'schema.wrong-type:device.locale'],
  ])('rejects a locale with %s', (_name, locale, expected) => {
    expect(codeOf(run(v110(locale)))).toBe(expected);
  });

  it('keeps 1-0-0 closed: device.locale under 1-0-0 is an unknown field', () => {
    expect(codeOf(run(v110('en-US', { schema: 'impression/1-0-0' })))).toBe(
      'schema.unknown-field:device.locale',
    );
  });

  it.each(['impression/1-2-0', 'impression/1-1-1', 'impression/2-0-0', 'impression/1-1'])(
    'rejects the unknown version %s as schema.unsupported-version',
    (schema) => {
      expect(codeOf(run(v110('en-US', { schema })))).toBe('schema.unsupported-version:schema');
    },
  );
});

describe('device_locale in the enriched record and the lake', () => {
  it('is carried from device.locale, null for older events', () => {
    const e = v110('pt-BR') as ReturnType<typeof impression>;
    const at = Date.parse(e.eventTime);
    expect(enrich(e, at, NOW_MS, undefined).device_locale).toBe('pt-BR');
    expect(enrich(impression(), at, NOW_MS, undefined).device_locale).toBeNull();
  });

  it('is the last column of impressions, optional, with the next field id after the map ids', () => {
    const cols = IMPRESSIONS_TABLE.columns;
    const last = cols.at(-1)!;
    expect(last).toMatchObject({ name: 'device_locale', type: 'string', required: false });
    expect(last.id).toBe(lastFieldId({ columns: cols.slice(0, -1) }) + 1);
    expect(last.id).toBe(33);
  });

  it('the enriched record has exactly the columns, in table order', () => {
    const e = v110('en-US') as ReturnType<typeof impression>;
    const r = enrich(e, Date.parse(e.eventTime), NOW_MS, undefined);
    expect(Object.keys(r)).toEqual(IMPRESSIONS_TABLE.columns.map((c) => c.name));
  });
});

describe('traffic sends both versions', () => {
  it('about half the sessions on 1-1-0 with a locale, the others on 1-0-0 without, all accepted', () => {
    const gen = traffic({
      seed: 7,
      titleIds: ['t1', 't2', 't3'],
      testProfile: 'test-profile',
      badShare: 0,
      duplicateShare: 0,
      nowMs: () => NOW_MS,
      profiles: 10_000,
    });
    const seen = { 'impression/1-0-0': 0, 'impression/1-1-0': 0 } as Record<string, number>;
    for (let i = 0; i < 2000; i++) {
      const r = gen.next().value!;
      const e = JSON.parse(Buffer.from(r.data).toString()) as {
        schema: string;
        device: { locale?: string };
      };
      seen[e.schema] = (seen[e.schema] ?? 0) + 1;
      expect(e.device.locale === undefined, e.schema).toBe(e.schema === 'impression/1-0-0');
      const c = classify(r.data, NOW_MS, DEFAULT_CLASSIFIER_CONFIG);
      expect(c.outcome === 'rejected' ? c.code : 'ok').toBe('ok');
    }
    expect(Object.keys(seen).sort()).toEqual(['impression/1-0-0', 'impression/1-1-0']);
    const share = seen['impression/1-1-0']! / 2000;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);
  });
});
