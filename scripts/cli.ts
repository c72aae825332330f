/**
 * What every command-line tool of the project shares: option parsing (node:util parseArgs) with a generated
 * `--help`, numeric option checks, the local deployment `npm start -- --keep` leaves running
 * (.local/session.json), and one exit path that prints expected failures as one line, never a stack trace.
 *
 * Import it first: it also silences the AWS SDK's Node.js-version notice before any client is created (the
 * local tools run on the machine's Node.js, 20 here; the deployed functions run on Node.js 22).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Where local runs keep their state (docs/local-state in the README; IMPRESSIONS_LOCAL_DIR for tests). */
export const LOCAL_DIR = process.env.IMPRESSIONS_LOCAL_DIR ?? path.join(ROOT, '.local');
/** The deployment `npm start` is running: written when it is ready, removed when it stops. */
export const SESSION_FILE = path.join(LOCAL_DIR, 'session.json');

export const NO_STACK = 'no local deployment is running: start one with npm start -- --keep';

/** An expected failure: printed as one line, exit code `code` (2: bad usage, 1: anything else). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
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

export interface CliSpec<O extends Record<string, OptionSpec>> {
  /** How the tool is run, e.g. `npm run query --`. */
  readonly command: string;
  /** What follows the options in the usage line, e.g. `["<SQL>"]`. */
  readonly positionals?: string;
  readonly description: string;
  readonly options: O;
  /** Examples and notes after the options. */
  readonly footer?: string;
}

type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean'
    ? boolean
    : O[K]['multiple'] extends true
      ? string[]
      : string;
};

export interface Parsed<O extends Record<string, OptionSpec>> {
  readonly values: Values<O>;
  readonly positionals: readonly string[];
}

/** The help text of a tool. */
export function helpText<O extends Record<string, OptionSpec>>(spec: CliSpec<O>): string {
  const rows = Object.entries({
    ...spec.options,
    help: { type: 'boolean', short: 'h', help: 'show this help' } satisfies OptionSpec,
  }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.arg ?? '<value>'}` : ''}`;
    return [flag, o.help + (o.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return [
    `Usage: ${spec.command} [options]${spec.positionals ? ` ${spec.positionals}` : ''}`,
    '',
    spec.description,
    '',
    'Options:',
    ...rows.map(([f, h]) => `  ${f.padEnd(width)}${h}`),
    ...(spec.footer ? ['', spec.footer] : []),
    '',
  ].join('\n');
}

/** A value that parseArgs would read as an option: a negative number (`-5`, `-0.5`, `-1e3`). */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Parses `argv` against parseArgs options, strictly, for every tool: a negative number after an option that
 * takes a value is that value (`--events -5` reads as `--events=-5`, so the tool's own check names the value
 * and its range, instead of parseArgs' "argument is ambiguous"). A mistake is a CliError (exit 2): the first
 * sentence of parseArgs' message (its advice about `--` is wrong under npm, which eats the first `--`) and
 * where the help is.
 */
export function parseArgv<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: T,
  help: string,
  allowPositionals = false,
) {
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

/**
 * Parses `argv` against the tool's options. `--help` prints the help and exits 0; a bad option throws a
 * CliError (exit 2) that names it and points at `--help`.
 */
export function parseCli<O extends Record<string, OptionSpec>>(
  spec: CliSpec<O>,
  argv: readonly string[],
): Parsed<O> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  const parsed = parseArgv(argv, options, `${spec.command} --help`, Boolean(spec.positionals));
  if (parsed.values.help) {
    process.stdout.write(helpText(spec));
    process.exit(0);
  }
  return { values: parsed.values as Values<O>, positionals: parsed.positionals };
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

export interface LocalSession {
  readonly endpoint: string;
  readonly pipelineStack: string;
  readonly outputs: Record<string, string>;
  /** The `npm start` process that runs the deployment. */
  readonly pid?: number;
}

/** Whether a process with this id is alive (signal 0 checks without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The deployment `npm start -- --keep` is running, or a CliError saying how to start one. A session file
 * left behind by a run that ended without cleaning up (its process is gone) is removed.
 */
export function requireSession(file = SESSION_FILE): LocalSession {
  if (!existsSync(file)) throw new CliError(NO_STACK);
  let session: LocalSession;
  try {
    session = JSON.parse(readFileSync(file, 'utf8')) as LocalSession;
  } catch {
    rmSync(file, { force: true });
    throw new CliError(NO_STACK);
  }
  if (
    typeof session.endpoint !== 'string' ||
    !session.outputs ||
    (session.pid !== undefined && !alive(session.pid))
  ) {
    rmSync(file, { force: true });
    throw new CliError(NO_STACK);
  }
  return session;
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'ETIMEDOUT']);

/** One line for an error: its message, or what a refused connection means here. */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & {
    cause?: NodeJS.ErrnoException;
    errors?: NodeJS.ErrnoException[];
  };
  const code = e?.code ?? e?.cause?.code ?? e?.errors?.[0]?.code;
  if (code && CONNECTION_ERRORS.has(code)) return `cannot reach the deployment (${code}): ${NO_STACK}`;
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] || String(code ?? 'failed');
}

/**
 * Runs a tool's main function and exits with its code. Expected failures (CliError) and any other error
 * print one line on stderr, prefixed with the tool's name; IMPRESSIONS_DEBUG=1 adds the stack.
 */
export function runCli(name: string, main: () => Promise<number | undefined> | number | undefined): void {
  const fail = (err: unknown) => {
    process.stderr.write(`${name}: ${describeError(err)}\n`);
    if (process.env.IMPRESSIONS_DEBUG && err instanceof Error && err.stack)
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

/** Whether this module is the process's entry point (`tsx scripts/x.ts`), not an import. */
export const isEntryPoint = (moduleFile: string): boolean =>
  Boolean(process.argv[1]) && path.resolve(process.argv[1]!) === path.resolve(moduleFile);
