/**
 * `npm start`'s lifecycle pieces that need no emulator: one run per checkout (a lock with the PID, stale
 * locks detected and their orphaned processes ended), and a live view whose refreshes never overlap and
 * whose probes are bounded.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive } from '../../ops/deployment.js';
import { FreshnessProbe, serialLoop } from '../../scripts/live-stats.js';
import { acquireLock } from '../../scripts/start.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('one npm start per checkout', () => {
  it('refuses a second run while the first holds the lock, naming its PID', async () => {
    const local = mkdtempSync(path.join(tmpdir(), 'impressions-local-'));
    writeFileSync(
      path.join(local, 'start.lock'),
      JSON.stringify({ pid: process.pid, startedAt: 'now', groups: [] }),
    );
    const r = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) =>
      execFile(
        path.join(ROOT, 'node_modules', '.bin', 'tsx'),
        ['scripts/start.ts', '--events', '10'],
        { cwd: ROOT, env: { ...process.env, IMPRESSIONS_LOCAL_DIR: local }, timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `start: another npm start is running in this checkout (pid ${process.pid}, since now): stop it first (Ctrl-C in its terminal), or use its stack (npm run query, npm run loadgen, npm run stats)`,
    );
    expect(r.stdout).not.toContain('emulator started');
    // The holder's lock is left alone.
    expect(JSON.parse(readFileSync(path.join(local, 'start.lock'), 'utf8')).pid).toBe(process.pid);
  });

  it('takes over a stale lock and ends the process groups its dead run left behind', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'impressions-lock-')), 'start.lock');
    // An "orphaned emulator": a process in its own group, outliving the run that started it.
    const orphan = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    const dead = spawnSync('true').pid!;
    writeFileSync(file, JSON.stringify({ pid: dead, startedAt: 'earlier', groups: [orphan.pid] }));
    const exited = new Promise((r) => orphan.once('exit', r));
    const { lock, cleaned } = acquireLock(file);
    expect(lock.pid).toBe(process.pid);
    expect(cleaned).toEqual([`stopped processes left by an earlier run (process group ${orphan.pid})`]);
    await exited;
    expect(alive(orphan.pid!)).toBe(false);
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
    // And a lock that cannot be read is stale too.
    writeFileSync(file, 'garbage');
    expect(acquireLock(file).lock.pid).toBe(process.pid);
    expect(existsSync(file)).toBe(true);
  });
});

describe('live view', () => {
  it('never starts a refresh before the previous one ended', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const stop = new AbortController();
    const loop = serialLoop(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs++;
        await new Promise((r) => setTimeout(r, 30)); // slower than the interval
        running--;
        if (runs === 5) stop.abort();
      },
      1,
      stop.signal,
    );
    await loop;
    expect(runs).toBe(5);
    expect(maxRunning).toBe(1);
    expect(running).toBe(0);
  });

  it('keeps going after a failed refresh', async () => {
    let runs = 0;
    const stop = new AbortController();
    await serialLoop(
      async () => {
        if (++runs === 3) stop.abort();
        throw new Error('emulator busy');
      },
      1,
      stop.signal,
    );
    expect(runs).toBe(3);
  });

  it('freshness probes make at most a few API calls at a time, one poll at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const probe = new FreshnessProbe(async () => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return { status: 200, json: () => ({ items: [] }) };
    });
    for (let i = 0; i < 50; i++)
      probe.offer({ profileId: `p${i}`, eventId: `e${i}`, eventTimeMs: Date.now() });
    // Ten polls fired at once (a stalled caller): only one runs, with at most 3 calls, one after the other.
    await Promise.all(Array.from({ length: 10 }, () => probe.poll()));
    expect(calls).toBe(3);
    expect(maxInFlight).toBe(1);
  });
});
