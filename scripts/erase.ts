/**
 * `npm run erase -- --profile <id>`: the lake side of a privacy erasure. Removes the profile's rows from both
 * Iceberg tables, `impressions` and `impressions_rejected`, waits for completion and reports the rows removed
 * per table. Run it after the history API's `DELETE /v1/profiles/{id}/impressions` (docs/privacy-erasure.md).
 *
 * On AWS (`--stage <name>` or `--stack <pipeline stack>`, with AWS credentials): Athena `DELETE FROM` on the
 * Iceberg tables in the stage's workgroup. Athena takes `?` parameters only in SELECT, INSERT INTO, CTAS and
 * UNLOAD (Athena user guide, "Use parameterized queries"), so the id is validated against the contract's
 * pattern `[A-Za-z0-9_-]{1,64}` (no quote can pass it) and inlined as a string literal.
 * Locally (default: the deployment `npm start` runs, or `--endpoint` and `--database`): the same deletes with
 * pyiceberg (scripts/lake/erase.py).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { parseStackName, stackList, stackNamesOf } from '../infra/contract.js';
import { CliError, parseArgv } from './cli.js';
import { EMULATOR_CREDENTIALS, ensureLakeInstalled, ROOT, stackOutputs } from './emulator.js';
import { type LocalSession, SESSION_FILE } from './lake.js';

export const PROFILE_ID = /^[A-Za-z0-9_-]{1,64}$/;
export type LakeTable = 'impressions' | 'impressions_rejected';

export interface TableResult {
  readonly matched: number;
  readonly removed: number;
  readonly remaining: number;
}
export interface ErasureResult {
  readonly profileId: string;
  readonly dryRun: boolean;
  readonly tables: Readonly<Record<LakeTable, TableResult>>;
}

export class UsageError extends Error {}

/** The profile id, checked against the event contract's pattern; throws `UsageError` otherwise. */
export function validProfileId(id: unknown): string {
  if (typeof id !== 'string' || !PROFILE_ID.test(id))
    throw new UsageError('--profile must be a profile id: 1-64 characters of A-Z a-z 0-9 _ -');
  return id;
}

/**
 * The rows of each table that hold the profile, as an Athena (Trino) predicate with the id inlined.
 * `impressions_rejected`: rows whose `profile_id` column is the profile (filter-enrich fills it wherever the
 * record's profile id can be read, a payload over 16 KiB included), rows put under the profile's partition
 * key, and rows written before that column existed whose raw payload is JSON with the profile as its
 * top-level `profileId` (`json_extract_scalar` reads it even from a truncated payload; TRY keeps a payload
 * that is not JSON from failing the statement).
 */
export function erasurePredicates(profileId: string): Readonly<Record<LakeTable, string>> {
  const id = `'${validProfileId(profileId)}'`;
  return {
    impressions: `profile_id = ${id}`,
    impressions_rejected: `profile_id = ${id} OR partition_key = ${id} OR TRY(json_extract_scalar(raw, '$.profileId')) = ${id}`,
  };
}

/** The Athena statements of an erasure, in the order they run. */
export function athenaStatements(profileId: string) {
  const where = erasurePredicates(profileId);
  return (Object.keys(where) as LakeTable[]).map((table) => ({
    table,
    count: `SELECT count(*) AS n FROM ${table} WHERE ${where[table]}`,
    delete: `DELETE FROM ${table} WHERE ${where[table]}`,
  }));
}

export interface AthenaTarget {
  readonly athena: AthenaClient;
  readonly workGroup: string;
  readonly database: string;
  /** Longest wait for one statement. @default 600000 */
  readonly timeoutMs?: number;
}

async function runAthena(t: AthenaTarget, sql: string): Promise<string> {
  const { QueryExecutionId: id } = await t.athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: t.workGroup,
      QueryExecutionContext: { Database: t.database },
    }),
  );
  if (!id) throw new Error('Athena returned no query execution id');
  const deadline = Date.now() + (t.timeoutMs ?? 600_000);
  for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
    const { QueryExecution: q } = await t.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = q?.Status?.State;
    if (state === 'SUCCEEDED') return id;
    if (state === 'FAILED' || state === 'CANCELLED')
      throw new Error(
        `Athena ${state.toLowerCase()} ${id}: ${q?.Status?.StateChangeReason ?? 'no reason given'}`,
      );
    if (Date.now() > deadline) throw new Error(`Athena query ${id} still ${state} after the timeout`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Runs a `SELECT count(*) …` on Athena and returns the count. */
export async function athenaCount(t: AthenaTarget, sql: string): Promise<number> {
  const id = await runAthena(t, sql);
  const r = await t.athena.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
  const n = Number(r.ResultSet?.Rows?.[1]?.Data?.[0]?.VarCharValue);
  if (!Number.isSafeInteger(n)) throw new Error(`Athena count ${id} returned no number`);
  return n;
}

/** The erasure through Athena: count, DELETE, count again, per table. */
export async function eraseOnAthena(
  t: AthenaTarget,
  profileId: string,
  dryRun = false,
): Promise<ErasureResult> {
  const tables = {} as Record<LakeTable, TableResult>;
  for (const s of athenaStatements(profileId)) {
    const matched = await athenaCount(t, s.count);
    if (matched && !dryRun) await runAthena(t, s.delete);
    const remaining = dryRun ? matched : await athenaCount(t, s.count);
    tables[s.table] = { matched, removed: matched - remaining, remaining };
  }
  return { profileId, dryRun, tables };
}

export interface LocalTarget {
  readonly endpoint: string;
  readonly database: string;
}

/** The erasure on the local lake (scripts/lake/erase.py, pyiceberg). */
export function eraseLocally(t: LocalTarget, profileId: string, dryRun = false): ErasureResult {
  const python = ensureLakeInstalled();
  const args = [
    path.join(ROOT, 'scripts', 'lake', 'erase.py'),
    '--endpoint',
    t.endpoint,
    '--database',
    t.database,
    '--profile',
    validProfileId(profileId),
  ];
  if (dryRun) args.push('--dry-run');
  const r = spawnSync(python, args, {
    cwd: ROOT,
    env: { ...process.env, ...EMULATOR_CREDENTIALS, AWS_ENDPOINT_URL: t.endpoint },
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    const last = (r.stderr || r.error?.message || '').trim().split('\n').at(-1);
    throw new Error(`local erasure failed: ${last}`);
  }
  return JSON.parse(r.stdout) as ErasureResult;
}

const HELP = `usage: npm run erase -- --profile <id> [--dry-run] [--json]
                      [--stage <name> | --stack <pipeline stack>] [--region <region>]
                      [--endpoint <url> --database <name>]

Removes one profile's rows from the lake tables impressions and impressions_rejected, waits for
completion and reports the rows removed per table. Run it after the history API's
DELETE /v1/profiles/{id}/impressions (docs/privacy-erasure.md).

  --profile <id>     the profile to erase (1-64 characters of A-Z a-z 0-9 _ -)
  --dry-run          count the rows that would be removed; remove nothing
  --json             print the result as JSON
  --stage <name>     on AWS: the stage deployed with cdk deploy -c stage=<name> (its Athena workgroup)
  --stack <name>     on AWS: the pipeline stack by name (Impressions-<stage>-Pipeline)
  --region <region>  on AWS: the region (default: AWS_REGION or your AWS config)
  --endpoint, --database
                     locally: the emulator and Glue database (default: the deployment npm start runs)
`;

function format(r: ErasureResult): string {
  const lines = Object.entries(r.tables).map(
    ([table, t]) =>
      `${table}: ${r.dryRun ? `${t.matched} rows would be removed` : `${t.removed} rows removed`}` +
      (r.dryRun ? '' : ` (${t.matched} matched, ${t.remaining} remaining)`),
  );
  return `profile ${r.profileId}${r.dryRun ? ' (dry run)' : ''}\n${lines.join('\n')}\n`;
}

async function awsTarget(stack: string, region: string | undefined): Promise<AthenaTarget> {
  const parsed = parseStackName(stack);
  if (parsed?.role !== 'pipeline') throw new UsageError('--stack must name the pipeline stack (…-Pipeline)');
  const cfn = new CloudFormationClient(region ? { region } : {});
  const outputs = await stackOutputs(stackList(parsed.stage), cfn);
  return {
    athena: new AthenaClient(region ? { region } : {}),
    workGroup: outputs.AthenaWorkGroupName,
    database: outputs.GlueDatabaseName,
  };
}

function localTarget(endpoint: string | undefined, database: string | undefined): LocalTarget {
  if (endpoint && database) return { endpoint, database };
  if (endpoint || database) throw new UsageError('give both --endpoint and --database, or neither');
  if (!existsSync(SESSION_FILE))
    throw new UsageError('no local deployment found: run `npm start`, or give --stage for a stage on AWS');
  const session = JSON.parse(readFileSync(SESSION_FILE, 'utf8')) as LocalSession;
  return { endpoint: session.endpoint, database: session.outputs.GlueDatabaseName! };
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgv(
    argv,
    {
      profile: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      stage: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      database: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    'npm run erase -- --help',
  );
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const profileId = validProfileId(values.profile);
  const dryRun = Boolean(values['dry-run']);
  if (values.stage && values.stack) throw new UsageError('give --stage or --stack, not both');
  const stack = values.stack ?? (values.stage ? stackNamesOf(values.stage).pipeline : undefined);
  if (stack && (values.endpoint || values.database))
    throw new UsageError('--endpoint and --database are for the local lake; not with --stage or --stack');
  const result = stack
    ? await eraseOnAthena(await awsTarget(stack, values.region), profileId, dryRun)
    : eraseLocally(localTarget(values.endpoint, values.database), profileId, dryRun);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : format(result));
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      // One line, no stack trace: a usage error exits 2, anything else 1.
      process.stderr.write(`erase: ${err.message.split('\n')[0]}\n`);
      if (process.env.IMPRESSIONS_DEBUG) process.stderr.write(`${err.stack}\n`);
      process.exitCode = err instanceof UsageError || (err instanceof CliError && err.code === 2) ? 2 : 1;
    },
  );
}
