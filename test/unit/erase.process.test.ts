/** `npm run erase` run as a user runs it (a child process): its help, and one line for a bad argument. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('command line', () => {
  const run = (...args: string[]) =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join('scripts', 'impressions.ts'), 'erase', ...args],
      {
        encoding: 'utf8',
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
    );

  it('--help prints the usage; a bad id or option is one line on stderr and exit 2, no stack trace', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: impressions erase [options]');
    for (const args of [
      ["--profile=x' OR 1=1"],
      ['--profile', 'p', '--bogus'],
      ['--profile', 'p', '--stage', 'a', '--stack', 'b'],
    ]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^erase: /);
    }
  });
});
