/**
 * Stage settings: every setting can be set from a `stages` block and from `-c`, unknown or mistyped ones
 * are refused, and docs/settings.md lists exactly the settings of DEFAULT_STAGE with their defaults (how bin/app.ts
 * reports them: config.process.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkOverrides, DEFAULT_STAGE, resolveStage, STAGE_NAME, settings } from '../../infra/config.js';
import { SETTINGS_DOC, withCurrentTable } from '../../scripts/settings-doc.js';

describe('stage settings', () => {
  it('lists every leaf of DEFAULT_STAGE as a dotted path with its default', () => {
    const list = settings();
    expect(list.map((s) => s.path)).toContain('consumer.batchSize');
    expect(list.map((s) => s.path)).toContain('streamRetentionHours');
    for (const s of list) {
      const value = s.path
        .split('.')
        .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], DEFAULT_STAGE);
      expect(value, s.path).toEqual(s.default);
    }
  });

  it('takes every setting from -c strings, typed by its declaration', () => {
    for (const s of settings()) {
      const raw = Array.isArray(s.default) ? (s.default as string[]).join(',') : String(s.default);
      const over = checkOverrides({ [s.path]: raw }, '-c');
      const got = s.path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], over);
      expect(got, s.path).toEqual(s.default);
    }
    const config = resolveStage(
      't',
      checkOverrides({ historyRetentionDays: '7', 'consumer.batchSize': '100' }, '-c'),
    );
    expect(config.historyRetentionDays).toBe(7);
    expect(config.consumer).toEqual({ ...DEFAULT_STAGE.consumer, batchSize: 100 });
  });

  it('reads a JSON object given with -c to an object setting as its keys, and names the keys of a plain value', () => {
    expect(checkOverrides({ rawStream: '{"shards":2}' }, '-c')).toEqual({ rawStream: { shards: 2 } });
    expect(resolveStage('t', checkOverrides({ rawStream: '{"mode":"on-demand"}' }, '-c')).rawStream).toEqual({
      mode: 'on-demand',
      shards: 0,
    });
    expect(() => checkOverrides({ rawStream: '2' }, '-c')).toThrow(
      /^rawStream: set rawStream.mode or rawStream.shards$/,
    );
    expect(() => checkOverrides({ rawStream: '{"shard":2}' }, '-c')).toThrow(
      /unknown setting "rawStream.shard"/,
    );
    expect(() => checkOverrides({ rawStream: '{"shards":-1}' }, '-c')).toThrow(
      'rawStream.shards: -1 is not a Kinesis shard count (a whole number, 0–10000 shards)',
    );
  });

  it('refuses unknown settings in a stages block and on the command line, naming them', () => {
    expect(() => resolveStage('prod', { histryRetentionDays: 7 } as never)).toThrow(
      /unknown setting "histryRetentionDays"/,
    );
    expect(() => resolveStage('prod', { consumer: { batchSise: 7 } } as never)).toThrow(
      /unknown setting "consumer.batchSise"/,
    );
    expect(() => checkOverrides({ 'rawStream.shard': '2' }, '-c')).toThrow(
      /-c: unknown setting "rawStream.shard"/,
    );
  });

  it('refuses values of the wrong type and invalid modes, naming the value and what is allowed', () => {
    expect(() => checkOverrides({ 'consumer.batchSize': 'abc' }, '-c')).toThrow(
      'consumer.batchSize: "abc" is not a Kinesis batch size (a whole number, 1–10000 records)',
    );
    expect(() => checkOverrides({ retainData: 'yes' }, '-c')).toThrow(
      'retainData: "yes" is not true or false',
    );
    expect(resolveStage('t', { testProfiles: 'x' as never }).testProfiles).toEqual(['x']);
    expect(() => resolveStage('t', { rawStream: { mode: 'fast' as never } })).toThrow(
      'rawStream.mode: "fast" is not provisioned or on-demand',
    );
    expect(() => resolveStage('t', { omitted: ['nope' as never] })).toThrow(
      /"nope" is not a feature of EMULATOR_GAPS/,
    );
    expect(() => resolveStage('t', { tableCapacity: { minReadCapacity: 10, maxReadCapacity: 5 } })).toThrow(
      'tableCapacity.maxReadCapacity: 5 is below tableCapacity.minReadCapacity (10): auto scaling needs min ≤ max',
    );
    expect(() => resolveStage('t', { profileBurstPerWindow: 100, profileBurstPerDay: 50 })).toThrow(
      'profileBurstPerDay: 50 is below profileBurstPerWindow (100): a day holds many windows',
    );
  });

  it('states the stage-name rule: 1-21 characters, a lowercase letter first', () => {
    for (const ok of ['a', 'prod', 'local', 'pr-123', 'a'.repeat(21)])
      expect(STAGE_NAME.test(ok), ok).toBe(true);
    for (const bad of ['', 'Prod', '1st', '-x', 'a_b', 'a'.repeat(22)]) {
      expect(STAGE_NAME.test(bad), bad).toBe(false);
      if (bad) expect(() => resolveStage(bad)).toThrow(/must be 1-21 characters/);
    }
  });

  it('docs/settings.md has one row per setting, with its default and range, generated from the declaration', () => {
    const doc = readFileSync(SETTINGS_DOC, 'utf8');
    expect(doc, 'docs/settings.md is not current: run npx tsx scripts/settings-doc.ts').toBe(
      withCurrentTable(doc),
    );
    const rows = new Map(
      [...doc.matchAll(/^\| `([\w.]+)`\s*\| `([^`]*)`\s*\| ([^|]*)\|/gm)].map(
        (m) => [m[1]!, [m[2]!, m[3]!.trim()]] as const,
      ),
    );
    expect(rows.get('minVisiblePercent')).toEqual(['50', '0–100']);
    expect(rows.get('lakeBufferMiB')?.[1]).toContain('1–128 MiB');
    const expected = new Map(settings().map((s) => [s.path, JSON.stringify(s.default)] as const));
    expect(Object.fromEntries([...rows].map(([k, v]) => [k, v[0]]))).toEqual(Object.fromEntries(expected));
    expect(doc).toContain(STAGE_NAME.source);
  });
});
