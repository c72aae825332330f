/** `npm run cost` run as a user runs it (a child process): its options, its help, its output. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('npm run cost', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/impressions.ts', 'cost', ...args], {
      encoding: 'utf8',
    });

  it('the lever options apply the stage settings they name, and a lever applied is no longer listed', () => {
    const r = run(
      '--tracing',
      'pass-through',
      '--intelligent-tiering-days',
      '14',
      '--target-utilization',
      '85',
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^X-Ray traces \(pass-through tracing\) +\$0 /m);
    expect(r.stdout).toMatch(/^S3 lake storage \(Intelligent-Tiering\) /m);
    expect(r.stdout).toContain('auto scaling at 85 %');
    expect(r.stdout).not.toMatch(
      /trace sampling off|Intelligent-Tiering after 14 days —|target utilization 85 %/,
    );
    expect(r.stdout).toMatch(/^ +−\$[\d.]+ +DynamoDB reserved capacity, 3 years/m);
    const bad = run('--tracing', 'sampled');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--tracing must be active or pass-through');
  });

  it('--help explains itself and exits 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: impressions cost \[options\]/);
  });

  it('--device-share 0 leaves the ingest route unpriced: a lower total, and a smaller API throttle for the default stage', () => {
    const total = (out: string) => Number(/^total +\$[\d,]+ +\$([\d.]+)/m.exec(out)?.[1]);
    const all = run();
    const none = run('--device-share', '0');
    expect(none.status).toBe(0);
    expect(total(none.stdout)).toBeLessThan(total(all.stdout));
    expect(all.stdout).toMatch(/API throttle 679 requests\/s/);
    expect(none.stdout).toMatch(/API throttle 29 requests\/s/);
  });

  it('a bad argument: one line naming it, exit 2, no stack trace', () => {
    const r = run('--dynamodb', 'free');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('cost: --dynamodb must be provisioned or on-demand, got free');
  });

  it('prints every line item and the total', () => {
    const r = run('--results', 'test/unit/no-such-results.json');
    expect(r.status).toBe(2);
    const ok = run();
    expect(ok.status).toBe(0);
    const json = JSON.parse(run('--json').stdout) as {
      result: { lines: { component: string; perBillionUsd: number }[] };
    };
    expect(json.result.lines.length).toBeGreaterThan(10);
    for (const l of json.result.lines) expect(ok.stdout).toContain(l.component);
    expect(ok.stdout).toMatch(/^total /m);
    // The floor adds up the lines it names (Firehose into Iceberg, Kinesis), as printed above it.
    const perBillion = (re: RegExp) =>
      json.result.lines.filter((l) => re.test(l.component)).reduce((n, l) => n + l.perBillionUsd, 0);
    const floor = perBillion(/^Firehose/) + perBillion(/^Kinesis/);
    expect(ok.stdout).toContain(`= $${floor.toFixed(2)} per billion`);
    expect(ok.stdout).toMatch(/^levers remaining /m);
    // The default stage's month, from the same run.
    expect(ok.stdout).toMatch(
      /^default stage \(DEFAULT_STAGE, sized for 5,000 events\/s: .*\$[\d,]+ a month/m,
    );
  });
});
