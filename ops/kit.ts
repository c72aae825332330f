/**
 * The one command-line kit of the project: every tool (the `impressions` operator CLI and the local
 * development commands of scripts/) declares its options once (`ToolSpec`), from which its `--help` is
 * generated; arguments are parsed by node:util parseArgs; an expected failure is a `CliError` printed as one
 * line with its exit code (2: bad usage, 1: anything else); `--debug` (or IMPRESSIONS_DEBUG=1) adds the stack.
 *
 * Import it first: it also silences the AWS SDK's Node.js-version notice before any client is created (the
 * tools run on the machine's Node.js; the deployed functions run on Node.js 22).
 */
import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { isProfileId } from '../lambdas/domain/profile-id.js';
import { parseRfc3339 } from '../lambdas/domain/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';

/** An expected failure: printed as one line, exit code `code` (2: bad usage, 1: anything else). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in the help, e.g. `<n>`. */
  readonly arg?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface CliSpec<O extends OptionSpecs> {
  /** How the tool is run, e.g. `impressions redrive` or `npm run loadgen --`. */
  readonly command: string;
  /** What follows the options in the usage line, e.g. `"<SQL>"`. */
  readonly positionals?: string;
  readonly description: string;
  readonly options: O;
  /** Examples and notes after the options. */
  readonly footer?: string;
}

type Values<O extends OptionSpecs> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean'
    ? boolean
    : O[K]['multiple'] extends true
      ? string[]
      : string;
};

export interface Parsed<O extends OptionSpecs> {
  readonly values: Values<O> & { readonly help?: boolean; readonly debug?: boolean };
  readonly positionals: readonly string[];
}

/** The options every tool has. */
const BUILT_IN = {
  debug: { type: 'boolean', help: 'on an error, print its stack trace too (also IMPRESSIONS_DEBUG=1)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionSpecs;

/** The help text of a tool, generated from its spec. */
export function helpText<O extends OptionSpecs>(spec: CliSpec<O>): string {
  const rows = Object.entries({ ...spec.options, ...BUILT_IN }).map(([name, o]: [string, OptionSpec]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.arg ?? '<value>'}` : ''}`;
    return [flag, o.help + (o.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  const indent = ' '.repeat(width + 2);
  return [
    `Usage: ${spec.command} [options]${spec.positionals ? ` ${spec.positionals}` : ''}`,
    '',
    spec.description,
    '',
    'Options:',
    ...rows.map(([f, h]) => `  ${f.padEnd(width)}${h.replace(/\n/g, `\n${indent}`)}`),
    ...(spec.footer ? ['', spec.footer] : []),
    '',
  ].join('\n');
}

/** What parseArgs returns for options `T`. */
export type ParsedArgs<T extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ options: T; allowPositionals: boolean; strict: true }>
>;

/** A value that parseArgs would read as an option: a negative number (`-5`, `-0.5`, `-1e3`). */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Parses `argv` against parseArgs options, strictly: a negative number after an option that takes a value is
 * that value (`--events -5` reads as `--events=-5`, so the tool's own check names the value and its range,
 * instead of parseArgs' "argument is ambiguous"). A mistake is a CliError (exit 2): the first sentence of
 * parseArgs' message (its advice about `--` is wrong under npm, which eats the first `--`) and where the help
 * is.
 */
export function parseArgv<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: T,
  help: string,
  allowPositionals = false,
): ParsedArgs<T> {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options))
    if (o.type === 'string') {
      takesValue.add(`--${name}`);
      if (o.short) takesValue.add(`-${o.short}`);
    }
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (takesValue.has(arg) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      const long = arg.startsWith('--')
        ? arg
        : `--${Object.entries(options).find(([, o]) => `-${o.short}` === arg)![0]}`;
      args.push(`${long}=${next}`);
      i++;
    } else args.push(arg);
  }
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    const first = (err as Error).message.split('. ')[0]!.replace(/\.$/, '');
    throw new CliError(`${first} (see ${help})`, 2);
  }
}

/** Thrown by `parseCli` after it printed the help: the tool ends with exit code 0. */
export class HelpShown extends Error {}

/** Whether the run asked for stack traces (`--debug` anywhere before `--`, or IMPRESSIONS_DEBUG=1). */
let debugRequested = false;

/**
 * Parses `argv` against the tool's spec (plus `--help` and `--debug`). `--help` prints the generated help and
 * throws `HelpShown` (runCli exits 0); a bad option throws a CliError (exit 2) that names it and points at
 * `--help`.
 */
export function parseCli<O extends OptionSpecs>(
  spec: CliSpec<O>,
  argv: readonly string[],
  stdout: { write(text: string): unknown } = process.stdout,
): Parsed<O> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, o] of Object.entries({ ...spec.options, ...BUILT_IN }) as [string, OptionSpec][]) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  if (argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length).includes('--debug'))
    debugRequested = true;
  const parsed = parseArgv(argv, options, `${spec.command} --help`, Boolean(spec.positionals));
  if (parsed.values.help) {
    stdout.write(helpText(spec));
    throw new HelpShown();
  }
  return { values: parsed.values as Parsed<O>['values'], positionals: parsed.positionals };
}

/** A numeric option within [min, max] (an integer unless `fraction`), or undefined when absent. */
export function numberOption(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
  fraction = false,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (!fraction && !Number.isInteger(n)))
    throw new CliError(
      `--${name} must be ${fraction ? 'a number' : 'an integer'} from ${min} to ${max}, got ${value}`,
      2,
    );
  return n;
}

/** An instant given as RFC 3339 (or a date, meaning its UTC midnight); undefined when absent. */
export function timeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseRfc3339(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms))
    throw new CliError(
      `--${name} must be a date or an RFC 3339 time, e.g. 2026-11-26T18:00:00Z, got ${value}`,
      2,
    );
  return ms;
}

/** `--from` (required) and `--to` (default: a minute after `nowMs`), as epoch ms. */
export function timeRange(
  values: { from?: string; to?: string },
  nowMs = Date.now(),
): { fromMs: number; toMs: number } {
  const fromMs = timeOption(values.from, 'from');
  if (fromMs === undefined) throw new CliError('--from is required (e.g. --from 2026-11-26)', 2);
  const toMs = timeOption(values.to, 'to') ?? nowMs + 60_000;
  if (toMs <= fromMs) throw new CliError('--to must be after --from', 2);
  return { fromMs, toMs };
}

/** A progress bar on stderr when it is a terminal; silent otherwise. */
export function progress(label: string, initialTotal: number | undefined, stream = process.stderr) {
  let total = initialTotal;
  const tty = Boolean(stream.isTTY);
  let last = 0;
  const draw = (done: number, note = '', newTotal?: number) => {
    if (newTotal !== undefined) total = newTotal;
    if (!tty) return;
    const now = Date.now();
    if (now - last < 100 && done !== total) return;
    last = now;
    const width = 30;
    const bar =
      total && total > 0
        ? `[${'#'.repeat(Math.round((Math.min(done, total) / total) * width)).padEnd(width, ' ')}] ${done}/${total}`
        : `${done}`;
    stream.write(`\r\x1b[2K${label} ${bar} ${note}`);
  };
  return {
    update: draw,
    done(): void {
      if (tty) stream.write('\r\x1b[2K');
    },
  };
}

/** Prints a summary: aligned `name  value` lines, or with `json` the machine-readable `data`. */
export function printSummary(
  title: string,
  rows: Record<string, unknown>,
  json: boolean,
  data: unknown = rows,
): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(rows).map((k) => k.length));
  const lines = Object.entries(rows).map(([k, v]) => `  ${k.padEnd(width)}  ${formatValue(v)}`);
  process.stdout.write(`${title}\n${lines.join('\n')}\n`);
}

function formatValue(v: unknown): string {
  if (v && typeof v === 'object')
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${String(x)}`)
      .join(', ');
  return String(v);
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'ETIMEDOUT']);

/** What a refused connection to the local deployment means. */
export const NO_STACK = 'no local deployment is running: start one with npm start -- --keep';

/** One line for an error: its message, or what a refused connection means here. */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & {
    cause?: NodeJS.ErrnoException;
    errors?: NodeJS.ErrnoException[];
  };
  const code = e?.code ?? e?.cause?.code ?? e?.errors?.[0]?.code;
  if (code && CONNECTION_ERRORS.has(code)) return `cannot reach the deployment (${code}): ${NO_STACK}`;
  if (err instanceof CliError) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error && err.name !== 'Error' ? `${err.name}: ` : '';
  return `${name}${message.split('\n')[0] || String(code ?? 'failed')}`;
}

/**
 * Runs a tool's main function and sets the exit code from its result. `HelpShown` is exit 0; expected
 * failures (CliError) and any other error print one line on stderr, prefixed with the tool's name;
 * `--debug` or IMPRESSIONS_DEBUG=1 adds the stack.
 */
export function runCli(name: string, main: () => Promise<number | undefined> | number | undefined): void {
  const fail = (err: unknown) => {
    if (err instanceof HelpShown) {
      process.exitCode = 0;
      return;
    }
    process.stderr.write(`${name}: ${describeError(err)}\n`);
    if ((debugRequested || process.env.IMPRESSIONS_DEBUG) && err instanceof Error && err.stack)
      process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof CliError ? err.code : 1;
  };
  try {
    Promise.resolve(main()).then((code) => {
      process.exitCode = code ?? 0;
    }, fail);
  } catch (err) {
    fail(err);
  }
}

/**
 * Whether this module is the process's entry point (`tsx scripts/x.ts`, or the package's `bin` through the
 * symbolic link npm makes for it), not an import.
 */
export function isEntryPoint(moduleFile: string): boolean {
  const started = process.argv[1];
  if (!started) return false;
  const real = (f: string) => {
    try {
      return realpathSync(path.resolve(f));
    } catch {
      return path.resolve(f);
    }
  };
  return real(started) === real(moduleFile);
}

/** `--profile` values, each checked against the contract's profile id. */
export function profilesOption(values: readonly string[] | undefined): string[] {
  const profiles = [...(values ?? [])];
  for (const p of profiles)
    if (!isProfileId(p))
      throw new CliError(
        `--profile ${JSON.stringify(p)} is not a profile id (1-64 characters of A-Z a-z 0-9 _ -)`,
        2,
      );
  return profiles;
}

/** The options of the tools that change something and report it. */
export const OUTPUT_OPTIONS = {
  'dry-run': { type: 'boolean', help: 'show what would be done, change nothing' },
  json: { type: 'boolean', help: 'print the summary as JSON on stdout' },
} as const satisfies OptionSpecs;

/** The options of the tools that work on a time range of the lake. */
export const RANGE_OPTIONS = {
  from: {
    type: 'string',
    arg: '<time>',
    help: 'from this time (RFC 3339, or a date meaning its UTC midnight); required',
  },
  to: { type: 'string', arg: '<time>', help: '... up to this time, exclusive (default: now)' },
  profile: { type: 'string', arg: '<id>', multiple: true, help: 'only these profiles' },
} as const satisfies OptionSpecs;
