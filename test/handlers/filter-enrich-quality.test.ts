/**
 * filter-enrich publishes a batch's data-quality metrics in the batch's one EMF document (with the counts):
 * shares, lag percentiles, and the bounded volumes (device type, schema version, reason and field) as metric
 * names, no dimension but `service`. Metrics are disabled for the other unit
 * tests (vitest.config.ts): here they are enabled and the handler module loaded afresh to read its stdout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QUALITY_EMF_BYTES_PER_BATCH } from '../../ops/cost-model.js';
import { impression, kinesisEvent, rawRecord } from '../support/factories.js';
import { filterEnrichDeps } from '../support/handlers.js';

interface EmfDoc {
  readonly _aws: {
    readonly CloudWatchMetrics: readonly {
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

async function emfOf(
  run: (makeHandler: typeof import('../../lambdas/filter-enrich/handler.js').makeHandler) => Promise<unknown>,
) {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.stubEnv('POWERTOOLS_DEV', '');
  vi.resetModules();
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    const { makeHandler } = await import('../../lambdas/filter-enrich/handler.js');
    await run(makeHandler);
  } finally {
    process.stdout.write = write;
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as EmfDoc);
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('filter-enrich quality metrics (EMF)', () => {
  it('publishes null shares, unknown titles, lag, late share and the bounded volumes as names of the batch document', async () => {
    const noAppVersion = impression({ device: { type: 'mobile', os: 'ios' } });
    const docs = await emfOf(async (makeHandler) => {
      const { d } = filterEnrichDeps();
      await makeHandler(d)(
        kinesisEvent([
          rawRecord(impression()),
          rawRecord(noAppVersion),
          rawRecord({ ...impression(), device: { os: 'tizen' } }),
          rawRecord({ ...impression(), favouriteColour: 'blue' }),
        ]),
      );
    });
    const main = docs.find((d) => d.Enriched !== undefined)!;
    expect(main.Enriched).toBe(2);
    expect(main['quality.null-share.app_version']).toBe(50);
    expect(main['quality.null-share.device_os']).toBe(0);
    // The fake catalog knows no title.
    expect(main['quality.unknown-title-share']).toBe(100);
    expect(main['quality.late-share']).toBe(0);
    expect(main['quality.ingest-lag-p99']).toBe(2000);
    const units = Object.fromEntries(main._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit]));
    expect(units['quality.null-share.app_version']).toBe('Percent');
    expect(units['quality.ingest-lag-p99']).toBe('Milliseconds');

    // Volumes and rejects are names of the same document: no dimension but `service`, no other document.
    expect(main._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service']]);
    expect(docs.filter((d) => d !== main)).toEqual([]);
    const named = Object.keys(main)
      .filter((k) => /^quality\.(enriched|rejected)/.test(k))
      .map((k) => `${k} ${String(main[k])}`)
      .sort();
    expect(named).toEqual([
      'quality.enriched-schema.impression/1-0-0 2',
      'quality.enriched.mobile 1',
      'quality.enriched.tv 1',
      'quality.rejected.schema.missing-field:device.type 1',
      'quality.rejected.schema.unknown-field:other 1',
    ]);
  });
});

/**
 * A realistic 500-record batch (the mapping's full batch): all five device types, some events without
 * optional columns, 1 % rejected with a few reasons. Shared with docs/operations.md ("What it costs") and
 * the cost model's `qualityEmfBytesPerBatch` input.
 */
function realisticBatch() {
  const types = ['tv', 'mobile', 'tablet', 'web', 'console'] as const;
  return Array.from({ length: 500 }, (_, i) => {
    if (i % 100 === 0) return rawRecord({ ...impression(), device: { os: 'tizen' } });
    if (i % 100 === 50) return rawRecord({ ...impression(), row: { index: 'x', id: 'r', type: 't' } });
    const e = impression({ profileId: `profile-${i % 40}` });
    e.device = { ...e.device, type: types[i % types.length]! };
    if (i % 7 === 0) delete (e as { trackId?: number }).trackId;
    return rawRecord(e, { partitionKey: e.profileId });
  });
}

/** Bytes of the quality metrics in EMF documents: whole documents of quality metrics only, and in a mixed
 * document the bytes its quality keys and definitions add (Powertools writes `JSON.stringify` of each). */
function qualityBytes(docs: readonly EmfDoc[]): { quality: number; total: number; documents: number } {
  let quality = 0;
  let total = 0;
  for (const d of docs) {
    const line = JSON.stringify(d).length + 1;
    total += line;
    const group = d._aws.CloudWatchMetrics[0]!;
    const isQuality = (n: string) => n.startsWith('quality.');
    if (group.Metrics.every((m) => isQuality(m.Name))) {
      quality += line;
      continue;
    }
    const stripped = {
      ...Object.fromEntries(Object.entries(d).filter(([k]) => !isQuality(k))),
      _aws: {
        ...d._aws,
        CloudWatchMetrics: [{ ...group, Metrics: group.Metrics.filter((m) => !isQuality(m.Name)) }],
      },
    };
    quality += line - (JSON.stringify(stripped).length + 1);
  }
  return { quality, total, documents: docs.length };
}

describe('filter-enrich quality metrics: log bytes of a 500-record batch', () => {
  it('measures the EMF bytes the quality metrics add (docs/operations.md, the cost model input)', async () => {
    const docs = await emfOf(async (makeHandler) => {
      const { d } = filterEnrichDeps();
      await makeHandler(d)(kinesisEvent(realisticBatch()));
    });
    const b = qualityBytes(docs);
    process.stderr.write(`quality EMF bytes per 500-record batch: ${JSON.stringify(b)}\n`);
    // One document for the batch; the quality names add ≈ 1.5 KB to it (3.5 KB in 9 documents when volumes
    // were dimensioned documents of their own). The figure is the cost model's qualityEmfBytesPerBatch.
    expect(b.documents).toBe(1);
    expect(b.quality).toBeGreaterThan(0.9 * QUALITY_EMF_BYTES_PER_BATCH.value);
    expect(b.quality).toBeLessThanOrEqual(QUALITY_EMF_BYTES_PER_BATCH.value);
  });
});
