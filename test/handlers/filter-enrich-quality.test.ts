/**
 * filter-enrich publishes a batch's data-quality metrics as EMF documents: the shares and lag percentiles in
 * the batch's main document (with the counts), each dimensioned value (device type, schema version, reason
 * and field) in a document of its own with bounded dimension values. Metrics are disabled for the other unit
 * tests (vitest.config.ts): here they are enabled and the handler module loaded afresh to read its stdout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
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
  it('publishes null shares, unknown titles, lag and late share with the counts, and bounded dimensioned volumes', async () => {
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

    const dimensioned = docs
      .filter((d) => d !== main && d._aws.CloudWatchMetrics[0]!.Metrics[0]!.Name.startsWith('quality.'))
      .map((d) => {
        const group = d._aws.CloudWatchMetrics[0]!;
        const name = group.Metrics[0]!.Name;
        const dims = group.Dimensions[0]!.filter((k) => k !== 'service')
          .map((k) => `${k}=${String(d[k])}`)
          .join(',');
        expect(group.Dimensions[0]).toContain('service');
        return `${name}{${dims}} ${String(d[name])}`;
      })
      .sort();
    expect(dimensioned).toEqual([
      'quality.enriched-by-device{deviceType=mobile} 1',
      'quality.enriched-by-device{deviceType=tv} 1',
      'quality.enriched-by-schema{schemaVersion=impression/1-0-0} 2',
      'quality.rejected-by-field{reason=schema.missing-field,field=device.type} 1',
      'quality.rejected-by-field{reason=schema.unknown-field,field=other} 1',
    ]);
  });
});
