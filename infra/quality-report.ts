/**
 * The daily quality report over the lake: what it measures and the rules that judge it, in one place. The
 * same SQL runs on Athena (scheduled by the stage, `constructs/quality-schedule.ts`) and on the local engine
 * (`npm run quality -- --day YYYY-MM-DD`, DuckDB), so it keeps to what Trino and DuckDB share (`count_if`,
 * `split_part`, `count(DISTINCT …)`, CAST, INTERVAL), like `lake-queries.ts`.
 *
 * Per day (the partition source's day, so the scan prunes to one day's partitions):
 * - `impressions`: rows, the filled (non-null) and empty-string count of every column, distinct profiles,
 *   titles and event ids, duplicate copies (rows beyond one per `event_id`), unknown titles (no catalog
 *   name), the entity/title mismatch (a row entity that is set and is not the title), and the ingest-lag
 *   distribution in buckets (under 1 s, 10 s, 1 min, 1 h; late beyond an hour; client clock ahead);
 * - `impressions_rejected`: rows, filled counts, distinct partition keys;
 * - rejects by reason code and producer field path (`schema.wrong-type:row.index` → code, path).
 *
 * The report holds counts only, no profile id: it needs no erasure.
 */
import { IMPRESSIONS_TABLE, LAKE_TABLES, type LakeTableDefinition } from '../lambdas/domain/lake-schema.js';

/** A day as SQL: a `?` date parameter (local runs, named queries) or a literal expression (the schedule). */
export type DaySql = string;
/** The day of a `?` parameter `YYYY-MM-DD`. */
export const DAY_PARAMETER: DaySql = 'CAST(? AS date)';
/** The day before the schedule's run (EventBridge Scheduler replaces the keyword with the run's time). */
export const DAY_BEFORE_SCHEDULED_RUN: DaySql =
  "CAST(substr('<aws.scheduler.scheduled-time>', 1, 10) AS date) - INTERVAL '1' DAY";

const within = (column: string, day: DaySql) =>
  `${column} >= CAST(${day} AS timestamp with time zone) AND ${column} < CAST(${day} AS timestamp with time zone) + INTERVAL '1' DAY`;

/** The column whose day a table's report covers: its partition source. */
const dayColumn = (def: LakeTableDefinition) => def.partition[0]!.sourceColumn;

/** The lag buckets of the impressions report, as upper bounds in ms (the last bucket is "late"). */
export const LAG_BUCKETS = [
  ['lag_under_1s', 1_000],
  ['lag_under_10s', 10_000],
  ['lag_under_1m', 60_000],
  ['lag_under_1h', 3_600_000],
] as const;

const KEY_COLUMNS: Readonly<Record<LakeTableDefinition['name'], readonly string[]>> = {
  impressions: ['profile_id', 'title_id', 'event_id'],
  impressions_rejected: ['partition_key'],
};

/** The report's one row for `def` on `day`: column name → count. */
export function tableReportSql(def: LakeTableDefinition, day: DaySql): string {
  const measures = ['count(*) AS row_count'];
  for (const c of def.columns) {
    measures.push(`count(${c.name}) AS filled__${c.name}`);
    if (c.type === 'string') measures.push(`count_if(${c.name} = '') AS empty__${c.name}`);
  }
  for (const k of KEY_COLUMNS[def.name]) measures.push(`count(DISTINCT ${k}) AS distinct__${k}`);
  if (def.name === 'impressions') {
    measures.push(
      'count(*) - count(DISTINCT event_id) AS duplicate_copies',
      'count_if(title_name IS NULL) AS unknown_titles',
      'count_if(entity_id IS NOT NULL AND entity_id <> title_id) AS entity_title_mismatch',
      ...LAG_BUCKETS.map(([name, ms]) => `count_if(ingest_lag_ms >= 0 AND ingest_lag_ms < ${ms}) AS ${name}`),
      `count_if(ingest_lag_ms >= ${LAG_BUCKETS.at(-1)![1]}) AS late_over_1h`,
      'count_if(ingest_lag_ms < 0) AS clock_ahead',
    );
  }
  return `SELECT ${measures.join(',\n  ')}\nFROM ${def.name}\nWHERE ${within(dayColumn(def), day)}`;
}

/** Rejects of `day` by reason code and producer field path, most frequent first (at most 200 rows). */
export function rejectReasonsSql(day: DaySql): string {
  return `SELECT split_part(reason, ':', 1) AS code, coalesce(split_part(reason, ':', 2), '') AS field_path, count(*) AS n
FROM impressions_rejected
WHERE ${within('received_at', day)}
GROUP BY 1, 2
ORDER BY n DESC, code, field_path
LIMIT 200`;
}

/** Every statement of the report, by name, for one way of giving the day. */
export function reportStatements(day: DaySql): Readonly<Record<string, string>> {
  return {
    ...Object.fromEntries(LAKE_TABLES.map((def) => [def.name, tableReportSql(def, day)])),
    reject_reasons: rejectReasonsSql(day),
  };
}

/** Prefix of the lake bucket the schedule writes the reports under (JSON, one folder per report and run). */
export const QUALITY_REPORTS_PREFIX = 'quality-reports/';

/**
 * A report statement as the schedule sends it: Athena's `UNLOAD (SELECT …) TO 's3://…/' WITH (format = 'JSON')`
 * (Athena user guide, "UNLOAD"), to a folder of its own per run (UNLOAD needs an empty destination).
 */
export function unloadSql(select: string, bucketName: string, report: string): string {
  return `UNLOAD (${select})\nTO 's3://${bucketName}/${QUALITY_REPORTS_PREFIX}${report}/run=<aws.scheduler.scheduled-time>-<aws.scheduler.execution-id>/'\nWITH (format = 'JSON')`;
}

export interface QualityReport {
  readonly day: string;
  /** The one row of each table's report. */
  readonly tables: Readonly<Record<LakeTableDefinition['name'], Readonly<Record<string, number>>>>;
  readonly rejectReasons: readonly {
    readonly code: string;
    readonly fieldPath: string;
    readonly n: number;
  }[];
}

export type Severity = 'page' | 'notice';

export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  readonly message: string;
}

/** A rule over the report: its id, severity, limit and what it finds. */
export interface QualityRule {
  readonly id: string;
  readonly severity: Severity;
  readonly description: string;
  readonly check: (r: QualityReport) => readonly string[];
}

const share = (part: number, whole: number) => (whole > 0 ? part / whole : 0);
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const imp = (r: QualityReport) => r.tables.impressions;

/** The limits the rules apply (shares of the day's accepted impressions, unless said otherwise). */
export const QUALITY_LIMITS = {
  duplicateShare: 0.001,
  unknownTitleShare: 0.01,
  lateShare: 0.05,
  clockAheadShare: 0.001,
  rejectedShare: 0.01,
} as const;

export const QUALITY_RULES: readonly QualityRule[] = [
  {
    id: 'required-column-filled',
    severity: 'page',
    description:
      'every required column is filled on every row (the writer guarantees it; a gap is corruption)',
    check: (r) =>
      LAKE_TABLES.flatMap((def) =>
        def.columns
          .filter((c) => c.required)
          .filter((c) => (r.tables[def.name][`filled__${c.name}`] ?? 0) < (r.tables[def.name].row_count ?? 0))
          .map(
            (c) =>
              `${def.name}.${c.name} is null on ${(r.tables[def.name].row_count ?? 0) - (r.tables[def.name][`filled__${c.name}`] ?? 0)} rows`,
          ),
      ),
  },
  {
    id: 'optional-column-dropped',
    severity: 'notice',
    description:
      "an optional impression column is null or empty on every row of a day with rows (a producer stopped sending it; the rejected table's optional columns are the pipeline's, not a producer's)",
    check: (r) => {
      const t = imp(r);
      const rows = t.row_count ?? 0;
      if (!rows) return [];
      return IMPRESSIONS_TABLE.columns
        .filter((c) => !c.required)
        .filter((c) => (t[`filled__${c.name}`] ?? 0) - (t[`empty__${c.name}`] ?? 0) === 0)
        .map((c) => `impressions.${c.name} has no value on any of ${rows} rows`);
    },
  },
  {
    id: 'duplicate-copies',
    severity: 'notice',
    description: `duplicate copies (rows beyond one per event_id) at most ${pct(QUALITY_LIMITS.duplicateShare)}`,
    check: (r) => {
      const s = share(imp(r).duplicate_copies ?? 0, imp(r).row_count ?? 0);
      return s > QUALITY_LIMITS.duplicateShare ? [`duplicate copies are ${pct(s)} of impressions`] : [];
    },
  },
  {
    id: 'unknown-titles',
    severity: 'notice',
    description: `impressions of titles the catalog does not know at most ${pct(QUALITY_LIMITS.unknownTitleShare)}`,
    check: (r) => {
      const s = share(imp(r).unknown_titles ?? 0, imp(r).row_count ?? 0);
      return s > QUALITY_LIMITS.unknownTitleShare ? [`unknown titles are ${pct(s)} of impressions`] : [];
    },
  },
  {
    id: 'entity-title-mismatch',
    severity: 'notice',
    description: 'a row entity, when set, is the title shown',
    check: (r) =>
      (imp(r).entity_title_mismatch ?? 0) > 0
        ? [`${imp(r).entity_title_mismatch} impressions have an entity_id that is not their title_id`]
        : [],
  },
  {
    id: 'late-impressions',
    severity: 'notice',
    description: `impressions arriving more than an hour after their event time at most ${pct(QUALITY_LIMITS.lateShare)}`,
    check: (r) => {
      const s = share(imp(r).late_over_1h ?? 0, imp(r).row_count ?? 0);
      return s > QUALITY_LIMITS.lateShare ? [`late impressions are ${pct(s)}`] : [];
    },
  },
  {
    id: 'client-clock-ahead',
    severity: 'notice',
    description: `impressions whose event time is after their arrival at most ${pct(QUALITY_LIMITS.clockAheadShare)}`,
    check: (r) => {
      const s = share(imp(r).clock_ahead ?? 0, imp(r).row_count ?? 0);
      return s > QUALITY_LIMITS.clockAheadShare ? [`client clocks ahead on ${pct(s)} of impressions`] : [];
    },
  },
  {
    id: 'rejected-share',
    severity: 'notice',
    description: `rejected records at most ${pct(QUALITY_LIMITS.rejectedShare)} of all records`,
    check: (r) => {
      const rejected = r.tables.impressions_rejected.row_count ?? 0;
      const s = share(rejected, rejected + (imp(r).row_count ?? 0));
      const top = r.rejectReasons[0];
      return s > QUALITY_LIMITS.rejectedShare
        ? [
            `rejected are ${pct(s)} of records${top ? ` (most: ${top.code}${top.fieldPath ? ` at ${top.fieldPath}` : ''}, ${top.n})` : ''}`,
          ]
        : [];
    },
  },
];

/** What the rules find in a report. */
export function findings(r: QualityReport): Finding[] {
  return QUALITY_RULES.flatMap((rule) =>
    rule.check(r).map((message) => ({ rule: rule.id, severity: rule.severity, message })),
  );
}
