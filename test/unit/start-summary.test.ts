/** `npm start`'s summary, rendered from counts alone (no emulator). */
import { describe, expect, it } from 'vitest';
import { renderKeptHelp, renderSummary, type SummaryInput } from '../../scripts/start.js';

const expected = { enriched: 90, 'filtered.duplicate': 6, 'rejected.decode.not-json': 4 };
const pipeline = { RecordsRead: 100, Enriched: 90, Filtered: 6, Rejected: 4, 'filtered.duplicate': 6 };
const input = (over: Partial<SummaryInput> = {}): SummaryInput => ({
  load: { sent: 100, elapsedMs: 2500, failed: 0, expected },
  stoppedByCtrlC: false,
  drained: true,
  final: {
    enrich: { ...pipeline, 'rejected.decode.not-json': 4 },
    history: { HistoryItemsWritten: 90 },
    lakeRows: 90,
  },
  freshness: [100, 200, 300],
  ...over,
});

describe('renderSummary', () => {
  it('reconciles when every outcome, the history and the lake match what was sent', () => {
    const { text, ok } = renderSummary(input());
    expect(ok).toBe(true);
    expect(text).toContain('Summary: 100 impressions sent in 2.5 s (0 not accepted by Kinesis)\n');
    expect(text).toMatch(/ {2}read {34} {7}100 {7}100 {2}✓/);
    expect(text).toMatch(/history items written +90 +90 {2}✓\n/);
    expect(text).toMatch(/lake rows committed +90 +90 {2}✓\n/);
    expect(text).toContain('✓ reconciles');
    expect(text).not.toContain('✗');
    // Outcomes neither sent nor seen are left out.
    expect(text).not.toContain('filtered.not-viewable');
  });

  it('has a row for bad KPL aggregates (decode.bad-aggregate) that reconciles, and one that marks a mismatch', () => {
    const withBad = input({
      load: {
        sent: 102,
        elapsedMs: 2500,
        failed: 0,
        expected: { ...expected, 'rejected.decode.bad-aggregate': 2 },
      },
      final: {
        ...input().final,
        enrich: {
          ...input().final.enrich,
          RecordsRead: 102,
          Rejected: 6,
          'rejected.decode.bad-aggregate': 2,
        },
      },
    });
    const good = renderSummary(withBad);
    expect(good.ok).toBe(true);
    expect(good.text).toMatch(/rejected\.decode\.bad-aggregate +2 +2 {2}✓/);
    const bad = renderSummary({
      ...withBad,
      final: { ...withBad.final, enrich: { ...withBad.final.enrich, 'rejected.decode.bad-aggregate': 1 } },
    });
    expect(bad.ok).toBe(false);
    expect(bad.text).toMatch(/rejected\.decode\.bad-aggregate +2 +1 {2}✗/);
  });

  it('has a row for impressions of an erased profile (filtered.erased) that reconciles, and one that marks a mismatch', () => {
    const withErased = input({
      load: { sent: 103, elapsedMs: 2500, failed: 0, expected: { ...expected, 'filtered.erased': 3 } },
      final: {
        ...input().final,
        enrich: { ...input().final.enrich, RecordsRead: 103, Filtered: 9, 'filtered.erased': 3 },
      },
    });
    const good = renderSummary(withErased);
    expect(good.ok).toBe(true);
    expect(good.text).toMatch(/filtered\.erased +3 +3 {2}✓/);
    const bad = renderSummary({
      ...withErased,
      final: { ...withErased.final, enrich: { ...withErased.final.enrich, 'filtered.erased': 0 } },
    });
    expect(bad.ok).toBe(false);
    expect(bad.text).toMatch(/filtered\.erased +3 +0 {2}✗/);
  });

  it('marks what is missing, and says why when the drain did not finish', () => {
    const { text, ok } = renderSummary(
      input({ drained: false, stoppedByCtrlC: true, final: { ...input().final, lakeRows: 80 } }),
    );
    expect(ok).toBe(false);
    expect(text).toContain(', stopped by Ctrl-C');
    expect(text).toMatch(/lake rows committed +90 +80 {2}✗/);
    expect(text).toContain('✗ does NOT reconcile (rows marked ✗): the drain did not finish');
  });

  it('does not reconcile when the history missed items, even if the lake has them all', () => {
    const { text, ok } = renderSummary(
      input({ final: { ...input().final, history: { HistoryItemsWritten: 89 } } }),
    );
    expect(ok).toBe(false);
    expect(text).toMatch(/history items written +90 +89 {2}✗/);
  });

  it('shows freshness percentiles, or dashes with no probe', () => {
    expect(renderSummary(input()).text).toContain('p50 200 ms');
    expect(renderSummary(input({ freshness: [] })).text).toContain('p50 - ms, p99 - ms over 0 probes');
  });
});

describe('renderKeptHelp', () => {
  it('lists the outputs and curl lines against the API for a sent profile', () => {
    const text = renderKeptHelp({ HistoryApiUrl: 'http://api' }, 'http://127.0.0.1:4566', 'p42');
    expect(text).toContain('  HistoryApiUrl          http://api');
    expect(text).toContain("'http://api/v1/profiles/p42/impressions?limit=3'");
    expect(text).toContain('export AWS_ENDPOINT_URL=http://127.0.0.1:4566');
  });
});
