/**
 * Live statistics of a running deployment, from what it publishes: the functions' metrics (Powertools EMF
 * records in their log groups, the same data CloudWatch turns into metrics on AWS) and end-to-end
 * freshness measured by probing the history API for impressions just sent.
 */
import { type CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { FILTER_REASONS, REJECT_REASONS } from '../lambdas/domain/classify.js';

/** Sums the EMF metrics a function logged since the poller started. */
export class MetricsPoller {
  readonly totals: Record<string, number> = {};
  private readonly seen = new Set<string>();
  private since: number;

  constructor(
    private readonly logs: CloudWatchLogsClient,
    private readonly logGroupName: string,
    startMs = Date.now() - 60_000,
  ) {
    this.since = startMs;
  }

  async poll(): Promise<void> {
    let nextToken: string | undefined;
    let newest = this.since;
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
            else this.totals[metric.Name] = (this.totals[metric.Name] ?? 0) + v;
          }
        }
      }
      nextToken = r.nextToken;
    } while (nextToken);
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

/** Measures event time → visible in the history API for sampled impressions. */
export class FreshnessProbe {
  readonly samples: number[] = [];
  private readonly pending: Probe[] = [];

  constructor(
    private readonly get: (path: string) => Promise<{ status: number; json: () => unknown }>,
    private readonly maxPending = 20,
  ) {}

  offer(p: Probe | undefined): void {
    if (p && this.pending.length < this.maxPending) this.pending.push(p);
  }

  async poll(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...this.pending].map(async (p) => {
        const t = encodeURIComponent(new Date(p.eventTimeMs).toISOString());
        const r = await this.get(`/v1/profiles/${p.profileId}/impressions?since=${t}&until=${t}`);
        if (r.status !== 200) return;
        const items = (r.json() as { items: { eventId: string }[] }).items;
        if (items.some((i) => i.eventId === p.eventId)) {
          this.samples.push(now - p.eventTimeMs);
          this.pending.splice(this.pending.indexOf(p), 1);
        } else if (now - p.eventTimeMs > 120_000) {
          this.pending.splice(this.pending.indexOf(p), 1);
        }
      }),
    );
  }
}

/** Filter reasons and reject reason families, as the pipeline's metrics name them. */
const REASONS = [...FILTER_REASONS, ...REJECT_REASONS.map((r) => `rejected.${r}`)];

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
    `  read by filter-enrich${String(e.RecordsRead ?? 0).padStart(9)}   ${rate(e.RecordsRead ?? 0, prev?.enrich.RecordsRead).padStart(7)} /s`,
    `    enriched           ${String(e.Enriched ?? 0).padStart(9)}`,
    `    filtered           ${String(e.Filtered ?? 0).padStart(9)}`,
    `    rejected           ${String(e.Rejected ?? 0).padStart(9)}`,
    ...REASONS.filter((r) => e[r]).map((r) => `      ${r.padEnd(36)}${String(e[r]).padStart(7)}`),
    `  history writes       ${String(s.history.HistoryItemsWritten ?? 0).padStart(9)}   ${rate(s.history.HistoryItemsWritten ?? 0, prev?.history.HistoryItemsWritten).padStart(7)} /s`,
    `  lake rows committed  ${String(s.lakeRows).padStart(9)}`,
    `  freshness (event → history API)  p50 ${f(percentile(s.freshness, 50))}  p99 ${f(percentile(s.freshness, 99))}  (${s.freshness.length} probes)`,
    `  lag: ingest max ${f(e.IngestLagMaxMs)}   history max ${f(s.history.FreshnessMaxMs)}`,
  ];
  return lines.join('\n');
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
      observed: observed.RecordsRead ?? 0,
    },
    { key: 'enriched', expected: expected.enriched ?? 0, observed: observed.Enriched ?? 0 },
    { key: 'filtered', expected: sum('filtered.'), observed: observed.Filtered ?? 0 },
    { key: 'rejected', expected: sum('rejected.'), observed: observed.Rejected ?? 0 },
    ...REASONS.map((r) => ({ key: r, expected: expected[r] ?? 0, observed: observed[r] ?? 0 })),
  ];
  const balanced =
    (observed.RecordsRead ?? 0) ===
    (observed.Enriched ?? 0) + (observed.Filtered ?? 0) + (observed.Rejected ?? 0);
  return { rows, ok: balanced && rows.every((r) => r.expected === r.observed) };
}
