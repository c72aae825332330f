/**
 * The local lake: the Iceberg delivery stand-in (scripts/lake/delivery.py) and SQL over the local Iceberg
 * tables (scripts/lake/query.py), both in the pinned .venv-lake/. The table definitions they use are
 * exported from lambdas/domain/lake-schema.ts, the same source as the CDK Glue tables.
 * `LOCAL_LAKE` is what the operator CLI (`npm run query`, `erase`, `reprocess`, `rebuild-history`) uses for a
 * local deployment's lake.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { WIRE_RULES } from '../lambdas/adapters/stream-encoding.js';
import { LAKE_TABLES, type LakeTableDefinition } from '../lambdas/domain/lake-schema.js';
import { LOCAL_DIR } from '../ops/deployment.js';
import { validProfileId } from '../ops/erase.js';
import type { ErasureResult, LocalLake } from '../ops/lake-query.js';
import { EMULATOR_CREDENTIALS, ensureLakeInstalled, ROOT } from './emulator.js';

const LAKE_DIR = path.join(ROOT, 'scripts', 'lake');

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

/** The local lake the repository's tools give the operator CLI (ops/lake-query.ts `LocalLake`). */
export const LOCAL_LAKE: LocalLake = {
  query: (t, sql, params) => queryLake({ ...t, sql, params }),
  print(t, sql, params, json) {
    const python = ensureLakeInstalled();
    const args = queryArgs({ ...t, sql, params, json });
    const r = spawnSync(python, args, { cwd: ROOT, env: pythonEnv(t.endpoint), stdio: 'inherit' });
    return r.status ?? 1;
  },
  erase(t, profileId, dryRun) {
    const python = ensureLakeInstalled();
    const args = [
      path.join(LAKE_DIR, 'erase.py'),
      '--endpoint',
      t.endpoint,
      '--database',
      t.database,
      '--profile',
      validProfileId(profileId),
    ];
    if (dryRun) args.push('--dry-run');
    const r = spawnSync(python, args, { cwd: ROOT, env: pythonEnv(t.endpoint), encoding: 'utf8' });
    if (r.status !== 0) {
      const last = (r.stderr || r.error?.message || '').trim().split('\n').at(-1);
      throw new Error(`local erasure failed: ${last}`);
    }
    return JSON.parse(r.stdout) as ErasureResult;
  },
};
