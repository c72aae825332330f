/** Every difference of an emulator stage lives in infra/config.ts, each with its reason. */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMULATOR_GAPS, EMULATOR_STAGE_DEFAULTS, resolveStage } from '../../infra/config.js';

const INFRA = path.join(import.meta.dirname, '..', '..', 'infra');
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );

describe('emulator stage', () => {
  it('takes its stage defaults from EMULATOR_STAGE_DEFAULTS, an explicit setting winning', () => {
    const local = resolveStage('local', { emulator: true });
    for (const [key, d] of Object.entries(EMULATOR_STAGE_DEFAULTS)) {
      expect(local[key as keyof typeof local], key).toEqual(d.value);
      expect(d.reason.length, key).toBeGreaterThan(20);
    }
    expect(resolveStage('local', { emulator: true, retainData: true }).retainData).toBe(true);
    expect(resolveStage('local', { emulator: true }).omitted).toEqual(Object.keys(EMULATOR_GAPS));
    expect(resolveStage('prod', {}).retainData).toBe(true);
  });

  it('is never tested for outside infra/config.ts: constructs and stacks read gaps and settings only', () => {
    const offenders = sources(INFRA)
      .filter((f) => !f.endsWith(`${path.sep}config.ts`))
      .filter((f) => /\.emulator\b/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
