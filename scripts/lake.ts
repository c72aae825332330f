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
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { LAKE_QUERIES } from '../infra/lake-queries.js';
import { LAKE_TABLES, WIRE_RULES } from '../lambdas/domain/lake-schema.js';
import { EMULATOR_CREDENTIALS, ensureLakeInstalled, LOCAL_DIR, ROOT } from './emulator.js';

const LAKE_DIR = path.join(ROOT, 'scripts', 'lake');
export const SESSION_FILE = path.join(LOCAL_DIR, 'session.json');

export interface LocalSession {
  readonly endpoint: string;
  readonly pipelineStack: string;
  readonly outputs: Record<string, string>;
}

/** Writes the table definitions for the Python tools; returns the file's path. */
export function writeDefinitions(): string {
  const dir = path.join(LOCAL_DIR, 'lake');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tables.json');
  writeFileSync(file, JSON.stringify({ tables: LAKE_TABLES, wireRules: WIRE_RULES }, null, 2));
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
  /** Graceful stop: the stand-in commits what it has buffered, then exits. */
  stop(): Promise<number | null>;
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
}

/** Starts the delivery stand-in and resolves once it has found its deliveries and opened its tables. */
export async function startDelivery(options: DeliveryOptions): Promise<DeliveryHandle> {
  const python = ensureLakeInstalled();
  const definitions = writeDefinitions();
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
    { cwd: ROOT, env: pythonEnv(options.endpoint), stdio: ['ignore', 'pipe', err] },
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
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
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

function main(): number {
  const cmd = process.argv[2];
  if (cmd !== 'query') {
    process.stderr.write(
      'usage: tsx scripts/lake.ts query "<SQL>" | --file F | --named NAME [--param V ...] [--json]\n',
    );
    return 2;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: process.argv.slice(3),
      allowPositionals: true,
      options: {
        file: { type: 'string' },
        named: { type: 'string' },
        param: { type: 'string', multiple: true },
        json: { type: 'boolean' },
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (!existsSync(SESSION_FILE)) {
    process.stderr.write(
      'no local deployment found: run `npm start` (it writes .local/session.json) in another terminal\n',
    );
    return 1;
  }
  const session = JSON.parse(readFileSync(SESSION_FILE, 'utf8')) as LocalSession;
  const named =
    typeof values.named === 'string' ? LAKE_QUERIES.find((q) => q.name === values.named) : undefined;
  if (values.named && !named) {
    process.stderr.write(
      `no named query ${values.named}; known: ${LAKE_QUERIES.map((q) => q.name).join(', ')}\n`,
    );
    return 2;
  }
  const sql =
    named?.sql ?? (typeof values.file === 'string' ? readFileSync(values.file, 'utf8') : positionals[0]);
  if (!sql) {
    process.stderr.write('give the SQL as an argument, with --file, or --named\n');
    return 2;
  }
  const python = ensureLakeInstalled();
  const args = queryArgs({
    endpoint: session.endpoint,
    database: session.outputs.GlueDatabaseName!,
    sql,
    params: (values.param as string[] | undefined) ?? [],
    json: Boolean(values.json),
  });
  const r = spawnSync(python, args, { cwd: ROOT, env: pythonEnv(session.endpoint), stdio: 'inherit' });
  return r.status ?? 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  process.exitCode = main();
}
