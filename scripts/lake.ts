/**
 * The local lake: the Iceberg delivery stand-in (scripts/lake/delivery.py) and SQL over the local Iceberg
 * tables (scripts/lake/query.py), both in the pinned .venv-lake/. The table definitions they use are
 * exported from lambdas/domain/lake-schema.ts, the same source as the CDK Glue tables.
 *
 * CLI (against the deployment that `npm start` is running, found in .local/session.json):
 *   npm run query -- "SELECT count(*) FROM impressions"
 *   npm run query -- --file my-query.sql [--param value ...]
 *   npm run query -- --named top-titles-per-day --param 2026-11-01 --param 2026-11-30
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { LAKE_QUERIES } from '../infra/lake-queries.js';
import { LAKE_TABLES, type LakeTableDefinition, WIRE_RULES } from '../lambdas/domain/lake-schema.js';
import {
  CliError,
  type CliSpec,
  isEntryPoint,
  type OptionSpec,
  parseCli,
  requireSession,
  runCli,
} from './cli.js';
import { EMULATOR_CREDENTIALS, ensureLakeInstalled, LOCAL_DIR, ROOT } from './emulator.js';

const LAKE_DIR = path.join(ROOT, 'scripts', 'lake');

export { type LocalSession, SESSION_FILE } from './cli.js';

/**
 * Writes the table definitions for the Python tools; returns the file's path. `tables` other than the app's
 * (an older definition, in the schema-evolution test) go to a file of their own, `name`.
 */
export function writeDefinitions(
  tables: readonly LakeTableDefinition[] = LAKE_TABLES,
  name = 'tables.json',
): string {
  const dir = path.join(LOCAL_DIR, 'lake');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify({ tables, wireRules: WIRE_RULES }, null, 2));
  return file;
}

function pythonEnv(endpoint: string): NodeJS.ProcessEnv {
  return { ...process.env, ...EMULATOR_CREDENTIALS, AWS_ENDPOINT_URL: endpoint, PYTHONUNBUFFERED: '1' };
}

export interface DeliveryHandle {
  readonly process: ChildProcess;
  /** Rows committed so far by this stand-in, per table. */
  committed(): Readonly<Record<string, number>>;
  /** Records refused (written to the error prefix, never committed) so far, per table. */
  failed(): Readonly<Record<string, number>>;
  /** Asks the stand-in to commit what it has buffered now, without waiting for its buffering interval. */
  flush(): void;
  /** Graceful stop: the stand-in commits what it has buffered, then exits (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
  /** Hard kill (SIGKILL), as a crash would. */
  kill(): Promise<number | null>;
}

export interface DeliveryOptions {
  readonly endpoint: string;
  readonly pipelineStack: string;
  /** Shortens the configured buffering interval locally. @default 2 */
  readonly bufferSeconds?: number;
  /** Where the stand-in's log goes. @default .local/lake/delivery.log */
  readonly logFile?: string;
  /** The table definitions the stand-in writes by, and the file they go to. @default the app's, tables.json */
  readonly definitions?: { readonly tables: readonly LakeTableDefinition[]; readonly file: string };
}

/** Starts the delivery stand-in and resolves once it has found its deliveries and opened its tables. */
export async function startDelivery(options: DeliveryOptions): Promise<DeliveryHandle> {
  const python = ensureLakeInstalled();
  const definitions = options.definitions
    ? writeDefinitions(options.definitions.tables, options.definitions.file)
    : writeDefinitions();
  const logFile = options.logFile ?? path.join(LOCAL_DIR, 'lake', 'delivery.log');
  const { openSync } = await import('node:fs');
  const err = openSync(logFile, 'a');
  const child = spawn(
    python,
    [
      path.join(LAKE_DIR, 'delivery.py'),
      '--endpoint',
      options.endpoint,
      '--stack',
      options.pipelineStack,
      '--definitions',
      definitions,
      '--buffer-seconds',
      String(options.bufferSeconds ?? 2),
    ],
    // Its own process group: a Ctrl-C in the terminal must not stop it before it has delivered what was
    // sent; whoever started it stops it (stop(), or SIGKILL when this process exits).
    { cwd: ROOT, env: pythonEnv(options.endpoint), stdio: ['ignore', 'pipe', err], detached: true },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const committed: Record<string, number> = {};
  const failed: Record<string, number> = {};
  const ready = new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.includes('"ready": true')) resolve();
      if (line.startsWith('{"committed"')) {
        const c = JSON.parse(line) as { committed: number; table: string };
        committed[c.table] = (committed[c.table] ?? 0) + c.committed;
      }
      if (line.startsWith('{"failed"')) {
        const f = JSON.parse(line) as { failed: number; table: string };
        failed[f.table] = (failed[f.table] ?? 0) + f.failed;
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`lake delivery exited with ${code} before it was ready; see ${logFile}`)),
    );
  });
  const killOnExit = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  await ready;
  return {
    process: child,
    committed: () => ({ ...committed }),
    failed: () => ({ ...failed }),
    flush: () => {
      if (child.exitCode === null) child.kill('SIGUSR1');
    },
    stop: async (graceMs = 15_000) => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

export interface QueryOptions {
  readonly endpoint: string;
  readonly database: string;
  readonly sql: string;
  readonly params?: readonly string[];
}

/** Runs SQL over the local lake and returns the rows as objects. */
/** The query tool's command line for a query. */
function queryArgs(options: QueryOptions & { readonly json: boolean }): string[] {
  const args = [
    path.join(LAKE_DIR, 'query.py'),
    options.sql,
    '--endpoint',
    options.endpoint,
    '--database',
    options.database,
  ];
  for (const p of options.params ?? []) args.push('--param', p);
  if (options.json) args.push('--json');
  return args;
}

export function queryLake(options: QueryOptions): Record<string, unknown>[] {
  const python = ensureLakeInstalled();
  const r = spawnSync(python, queryArgs({ ...options, json: true }), {
    cwd: ROOT,
    env: pythonEnv(options.endpoint),
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (r.status !== 0)
    throw new Error(`query failed (${r.status ?? r.signal ?? r.error?.message}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The local tables' schema and partition spec as the catalog has them (Iceberg JSON). */
export function describeLake(endpoint: string, database: string): Record<string, Record<string, unknown>> {
  const python = ensureLakeInstalled();
  const r = spawnSync(
    python,
    [path.join(LAKE_DIR, 'describe.py'), '--endpoint', endpoint, '--database', database],
    { cwd: ROOT, env: pythonEnv(endpoint), encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`describe failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
}

const QUERY_CLI = {
  command: 'npm run query --',
  positionals: '"<SQL>"',
  description:
    'SQL over the local Iceberg tables (impressions, impressions_rejected) of the deployment that\n' +
    '`npm start -- --keep` is running, with DuckDB. `?` placeholders are bound from --param, in order.',
  options: {
    file: { type: 'string', arg: '<path>', help: 'read the SQL from this file' },
    named: { type: 'string', arg: '<name>', help: "run one of the app's named queries (see --list)" },
    param: { type: 'string', multiple: true, arg: '<value>', help: 'a value for the next ? placeholder' },
    json: { type: 'boolean', help: 'print rows as JSON objects, one per line, on stdout only' },
    list: { type: 'boolean', help: 'list the named queries and their parameters' },
  },
  footer: [
    'Examples:',
    '  npm run query -- "SELECT title_name, count(*) AS n FROM impressions GROUP BY 1 ORDER BY n DESC LIMIT 5"',
    '  npm run query -- --named top-titles-per-day --param 2026-11-01 --param 2026-11-30',
    '  npm run -s query -- --json "SELECT * FROM impressions LIMIT 3"   (-s: no npm banner on stdout)',
  ].join('\n'),
} as const satisfies CliSpec<Record<string, OptionSpec>>;

/** The named queries, one block each: name, parameters in order, description. */
export function listNamedQueries(): string {
  return LAKE_QUERIES.map(
    (q) => `${q.name}${q.parameters.map((p) => ` --param <${p}>`).join('')}\n    ${q.description}`,
  ).join('\n');
}

/** `?` placeholders of SQL, outside string literals and comments. */
export function countPlaceholders(sql: string): number {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, '').split('?').length - 1;
}

function queryMain(argv: readonly string[]): number {
  const { values, positionals } = parseCli(QUERY_CLI, argv);
  if (values.list) {
    process.stdout.write(`${listNamedQueries()}\n`);
    return 0;
  }
  const sources = [values.named, values.file, positionals[0]].filter((v) => v !== undefined).length;
  if (sources !== 1 || positionals.length > 1)
    throw new CliError(
      'give exactly one of: the SQL as one (quoted) argument, --file <path>, --named <name>',
      2,
    );
  const params = values.param ?? [];
  let sql: string;
  if (values.named !== undefined) {
    const named = LAKE_QUERIES.find((q) => q.name === values.named);
    if (!named)
      throw new CliError(
        `no named query "${values.named}"; known: ${LAKE_QUERIES.map((q) => q.name).join(', ')}`,
        2,
      );
    if (params.length !== named.parameters.length) {
      const wanted = named.parameters.length
        ? `${named.parameters.length} --param (${named.parameters.join(', ')})`
        : 'no --param';
      throw new CliError(`${named.name} takes ${wanted}, got ${params.length}`, 2);
    }
    sql = named.sql;
  } else if (values.file !== undefined) {
    if (!existsSync(values.file) || !statSync(values.file).isFile())
      throw new CliError(`no such file: ${values.file}`, 2);
    sql = readFileSync(values.file, 'utf8');
  } else {
    sql = positionals[0]!;
  }
  const placeholders = countPlaceholders(sql);
  if (values.named === undefined && placeholders !== params.length)
    throw new CliError(`the SQL has ${placeholders} ? placeholder(s) and ${params.length} --param given`, 2);
  const session = requireSession();
  const python = ensureLakeInstalled();
  const args = queryArgs({
    endpoint: session.endpoint,
    database: session.outputs.GlueDatabaseName!,
    sql,
    params,
    json: Boolean(values.json),
  });
  const r = spawnSync(python, args, { cwd: ROOT, env: pythonEnv(session.endpoint), stdio: 'inherit' });
  return r.status ?? 1;
}

if (isEntryPoint(import.meta.filename)) {
  runCli('query', () => {
    if (process.argv[2] !== 'query') throw new CliError('usage: tsx scripts/lake.ts query --help', 2);
    return queryMain(process.argv.slice(3));
  });
}
