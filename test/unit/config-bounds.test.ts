/**
 * Every setting at its bounds, generated from its declaration (SETTINGS in infra/config.ts), so a new setting
 * cannot skip it: the lowest and highest allowed values pass the check before synthesis, one past each is
 * refused with its one line (that the prod stage synthesizes with every minimum and with every maximum:
 * config-bounds.synth.test.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  checkOverrides,
  DEFAULT_STAGE,
  describeRange,
  resolveStage,
  SETTINGS,
  type SettingPath,
  type SettingRule,
  settings,
} from '../../infra/config.js';
import { bounds } from '../support/setting-bounds.js';

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
});
