/** Column-level quality of a batch: every planted defect moves exactly its metric, every key is bounded. */
import { describe, expect, it } from 'vitest';
import { type EnrichedRecord, enrich, type TitleInfo } from '../../lambdas/domain/enrich.js';
import type { ImpressionEvent } from '../../lambdas/domain/event-schema.js';
import {
  MAX_REJECTED_PAIRS_PER_BATCH,
  QUALITY_METRIC,
  qualityMetricPoints,
} from '../../lambdas/domain/metrics.js';
import {
  batchQuality,
  LATE_AFTER_MS,
  NO_FIELD,
  OPTIONAL_COLUMNS,
  OTHER,
  reasonAndField,
  SCHEMA_FIELD_PATHS,
} from '../../lambdas/domain/quality.js';
import { impression, type Mutable, NOW_MS } from '../support/factories.js';

const TITLE: TitleInfo = {
  titleId: 'title-1',
  name: 'A Title',
  type: 'movie',
  genres: ['drama'],
  maturityRating: 'PG',
};

/** An accepted record of a valid event, `lagMs` after its event time, with the title known unless told. */
function accepted(
  change: (e: Mutable<ImpressionEvent>) => void = () => {},
  options: { lagMs?: number; title?: TitleInfo | undefined } = {},
): EnrichedRecord {
  const lagMs = options.lagMs ?? 2000;
  // The newest version, so that every optional column can be filled.
  const e = impression({ schema: 'impression/1-1-0', eventTime: new Date(NOW_MS - lagMs).toISOString() });
  e.device = { ...e.device, locale: 'en-US' };
  change(e);
  return enrich(e, NOW_MS - lagMs, NOW_MS, 'title' in options ? options.title : TITLE);
}

const batch = (n: number, make: (i: number) => EnrichedRecord) =>
  Array.from({ length: n }, (_, i) => make(i));

describe('batch quality', () => {
  it('a clean batch: every optional column 0 % null, no unknown titles, no late events', () => {
    const q = batchQuality(
      batch(10, () => accepted()),
      [],
    );
    expect(q.accepted).toBe(10);
    expect([...q.nullPercent.keys()]).toEqual([...OPTIONAL_COLUMNS]);
    expect([...q.nullPercent.values()].every((v) => v === 0)).toBe(true);
    expect(q.unknownTitlePercent).toBe(0);
    expect(q.latePercent).toBe(0);
    expect(q.ingestLagP50Ms).toBe(2000);
    expect(q.ingestLagP99Ms).toBe(2000);
  });

  it('a batch with a dropped column moves exactly that column’s metric', () => {
    const clean = batchQuality(
      batch(20, () => accepted()),
      [],
    );
    // A producer release stops sending device.appVersion on 5 of 20 events.
    const defect = batchQuality(
      batch(20, (i) =>
        accepted((e) => {
          if (i < 5) delete (e.device as { appVersion?: string }).appVersion;
        }),
      ),
      [],
    );
    const moved = OPTIONAL_COLUMNS.filter((c) => defect.nullPercent.get(c) !== clean.nullPercent.get(c));
    expect(moved).toEqual(['app_version']);
    expect(defect.nullPercent.get('app_version')).toBe(25);
    expect(defect.unknownTitlePercent).toBe(clean.unknownTitlePercent);
    expect(defect.ingestLagP99Ms).toBe(clean.ingestLagP99Ms);
    // And the published points differ in exactly that metric.
    const points = (q: typeof clean) => new Map(qualityMetricPoints(q).map((p) => [p.name, p.value]));
    const a = points(clean);
    const b = points(defect);
    expect([...b.keys()].filter((k) => b.get(k) !== a.get(k))).toEqual([
      QUALITY_METRIC.nullShare('app_version'),
    ]);
  });

  it('an empty string, an empty map and a missing optional field all count as null or empty', () => {
    const q = batchQuality(
      [
        accepted((e) => {
          (e.row as { type?: string }).type = '';
        }),
        accepted((e) => {
          e.context = {};
        }),
        accepted((e) => {
          delete e.entityId;
          delete e.trackId;
        }),
        accepted(),
      ],
      [],
    );
    expect(q.nullPercent.get('row_type')).toBe(25);
    expect(q.nullPercent.get('context')).toBe(25);
    expect(q.nullPercent.get('entity_id')).toBe(25);
    expect(q.nullPercent.get('track_id')).toBe(25);
    expect(q.nullPercent.get('device_os')).toBe(0);
  });

  it('unknown titles move the unknown-title share and the catalog columns, nothing else', () => {
    const q = batchQuality(
      batch(8, (i) => accepted(() => {}, i < 2 ? { title: undefined } : {})),
      [],
    );
    expect(q.unknownTitlePercent).toBe(25);
    const moved = OPTIONAL_COLUMNS.filter((c) => q.nullPercent.get(c) !== 0);
    expect(moved).toEqual(['title_name', 'title_type', 'title_genres', 'maturity_rating']);
  });

  it('ingest lag p50/p99 by nearest rank, and events older than an hour are late', () => {
    // 100 events: lags 1..100 s, and 3 of them more than an hour old.
    const lags = Array.from({ length: 100 }, (_, i) => (i < 3 ? LATE_AFTER_MS + 1 + i : (i + 1) * 1000));
    const q = batchQuality(
      lags.map((lagMs) => accepted(() => {}, { lagMs })),
      [],
    );
    const sorted = [...lags].sort((a, b) => a - b);
    expect(q.ingestLagP50Ms).toBe(sorted[49]);
    expect(q.ingestLagP99Ms).toBe(sorted[98]);
    expect(q.latePercent).toBe(3);
    // Exactly an hour is not late.
    expect(batchQuality([accepted(() => {}, { lagMs: LATE_AFTER_MS })], []).latePercent).toBe(0);
  });

  it('volume per device type and per schema version', () => {
    const types = ['tv', 'tv', 'mobile', 'web', 'console', 'tablet', 'tv'] as const;
    const q = batchQuality(
      types.map((t, i) =>
        accepted((e) => {
          e.device.type = t;
          // Two events of apps not yet on 1-1-0.
          if (i < 2) {
            e.schema = 'impression/1-0-0';
            delete (e.device as { locale?: string }).locale;
          }
        }),
      ),
      [],
    );
    expect(Object.fromEntries(q.byDeviceType)).toEqual({ tv: 3, mobile: 1, web: 1, console: 1, tablet: 1 });
    expect(Object.fromEntries(q.bySchemaVersion)).toEqual({ 'impression/1-0-0': 2, 'impression/1-1-0': 5 });
    expect(q.nullPercent.get('device_locale')).toBeCloseTo((2 / 7) * 100, 9);
  });

  it('keys outside their closed sets count as other: device type, schema version', () => {
    const odd = { ...accepted(), device_type: 'fridge', schema_version: 'impression/9-9-9' };
    const q = batchQuality([odd, accepted()], []);
    expect(Object.fromEntries(q.byDeviceType)).toEqual({ other: 1, tv: 1 });
    expect(Object.fromEntries(q.bySchemaVersion)).toEqual({ other: 1, 'impression/1-1-0': 1 });
  });

  it('rejected records by reason and field path, bounded to the reason list and the schema paths', () => {
    const q = batchQuality(
      [],
      [
        'schema.missing-field:device.type',
        'schema.missing-field:device.type',
        'schema.wrong-type:row.index',
        'schema.unknown-field:favouriteColour',
        'schema.unknown-field:context["a b"]',
        'time.future',
        'no.such-reason:eventId',
      ],
    );
    expect(q.rejected).toEqual(
      [
        { reason: 'schema.missing-field', field: 'device.type', count: 2 },
        { reason: OTHER, field: 'eventId', count: 1 },
        { reason: 'schema.unknown-field', field: OTHER, count: 2 },
        { reason: 'schema.wrong-type', field: 'row.index', count: 1 },
        { reason: 'time.future', field: NO_FIELD, count: 1 },
      ].sort(
        (a, b) => b.count - a.count || a.reason.localeCompare(b.reason) || a.field.localeCompare(b.field),
      ),
    );
    // No accepted record: no share, no lag (no data is not a breach).
    expect(q.accepted).toBe(0);
    expect(q.unknownTitlePercent).toBeUndefined();
    expect(qualityMetricPoints(q).every((p) => p.name.startsWith(QUALITY_METRIC.RejectedPrefix))).toBe(true);
  });

  it('the field set is the registered schemas’ paths, nested ones included', () => {
    for (const p of [
      'schema',
      'eventId',
      'device',
      'device.type',
      'device.os',
      'device.locale',
      'row.index',
      'visibility.durationMs',
      'context',
    ])
      expect(SCHEMA_FIELD_PATHS.has(p)).toBe(true);
    expect(SCHEMA_FIELD_PATHS.has('context.experiment')).toBe(false);
    expect(SCHEMA_FIELD_PATHS.size).toBe(26);
    expect(reasonAndField('schema.out-of-range:visibility.percent')).toEqual({
      reason: 'schema.out-of-range',
      field: 'visibility.percent',
    });
  });

  it('publishes volumes and rejects as names of one document, at most MAX_REJECTED_PAIRS_PER_BATCH reject pairs', () => {
    const q = batchQuality(
      [
        accepted((e) => {
          e.device.type = 'mobile';
        }),
        accepted(),
        accepted(),
      ],
      [],
    );
    const points = new Map(qualityMetricPoints(q).map((p) => [p.name, p.value]));
    expect(points.get('quality.enriched.tv')).toBe(2);
    expect(points.get('quality.enriched.mobile')).toBe(1);
    // Only non-zero volumes.
    expect(points.has('quality.enriched.web')).toBe(false);
    // The test's records are of version 1-1-0 (with device.locale); none of 1-0-0, so no 1-0-0 volume.
    expect(points.get('quality.enriched-schema.impression/1-1-0')).toBe(3);
    expect(points.has('quality.enriched-schema.impression/1-0-0')).toBe(false);

    // 30 distinct (reason, field) pairs, the first one most frequent: 19 kept by name, the 11 others summed.
    const paths = [...SCHEMA_FIELD_PATHS].slice(0, 15);
    const reasons = [
      'schema.missing-field:device.type',
      'schema.missing-field:device.type',
      ...paths.map((f) => `schema.wrong-type:${f}`),
      ...paths.map((f) => `schema.out-of-range:${f}`),
    ];
    const rejects = qualityMetricPoints(batchQuality([], reasons.slice(0, 31)));
    expect(rejects).toHaveLength(MAX_REJECTED_PAIRS_PER_BATCH);
    expect(rejects[0]).toEqual({
      name: 'quality.rejected.schema.missing-field:device.type',
      unit: 'Count',
      value: 2,
    });
    expect(rejects.at(-1)).toEqual({ name: 'quality.rejected.other:other', unit: 'Count', value: 11 });
    expect(rejects.reduce((n, p) => n + p.value, 0)).toBe(31);
    // 20 pairs or fewer: every pair by its own name, no `other:other`.
    const few = qualityMetricPoints(batchQuality([], reasons.slice(0, 21)));
    expect(few).toHaveLength(MAX_REJECTED_PAIRS_PER_BATCH);
    expect(few.some((p) => p.name.endsWith('other:other'))).toBe(false);
  });
});
