/**
 * Every command-line tool, run as a user runs it (a spawned process, no emulator): `--help` works, a bad
 * argument is one line with exit code 2, and without a running local deployment the tools that need one
 * say so in one line. No stack trace, no AWS SDK notice, in any of these.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAKE_QUERIES } from '../../infra/lake-queries.js';
import { requireSession } from '../../ops/deployment.js';
import {
  CliError,
  describeError,
  helpText,
  NO_STACK,
  numberOption,
  parseArgv,
  parseCli,
} from '../../ops/kit.js';
import { countPlaceholders, listNamedQueries } from '../../ops/query.js';
import { awsPreflight } from '../e2e/aws-preflight.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** The tools as package.json runs them (`npm run <name> -- …` adds the arguments after these). */
const TOOLS = {
  query: ['scripts/impressions.ts', 'query'],
  loadgen: ['scripts/loadgen.ts'],
  cost: ['scripts/impressions.ts', 'cost'],
  seed: ['scripts/impressions.ts', 'seed'],
  start: ['scripts/start.ts'],
  stats: ['scripts/stats.ts'],
  emulator: ['scripts/emulator.ts', 'start'],
} as const;

/** Every other tool of the README's table, with its own help text. */
const OTHER_TOOLS = {
  bench: ['bench/run.ts'],
  erase: ['scripts/impressions.ts', 'erase'],
  redrive: ['scripts/impressions.ts', 'redrive'],
  reprocess: ['scripts/impressions.ts', 'reprocess'],
  'rebuild-history': ['scripts/impressions.ts', 'rebuild-history'],
  quality: ['scripts/impressions.ts', 'quality'],
} as const;
const ALL_TOOLS = { ...TOOLS, ...OTHER_TOOLS };

/** How a tool's help names it: the operator CLI's tools as `impressions <tool>`, the others as npm runs them. */
const commandOf = (tool: keyof typeof ALL_TOOLS) =>
  ALL_TOOLS[tool][0] === 'scripts/impressions.ts'
    ? `impressions ${tool}`
    : `npm ${tool === 'start' ? 'start' : `run ${tool}`} --`;

const LOCAL = mkdtempSync(path.join(tmpdir(), 'impressions-local-'));

/** Runs a tool as a separate process, without blocking this worker (many run at once). */
const run = (tool: keyof typeof ALL_TOOLS, ...args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      TSX,
      [...ALL_TOOLS[tool], ...args],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 90_000,
        env: {
          ...process.env,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '',
          IMPRESSIONS_DEBUG: '',
          // Whatever runs in this checkout, the tools see no deployment.
          IMPRESSIONS_LOCAL_DIR: LOCAL,
        },
      },
      (err, stdout, stderr) =>
        resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });

const clean = (out: string) => {
  expect(out).not.toMatch(/^\s+at /m);
  expect(out).not.toContain('NodeVersionSupportWarning');
  expect(out).not.toMatch(/Traceback|ECONNREFUSED$/m);
};

describe.concurrent.each(Object.keys(TOOLS) as (keyof typeof TOOLS)[])('%s', (tool) => {
  it('prints its help with --help and -h (exit 0)', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run(tool, flag);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.startsWith(`Usage: ${commandOf(tool)} [options]`), r.stdout).toBe(true);
      expect(r.stdout).toContain('-h, --help');
      clean(r.stdout + r.stderr);
    }
  });

  it('explains a bad argument in one line (exit 2)', async () => {
    const r = await run(tool, '--no-such-option');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("Unknown option '--no-such-option'");
    expect(r.stderr).not.toContain('To specify a positional argument');
    expect(r.stderr).toContain(`--help`);
    clean(r.stderr);
  });
});

describe.concurrent.each(Object.keys(ALL_TOOLS) as (keyof typeof ALL_TOOLS)[])('%s (every tool)', (tool) => {
  it('answers an unknown option in one line naming it and where the help is (exit 2)', async () => {
    const r = await run(tool, '--bogus');
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe(`${tool}: Unknown option '--bogus' (see ${commandOf(tool)} --help)`);
    expect(r.stdout).toBe('');
    clean(r.stderr);
  });
});

describe.concurrent('a bad option value, a negative number included: one line naming the option, the value and what is allowed (exit 2)', () => {
  const cases: [keyof typeof ALL_TOOLS, string[], string][] = [
    ['loadgen', ['--events', '-5'], 'loadgen: --events must be an integer from 1 to 1000000000, got -5'],
    ['start', ['--events', '-5'], 'start: --events must be an integer from 1 to 10000000, got -5'],
    ['seed', ['--count', '-5'], 'seed: --count must be an integer from 1 to 100000, got -5'],
    [
      'cost',
      ['--events-per-sec', '-5'],
      'cost: --events-per-sec must be a number from 1 to 1000000000, got -5',
    ],
    ['cost', ['--dynamodb', 'free'], 'cost: --dynamodb must be provisioned or on-demand, got free'],
    [
      'redrive',
      ['--max-messages', '-5'],
      'redrive: --max-messages must be an integer from 1 to 1000000, got -5',
    ],
    [
      'reprocess',
      ['--from', '2026-11-26', '--wait', '-5'],
      'reprocess: --wait must be an integer from 0 to 3600, got -5',
    ],
    [
      'rebuild-history',
      ['--from', 'yesterday'],
      'rebuild-history: --from must be a date or an RFC 3339 time, e.g. 2026-11-26T18:00:00Z, got yesterday',
    ],
    [
      'rebuild-history',
      ['--from', '2026-11-26', '--retention-days', '-5'],
      'rebuild-history: --retention-days must be an integer from 1 to 3650, got -5',
    ],
    [
      'erase',
      ['--profile', 'x y'],
      'erase: --profile must be a profile id: 1-64 characters of A-Z a-z 0-9 _ -',
    ],
    ['bench', ['--quick', 'extra'], "bench: Unexpected argument 'extra' (see npm run bench -- --help)"],
    [
      'query',
      ['--named', 'top-titles-per-day', '--param'],
      "query: Option '--param <value>' argument missing (see impressions query --help)",
    ],
  ];
  it.each(cases)('%s %s', async (tool, args, line) => {
    const r = await run(tool, ...args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe(line);
    clean(r.stderr);
  });
});

describe.concurrent('without a running local deployment', () => {
  const cases: [keyof typeof TOOLS, string[]][] = [
    ['query', ['SELECT 1']],
    ['loadgen', ['--events', '10']],
    ['seed', []],
    ['stats', []],
  ];
  it.each(cases)('%s says so in one line (exit 1)', async (tool, args) => {
    const r = await run(tool, ...args);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim()).toBe(`${tool}: ${NO_STACK}`);
    expect(r.stdout).toBe('');
  });
});

describe.concurrent('bad arguments the tools know about', () => {
  it('query names the parameters a named query needs, and a missing file', async () => {
    const r = await run('query', '--named', 'top-titles-per-day', '--param', '2026-11-01');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      'query: top-titles-per-day takes 2 --param (first day (date), last day (date)), got 1',
    );
    const f = await run('query', '--file', 'no-such-file.sql');
    expect(f.stderr.trim()).toBe('query: no such file: no-such-file.sql');
    expect((await run('query', '--named', 'nope')).stderr).toMatch(/^query: no named query "nope"; known: /);
    expect((await run('query', 'SELECT ?')).stderr.trim()).toBe(
      'query: the SQL has 1 ? placeholder(s) and 0 --param given',
    );
  });

  it('query --list shows every named query with its parameters (no deployment needed)', async () => {
    const r = await run('query', '--list');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${listNamedQueries()}\n`);
    for (const q of LAKE_QUERIES) expect(r.stdout).toContain(q.name);
    expect(r.stdout).toContain('top-titles-per-day --param <first day (date)> --param <last day (date)>');
  });

  it('numbers are checked with their range', async () => {
    expect((await run('loadgen', '--rate', 'fast')).stderr.trim()).toBe(
      'loadgen: --rate must be an integer from 1 to 1000000, got fast',
    );
    expect((await run('cost', '--accepted-share', '2')).status).toBe(2);
    expect((await run('start', '--events', '0')).stderr.trim()).toBe(
      'start: --events must be an integer from 1 to 10000000, got 0',
    );
    expect((await run('emulator', 'restart')).stderr.trim()).toMatch(/^emulator: unknown command/);
  });
});

describe('shared plumbing (ops/kit.ts)', () => {
  const spec = {
    command: 'npm run x --',
    description: 'x',
    options: { n: { type: 'string', arg: '<n>', help: 'a number' }, all: { type: 'boolean', help: 'all' } },
  } as const;

  it('parses options and generates the help from the same table', () => {
    expect(parseCli(spec, ['--n', '3', '--all']).values).toEqual({ n: '3', all: true });
    expect(helpText(spec)).toContain('--n <n>');
    expect(() => parseCli(spec, ['--m'])).toThrow(CliError);
    expect(() => parseCli(spec, ['stray'])).toThrow(/Unexpected argument 'stray'/);
  });

  it('parseArgv reads a negative number after an option that takes a value as that value', () => {
    const o = { n: { type: 'string', short: 'n' }, all: { type: 'boolean' } } as const;
    expect(parseArgv(['--n', '-5'], o, 'x --help').values).toEqual({ n: '-5' });
    expect(parseArgv(['-n', '-0.5', '--all'], o, 'x --help').values).toEqual({ n: '-0.5', all: true });
    expect(() => parseArgv(['--all', '-5'], o, 'x --help')).toThrow(CliError);
    expect(() => parseArgv(['--bogus'], o, 'x --help')).toThrow("Unknown option '--bogus' (see x --help)");
    expect(parseArgv(['--', '-5'], o, 'x --help', true).positionals).toEqual(['-5']);
  });

  it('numberOption keeps to its range and kind', () => {
    expect(numberOption(undefined, 'n', 1, 2)).toBeUndefined();
    expect(numberOption('2', 'n', 1, 2)).toBe(2);
    expect(() => numberOption('1.5', 'n', 1, 2)).toThrow('--n must be an integer from 1 to 2, got 1.5');
    expect(numberOption('0.5', 'n', 0, 1, true)).toBe(0.5);
    expect(() => numberOption('', 'n', 0, 1, true)).toThrow(CliError);
  });

  it('a session file left by a process that is gone is removed and reported as no deployment', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'session-'));
    const file = path.join(dir, 'session.json');
    const dead = spawnSync('true').pid!;
    writeFileSync(
      file,
      JSON.stringify({ endpoint: 'http://127.0.0.1:1', pipelineStack: 'x', outputs: {}, pid: dead }),
    );
    expect(() => requireSession(file)).toThrow(NO_STACK);
    expect(() => requireSession(file)).toThrow(NO_STACK); // and the file is gone
    writeFileSync(file, '{ not json');
    expect(() => requireSession(file)).toThrow(NO_STACK);
    writeFileSync(
      file,
      JSON.stringify({ endpoint: 'http://x', pipelineStack: 'x', outputs: {}, pid: process.pid }),
    );
    expect(requireSession(file).endpoint).toBe('http://x');
  });

  it('a refused connection reads as "no deployment", not ECONNREFUSED', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });
    expect(describeError(err)).toContain(NO_STACK);
    expect(describeError(new Error('first line\nsecond'))).toBe('first line');
  });

  it('counts ? placeholders outside literals and comments', () => {
    expect(countPlaceholders('SELECT ?, \'?\', "?" -- ?\n, ? /* ? */')).toBe(2);
  });
});

describe('npm run test:e2e:aws preflight (test/e2e/aws-preflight.ts)', () => {
  it('says what is missing in one line: the region, then usable credentials', async () => {
    const never = async () => {
      throw new Error('not called');
    };
    expect(await awsPreflight({}, never)).toEqual({
      problem: 'E2E_TARGET=aws needs AWS_REGION and credentials for the account to deploy to',
    });
    const noCredentials = async () => {
      throw new Error('Could not load credentials from any providers\n    at somewhere');
    };
    expect(await awsPreflight({ AWS_REGION: 'eu-west-1' }, noCredentials)).toEqual({
      problem:
        'no usable AWS credentials for eu-west-1 (Could not load credentials from any providers): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the account to deploy to',
    });
    const role = 'arn:aws:iam::123456789012:role/ci';
    expect(await awsPreflight({ AWS_DEFAULT_REGION: 'us-east-1' }, async () => role)).toEqual({
      region: 'us-east-1',
      runner: role,
    });
  });
});
