/**
 * History writes: DynamoDB write capacity units per accepted impression on realistic traffic, counted from
 * the item sizes and operations the code actually issues (the write plan of `planHistoryWrites`, applied to
 * a simulated table), with DynamoDB's rounding rules: a write is charged ceil(size / 1 KB) on the larger of
 * the item before and after it. Baseline measured in the same run: the naive design, one put of an item
 * per impression plus one counter update per impression.
 */
import { enrich } from '../lambdas/domain/enrich.js';
import type { ImpressionEvent } from '../lambdas/domain/event-schema.js';
import {
  attributeName,
  bucketSortKey,
  impressionOf,
  planHistoryWrites,
} from '../lambdas/domain/history-model.js';
import { sampleCatalog } from '../scripts/seed-catalog.js';
import { traffic } from '../scripts/traffic.js';

/** DynamoDB item size of one attribute value (storage and capacity accounting). */
export function valueSize(v: unknown): number {
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (typeof v === 'number') {
    const digits = String(Math.abs(v)).replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length || 1;
    return Math.ceil(digits / 2) + 1;
  }
  if (Array.isArray(v)) return 3 + v.reduce((n: number, x) => n + valueSize(x) + 1, 0);
  if (v instanceof Set) return [...v].reduce((n: number, x) => n + valueSize(x), 0);
  if (typeof v === 'object') {
    return (
      3 +
      Object.entries(v as Record<string, unknown>).reduce(
        (n, [k, x]) => n + Buffer.byteLength(k) + valueSize(x) + 1,
        0,
      )
    );
  }
  throw new Error(`no size for ${typeof v}`);
}

export const itemSize = (item: Readonly<Record<string, unknown>>) =>
  Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + valueSize(v), 0);

const wcu = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

export interface WcuBenchResult {
  readonly impressions: number;
  readonly batches: number;
  readonly batchSize: number;
  readonly design: {
    readonly wcu: number;
    readonly wcuPerImpression: number;
    readonly writes: number;
    readonly avgItemBytes: number;
  };
  readonly naive: { readonly wcu: number; readonly wcuPerImpression: number; readonly writes: number };
  readonly ratio: number;
  readonly target: number;
}

export function benchHistoryWcu(
  options: { impressions?: number; batchSize?: number; seed?: number } = {},
): WcuBenchResult {
  const total = options.impressions ?? 200_000;
  const batchSize = options.batchSize ?? 500;
  const catalog = sampleCatalog();
  const gen = traffic({
    seed: options.seed ?? 21,
    titleIds: catalog.map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0,
    duplicateShare: 0,
  });
  const table = new Map<string, Record<string, unknown>>();
  let designWcu = 0;
  let designWrites = 0;
  let naiveWcu = 0;
  let naiveWrites = 0;
  let impressions = 0;
  let batches = 0;
  const arrival = Date.now();
  while (impressions < total) {
    const batch = [];
    while (batch.length < batchSize) {
      const r = gen.next().value!;
      if (r.expected !== 'enriched') continue;
      const e = JSON.parse(Buffer.from(r.data).toString('utf8')) as ImpressionEvent;
      batch.push({
        sequenceNumber: String(impressions + batch.length),
        record: enrich(e, Date.parse(e.eventTime), arrival, undefined),
      });
    }
    batches++;
    impressions += batch.length;

    // This design: one UpdateItem per profile, bucket and batch (≤ 100 impressions each).
    for (const w of planHistoryWrites(batch, 30)) {
      const sk = bucketSortKey(w.bucketStartMs, w.part);
      const key = `${w.pk}\u0000${sk}`;
      const before = table.get(key);
      const after: Record<string, unknown> = { ...(before ?? { pk: w.pk, sk }), x: w.x };
      for (const [id, stored] of w.impressions) after[attributeName(id)] = stored;
      designWcu += wcu(Math.max(before ? itemSize(before) : 0, itemSize(after)));
      designWrites++;
      table.set(key, after);
    }
    // Naive: an item per impression (the API's fields) and a counter per profile, title and day.
    for (const { record: r } of batch) {
      naiveWcu += wcu(
        itemSize({
          pk: `P#${r.profile_id}`,
          sk: `I#${r.event_time}#${r.event_id}`,
          ...impressionOf(r),
          expiresAt: 1_800_000_000,
        }),
      );
      naiveWcu += wcu(
        itemSize({
          pk: `P#${r.profile_id}`,
          sk: `C#${r.title_id}#${r.event_date}`,
          count: 12,
          expiresAt: 1_800_000_000,
        }),
      );
      naiveWrites += 2;
    }
  }
  const sizes = [...table.values()].map(itemSize);
  return {
    impressions,
    batches,
    batchSize,
    design: {
      wcu: designWcu,
      wcuPerImpression: designWcu / impressions,
      writes: designWrites,
      avgItemBytes: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length),
    },
    naive: { wcu: naiveWcu, wcuPerImpression: naiveWcu / impressions, writes: naiveWrites },
    ratio: designWcu / naiveWcu,
    target: 0.5,
  };
}
