/**
 * SQL over the lake for the operations tools, through the same query layer as `npm run query`: DuckDB over
 * the local Iceberg tables (scripts/lake.ts + scripts/lake/query.py) on the local deployment, Athena in the
 * deployment's workgroup and Glue database on AWS. `?` placeholders take `params` in order (Athena
 * `ExecutionParameters`). Values come back as the engines print them; `lakeTime` reads a timestamp either way.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { DAY_MS } from '../lambdas/domain/history-model.js';
import { type Deployment, output } from './deployment.js';
import { CliError } from './kit.js';

export type LakeRow = Record<string, unknown>;
export type LakeQuery = (sql: string, params?: readonly string[]) => Promise<LakeRow[]>;

/** A local lake and what it can do: the Iceberg tables the emulator holds, read and changed without Athena. */
export interface LocalLake {
  /** The rows of SQL over the local tables (`?` placeholders take `params`). */
  query(target: LocalLakeTarget, sql: string, params: readonly string[]): LakeRow[];
  /** Runs SQL and prints its result (a table, or JSON lines with `json`) on stdout; the exit code. */
  print(target: LocalLakeTarget, sql: string, params: readonly string[], json: boolean): number;
  /** Removes (or with `dryRun` counts) one profile's rows from both tables. */
  erase(target: LocalLakeTarget, profileId: string, dryRun: boolean): ErasureResult;
}

export interface LocalLakeTarget {
  readonly endpoint: string;
  readonly database: string;
}

export interface TableResult {
  readonly matched: number;
  readonly removed: number;
  readonly remaining: number;
}

export type LakeTable = 'impressions' | 'impressions_rejected';

export interface ErasureResult {
  /** The first (or only) profile. */
  readonly profileId: string;
  /** Every profile erased (Athena erases up to PROFILES_PER_STATEMENT per statement). */
  readonly profileIds?: readonly string[];
  /** Bytes Athena scanned for the erasure, all statements (what Athena bills). */
  readonly scannedBytes?: number;
  readonly dryRun: boolean;
  readonly tables: Readonly<Record<LakeTable, TableResult>>;
}

/**
 * What a tool is given by the program that runs it. The local lake is this repository's development stand-in
 * (scripts/lake.ts: DuckDB and pyiceberg in a Python venv): the repository's `npm run <tool>` passes it; the
 * installed `impressions` command has none, so a tool that needs the lake works on AWS only.
 */
export interface ToolContext {
  readonly localLake?: LocalLake;
}

/** The local lake of a local deployment, or a CliError saying where it is available. */
export function localLakeOf(d: Deployment, ctx: ToolContext): { lake: LocalLake; target: LocalLakeTarget } {
  if (!ctx.localLake)
    throw new CliError(
      "the local deployment's lake is read by this repository's tools: run `npm run <tool>` in the repository, or give --stage for a deployment on AWS",
    );
  return { lake: ctx.localLake, target: { endpoint: d.endpoint!, database: output(d, 'GlueDatabaseName') } };
}

/** Runs SQL on the deployment's lake: Athena on AWS, the local lake locally. */
export function lakeQuery(d: Deployment, ctx: ToolContext = {}): LakeQuery {
  const database = output(d, 'GlueDatabaseName');
  if (d.kind === 'local') {
    const { lake, target } = localLakeOf(d, ctx);
    return async (sql, params = []) => {
      try {
        return lake.query(target, sql, params);
      } catch (e) {
        throw new CliError((e as Error).message.split('\n').filter(Boolean).slice(-1)[0] ?? 'query failed');
      }
    };
  }
  const athena = new AthenaClient(d.clientConfig);
  const workGroup = output(d, 'AthenaWorkGroupName');
  return (sql, params = []) => athenaQuery(athena, workGroup, database, sql, params);
}

/** Where and how long an Athena statement runs. */
export interface AthenaTarget {
  readonly athena: AthenaClient;
  readonly workGroup: string;
  readonly database: string;
  /** Longest wait for one statement. @default 600000 */
  readonly timeoutMs?: number;
}

/**
 * Starts one statement and waits for it (exponential polling up to 5 s); its execution id. `?` placeholders
 * take `params`; the bytes Athena scanned are added to `scanned` when given.
 */
export async function runAthena(
  t: AthenaTarget,
  sql: string,
  params: readonly string[] = [],
  scanned?: { bytes: number },
): Promise<string> {
  const { QueryExecutionId: id } = await t.athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: t.workGroup,
      QueryExecutionContext: { Database: t.database },
      // Execution parameters are SQL literals: strings in single quotes (Athena guide, "Use execution
      // parameters"; aws-sdk-pandas: "for varchar columns … you must surround the value in single quotes").
      ExecutionParameters: params.length ? params.map((p) => `'${p.replace(/'/g, "''")}'`) : undefined,
    }),
  );
  if (!id) throw new CliError('Athena returned no query execution id');
  const deadline = Date.now() + (t.timeoutMs ?? 600_000);
  for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
    const { QueryExecution: q } = await t.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = q?.Status?.State;
    if (state === 'SUCCEEDED') {
      if (scanned) scanned.bytes += q?.Statistics?.DataScannedInBytes ?? 0;
      return id;
    }
    if (state === 'FAILED' || state === 'CANCELLED')
      throw new CliError(
        `Athena query ${id} ${state.toLowerCase()}: ${q?.Status?.StateChangeReason ?? 'no reason given'}`,
      );
    if (Date.now() > deadline) throw new CliError(`Athena query ${id} still ${state} after the timeout`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** The rows of one statement (every page of its results). */
export async function athenaQuery(
  athena: AthenaClient,
  workGroup: string,
  database: string,
  sql: string,
  params: readonly string[],
): Promise<LakeRow[]> {
  const id = await runAthena({ athena, workGroup, database }, sql, params);
  const rows: LakeRow[] = [];
  let columns: string[] | undefined;
  let token: string | undefined;
  do {
    const r = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }));
    columns ??= r.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Name ?? '') ?? [];
    const data = r.ResultSet?.Rows ?? [];
    // The first row of the first page holds the column names.
    for (const [i, row] of data.entries()) {
      if (!token && i === 0) continue;
      rows.push(Object.fromEntries(columns.map((c, k) => [c, row.Data?.[k]?.VarCharValue ?? null])));
    }
    token = r.NextToken;
  } while (token);
  return rows;
}

const TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Epoch milliseconds of a timestamp as an engine prints it: DuckDB through Python (`2026-11-26
 * 18:00:00.123000+00:00`), Athena (`2026-11-26 18:00:00.123 UTC`), or RFC 3339; NaN when it is none of them.
 */
export function lakeTime(value: unknown): number {
  if (typeof value === 'number') return value;
  const m = TIME.exec(String(value ?? '').trim());
  if (!m) return Number.NaN;
  const [, date, time, frac = '', zone = 'Z'] = m;
  let offset = zone === 'Z' || zone === 'UTC' ? 'Z' : zone;
  if (/^[+-]\d{2}$/.test(offset)) offset = `${offset}:00`;
  else if (/^[+-]\d{4}$/.test(offset)) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`;
  return Date.parse(`${date}T${time}.${frac.padEnd(3, '0').slice(0, 3)}${offset}`);
}

/** UTC days from `fromMs` to `toMs` (exclusive end), as YYYY-MM-DD. Bounded by `maxDays`. */
export function daysOf(fromMs: number, toMs: number, maxDays = 3660): string[] {
  const out: string[] = [];
  for (let t = Math.floor(fromMs / DAY_MS) * DAY_MS; t < toMs; t += DAY_MS) {
    out.push(new Date(t).toISOString().slice(0, 10));
    if (out.length > maxDays) throw new CliError(`the time range covers more than ${maxDays} days`, 2);
  }
  return out;
}
