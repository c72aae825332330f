/**
 * `npm start`'s entry point, as a user runs it in a terminal: it sets everything up on a fresh emulator and
 * puts load on it; a Ctrl-C in the middle of the load (SIGINT to the whole foreground process group, as a
 * terminal sends it) stops the load, drains what was sent, and prints a summary in which the pipeline's
 * counts and the lake's reconcile with what was sent; then it stops every process it started and removes
 * its state.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
// As package.json runs it: one Node.js process (no tsx wrapper between the terminal's signals and it).
const NODE_ARGS = ['--import', 'tsx', 'scripts/start.ts'];
const start = (...args: string[]) =>
  spawnSync(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

/** npm start in its own process group (a terminal's foreground job), with its output collected. */
function startInGroup(local: string, ...args: string[]) {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: ROOT,
    env: { ...process.env, IMPRESSIONS_LOCAL_DIR: local },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => {
    out.stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out.stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (text: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!out.stdout.includes(text) && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 250));
  };
  /** Ctrl-C: SIGINT to the whole foreground group, as a terminal sends it. */
  const interrupt = () => process.kill(-child.pid!, 'SIGINT');
  return { out, exited, waitFor, interrupt };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start', () => {
  it('explains bad flags in one line with exit code 2', () => {
    const r = start('--events', 'lots');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('start: --events must be an integer from 1 to 10000000, got lots');
    expect(start('--rate', '0').stderr).toContain('--rate must be an integer');
    const u = start('--bogus');
    expect(u.status).toBe(2);
    expect(u.stderr.trim()).toBe("start: Unknown option '--bogus' (see npm start -- --help)");
  });

  it('prints its help', () => {
    const r = start('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--events <n>');
    expect(r.stdout).toContain('--keep');
  });

  it('Ctrl-C in the middle of the load: stops the load, drains, reconciles the pipeline and the lake, stops everything', async () => {
    const local = mkdtempSync(path.join(tmpdir(), 'impressions-start-'));
    const tmpBefore = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('impressions-emulator-')));
    const run = startInGroup(local, '--events', '100000', '--rate', '1000');
    await run.waitFor('sending', 420_000);
    expect(run.out.stdout, run.out.stderr).toContain('sending 100000 impressions at 1000/s');
    await new Promise((r) => setTimeout(r, 3000));
    const interruptedAt = Date.now();
    run.interrupt();
    const code = await run.exited;
    const stopSeconds = (Date.now() - interruptedAt) / 1000;
    const { stdout, stderr } = run.out;

    expect(stdout).toContain(
      'Ctrl-C: stopping the load; draining what was sent (Ctrl-C again skips the drain)',
    );
    const sent = Number(/Summary: (\d+) impressions sent .*, stopped by Ctrl-C/.exec(stdout)?.[1]);
    expect(sent, stdout).toBeGreaterThan(1000);
    expect(sent).toBeLessThan(100_000);
    // Honest summary: every row reconciles, the lake included, and nothing is marked ✗.
    expect(stdout).toMatch(new RegExp(`read\\s+${sent}\\s+${sent}\\s+✓`));
    const enriched = /\n\s+enriched\s+(\d+)\s+(\d+)\s+✓/.exec(stdout);
    expect(enriched?.[1]).toBe(enriched?.[2]);
    expect(stdout).toMatch(new RegExp(`lake rows committed\\s+${enriched?.[1]}\\s+${enriched?.[1]}\\s+✓`));
    expect(stdout).toContain(`lake rows committed ${enriched?.[1]} (enriched: ${enriched?.[1]})`);
    expect(stdout).toContain('✓ reconciles');
    expect(stdout).not.toContain('✗');
    expect(code, stderr).toBe(0);
    // Within seconds of draining, not minutes.
    expect(stopSeconds).toBeLessThan(120);

    // Without --keep the "try it" calls would be dead: it says how to get a stack that stays up instead.
    expect(stdout).not.toContain('curl -s');
    expect(stdout).toContain('npm start -- --keep');
    expect(stdout).toContain('stopped.');
    // Everything it started is gone: the emulator's process group, its temporary files, the session and lock.
    const pid = Number(/ministack pid (\d+)/.exec(stderr)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    for (const f of ['session.json', 'start.lock', 'stats.json'])
      expect(existsSync(path.join(local, f)), f).toBe(false);
    const tmpAfter = readdirSync(tmpdir()).filter(
      (f) => f.startsWith('impressions-emulator-') && !tmpBefore.has(f),
    );
    const ours = tmpAfter.filter((f) => f.includes(`-${/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]}-`));
    expect(ours).toEqual([]);
  }, 480_000);

  it('Ctrl-C during setup stops at once, with every process it started and its state gone', async () => {
    const local = mkdtempSync(path.join(tmpdir(), 'impressions-start-'));
    const run = startInGroup(local, '--events', '10');
    await run.waitFor('CDK app deployed', 120_000);
    await new Promise((r) => setTimeout(r, 2000));
    run.interrupt();
    expect(await run.exited).toBe(130);
    expect(run.out.stdout).toContain('Ctrl-C: stopping after the current setup step');
    expect(run.out.stderr).toContain('start: stopped during setup');
    const pid = Number(/ministack pid (\d+)/.exec(run.out.stderr)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    for (const f of ['session.json', 'start.lock']) expect(existsSync(path.join(local, f)), f).toBe(false);
  }, 180_000);
});
