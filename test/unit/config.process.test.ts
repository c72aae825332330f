/** bin/app.ts, run as `cdk synth` runs it (a child process), reports wrong stage settings in one line each. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settings } from '../../infra/config.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('stage settings', () => {
  const app = (context: Record<string, unknown>, debug = false) =>
    spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        IMPRESSIONS_DEBUG: debug ? '1' : '',
        CDK_CONTEXT_JSON: JSON.stringify(context),
        CDK_OUTDIR: '/nonexistent',
      },
      timeout: 60_000,
    });

  it('bin/app.ts refuses an unknown -c setting with one line, before synthesizing anything', () => {
    const r = app({ histryRetentionDays: '7' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `configuration: -c: unknown setting "histryRetentionDays" (settings: ${[...new Set(settings().map((s) => s.path.split('.')[0]))].join(', ')}; see docs/settings.md)`,
    );
  });

  it('bin/app.ts reports every wrong setting of cdk.json stages and -c at once, one line each, no stack trace', () => {
    const r = app({
      stage: 'prod',
      stages: { prod: { lakeBufferMiB: 1000, consumer: { parallelizationFactor: 11 } } },
      minVisiblePercent: '150',
      streamRetentionHours: '2',
      rawStream: '5',
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'configuration: cdk.json stages.prod: lakeBufferMiB: 1000 is not a Firehose buffering size (a whole number, 1–128 MiB)',
      'configuration: cdk.json stages.prod: consumer.parallelizationFactor: 11 is not a parallelization factor (a whole number, 1–10)',
      'configuration: minVisiblePercent: 150 is not a percentage (0–100)',
      'configuration: streamRetentionHours: 2 is not a Kinesis retention (a whole number, 24–8760 hours)',
      'configuration: rawStream: set rawStream.mode or rawStream.shards',
    ]);
    const debug = app({ minVisiblePercent: '150' }, true);
    expect(debug.stderr).toMatch(
      /^configuration: minVisiblePercent: 150 is not a percentage \(0–100\)\n.*ConfigurationError/s,
    );
  });
});
