/**
 * `impressions erase --profile <id>` (`npm run erase` here): the lake side of a privacy erasure. Removes the profile's rows from both
 * Iceberg tables, `impressions` and `impressions_rejected`, waits for completion and reports the rows removed
 * per table. Run it after the history API's `DELETE /v1/profiles/{id}/impressions` (docs/privacy-erasure.md).
 *
 * On AWS (`--stage <name>` or `--stack <pipeline stack>`, with AWS credentials): Athena `DELETE FROM` on the
 * Iceberg tables in the stage's workgroup. Athena takes `?` parameters only in SELECT, INSERT INTO, CTAS and
 * UNLOAD (Athena user guide, "Use parameterized queries"), so the id is validated against the contract's
 * pattern `[A-Za-z0-9_-]{1,64}` (no quote can pass it) and inlined as a string literal.
 * Locally (the deployment `npm start` runs): the same deletes with pyiceberg, through the local lake this
 * repository's `npm run erase` provides (scripts/lake.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { AthenaClient, GetQueryResultsCommand } from '@aws-sdk/client-athena';
import { isProfileId } from '../lambdas/domain/profile-id.js';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, findDeployment, output } from './deployment.js';
import { CliError, type CliSpec, type OptionSpecs, OUTPUT_OPTIONS, parseCli } from './kit.js';
import {
  type AthenaTarget,
  type ErasureResult,
  type LakeTable,
  localLakeOf,
  runAthena,
  type TableResult,
  type ToolContext,
} from './lake-query.js';

export type { AthenaTarget, ErasureResult, LakeTable, TableResult };

/** A usage mistake: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** The profile id, checked against the event contract's pattern; throws `UsageError` otherwise. */
export function validProfileId(id: unknown): string {
  if (!isProfileId(id))
    throw new UsageError('--profile must be a profile id: 1-64 characters of A-Z a-z 0-9 _ -');
  return id;
}

/**
 * Profiles erased by one Athena statement per table. Each statement scans the whole table (a profile's rows are
 * in every day partition, and every data file holds many profiles, so neither partitions nor file statistics
 * skip anything: docs/privacy-erasure.md, "At production size"); erasing many profiles per statement makes
 * that one scan serve them all. 500 ids keep the rejected table's statement (three predicates per id,
 * ≤ 70 bytes each) near 100 KB, well inside Athena's 262,144-byte query string (Athena API reference,
 * StartQueryExecution, QueryString).
 */
export const PROFILES_PER_STATEMENT = 500;

/**
 * The rows of each table that hold the profiles, as an Athena (Trino) predicate with the ids inlined.
 * `impressions_rejected`: rows whose `profile_id` column is one of the profiles (filter-enrich fills it
 * wherever the record's profile id can be read, a payload over 16 KiB included), rows put under a profile's
 * partition key, and rows written before that column existed whose raw payload is JSON with a profile as its
 * top-level `profileId` (`json_extract_scalar` reads it even from a truncated payload; TRY keeps a payload
 * that is not JSON from failing the statement).
 */
export function erasurePredicates(profiles: string | readonly string[]): Readonly<Record<LakeTable, string>> {
  const ids = (typeof profiles === 'string' ? [profiles] : profiles).map((p) => `'${validProfileId(p)}'`);
  if (ids.length === 0 || ids.length > PROFILES_PER_STATEMENT)
    throw new UsageError(`one statement erases 1 to ${PROFILES_PER_STATEMENT} profiles, not ${ids.length}`);
  const is = (column: string) =>
    ids.length === 1 ? `${column} = ${ids[0]}` : `${column} IN (${ids.join(', ')})`;
  return {
    impressions: is('profile_id'),
    impressions_rejected: `${is('profile_id')} OR ${is('partition_key')} OR ${is("TRY(json_extract_scalar(raw, '$.profileId'))")}`,
  };
}

/** The Athena statements of an erasure, in the order they run. */
export function athenaStatements(profiles: string | readonly string[]) {
  const where = erasurePredicates(profiles);
  return (Object.keys(where) as LakeTable[]).map((table) => ({
    table,
    count: `SELECT count(*) AS n FROM ${table} WHERE ${where[table]}`,
    delete: `DELETE FROM ${table} WHERE ${where[table]}`,
  }));
}

/** Runs a `SELECT count(*) …` on Athena and returns the count. */
export async function athenaCount(
  t: AthenaTarget,
  sql: string,
  scanned?: { bytes: number },
): Promise<number> {
  const id = await runAthena(t, sql, [], scanned);
  const r = await t.athena.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
  const n = Number(r.ResultSet?.Rows?.[1]?.Data?.[0]?.VarCharValue);
  if (!Number.isSafeInteger(n)) throw new Error(`Athena count ${id} returned no number`);
  return n;
}

/**
 * The erasure through Athena: count, DELETE, count again, per table, for up to PROFILES_PER_STATEMENT profiles
 * per statement (more run as several rounds). Run it in the stage's erasure workgroup, whose bytes-scanned
 * cutoff is sized for a whole-table scan.
 */
export async function eraseOnAthena(
  t: AthenaTarget,
  profiles: string | readonly string[],
  dryRun = false,
): Promise<ErasureResult> {
  const ids = [...new Set(typeof profiles === 'string' ? [profiles] : profiles)].map(validProfileId);
  if (ids.length === 0) throw new UsageError('no profile to erase');
  const tables = {} as Record<LakeTable, TableResult>;
  const scanned = { bytes: 0 };
  for (let i = 0; i < ids.length; i += PROFILES_PER_STATEMENT) {
    for (const s of athenaStatements(ids.slice(i, i + PROFILES_PER_STATEMENT))) {
      const matched = await athenaCount(t, s.count, scanned);
      if (matched && !dryRun) await runAthena(t, s.delete, [], scanned);
      const remaining = dryRun ? matched : await athenaCount(t, s.count, scanned);
      const sum = tables[s.table] ?? { matched: 0, removed: 0, remaining: 0 };
      tables[s.table] = {
        matched: sum.matched + matched,
        removed: sum.removed + matched - remaining,
        remaining: sum.remaining + remaining,
      };
    }
  }
  return {
    profileId: ids[0]!,
    ...(ids.length > 1 ? { profileIds: ids } : {}),
    dryRun,
    tables,
    scannedBytes: scanned.bytes,
  };
}

export const ERASE_SPEC = {
  command: 'impressions erase',
  description: `Removes profiles' rows from the lake tables impressions and impressions_rejected, waits for
completion and reports the rows removed per table. Run it after the history API's
DELETE /v1/profiles/{id}/impressions (docs/privacy-erasure.md). On AWS every statement scans the
whole table: erase the day's profiles together (up to ${PROFILES_PER_STATEMENT} per statement), in the stage's
erasure workgroup (Athena DELETE FROM). Locally the same deletes run with pyiceberg.`,
  options: {
    profile: {
      type: 'string',
      arg: '<id>',
      multiple: true,
      help: 'a profile to erase (1-64 characters of A-Z a-z 0-9 _ -)',
    },
    'profiles-file': {
      type: 'string',
      arg: '<path>',
      help: 'profiles to erase, one per line (blank lines and # comments skipped)',
    },
    ...OUTPUT_OPTIONS,
    ...DEPLOYMENT_OPTIONS,
  },
  footer: `${DEPLOYMENT_HELP}

Examples:
  impressions erase --profile p-123 --dry-run
  impressions erase --stage prod --profiles-file erasures-2026-12-03.txt`,
} as const satisfies CliSpec<OptionSpecs>;

/** The profiles of `--profile` and `--profiles-file`, validated, without repeats. */
export function profilesOf(flags: readonly string[], fileText?: string): string[] {
  const fromFile = (fileText ?? '')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  const ids = [...new Set([...flags, ...fromFile])];
  if (ids.length === 0) throw new UsageError('give --profile <id> or --profiles-file <path>');
  return ids.map(validProfileId);
}

function format(r: ErasureResult): string {
  const lines = Object.entries(r.tables).map(
    ([table, t]) =>
      `${table}: ${r.dryRun ? `${t.matched} rows would be removed` : `${t.removed} rows removed`}` +
      (r.dryRun ? '' : ` (${t.matched} matched, ${t.remaining} remaining)`),
  );
  const who = r.profileIds ? `${r.profileIds.length} profiles` : `profile ${r.profileId}`;
  const scanned =
    r.scannedBytes === undefined ? '' : `\nAthena scanned ${(r.scannedBytes / 1024 ** 3).toFixed(2)} GiB`;
  return `${who}${r.dryRun ? ' (dry run)' : ''}\n${lines.join('\n')}${scanned}\n`;
}

/** `impressions erase`: see ERASE_SPEC. */
export async function erase(argv: readonly string[], ctx: ToolContext = {}): Promise<number> {
  const { values } = parseCli(ERASE_SPEC, argv);
  const file = values['profiles-file'];
  if (file !== undefined && !existsSync(file)) throw new UsageError(`--profiles-file ${file}: no such file`);
  const profiles = profilesOf(
    values.profile ?? [],
    file === undefined ? undefined : readFileSync(file, 'utf8'),
  );
  const dryRun = Boolean(values['dry-run']);
  const d = await findDeployment(values);
  const print = (result: ErasureResult) =>
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : format(result));
  if (d.kind === 'aws') {
    const target: AthenaTarget = {
      athena: new AthenaClient(d.clientConfig),
      workGroup: output(d, 'AthenaErasureWorkGroupName'),
      database: output(d, 'GlueDatabaseName'),
    };
    print(await eraseOnAthena(target, profiles, dryRun));
    return 0;
  }
  // Locally each profile is its own pass (the local lake is small; scans cost nothing).
  const { lake, target } = localLakeOf(d, ctx);
  for (const profileId of profiles) print(lake.erase(target, profileId, dryRun));
  return 0;
}
