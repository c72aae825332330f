/**
 * Stage settings: every setting can be set from a `stages` block and from `-c`, unknown or mistyped ones
 * are refused, and docs/settings.md lists exactly the settings of DEFAULT_STAGE with their defaults.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOverrides, DEFAULT_STAGE, resolveStage, STAGE_NAME, settings } from '../../infra/config.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

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

  it('takes every setting from -c strings, typed by its default', () => {
    for (const s of settings()) {
      const raw = Array.isArray(s.default)
        ? 'a,b'
        : typeof s.default === 'number'
          ? String((s.default as number) + 1)
          : typeof s.default === 'boolean'
            ? String(!s.default)
            : 'on-demand';
      const over = checkOverrides({ [s.path]: raw }, '-c');
      const got = s.path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], over);
      expect(got, s.path).toEqual(
        Array.isArray(s.default)
          ? ['a', 'b']
          : typeof s.default === 'number'
            ? (s.default as number) + 1
            : typeof s.default === 'boolean'
              ? !s.default
              : 'on-demand',
      );
    }
    const config = resolveStage(
      't',
      checkOverrides({ historyRetentionDays: '7', 'consumer.batchSize': '100' }, '-c'),
    );
    expect(config.historyRetentionDays).toBe(7);
    expect(config.consumer).toEqual({ ...DEFAULT_STAGE.consumer, batchSize: 100 });
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

  it('refuses values of the wrong type and invalid modes', () => {
    expect(() => checkOverrides({ 'consumer.batchSize': 'abc' }, '-c')).toThrow(
      /expected a number, got "abc"/,
    );
    expect(() => checkOverrides({ retainData: 'yes' }, '-c')).toThrow(/expected true or false/);
    expect(() => resolveStage('t', { testProfiles: 'x' as never })).not.toThrow();
    expect(() => resolveStage('t', { rawStream: { mode: 'fast' as never } })).toThrow(/rawStream.mode/);
    expect(() => resolveStage('t', { omitted: ['nope' as never] })).toThrow(/unknown feature/);
  });

  it('states the stage-name rule: 1-21 characters, a lowercase letter first', () => {
    for (const ok of ['a', 'prod', 'local', 'pr-123', 'a'.repeat(21)])
      expect(STAGE_NAME.test(ok), ok).toBe(true);
    for (const bad of ['', 'Prod', '1st', '-x', 'a_b', 'a'.repeat(22)]) {
      expect(STAGE_NAME.test(bad), bad).toBe(false);
      if (bad) expect(() => resolveStage(bad)).toThrow(/must be 1-21 characters/);
    }
  });

  it('docs/settings.md has one row per setting, with its default, and no other', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'settings.md'), 'utf8');
    const rows = new Map(
      [...doc.matchAll(/^\| `([\w.]+)`\s*\| `([^`]*)`\s*\|/gm)].map((m) => [m[1]!, m[2]!] as const),
    );
    const expected = new Map(settings().map((s) => [s.path, JSON.stringify(s.default)] as const));
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(expected));
    expect(doc).toContain(STAGE_NAME.source);
  });

  it('bin/app.ts refuses an unknown -c setting with one line, before synthesizing anything', () => {
    const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ histryRetentionDays: '7' }),
        CDK_OUTDIR: '/nonexistent',
      },
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `configuration: -c: unknown setting "histryRetentionDays" (settings: ${[...new Set(settings().map((s) => s.path.split('.')[0]))].join(', ')}; see docs/settings.md)`,
    );
  });
});
