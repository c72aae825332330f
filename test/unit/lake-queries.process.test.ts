/**
 * The named queries' time filters prune the day partitions: shown with pyiceberg's scan planning on a table of
 * several days (scripts/lake/pruning.py, in the pinned .venv-lake/).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toEnrichedWire } from '../../lambdas/adapters/stream-encoding.js';
import { enrich } from '../../lambdas/domain/enrich.js';
import { ensureLakeInstalled, ROOT } from '../../scripts/emulator.js';
import { writeDefinitions } from '../../scripts/lake.js';
import { impression, NOW_MS } from '../support/factories.js';

describe('named queries filter on the partition source, so day partitions prune', () => {
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
