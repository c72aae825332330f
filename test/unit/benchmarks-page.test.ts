import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BenchResults, renderBenchmarks } from '../../bench/benchmarks-md.js';
import { outputFiles } from '../../bench/run.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const latest = () =>
  JSON.parse(readFileSync(path.join(ROOT, 'bench', 'results', 'latest.json'), 'utf8')) as BenchResults;

describe('benchmark figures have one source', () => {
  it('a quick run writes only under .local/bench/, never the committed files', () => {
    const out = outputFiles(true, '2026-11-26T00:00:00.000Z');
    for (const f of [out.results, out.markdown, ...out.copies])
      expect(path.relative(ROOT, f)).toMatch(/^\.local\/bench\//);
  });

  it('a full run writes bench/results/latest.json, a dated copy and BENCHMARKS.md', () => {
    const out = outputFiles(false, '2026-11-26T01:02:03.456Z');
    expect([out.results, out.markdown, ...out.copies].map((f) => path.relative(ROOT, f))).toEqual([
      'bench/results/latest.json',
      'BENCHMARKS.md',
      'bench/results/2026-11-26T01-02-03-456Z.json',
    ]);
  });

  it('BENCHMARKS.md is exactly what bench/results/latest.json renders to (npm run bench -- --render)', () => {
    expect(readFileSync(path.join(ROOT, 'BENCHMARKS.md'), 'utf8')).toBe(renderBenchmarks(latest()));
  });

  it('the page shows the results file figures, e.g. the enrich ratio, and says what it includes', () => {
    const r = latest();
    const page = renderBenchmarks(r);
    expect(page).toContain(`**${r.enrich.ratio.toFixed(2)}**`);
    expect(page).toMatch(/## What each figure includes/);
    const quick = renderBenchmarks({ ...r, kind: 'quick', wholePath: [] });
    expect(quick).toMatch(/Quick run/);
    expect(quick).toMatch(/Not measured in this run/);
  });
});
