/**
 * The daily quality report: its statements run on the local engine (DuckDB, over rows converted exactly as
 * the delivery converts them: scripts/lake/sql_on_rows.py) on a day with planted defects, and the rules find
 * each defect and nothing else; a clean day finds nothing. The statements also parse as Athena's dialect
 * (test/infra/athena-sql.test.ts), and the rules' own declaration is checked in quality-report.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findings, type QualityReport } from '../../infra/quality-report.js';
import { toEnrichedWire, toRejectedWire } from '../../lambdas/adapters/stream-encoding.js';
import { enrich, type TitleInfo } from '../../lambdas/domain/enrich.js';
import type { RejectedRow } from '../../lambdas/domain/filter-enrich.js';
import type { LakeQuery } from '../../ops/lake-query.js';
import { formatReport, qualityReport } from '../../ops/quality.js';
import { ensureLakeInstalled, ROOT } from '../../scripts/emulator.js';
import { writeDefinitions } from '../../scripts/lake.js';
import { impression } from '../support/factories.js';

const DAY = '2026-06-14';
const NOON = Date.parse(`${DAY}T12:00:00Z`);
const TITLE: TitleInfo = {
  titleId: 'title-1',
  name: 'A Title',
  type: 'movie',
  genres: ['drama'],
  maturityRating: 'PG',
};

type Line = { table: 'impressions' | 'impressions_rejected'; row: unknown };

/** An accepted impression of the day, arriving `lagMs` after its event time. */
function accepted(
  i: number,
  over: { lagMs?: number; title?: TitleInfo | undefined; entityId?: string; appVersion?: string | null } = {},
): Line {
  const eventMs = NOON + i * 1_000;
  const device = {
    type: 'tv' as const,
    os: 'tizen',
    ...(over.appVersion === null ? {} : { appVersion: over.appVersion ?? '6.1.0' }),
    locale: 'en-US',
  };
  // The newest schema version, so that every optional column can be filled.
  const e = impression({
    schema: 'impression/1-1-0',
    eventId: randomUUID(),
    profileId: `p${i % 7}`,
    eventTime: new Date(eventMs).toISOString(),
    device,
    ...(over.entityId ? { entityId: over.entityId } : {}),
  });
  const title = 'title' in over ? over.title : TITLE;
  return {
    table: 'impressions',
    row: toEnrichedWire(enrich(e, eventMs, eventMs + (over.lagMs ?? 2_000), title)),
  };
}
const rejected = (reason: string, i: number): Line => {
  const row: RejectedRow = {
    received_at: new Date(NOON + i).toISOString(),
    reason,
    detail: 'd',
    partition_key: `p${i}`,
    sequence_number: String(1000 + i),
    raw: '{}',
    profile_id: null,
  };
  return { table: 'impressions_rejected', row: toRejectedWire(row) };
};

/** A LakeQuery over `lines` on DuckDB (one process per statement, as the report runs them one by one). */
function localEngine(lines: readonly Line[]): LakeQuery {
  const python = ensureLakeInstalled();
  const defs = writeDefinitions();
  return async (sql, params = []) => {
    const r = spawnSync(
      python,
      [path.join(ROOT, 'scripts', 'lake', 'sql_on_rows.py'), defs, JSON.stringify([{ sql, params }])],
      {
        input: lines.map((l) => JSON.stringify(l)).join('\n'),
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`sql_on_rows.py failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as Record<string, unknown>[][])[0]!;
  };
}

const clean = (): Line[] => [
  ...Array.from({ length: 100 }, (_, i) => accepted(i)),
  ...Array.from({ length: 3 }, (_, i) => accepted(200 + i, { appVersion: '' })),
  rejected('schema.wrong-type:row.index', 1),
];

let cleanReport: QualityReport;
let defective: QualityReport;
let duplicate: Line;
beforeAll(async () => {
  cleanReport = await qualityReport(localEngine(clean()), DAY);
  duplicate = accepted(99, { appVersion: null });
  const lines: Line[] = [
    // 100 impressions without app_version (the producer stopped sending it): 94, and one delivered 6 times.
    ...Array.from({ length: 94 }, (_, i) => accepted(i, { appVersion: null })),
    ...Array.from({ length: 6 }, () => duplicate),
    // 3 of unknown titles, 2 whose entity is another title, 10 late, 1 with the client clock ahead.
    ...Array.from({ length: 3 }, (_, i) => accepted(300 + i, { title: undefined, appVersion: null })),
    ...Array.from({ length: 2 }, (_, i) => accepted(400 + i, { entityId: 'title-9', appVersion: null })),
    ...Array.from({ length: 10 }, (_, i) => accepted(500 + i, { lagMs: 2 * 3_600_000, appVersion: null })),
    accepted(600, { lagMs: -5_000, appVersion: null }),
    // Rejects: 3 of one reason and path, 2 of another, 1 of a code without a path; one on another day.
    ...[1, 2, 3].map((i) => rejected('schema.wrong-type:row.index', i)),
    ...[4, 5].map((i) => rejected('schema.missing:profileId', i)),
    rejected('time.too-late', 6),
    {
      table: 'impressions_rejected',
      row: toRejectedWire({
        ...(rejected('time.too-late', 7).row as RejectedRow),
        received_at: '2026-06-15T00:00:01Z',
      }),
    },
  ];
  defective = await qualityReport(localEngine(lines), DAY);
}, 120_000);

describe('the daily quality report on the local engine', () => {
  it('measures each column and the key figures of a day', () => {
    const t = cleanReport.tables.impressions;
    expect(t.row_count).toBe(103);
    expect(t.filled__event_id).toBe(103);
    expect(t.empty__app_version).toBe(3);
    expect(t.distinct__profile_id).toBe(7);
    expect(t.duplicate_copies).toBe(0);
    expect(t.lag_under_10s).toBe(103);
    expect(cleanReport.tables.impressions_rejected.row_count).toBe(1);
    expect(findings(cleanReport)).toEqual([]);
  });

  it('finds each planted defect, and only those', () => {
    const t = defective.tables.impressions;
    expect(t.row_count).toBe(116);
    expect(t.filled__app_version).toBe(0);
    expect(t.duplicate_copies).toBe(5);
    expect(t.unknown_titles).toBe(3);
    expect(t.entity_title_mismatch).toBe(2);
    expect(t.late_over_1h).toBe(10);
    expect(t.clock_ahead).toBe(1);
    expect(defective.rejectReasons).toEqual([
      { code: 'schema.wrong-type', fieldPath: 'row.index', n: 3 },
      { code: 'schema.missing', fieldPath: 'profileId', n: 2 },
      { code: 'time.too-late', fieldPath: '', n: 1 },
    ]);
    expect(
      findings(defective)
        .map((f) => `${f.severity} ${f.rule}`)
        .sort(),
    ).toEqual(
      [
        'notice client-clock-ahead',
        'notice duplicate-copies',
        'notice entity-title-mismatch',
        'notice late-impressions',
        'notice optional-column-dropped',
        'notice rejected-share',
        'notice unknown-titles',
      ].sort(),
    );
    expect(findings(defective).find((f) => f.rule === 'optional-column-dropped')!.message).toMatch(
      /^impressions\.app_version has no value/,
    );
    expect(formatReport(defective)).toMatch(
      /\[notice\] duplicate-copies: duplicate copies are 4\.31 % of impressions/,
    );
  });

  it('a required column with nulls is a page finding (the writer guarantees them; a gap is corruption)', () => {
    const broken: QualityReport = {
      ...cleanReport,
      tables: {
        ...cleanReport.tables,
        impressions: { ...cleanReport.tables.impressions, filled__profile_id: 100 },
      },
    };
    expect(findings(broken)).toEqual([
      {
        rule: 'required-column-filled',
        severity: 'page',
        message: 'impressions.profile_id is null on 3 rows',
      },
    ]);
  });
});
