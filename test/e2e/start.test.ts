/**
 * `npm start`'s entry point, in its short mode: it must set everything up on a fresh emulator, push a demo
 * batch through to the history API, print the calls to try, and stop everything it started.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const start = (...args: string[]) =>
  spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/start.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
  });

describe('npm start', () => {
  it('explains bad flags with exit code 2', () => {
    const r = start('--events', 'lots');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--events must be an integer');
    expect(start('--rate', '0').stderr).toContain('--rate must be an integer');
    const u = start('--bogus');
    expect(u.status).toBe(2);
    expect(u.stderr).toContain('Usage: npm start');
  });

  it('prints its help', () => {
    const r = start('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--events <n>');
  });

  it('runs the whole pipeline locally under load in short mode, reconciles, and stops everything it started', () => {
    const r = start('--events', '1500', '--rate', '1500', '--seed', '3');
    expect(r.status, r.stderr).toBe(0);
    for (const step of [
      'emulator started',
      'CDK app deployed',
      'title catalog seeded',
      'local Iceberg delivery started',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`✓ ${step}`));
    }
    expect(r.stdout).toContain('Summary: 1500 impressions sent');
    expect(r.stdout).toMatch(/read\s+1500\s+1500\s+✓/);
    expect(r.stdout).toContain('✓ reconciles: read = enriched + filtered + rejected');
    expect(r.stdout).not.toContain('✗');
    const enriched = /enriched\s+(\d+)\s+(\d+)/.exec(r.stdout);
    expect(r.stdout).toContain(`lake rows committed ${enriched?.[2]} (enriched: ${enriched?.[1]})`);
    expect(r.stdout).toMatch(/curl -s --aws-sigv4 .*\/v1\/profiles\/p\d+\/impressions/);
    expect(r.stdout).toContain('npm run query --');
    expect(r.stdout).toContain('stopped.');
    const pid = /ministack pid (\d+)/.exec(r.stderr)?.[1];
    expect(pid).toBeDefined();
    expect(() => process.kill(Number(pid), 0)).toThrow();
  });
});
