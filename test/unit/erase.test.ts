/**
 * `npm run erase`: the lake side of an erasure. Athena takes `?` parameters only in SELECT, INSERT INTO, CTAS
 * and UNLOAD (Athena user guide, "Use parameterized queries"), so the tool validates the id against the
 * contract's pattern and inlines it; it runs on both tables and waits for each statement.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  athenaStatements,
  eraseOnAthena,
  erasurePredicates,
  PROFILES_PER_STATEMENT,
  profilesOf,
  validProfileId,
} from '../../ops/erase.js';

const athenaMock = mockClient(AthenaClient);
// The unit project shares modules between files (isolate: false): put the real client back.
afterAll(() => athenaMock.restore());
const athena = new AthenaClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
const target = { athena, workGroup: 'wg', database: 'lake_db', timeoutMs: 5_000 };

describe('profile id: validated, then inlined', () => {
  it('takes exactly the contract pattern [A-Za-z0-9_-]{1,64}', () => {
    expect(validProfileId('p_1-A')).toBe('p_1-A');
    expect(validProfileId('x'.repeat(64))).toBe('x'.repeat(64));
    for (const bad of ['', 'x'.repeat(65), "a'b", 'a b', "x' OR '1'='1", 'é', 'a;DROP', undefined, 42])
      expect(() => validProfileId(bad), String(bad)).toThrowError(/--profile must be a profile id/);
  });

  it('deletes from both tables, the rejected rows by their profile_id column, partition key or the raw payload’s profileId', () => {
    expect(erasurePredicates('p1')).toEqual({
      impressions: "profile_id = 'p1'",
      impressions_rejected:
        "profile_id = 'p1' OR partition_key = 'p1' OR TRY(json_extract_scalar(raw, '$.profileId')) = 'p1'",
    });
    const statements = athenaStatements('p1');
    expect(statements.map((s) => s.table)).toEqual(['impressions', 'impressions_rejected']);
    for (const s of statements) {
      expect(s.delete).toMatch(new RegExp(`^DELETE FROM ${s.table} WHERE `));
      expect(s.count).toMatch(new RegExp(`^SELECT count\\(\\*\\) AS n FROM ${s.table} WHERE `));
      expect(`${s.delete}${s.count}`).not.toContain('?');
    }
  });
});

describe('erasure on Athena', () => {
  let counts: number[];
  beforeEach(() => {
    athenaMock.reset();
    counts = [3, 0, 2, 0];
    let n = 0;
    athenaMock.on(StartQueryExecutionCommand).callsFake(() => ({ QueryExecutionId: `q${n++}` }));
    athenaMock
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolves({
        QueryExecution: { Status: { State: 'SUCCEEDED' }, Statistics: { DataScannedInBytes: 1024 } },
      });
    athenaMock.on(GetQueryResultsCommand).callsFake(() => ({
      ResultSet: {
        Rows: [{ Data: [{ VarCharValue: 'n' }] }, { Data: [{ VarCharValue: String(counts.shift()) }] }],
      },
    }));
  });

  it('counts, deletes, waits for each statement, counts again; reports rows removed per table', async () => {
    const r = await eraseOnAthena(target, 'p1');
    expect(r).toEqual({
      profileId: 'p1',
      dryRun: false,
      tables: {
        impressions: { matched: 3, removed: 3, remaining: 0 },
        impressions_rejected: { matched: 2, removed: 2, remaining: 0 },
      },
      scannedBytes: 6 * 1024,
    });
    const started = athenaMock.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    expect(started.map((i) => i.QueryString!.split(' WHERE')[0])).toEqual([
      'SELECT count(*) AS n FROM impressions',
      'DELETE FROM impressions',
      'SELECT count(*) AS n FROM impressions',
      'SELECT count(*) AS n FROM impressions_rejected',
      'DELETE FROM impressions_rejected',
      'SELECT count(*) AS n FROM impressions_rejected',
    ]);
    expect(
      started.every((i) => i.WorkGroup === 'wg' && i.QueryExecutionContext?.Database === 'lake_db'),
    ).toBe(true);
  });

  it('erases many profiles with one scan per statement: IN lists of at most PROFILES_PER_STATEMENT ids', async () => {
    const ids = Array.from({ length: PROFILES_PER_STATEMENT + 1 }, (_, i) => `p${i}`);
    counts = [5, 0, 1, 0, 2, 0, 0, 0];
    const r = await eraseOnAthena(target, [...ids, 'p0']);
    expect(r.profileIds).toHaveLength(PROFILES_PER_STATEMENT + 1);
    expect(r.tables).toEqual({
      impressions: { matched: 7, removed: 7, remaining: 0 },
      impressions_rejected: { matched: 1, removed: 1, remaining: 0 },
    });
    const sql = athenaMock.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input.QueryString!);
    const deletes = sql.filter((q) => q.startsWith('DELETE FROM impressions '));
    expect(deletes).toHaveLength(2);
    expect(deletes[0]).toContain(`profile_id IN ('p0', 'p1', `);
    expect(deletes[0]!.match(/'p\d+'/g)).toHaveLength(PROFILES_PER_STATEMENT);
    expect(deletes[1]).toBe(`DELETE FROM impressions WHERE profile_id = 'p${PROFILES_PER_STATEMENT}'`);
    // Athena's query string limit (262,144 bytes) holds with the longest ids.
    const longest = athenaStatements(
      Array.from({ length: PROFILES_PER_STATEMENT }, (_, i) => `${i}`.padStart(64, 'x')),
    );
    for (const s of longest) expect(Buffer.byteLength(s.delete)).toBeLessThan(262_144);
    expect(() => erasurePredicates([])).toThrow(/1 to 500 profiles/);
  });

  it('profiles come from --profile and --profiles-file, validated, without repeats', () => {
    expect(profilesOf(['a', 'b'], 'b\n# comment\n\nc  # trailing\n')).toEqual(['a', 'b', 'c']);
    expect(() => profilesOf([], '')).toThrow(/give --profile/);
    expect(() => profilesOf([], "x'y\n")).toThrow(/--profile must be a profile id/);
  });

  it('--dry-run only counts', async () => {
    counts = [3, 2];
    const r = await eraseOnAthena(target, 'p1', true);
    expect(r.tables.impressions).toEqual({ matched: 3, removed: 0, remaining: 3 });
    expect(
      athenaMock
        .commandCalls(StartQueryExecutionCommand)
        .some((c) => c.args[0].input.QueryString!.startsWith('DELETE')),
    ).toBe(false);
  });

  it('a failed statement is an error naming Athena’s reason', async () => {
    athenaMock
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'TABLE_NOT_FOUND' } } });
    await expect(eraseOnAthena(target, 'p1')).rejects.toThrowError(/Athena query q0 failed: TABLE_NOT_FOUND/);
  });
});
