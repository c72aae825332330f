/**
 * Every statement the project sends to Athena parses in Athena's dialect (sqlglot `athena`: DDL through its
 * Hive-style parser, DML through Trino's, as Athena routes them). One Python process parses them all
 * (scripts/lake/parse_athena.py); a statement sqlglot only passes through as a command does not count.
 *
 * This is a syntax check, not Athena itself: sqlglot (30.31) is lenient in places Athena is not. It accepts a
 * statement with a closing parenthesis taken away in many places (`SELECT CAST(x AS date` parses, and so do
 * the table DDL and most of the statements below with their first `)` removed), and an ADD COLUMNS column
 * without a type. What it refuses (BROKEN) Athena refuses too; a missing parenthesis is caught only where
 * sqlglot needs it (`SELECT count(* FROM impressions`).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LAKE_QUERIES } from '../../infra/lake-queries.js';
import { DAY_BEFORE_SCHEDULED_RUN, DAY_PARAMETER, reportStatements } from '../../infra/quality-report.js';
import { LAKE_TABLES } from '../../lambdas/domain/lake-schema.js';
import { addColumnsSql, createTableSql, dropTableSql } from '../../lambdas/lake/lake-ddl.js';
import { athenaStatements } from '../../ops/erase.js';
import { rebuildSql } from '../../ops/rebuild-core.js';
import { enrichedCopiesSql, rejectedAgainSql, selectionSql } from '../../ops/reprocess-core.js';
import { ensureLakeInstalled, ROOT } from '../../scripts/emulator.js';

type Parsed = { ok: true; kind: string; sql: string } | { ok: false; error: string };

/** A statement, where it comes from, and the statement kind sqlglot must see. */
interface Statement {
  readonly source: string;
  readonly kind: 'Create' | 'Alter' | 'Drop' | 'Select' | 'Delete';
  readonly sql: string;
}

const SELECTION = { fromMs: 0, toMs: 1, reasons: [] as string[], profiles: [] as string[] };

const STATEMENTS: readonly Statement[] = [
  ...LAKE_TABLES.flatMap((def): Statement[] => [
    {
      source: `lake-ddl createTableSql(${def.name})`,
      kind: 'Create',
      sql: createTableSql(def, 'impressions_lake', `s3://lake-bucket/warehouse/${def.name}`),
    },
    // Every column of the table at once, so each column type is parsed in the ADD COLUMNS form too.
    {
      source: `lake-ddl addColumnsSql(${def.name})`,
      kind: 'Alter',
      sql: addColumnsSql('impressions_lake', def.name, def.columns),
    },
    {
      source: `lake-ddl dropTableSql(${def.name})`,
      kind: 'Drop',
      sql: dropTableSql('impressions_lake', def.name),
    },
  ]),
  ...athenaStatements('profile-1').flatMap((s): Statement[] => [
    { source: `erase count(${s.table})`, kind: 'Select', sql: s.count },
    { source: `erase delete(${s.table})`, kind: 'Delete', sql: s.delete },
  ]),
  ...LAKE_QUERIES.map((q): Statement => ({ source: `named query ${q.name}`, kind: 'Select', sql: q.sql })),
  // The daily quality report, as `npm run quality` sends it (a ? day) and as the schedule does (the SELECT
  // inside its UNLOAD, with the scheduler's time keyword; sqlglot reads UNLOAD only as a command).
  ...[DAY_PARAMETER, DAY_BEFORE_SCHEDULED_RUN].flatMap((day) =>
    Object.entries(reportStatements(day)).map(
      ([name, sql]): Statement => ({ source: `quality report ${name} (${day})`, kind: 'Select', sql }),
    ),
  ),
  { source: 'ops rebuildSql (all profiles)', kind: 'Select', sql: rebuildSql('2026-11-26', []).sql },
  {
    source: 'ops rebuildSql (two profiles)',
    kind: 'Select',
    sql: rebuildSql('2026-11-26', ['p1', 'p2']).sql,
  },
  { source: 'ops selectionSql (everything)', kind: 'Select', sql: selectionSql('2026-11-26', SELECTION).sql },
  {
    source: 'ops selectionSql (reasons and profiles)',
    kind: 'Select',
    sql: selectionSql('2026-11-26', { ...SELECTION, reasons: ['schema', 'time'], profiles: ['p1', 'p2'] })
      .sql,
  },
  {
    source: 'ops reprocess enrichedCopiesSql',
    kind: 'Select',
    sql: enrichedCopiesSql('2026-11-26', ['a', 'b']).sql,
  },
  {
    source: 'ops reprocess rejectedAgainSql',
    kind: 'Select',
    sql: rejectedAgainSql('2026-11-26', ['1', '2']).sql,
  },
];

/** Statements Athena refuses; each must fail to parse, or the check above could not fail. */
const BROKEN: readonly { readonly why: string; readonly sql: string }[] = [
  { why: 'misspelt keyword', sql: 'SELEC 1' },
  { why: 'missing closing parenthesis', sql: 'SELECT count(* FROM impressions' },
  {
    why: 'CREATE TABLE with an unclosed column list',
    sql: "CREATE TABLE `db`.`t` (`a` string COMMENT 'x'\nPARTITIONED BY (day(a))",
  },
  { why: 'a map type without its comma', sql: 'ALTER TABLE `db`.`t` ADD COLUMNS (`a` map<string string>)' },
  { why: 'COMMENT without its text', sql: 'ALTER TABLE `db`.`t` ADD COLUMNS (`a` string COMMENT)' },
  { why: 'an empty WHERE', sql: 'DELETE FROM impressions WHERE' },
  { why: 'two statements in one', sql: 'SELECT 1; SELECT 2' },
  { why: 'a statement sqlglot passes through unparsed', sql: 'FROBNICATE TABLE impressions' },
];

function parseAll(statements: readonly string[]): Parsed[] {
  const r = spawnSync(ensureLakeInstalled(), [path.join(ROOT, 'scripts', 'lake', 'parse_athena.py')], {
    input: JSON.stringify(statements),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`parse_athena.py failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as Parsed[];
  if (out.length !== statements.length)
    throw new Error(`${out.length} results for ${statements.length} statements`);
  return out;
}

describe("Athena's SQL parses in Athena's dialect (sqlglot)", () => {
  let parsed: Parsed[];
  let broken: Parsed[];
  beforeAll(() => {
    const all = parseAll([...STATEMENTS.map((s) => s.sql), ...BROKEN.map((b) => b.sql)]);
    parsed = all.slice(0, STATEMENTS.length);
    broken = all.slice(STATEMENTS.length);
  });

  it('collects the DDL of both lake tables, the erasure, the named queries and the operations tools', () => {
    expect(LAKE_TABLES.length).toBe(2);
    expect(STATEMENTS.filter((s) => s.source.startsWith('named query'))).toHaveLength(LAKE_QUERIES.length);
    expect(new Set(STATEMENTS.map((s) => s.kind))).toEqual(
      new Set(['Create', 'Alter', 'Drop', 'Select', 'Delete']),
    );
  });

  it.each(STATEMENTS.map((s, i) => [s.source, i] as const))(
    '%s parses as one statement of its kind',
    (_, i) => {
      const p = parsed[i]!;
      expect(p, STATEMENTS[i]!.sql).toMatchObject({ ok: true, kind: STATEMENTS[i]!.kind });
    },
  );

  it('the table DDL keeps what Athena needs for an Iceberg table: partition transforms, location, table_type', () => {
    for (const [i, s] of STATEMENTS.entries()) {
      if (s.kind !== 'Create') continue;
      const p = parsed[i]!;
      if (!p.ok) throw new Error(p.error);
      expect(p.sql).toMatch(/PARTITIONED BY \(DAY\(\w+\)\)/);
      expect(p.sql).toContain("LOCATION 's3://lake-bucket/warehouse/");
      expect(p.sql).toContain("'table_type'='ICEBERG'");
    }
  });

  it.each(BROKEN.map((b, i) => [b.why, i] as const))('a broken statement fails: %s', (_, i) => {
    expect(broken[i]).toMatchObject({ ok: false });
  });
});
