/**
 * The local delivery stand-in (scripts/lake/delivery.py) converts records as strictly as Amazon Data
 * Firehose's Iceberg destination, so that locally green means "AWS would take it". Each rule is tested with a
 * record that breaks it, through the stand-in's own converter in the lake venv (scripts/lake/check_records.py).
 * Sources: Firehose developer guide, "Understand supported data types"
 * (https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-destination-supp.html) and "Considerations and
 * limitations" (https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-considerations.html).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fromEnrichedWire,
  toEnrichedWire,
  toRejectedWire,
  WIRE_RULES,
} from '../../lambdas/adapters/stream-encoding.js';
import { enrich } from '../../lambdas/domain/enrich.js';
import { ensureLakeInstalled, ROOT } from '../../scripts/emulator.js';
import { writeDefinitions } from '../../scripts/lake.js';
import { impression, NOW_MS } from '../support/factories.js';

type Verdict = { ok: true; row: Record<string, unknown> } | { ok: false; code: string; message: string };

// One converter process for the whole file (the lake venv's imports take seconds): a line in, a verdict out.
let child: ChildProcessWithoutNullStreams | undefined;
let verdicts: AsyncIterator<string> | undefined;
beforeAll(() => {
  child = spawn(ensureLakeInstalled(), [
    path.join(ROOT, 'scripts', 'lake', 'check_records.py'),
    writeDefinitions(),
  ]);
  verdicts = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
}, 600_000);
afterAll(() => {
  child?.stdin.end();
});

/** The stand-in's verdict on each record (the record's text as it would be on the stream). */
async function check(
  table: 'impressions' | 'impressions_rejected',
  records: readonly string[],
): Promise<Verdict[]> {
  child!.stdin.write(`${records.map((data) => JSON.stringify({ table, data })).join('\n')}\n`);
  const out: Verdict[] = [];
  for (const _ of records) {
    const next = await verdicts!.next();
    if (next.done) throw new Error('check_records.py exited');
    out.push(JSON.parse(next.value) as Verdict);
  }
  return out;
}

const event = impression({ eventTime: '2026-06-15T11:59:58.250Z', context: { exp: 'B' } });
const inMemory = enrich(event, Date.parse(event.eventTime), NOW_MS, {
  titleId: event.titleId,
  name: 'Stranger Things',
  type: 'show',
  genres: ['drama'],
  maturityRating: 'TV-14',
});
const wire = (): Record<string, unknown> => ({ ...toEnrichedWire(inMemory) });
const withChange = (change: (w: Record<string, unknown>) => void): string => {
  const w = wire();
  change(w);
  return JSON.stringify(w);
};
const refusal = (v: Verdict) => (v.ok ? 'accepted' : v.code);

describe('delivery stand-in: what Firehose takes, it takes', () => {
  it('takes the encoder’s enriched and rejected records, every column with its value', async () => {
    const [enriched] = await check('impressions', [JSON.stringify(wire())]);
    expect(enriched).toMatchObject({ ok: true });
    const row = (enriched as { row: Record<string, unknown> }).row;
    expect(row.event_time).toBe('2026-06-15 11:59:58.250000+00:00');
    expect(row.received_at).toBe('2026-06-15 12:00:00+00:00');
    expect(row).toMatchObject({
      event_date: '2026-06-15',
      title_genres: ['drama'],
      profile_id: event.profileId,
    });
    const [rejected] = await check('impressions_rejected', [
      JSON.stringify(
        toRejectedWire({
          received_at: new Date(NOW_MS).toISOString(),
          reason: 'decode.not-json',
          detail: '',
          partition_key: 'p',
          sequence_number: '1',
          raw: '{x',
          profile_id: null,
        }),
      ),
    ]);
    expect(rejected).toMatchObject({ ok: true, row: { reason: 'decode.not-json', raw: '{x' } });
  });

  it('skips keys that are not columns, as Firehose does ("Firehose skips the new field")', async () => {
    const [v] = await check('impressions', [withChange((w) => Object.assign(w, { surprise: { a: [1] } }))]);
    expect(v).toMatchObject({ ok: true });
    expect((v as { row: object }).row).not.toHaveProperty('surprise');
  });

  it(`takes ${WIRE_RULES.maxNestingDepth} levels of nesting ("Firehose supports 16 levels of nesting")`, async () => {
    const deep = JSON.parse(
      `${'['.repeat(WIRE_RULES.maxNestingDepth - 1)}${']'.repeat(WIRE_RULES.maxNestingDepth - 1)}`,
    );
    expect((await check('impressions', [withChange((w) => Object.assign(w, { deep }))]))[0]).toMatchObject({
      ok: true,
    });
  });
});

describe('delivery stand-in: what Firehose refuses, it refuses (error prefix, never the table)', () => {
  it('a timestamp as RFC 3339 text: the form the records had before the wire encoding', async () => {
    const legacy = JSON.stringify(inMemory);
    expect((await check('impressions', [legacy])).map(refusal)).toEqual(['timestamp-not-microseconds']);
  });

  it('a timestamp in seconds, milliseconds or nanoseconds, or not an integer ("you must always send in microseconds")', async () => {
    const micros = NOW_MS * 1000;
    const verdicts = await check('impressions', [
      withChange((w) => Object.assign(w, { received_at: Math.floor(NOW_MS / 1000) })),
      withChange((w) => Object.assign(w, { received_at: NOW_MS })),
      withChange((w) => Object.assign(w, { event_time: micros * 1000 })),
      withChange((w) => Object.assign(w, { event_time: micros + 0.5 })),
      withChange((w) => Object.assign(w, { event_time: true })),
    ]);
    expect(verdicts.map(refusal)).toEqual(Array(5).fill('timestamp-not-microseconds'));
    expect(verdicts.map((v) => (v.ok ? '' : v.message.match(/looks like (\w+)/)?.[1]))).toEqual([
      'seconds',
      'milliseconds',
      'nanoseconds',
      undefined,
      undefined,
    ]);
  });

  it('the microseconds range is the encoder’s: its first and last value taken, one past either end refused', async () => {
    const { timestampMicrosMin: min, timestampMicrosMax: max } = WIRE_RULES;
    const verdicts = await check(
      'impressions',
      [min, max - 1, min - 1, max].map((t) => withChange((w) => Object.assign(w, { event_time: t }))),
    );
    expect(verdicts.map(refusal)).toEqual([
      'accepted',
      'accepted',
      'timestamp-not-microseconds',
      'timestamp-not-microseconds',
    ]);
    const back = (t: number) => fromEnrichedWire({ ...wire(), event_time: t }).event_time;
    expect(back(min)).toBe('2000-01-01T00:00:00.000Z');
    expect(() => back(max)).toThrowError(/^event_time:/);
  });

  it('a column type mismatch: text for an int, a float for a long, a list of numbers, a map of objects, an impossible or non-ISO date', async () => {
    const verdicts = await check('impressions', [
      withChange((w) => Object.assign(w, { row_index: '4' })),
      withChange((w) => Object.assign(w, { position: 2 ** 31 })),
      withChange((w) => Object.assign(w, { visible_ms: 1800.5 })),
      withChange((w) => Object.assign(w, { title_genres: [1, 2] })),
      withChange((w) => Object.assign(w, { title_genres: 'drama' })),
      withChange((w) => Object.assign(w, { context: { exp: { nested: 'x' } } })),
      withChange((w) => Object.assign(w, { event_date: '2026-02-30' })),
      withChange((w) => Object.assign(w, { event_date: '20260615' })),
      withChange((w) => Object.assign(w, { event_date: 20619 })),
      withChange((w) => Object.assign(w, { profile_id: 42 })),
    ]);
    expect(verdicts.map(refusal)).toEqual(Array(10).fill('type-mismatch'));
  });

  it('a missing column (required or optional) and a null in a required column', async () => {
    const verdicts = await check('impressions', [
      withChange((w) => delete w.profile_id),
      withChange((w) => delete w.device_os),
      withChange((w) => Object.assign(w, { event_id: null })),
    ]);
    expect(verdicts.map(refusal)).toEqual(['missing-column', 'missing-column', 'null-in-required-column']);
  });

  it(`nesting beyond ${WIRE_RULES.maxNestingDepth} levels, even under a key that is not a column`, async () => {
    const deep = JSON.parse(
      `${'['.repeat(WIRE_RULES.maxNestingDepth)}${']'.repeat(WIRE_RULES.maxNestingDepth)}`,
    );
    const verdicts = await check('impressions', [
      withChange((w) => Object.assign(w, { deep })),
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
    ]);
    expect(verdicts.map(refusal)).toEqual(['nesting-too-deep', 'nesting-too-deep']);
  });

  it('anything but one JSON object ("You can send only one JSON object in one Firehose record")', async () => {
    const one = JSON.stringify(wire());
    const verdicts = await check('impressions', ['{broken', '[]', '"x"', `${one}${one}`]);
    expect(verdicts.map(refusal)).toEqual([
      'not-json',
      'not-one-json-object',
      'not-one-json-object',
      'not-json',
    ]);
  });
});
