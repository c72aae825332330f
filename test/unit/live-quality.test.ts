/** The quality figures of `npm start`'s live view and summary, from the EMF documents filter-enrich logs. */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { METRIC, QUALITY_METRIC } from '../../infra/contract.js';
import { MetricsPoller, qualityLines } from '../../scripts/live-stats.js';
import { renderSummary } from '../../scripts/start.js';

/** One EMF document as Powertools writes it. */
const emf = (values: Record<string, number>, units: Record<string, string>) =>
  JSON.stringify({
    _aws: {
      Timestamp: 0,
      CloudWatchMetrics: [
        {
          Namespace: 'Impressions',
          Dimensions: [['service']],
          Metrics: Object.keys(values).map((Name) => ({ Name, Unit: units[Name] ?? 'Count' })),
        },
      ],
    },
    service: 'filter-enrich',
    ...values,
  });

const UNITS = {
  [QUALITY_METRIC.nullShare('app_version')]: 'Percent',
  [QUALITY_METRIC.nullShare('row_type')]: 'Percent',
  [QUALITY_METRIC.UnknownTitleShare]: 'Percent',
  [QUALITY_METRIC.LateShare]: 'Percent',
  [QUALITY_METRIC.IngestLagP99Ms]: 'Milliseconds',
};

function logs(messages: string[]): CloudWatchLogsClient {
  return {
    send: async () => ({
      events: messages.map((message, i) => ({ eventId: String(i), timestamp: i, message })),
    }),
  } as unknown as CloudWatchLogsClient;
}

describe('quality figures of the live view', () => {
  it('a share is weighted by the batch’s accepted records; the lag p99 is the largest batch’s', async () => {
    const poller = new MetricsPoller(
      logs([
        emf(
          {
            [METRIC.Enriched]: 100,
            [QUALITY_METRIC.nullShare('app_version')]: 0,
            [QUALITY_METRIC.nullShare('row_type')]: 10,
            [QUALITY_METRIC.UnknownTitleShare]: 2,
            [QUALITY_METRIC.LateShare]: 0,
            [QUALITY_METRIC.IngestLagP99Ms]: 1500,
          },
          UNITS,
        ),
        emf(
          {
            [METRIC.Enriched]: 300,
            [QUALITY_METRIC.nullShare('app_version')]: 40,
            [QUALITY_METRIC.nullShare('row_type')]: 10,
            [QUALITY_METRIC.UnknownTitleShare]: 0,
            [QUALITY_METRIC.LateShare]: 4,
            [QUALITY_METRIC.IngestLagP99Ms]: 900,
          },
          UNITS,
        ),
      ]),
      'group',
      0,
    );
    await poller.poll();
    const t = poller.totals;
    expect(t[METRIC.Enriched]).toBe(400);
    expect(t[QUALITY_METRIC.nullShare('app_version')]).toBe(30); // (0×100 + 40×300) / 400
    expect(t[QUALITY_METRIC.UnknownTitleShare]).toBe(0.5);
    expect(t[QUALITY_METRIC.LateShare]).toBe(3);
    expect(t[QUALITY_METRIC.IngestLagP99Ms]).toBe(1500);

    const [head, nulls] = qualityLines(t, { ...t, [QUALITY_METRIC.nullShare('app_version')]: 0 });
    expect(head).toBe(
      '  quality: unknown titles 0.5 %   late (> 1 h) 3.0 %   ingest lag p99 (max of batches) 1.50 s',
    );
    // Largest first; the column that moved since the previous screen is marked.
    expect(nulls).toBe('    null or empty: app_version 30.0 % ↑, row_type 10.0 %');
  });

  it('before any accepted record: dashes, and no column listed', () => {
    expect(qualityLines({})).toEqual([
      '  quality: unknown titles - %'.replace(' %', '') +
        '   late (> 1 h) -   ingest lag p99 (max of batches) -',
      '    null or empty: no optional column',
    ]);
  });

  it('the summary shows them too', () => {
    const { text } = renderSummary({
      load: { sent: 10, elapsedMs: 1000, failed: 0, expected: { enriched: 10 } },
      stoppedByCtrlC: false,
      drained: true,
      final: {
        enrich: {
          [METRIC.RecordsRead]: 10,
          [METRIC.Enriched]: 10,
          [QUALITY_METRIC.nullShare('entity_id')]: 20,
          [QUALITY_METRIC.IngestLagP99Ms]: 2000,
        },
        history: { HistoryItemsWritten: 10 },
        lakeRows: 10,
      },
      freshness: [],
    });
    expect(text).toContain('ingest lag p99 (max of batches) 2.00 s');
    expect(text).toContain('null or empty: entity_id 20.0 %');
  });
});
