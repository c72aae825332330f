/**
 * `impressions query` (`npm run query` here): SQL over the deployment's lake tables (impressions,
 * impressions_rejected): Athena in the stage's workgroup on AWS, DuckDB over the local Iceberg tables locally.
 * `?` placeholders are bound from `--param`, in order; the app's named queries (infra/lake-queries.ts) by name.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { AthenaClient } from '@aws-sdk/client-athena';
import { LAKE_QUERIES } from '../infra/lake-queries.js';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, findDeployment, output } from './deployment.js';
import { CliError, type CliSpec, type OptionSpecs, parseCli } from './kit.js';
import { athenaQuery, type LakeRow, localLakeOf, type ToolContext } from './lake-query.js';

export const QUERY_SPEC = {
  command: 'impressions query',
  positionals: '"<SQL>"',
  description:
    "SQL over the deployment's Iceberg tables (impressions, impressions_rejected): Athena on AWS, DuckDB\n" +
    'over the local tables of the deployment `npm start -- --keep` runs. `?` placeholders are bound from\n' +
    '--param, in order.',
  options: {
    file: { type: 'string', arg: '<path>', help: 'read the SQL from this file' },
    named: { type: 'string', arg: '<name>', help: "run one of the app's named queries (see --list)" },
    param: { type: 'string', multiple: true, arg: '<value>', help: 'a value for the next ? placeholder' },
    json: { type: 'boolean', help: 'print rows as JSON objects, one per line, on stdout only' },
    list: { type: 'boolean', help: 'list the named queries and their parameters' },
    ...DEPLOYMENT_OPTIONS,
  },
  footer: [
    DEPLOYMENT_HELP,
    '',
    'Examples:',
    '  impressions query "SELECT title_name, count(*) AS n FROM impressions GROUP BY 1 ORDER BY n DESC LIMIT 5"',
    '  impressions query --named top-titles-per-day --param 2026-11-01 --param 2026-11-30',
    '  npm run -s query -- --json "SELECT * FROM impressions LIMIT 3"   (-s: no npm banner on stdout)',
  ].join('\n'),
} as const satisfies CliSpec<OptionSpecs>;

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

/** The SQL and parameters the options give, checked before anything runs. */
export function querySource(
  values: { named?: string; file?: string; param?: string[] },
  positionals: readonly string[],
): { sql: string; params: string[] } {
  const sources = [values.named, values.file, positionals[0]].filter((v) => v !== undefined).length;
  if (sources !== 1 || positionals.length > 1)
    throw new CliError(
      'give exactly one of: the SQL as one (quoted) argument, --file <path>, --named <name>',
      2,
    );
  const params = values.param ?? [];
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
    return { sql: named.sql, params };
  }
  let sql: string;
  if (values.file !== undefined) {
    if (!existsSync(values.file) || !statSync(values.file).isFile())
      throw new CliError(`no such file: ${values.file}`, 2);
    sql = readFileSync(values.file, 'utf8');
  } else sql = positionals[0]!;
  const placeholders = countPlaceholders(sql);
  if (placeholders !== params.length)
    throw new CliError(`the SQL has ${placeholders} ? placeholder(s) and ${params.length} --param given`, 2);
  return { sql, params };
}

/** Rows as an aligned text table. */
export function formatRows(rows: readonly LakeRow[]): string {
  if (!rows.length) return '(no rows)\n';
  const columns = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? 'NULL' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n')}\n`;
}

/** `impressions query`: see QUERY_SPEC. */
export async function query(argv: readonly string[], ctx: ToolContext = {}): Promise<number> {
  const { values, positionals } = parseCli(QUERY_SPEC, argv);
  if (values.list) {
    process.stdout.write(`${listNamedQueries()}\n`);
    return 0;
  }
  const { sql, params } = querySource(values, positionals);
  const d = await findDeployment(values);
  if (d.kind === 'local') {
    const { lake, target } = localLakeOf(d, ctx);
    return lake.print(target, sql, params, Boolean(values.json));
  }
  const rows = await athenaQuery(
    new AthenaClient(d.clientConfig),
    output(d, 'AthenaWorkGroupName'),
    output(d, 'GlueDatabaseName'),
    sql,
    params,
  );
  process.stdout.write(values.json ? rows.map((r) => `${JSON.stringify(r)}\n`).join('') : formatRows(rows));
  return 0;
}
