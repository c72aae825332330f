/** The daily quality report's declaration: its rules, and the day its scheduled run reports. */
import { describe, expect, it } from 'vitest';
import { DAY_BEFORE_SCHEDULED_RUN, QUALITY_RULES, reportStatements } from '../../infra/quality-report.js';

describe('the daily quality report', () => {
  it('every rule has an id, a severity and a description; the schedule reports the day before its run', () => {
    expect(new Set(QUALITY_RULES.map((r) => r.id)).size).toBe(QUALITY_RULES.length);
    for (const sql of Object.values(reportStatements(DAY_BEFORE_SCHEDULED_RUN))) {
      expect(sql).toContain("'<aws.scheduler.scheduled-time>'");
      expect(sql).not.toContain('?');
    }
  });
});
