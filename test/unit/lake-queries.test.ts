/**
 * The Athena named queries: Athena's rules for execution parameters, and time filters that prune the day
 * partitions (shown with pyiceberg's scan planning on a table of several days, scripts/lake/pruning.py).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dayRange, LAKE_QUERIES } from '../../infra/lake-queries.js';
import { toEnrichedWire } from '../../lambdas/adapters/stream-encoding.js';
import { enrich } from '../../lambdas/domain/enrich.js';
import { ensureLakeInstalled, ROOT } from '../../scripts/emulator.js';
import { writeDefinitions } from '../../scripts/lake.js';
import { impression, NOW_MS } from '../support/factories.js';

const placeholders = (sql: string) => [...sql.matchAll(/\?/g)].map((m) => m.index!);

describe('named queries follow Athena’s rules for parameters (Athena user guide, "Use parameterized queries", https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html)', () => {
  it('"parameterized queries are supported only for SELECT, INSERT INTO, CTAS and UNLOAD": every query with ? is a SELECT', () => {
    const withParams = LAKE_QUERIES.filter((q) => placeholders(q.sql).length > 0);
    expect(withParams.length).toBeGreaterThan(0);
    for (const q of withParams) {
      expect(q.sql.trimStart(), q.name).toMatch(/^(SELECT|WITH)\b/i);
      expect(q.sql, q.name).not.toMatch(
        /\b(DELETE|UPDATE|MERGE|INSERT|DROP|ALTER|CREATE|OPTIMIZE|VACUUM)\b/i,
      );
    }
  });

  it('"? parameters can be placed only in the WHERE clause", and each query declares one name per ?', () => {
    for (const q of LAKE_QUERIES) {
      const marks = placeholders(q.sql);
      expect(marks.length, q.name).toBe(q.parameters.length);
      for (const at of marks) {
        const clauses = [
          ...q.sql.slice(0, at).matchAll(/\b(SELECT|FROM|WHERE|GROUP BY|ORDER BY|HAVING|ON|LIMIT)\b/gi),
        ];
        expect(clauses.at(-1)?.[1]?.toUpperCase(), `${q.name} at ${at}`).toBe('WHERE');
      }
    }
  });

  it('no named query is an erasure: that is `npm run erase`, which validates and inlines the profile id', () => {
    expect(LAKE_QUERIES.map((q) => q.name)).not.toContain('erase-profile');
  });
});

describe('named queries filter on the partition source, so day partitions prune', () => {
  it('filters on event_time / received_at ranges, never on event_date', () => {
    for (const q of LAKE_QUERIES) {
      expect(q.sql, q.name).not.toMatch(/\bevent_date\s*(?:[=<>]|BETWEEN\b|IN\b)/i);
      if (q.parameters.some((p) => p.includes('day')))
        expect(q.sql, q.name).toMatch(/\b(event_time|received_at) >= /);
    }
    for (const name of ['impressions-deduplicated', 'top-titles-per-day', 'impressions-by-page-row-position'])
      expect(LAKE_QUERIES.find((q) => q.name === name)!.sql).toContain(dayRange('event_time'));
  });

  let plan: {
    totalFiles: number;
    filters: {
      filter: string;
      partitionFilter: string;
      filesInMatchingPartitions: number;
      plannedFiles: number;
      plannedDays: string[];
    }[];
  };
  beforeAll(() => {
    const python = ensureLakeInstalled();
    // Three days of impressions, committed one day per append as deliveries commit them.
    const lines: string[] = [];
    for (let day = 0; day < 3; day++)
      for (let i = 0; i < 20; i++) {
        const e = impression({
          profileId: `p${i % 10}`,
          eventTime: new Date(NOW_MS - day * 86_400_000 - i * 60_000).toISOString(),
        });
        lines.push(JSON.stringify(toEnrichedWire(enrich(e, Date.parse(e.eventTime), NOW_MS, undefined))));
      }
    // What dayRange('event_time') means for the day 2026-06-14 (see infra/lake-queries.ts), against the
    // former filter on event_date.
    const r = spawnSync(
      python,
      [
        path.join(ROOT, 'scripts', 'lake', 'pruning.py'),
        writeDefinitions(),
        "event_time >= '2026-06-14T00:00:00+00:00' and event_time < '2026-06-15T00:00:00+00:00'",
        "event_date >= '2026-06-14' and event_date <= '2026-06-14'",
        // The erasure's predicate (ops/erase.ts).
        "profile_id = 'p3'",
      ],
      { input: lines.join('\n'), encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`pruning.py failed: ${r.stderr}`);
    plan = JSON.parse(r.stdout);
  }, 600_000);

  it('a one-day event_time range plans only that day’s files, pruned by partition', () => {
    const [byTime] = plan.filters;
    expect(plan.totalFiles).toBe(3);
    expect(byTime!.partitionFilter).toContain('event_time_day');
    expect(byTime!.filesInMatchingPartitions).toBe(1);
    expect(byTime!.plannedFiles).toBe(1);
    expect(byTime!.plannedDays).toEqual(['2026-06-14']);
  });

  it('an event_date filter cannot prune any partition (its projection onto day(event_time) is always true)', () => {
    const [, byDate] = plan.filters;
    expect(byDate!.partitionFilter).toBe('AlwaysTrue()');
    expect(byDate!.filesInMatchingPartitions).toBe(plan.totalFiles);
  });

  it('the erasure predicate on profile_id plans every file: no partition and no file statistics skip it', () => {
    // Every day holds the profile, and every delivered file holds many profiles, so the file's profile_id
    // bounds include it: an erasure scans the whole table (docs/privacy-erasure.md, "At production size").
    const [, , byProfile] = plan.filters;
    expect(byProfile!.partitionFilter).toBe('AlwaysTrue()');
    expect(byProfile!.filesInMatchingPartitions).toBe(plan.totalFiles);
    expect(byProfile!.plannedFiles).toBe(plan.totalFiles);
  });
});
