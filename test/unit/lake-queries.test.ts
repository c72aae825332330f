/**
 * The Athena named queries: Athena's rules for execution parameters, and time filters on the partition source
 * (that they prune: lake-queries.process.test.ts, with pyiceberg's scan planning).
 */
import { describe, expect, it } from 'vitest';
import { dayRange, LAKE_QUERIES } from '../../infra/lake-queries.js';

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
});
