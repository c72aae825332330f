/**
 * Every setting at its bounds, generated from its declaration (SETTINGS in infra/config.ts), so a new setting
 * cannot skip it: the lowest and highest allowed values pass the check before synthesis, one past each is
 * refused with its one line, and the prod stage synthesizes with every minimum and with every maximum.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import {
  checkOverrides,
  DEFAULT_STAGE,
  type DeepPartial,
  describeRange,
  type ListRule,
  resolveStage,
  SETTINGS,
  type SettingPath,
  type SettingRule,
  type StageConfig,
  settings,
} from '../../infra/config.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };

/** The largest valid list of a list rule: as many entries as its count and its character limit allow. */
function longestList(rule: ListRule): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < rule.maxItems; i++) {
    const next = [...out, rule.sample(i, false)];
    if (rule.maxChars && next.join(',').length > rule.maxChars.chars) break;
    out.push(rule.sample(i, false));
  }
  return out;
}

/** The lowest and highest allowed value of a setting. */
function bounds(rule: SettingRule): { low: unknown; high: unknown } {
  switch (rule.type) {
    case 'boolean':
      return { low: false, high: true };
    case 'enum':
      return { low: rule.values[0], high: rule.values.at(-1) };
    case 'list':
      return { low: [], high: longestList(rule) };
    default:
      return { low: rule.min, high: rule.max };
  }
}

/** Values one past the bounds, each with the line that refuses it. */
function pastBounds(path: SettingPath, rule: SettingRule): { value: unknown; line: string }[] {
  switch (rule.type) {
    case 'boolean':
      return [{ value: 'yes', line: `${path}: "yes" is not true or false` }];
    case 'enum':
      return [{ value: 'fast', line: `${path}: "fast" is not ${describeRange(rule)}` }];
    case 'list': {
      const many = Array.from({ length: rule.maxItems + 1 }, (_, i) => rule.sample(i, false));
      const out: { value: unknown; line: string }[] = [
        { value: 'x y', line: `${path}: "x y" ${rule.itemProblem}` },
        { value: 7, line: `${path}: 7 is not a list of strings (comma-separated with -c)` },
      ];
      out.push({ value: many, line: `${path}: ${many.length} entries are more than ${rule.maxItems}` });
      if (rule.maxChars) {
        const long: string[] = [];
        for (let i = 0; long.join(',').length <= rule.maxChars.chars; i++) long.push(rule.sample(i, true));
        expect(long.length, `${path}: a list over its character limit within its count`).toBeLessThanOrEqual(
          rule.maxItems,
        );
        const chars = long.join(',').length;
        out.push({
          value: long,
          line: `${path}: ${chars} characters in all are more than ${rule.maxChars.chars} (${rule.maxChars.why})`,
        });
      }
      return out;
    }
    default: {
      const range = `(${rule.type === 'integer' ? 'a whole number, ' : ''}${describeRange(rule)})`;
      const out = [rule.min - 1, rule.max + 1].map((v) => ({
        value: String(v),
        line: `${path}: ${v} is not ${rule.is} ${range}`,
      }));
      if (rule.type === 'integer')
        out.push({
          value: String(rule.min + 0.5),
          line: `${path}: ${rule.min + 0.5} is not ${rule.is} ${range}`,
        });
      return out;
    }
  }
}

/** Overrides setting one dotted path. */
function at(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  return keys.reduceRight<Record<string, unknown>>((inner, k) => ({ [k]: inner }), value as never) as never;
}

/** Overrides setting every setting to its low (or high) bound, except those that change what the stage is. */
function everyBound(which: 'low' | 'high'): DeepPartial<StageConfig> {
  const out: Record<string, unknown> = {};
  for (const s of settings()) {
    if (s.path === 'emulator' || s.path === 'omitted') continue;
    const v = bounds(s.rule)[which];
    let node = out;
    const keys = s.path.split('.');
    for (const k of keys.slice(0, -1)) {
      node[k] ??= {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = v;
  }
  return out as DeepPartial<StageConfig>;
}

describe('every setting at its bounds', () => {
  it('declares every setting of DEFAULT_STAGE, and every default is within its range', () => {
    const declared = settings().map((s) => s.path);
    expect(declared.length).toBeGreaterThan(40);
    for (const s of settings()) {
      expect(s.default, s.path).not.toBeUndefined();
      expect(() => checkOverrides(at(s.path, s.default), 'cdk.json stages.prod'), s.path).not.toThrow();
    }
    expect(Object.keys(SETTINGS).sort()).toEqual(declared.sort());
    expect(resolveStage('prod').stage).toBe('prod');
    expect(DEFAULT_STAGE.lakeBufferMiB).toBe(SETTINGS.lakeBufferMiB.max);
  });

  for (const s of settings()) {
    it(`${s.path}: lowest and highest allowed values pass, one past each is refused in one line`, () => {
      const { low, high } = bounds(s.rule);
      for (const v of [low, high]) {
        const shown = Array.isArray(v) ? v.join(',') : String(v);
        expect(() => checkOverrides({ [s.path]: shown }, '-c'), `${s.path}=${shown}`).not.toThrow();
        expect(() => checkOverrides(at(s.path, v), 'cdk.json stages.prod'), JSON.stringify(v)).not.toThrow();
      }
      for (const { value, line } of pastBounds(s.path, s.rule)) {
        expect(() => checkOverrides({ [s.path]: value }, '-c'), String(value)).toThrow(line);
        let message = '';
        try {
          checkOverrides({ [s.path]: value }, '-c');
        } catch (err) {
          message = (err as Error).message;
        }
        expect(message).toBe(line);
        expect(() => checkOverrides(at(s.path, value), 'cdk.json stages.prod')).toThrow(
          `cdk.json stages.prod: ${line}`,
        );
      }
    });
  }

  it('reports every wrong setting of a run at once, one line each', () => {
    let lines: readonly string[] = [];
    try {
      checkOverrides({ minVisiblePercent: '150', streamRetentionHours: '2', lakeBufferMiB: '1000' }, '-c');
    } catch (err) {
      lines = (err as { problems: readonly string[] }).problems;
    }
    expect(lines).toEqual([
      'minVisiblePercent: 150 is not a percentage (0–100)',
      'streamRetentionHours: 2 is not a Kinesis retention (a whole number, 24–8760 hours)',
      'lakeBufferMiB: 1000 is not a Firehose buffering size (a whole number, 1–128 MiB)',
    ]);
  });

  it('the prod stage synthesizes with every setting at its minimum, and at its maximum', {
    timeout: 240_000,
  }, () => {
    for (const which of ['low', 'high'] as const) {
      const config = resolveStage('prod', everyBound(which));
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const { stateful, pipeline } = buildApp(app, config, ENV);
      const p = Template.fromStack(pipeline).toJSON() as {
        Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
      };
      const s = Template.fromStack(stateful).toJSON() as typeof p;
      const streams = Object.values(s.Resources).filter((r) => r.Type === 'AWS::Kinesis::Stream');
      expect(streams.map((r) => r.Properties?.RetentionPeriodHours)).toEqual(
        streams.map(() => (which === 'low' ? 24 : 8760)),
      );
      const mappings = Object.values(p.Resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
      expect(mappings.length).toBeGreaterThan(0);
      for (const m of mappings)
        expect(m.Properties).toMatchObject(
          which === 'low'
            ? {
                BatchSize: 1,
                ParallelizationFactor: 1,
                MaximumRetryAttempts: -1,
                MaximumRecordAgeInSeconds: 3600,
              }
            : {
                BatchSize: 10_000,
                ParallelizationFactor: 10,
                MaximumRetryAttempts: 10_000,
                MaximumRecordAgeInSeconds: 604_800,
              },
        );
    }
  });
});
