/**
 * Live statistics of a running deployment, from what it publishes: the functions' metrics (Powertools EMF
 * records in their log groups, the same data CloudWatch turns into metrics on AWS) and end-to-end
 * freshness measured by probing the history API for impressions just sent.
 */

import * as path from 'node:path';
import { type CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { METRIC, QUALITY_METRIC, rejectReasonMetric } from '../infra/contract.js';
import { FILTER_REASONS, REJECT_REASONS } from '../lambdas/domain/classify.js';
import { OPTIONAL_COLUMNS } from '../lambdas/domain/quality.js';
import { LOCAL_DIR } from '../ops/deployment.js';

/** The latest counts of the running `npm start` (what its live view shows), for `npm run stats`. */
export const STATS_FILE = path.join(LOCAL_DIR, 'stats.json');

/**
 * Sums the EMF metrics a function logged since the poller started: counts add up, milliseconds keep their
 * maximum, and a percentage (a quality share of a batch's accepted records) is the mean weighted by the
 * document's `Enriched` count, the share over every record the run accepted. One poll reads at most `maxPages` pages
 * and never runs twice at once (a poll called while one is under way returns at once), so a slow emulator
 * cannot make requests pile up.
 */
export class MetricsPoller {
  readonly totals: Record<string, number> = {};
  private readonly seen = new Set<string>();
  /** Per percentage metric: Σ share × accepted, Σ accepted. */
  private readonly weighted: Record<string, { sum: number; of: number }> = {};
  private since: number;
  private busy = false;

  constructor(
    private readonly logs: CloudWatchLogsClient,
    private readonly logGroupName: string,
    startMs = Date.now() - 60_000,
    private readonly maxPages = 20,
  ) {
    this.since = startMs;
  }

  async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.read();
    } finally {
      this.busy = false;
    }
  }

  private async read(): Promise<void> {
    let nextToken: string | undefined;
    let newest = this.since;
    let pages = 0;
    do {
      const r = await this.logs.send(
        new FilterLogEventsCommand({ logGroupName: this.logGroupName, startTime: this.since, nextToken }),
      );
      for (const e of r.events ?? []) {
        const id = e.eventId ?? `${e.timestamp}:${e.message}`;
        if (this.seen.has(id)) continue;
        this.seen.add(id);
        newest = Math.max(newest, e.timestamp ?? 0);
        const m = e.message ?? '';
        if (!m.includes('"_aws"')) continue;
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(m.slice(m.indexOf('{'))) as Record<string, unknown>;
        } catch {
          continue;
        }
        const aws = rec._aws as
          | { CloudWatchMetrics?: { Metrics?: { Name: string; Unit?: string }[] }[] }
          | undefined;
        for (const group of aws?.CloudWatchMetrics ?? []) {
          for (const metric of group.Metrics ?? []) {
            const v = Number(rec[metric.Name]);
            if (!Number.isFinite(v)) continue;
            if (metric.Unit === 'Milliseconds')
              this.totals[metric.Name] = Math.max(this.totals[metric.Name] ?? 0, v);
            else if (metric.Unit === 'Percent') {
              const of = Number(rec[METRIC.Enriched]);
              if (!(of > 0)) continue;
              const w = this.weighted[metric.Name] ?? { sum: 0, of: 0 };
              this.weighted[metric.Name] = w;
              w.sum += v * of;
              w.of += of;
              this.totals[metric.Name] = w.sum / w.of;
            } else this.totals[metric.Name] = (this.totals[metric.Name] ?? 0) + v;
          }
        }
      }
      nextToken = r.nextToken;
    } while (nextToken && ++pages < this.maxPages);
    // Re-read a little overlap next time (events can land out of order); the id set drops repeats.
    this.since = Math.max(this.since, newest - 5_000);
  }
}

export const percentile = (values: readonly number[], p: number): number | undefined => {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

export interface Probe {
  readonly profileId: string;
  readonly eventId: string;
  readonly eventTimeMs: number;
}

/**
 * Measures event time → visible in the history API for sampled impressions. Bounded: at most `maxPending`
 * impressions are followed, and one poll makes at most that many API calls, one after the other; a poll
 * called while one is under way returns at once.
 */
export class FreshnessProbe {
  readonly samples: number[] = [];
  private readonly pending: Probe[] = [];
  private busy = false;

  constructor(
    private readonly get: (path: string) => Promise<{ status: number; json: () => unknown }>,
    private readonly maxPending = 3,
  ) {}

  offer(p: Probe | undefined): void {
    if (p && this.pending.length < this.maxPending) this.pending.push(p);
  }

  async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const p of [...this.pending]) await this.check(p).catch(() => undefined);
    } finally {
      this.busy = false;
    }
  }

  private async check(p: Probe): Promise<void> {
    const now = Date.now();
    const drop = () => this.pending.splice(this.pending.indexOf(p), 1);
    if (now - p.eventTimeMs > 120_000) {
      drop();
      return;
    }
    const t = encodeURIComponent(new Date(p.eventTimeMs).toISOString());
    const r = await this.get(`/v1/profiles/${p.profileId}/impressions?since=${t}&until=${t}`);
    if (r.status !== 200) return;
    const items = (r.json() as { items: { eventId: string }[] }).items;
    if (items.some((i) => i.eventId === p.eventId)) {
      this.samples.push(now - p.eventTimeMs);
      drop();
    }
  }
}

/**
 * Runs `fn` every `intervalMs` until `signal` aborts, never two at once: the next run starts `intervalMs`
 * after the previous one ended. Errors of a run are ignored (the next run tries again). Resolves when the
 * loop has stopped and no run is under way.
 */
export async function serialLoop(
  fn: () => Promise<void>,
  intervalMs: number,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    await fn().catch(() => undefined);
    if (signal.aborted) break;
    await sleep(intervalMs, signal);
  }
}

/** Waits `ms`, or less when `signal` aborts. */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** Resolves with `p`, or with undefined after `ms` (the work behind `p` goes on, bounded by its own limits). */
export const within = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);

/** Filter reasons and reject reason families, as the pipeline's metrics name them. */
const REASONS = [...FILTER_REASONS, ...REJECT_REASONS.map(rejectReasonMetric)];

export interface Snapshot {
  readonly elapsedS: number;
  readonly sent: number;
  readonly enrich: Readonly<Record<string, number>>;
  readonly history: Readonly<Record<string, number>>;
  readonly lakeRows: number;
  readonly freshness: readonly number[];
}

/** One screen of live statistics; rates are over the last interval (previous snapshot). */
export function render(s: Snapshot, prev: Snapshot | undefined): string {
  const rate = (now: number, before: number | undefined) =>
    prev && s.elapsedS > prev.elapsedS
      ? ((now - (before ?? 0)) / (s.elapsedS - prev.elapsedS)).toFixed(0)
      : '-';
  const f = (n: number | undefined) => (n === undefined ? '-' : `${(n / 1000).toFixed(2)} s`);
  const e = s.enrich;
  const lines = [
    `impressions, live (${s.elapsedS.toFixed(0)} s)                            Ctrl-C stops`,
    '',
    `  sent to raw stream   ${String(s.sent).padStart(9)}   ${rate(s.sent, prev?.sent).padStart(7)} /s`,
    `  read by filter-enrich${String(e[METRIC.RecordsRead] ?? 0).padStart(9)}   ${rate(e[METRIC.RecordsRead] ?? 0, prev?.enrich[METRIC.RecordsRead]).padStart(7)} /s`,
    `    enriched           ${String(e[METRIC.Enriched] ?? 0).padStart(9)}`,
    `    filtered           ${String(e[METRIC.Filtered] ?? 0).padStart(9)}`,
    `    rejected           ${String(e[METRIC.Rejected] ?? 0).padStart(9)}`,
    ...REASONS.filter((r) => e[r]).map((r) => `      ${r.padEnd(36)}${String(e[r]).padStart(7)}`),
    `  history writes       ${String(s.history[METRIC.HistoryItemsWritten] ?? 0).padStart(9)}   ${rate(s.history[METRIC.HistoryItemsWritten] ?? 0, prev?.history[METRIC.HistoryItemsWritten]).padStart(7)} /s`,
    `  lake rows committed  ${String(s.lakeRows).padStart(9)}`,
    `  freshness (event → history API)  p50 ${f(percentile(s.freshness, 50))}  p99 ${f(percentile(s.freshness, 99))}  (${s.freshness.length} probes)`,
    `  lag: ingest max ${f(e[METRIC.IngestLagMaxMs])}   history max ${f(s.history[METRIC.FreshnessMaxMs])}`,
    ...qualityLines(e, prev?.enrich),
  ];
  return lines.join('\n');
}

/**
 * The quality figures of the metrics (`docs/operations.md`, "Data-quality metrics"): unknown titles, late
 * events and the largest batch p99 of the ingest lag, then the optional columns with null or empty values,
 * largest share first, each marked ↑ or ↓ when it moved by more than a point since `prev`.
 */
export function qualityLines(
  m: Readonly<Record<string, number>>,
  prev?: Readonly<Record<string, number>>,
): string[] {
  const pct = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} %`);
  const lagP99 = m[QUALITY_METRIC.IngestLagP99Ms];
  const nulls = OPTIONAL_COLUMNS.map((c) => {
    const name = QUALITY_METRIC.nullShare(c);
    const v = m[name];
    const before = prev?.[name];
    const moved =
      v !== undefined && before !== undefined && Math.abs(v - before) > 1 ? (v > before ? ' ↑' : ' ↓') : '';
    return { c, v, moved };
  })
    .filter((n): n is typeof n & { v: number } => n.v !== undefined && n.v > 0)
    .sort((a, b) => b.v - a.v);
  return [
    `  quality: unknown titles ${pct(m[QUALITY_METRIC.UnknownTitleShare])}   late (> 1 h) ${pct(m[QUALITY_METRIC.LateShare])}   ingest lag p99 (max of batches) ${lagP99 === undefined ? '-' : `${(lagP99 / 1000).toFixed(2)} s`}`,
    `    null or empty: ${nulls.length ? nulls.map((n) => `${n.c} ${pct(n.v)}${n.moved}`).join(', ') : 'no optional column'}`,
  ];
}

/** Expected (from the generator) vs observed (from the metrics), per outcome and reason. */
export function reconcile(
  expected: Readonly<Record<string, number>>,
  observed: Readonly<Record<string, number>>,
): { rows: { key: string; expected: number; observed: number }[]; ok: boolean } {
  const sum = (prefix: string) =>
    Object.entries(expected)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((n, [, v]) => n + v, 0);
  const rows = [
    {
      key: 'read',
      expected: Object.values(expected).reduce((a, b) => a + b, 0),
      observed: observed[METRIC.RecordsRead] ?? 0,
    },
    { key: 'enriched', expected: expected.enriched ?? 0, observed: observed[METRIC.Enriched] ?? 0 },
    { key: 'filtered', expected: sum('filtered.'), observed: observed[METRIC.Filtered] ?? 0 },
    { key: 'rejected', expected: sum('rejected.'), observed: observed[METRIC.Rejected] ?? 0 },
    ...REASONS.map((r) => ({ key: r, expected: expected[r] ?? 0, observed: observed[r] ?? 0 })),
  ];
  const balanced =
    (observed[METRIC.RecordsRead] ?? 0) ===
    (observed[METRIC.Enriched] ?? 0) + (observed[METRIC.Filtered] ?? 0) + (observed[METRIC.Rejected] ?? 0);
  return { rows, ok: balanced && rows.every((r) => r.expected === r.observed) };
}
