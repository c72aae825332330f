/**
 * `impressions quality --day YYYY-MM-DD` (`npm run quality` here): the daily quality report over the lake for one UTC day, and what its
 * rules find (infra/quality-report.ts: the statements and the rules, the same ones the stage's schedule runs
 * on Athena). Locally on the deployment `npm start` runs (DuckDB), or on AWS with `--stage`/`--stack` (Athena, the
 * stage's workgroup). Exit 0 with the report; with `--strict`, exit 1 when a page-severity rule finds anything.
 */
import { DAY_PARAMETER, findings, type QualityReport, reportStatements } from '../infra/quality-report.js';
import { LAKE_TABLES } from '../lambdas/domain/lake-schema.js';
import { parseRfc3339 } from '../lambdas/domain/time.js';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, findDeployment } from './deployment.js';
import { CliError, type CliSpec, type OptionSpecs, parseCli } from './kit.js';
import { type LakeQuery, type LakeRow, lakeQuery, type ToolContext } from './lake-query.js';

export const QUALITY_SPEC = {
  command: 'impressions quality',
  description: `The day's quality report over the lake tables impressions and impressions_rejected: the completeness
of every column, distinct counts of key columns, duplicate copies, unknown titles, the entity/title
mismatch, the ingest-lag distribution and the late share, and rejects by reason and producer field
path; then what the rules find (docs/lake.md, "Daily quality report").`,
  options: {
    day: {
      type: 'string',
      arg: '<YYYY-MM-DD>',
      help: 'the UTC day (of event time for impressions, of arrival for rejected records); required',
    },
    strict: { type: 'boolean', help: 'exit 1 when a page-severity rule finds anything' },
    json: { type: 'boolean', help: 'print the report as JSON on stdout' },
    ...DEPLOYMENT_OPTIONS,
  },
  footer: DEPLOYMENT_HELP,
} as const satisfies CliSpec<OptionSpecs>;

const number = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
/** The day for each `?` of a statement (the day range names the day twice). */
const dayParams = (sql: string, day: string) => (sql.match(/\?/g) ?? []).map(() => day);

/** Runs the report's statements with `query` and assembles the report. */
export async function qualityReport(query: LakeQuery, day: string): Promise<QualityReport> {
  const statements = reportStatements(DAY_PARAMETER);
  const tables = {} as Record<(typeof LAKE_TABLES)[number]['name'], Record<string, number>>;
  for (const def of LAKE_TABLES) {
    const [row] = await query(statements[def.name]!, dayParams(statements[def.name]!, day));
    tables[def.name] = Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, number(v ?? 0)]));
  }
  const reasons = await query(statements.reject_reasons!, dayParams(statements.reject_reasons!, day));
  return {
    day,
    tables,
    rejectReasons: reasons.map((r: LakeRow) => ({
      code: String(r.code ?? ''),
      fieldPath: String(r.field_path ?? ''),
      n: number(r.n),
    })),
  };
}

/** The report as text: per table, rows and the columns that are not fully filled; then the findings. */
export function formatReport(r: QualityReport): string {
  const lines = [`quality report ${r.day}`];
  for (const def of LAKE_TABLES) {
    const t = r.tables[def.name];
    const rows = t.row_count ?? 0;
    lines.push(`${def.name}: ${rows} rows`);
    for (const c of def.columns) {
      const filled = t[`filled__${c.name}`] ?? 0;
      const empty = t[`empty__${c.name}`] ?? 0;
      if (rows && (filled < rows || empty > 0))
        lines.push(`  ${c.name}: ${(((rows - filled + empty) / rows) * 100).toFixed(1)} % null or empty`);
    }
    for (const [k, v] of Object.entries(t))
      if (!k.startsWith('filled__') && !k.startsWith('empty__') && k !== 'row_count')
        lines.push(`  ${k}: ${v}`);
  }
  lines.push('rejects by reason and field path:');
  for (const x of r.rejectReasons.slice(0, 20))
    lines.push(`  ${x.code}${x.fieldPath ? ` ${x.fieldPath}` : ''}: ${x.n}`);
  const found = findings(r);
  lines.push(found.length ? 'findings:' : 'findings: none');
  for (const f of found) lines.push(`  [${f.severity}] ${f.rule}: ${f.message}`);
  return `${lines.join('\n')}\n`;
}

/** `impressions quality`: see QUALITY_SPEC. */
export async function quality(argv: readonly string[], ctx: ToolContext = {}): Promise<number> {
  const { values } = parseCli(QUALITY_SPEC, argv);
  const day = String(values.day ?? '');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(parseRfc3339(`${day}T00:00:00Z`)))
    throw new CliError('--day YYYY-MM-DD is required (a UTC day)', 2);
  const d = await findDeployment(values);
  const report = await qualityReport(lakeQuery(d, ctx), day);
  const found = findings(report);
  process.stdout.write(
    values.json ? `${JSON.stringify({ ...report, findings: found })}\n` : formatReport(report),
  );
  return values.strict && found.some((f) => f.severity === 'page') ? 1 : 0;
}
