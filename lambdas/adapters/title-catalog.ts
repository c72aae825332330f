/**
 * Title catalog reads with an in-memory cache per execution environment (hits and misses both cached). The
 * lookups are bounded (`batchGetAll`: requests of 100 keys, a few in flight at once), and a title the
 * catalog cannot answer for once its retries are used up degrades to an unknown title for this batch (its
 * four catalog columns null, counted by `onUnavailable`), never a failed batch; it is not cached, so the
 * next batch asks again. The contract allows an unknown title ("not an error").
 */

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TitleInfo } from '../domain/enrich.js';
import { systemClock } from './clock.js';
import { batchGetAll } from './dynamo-batch.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';

export interface CatalogOptions {
  /** @default 300000 (5 minutes) */
  readonly ttlMs?: number;
  /** @default 100000 */
  readonly maxEntries?: number;
  readonly nowMs?: () => number;
  readonly retry?: RetryPolicy;
  /** BatchGetItem requests in flight at once. @default BATCH_GET_CONCURRENCY */
  readonly concurrency?: number;
  /** Called with the number of titles of a lookup left unanswered after the retries (enriched as unknown). */
  readonly onUnavailable?: (titles: number) => void;
}

export function titleCatalog(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: CatalogOptions = {},
) {
  const ttlMs = options.ttlMs ?? 300_000;
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.nowMs ?? systemClock;
  const cache = new Map<string, { value: TitleInfo | undefined; expires: number }>();
  return {
    async titles(titleIds: readonly string[]): Promise<ReadonlyMap<string, TitleInfo>> {
      const t = now();
      const out = new Map<string, TitleInfo>();
      const missing: string[] = [];
      for (const id of titleIds) {
        const hit = cache.get(id);
        if (hit && hit.expires > t) {
          if (hit.value) out.set(id, hit.value);
        } else missing.push(id);
      }
      if (missing.length) {
        const { items, unprocessed } = await batchGetAll(
          client,
          tableName,
          missing.map((titleId) => ({ titleId })),
          { concurrency: options.concurrency },
          options.retry ?? DEFAULT_RETRY,
        );
        const byId = new Map(items.map((it) => [String(it.titleId), it]));
        const unanswered = new Set(unprocessed.map((k) => String(k.titleId)));
        if (unanswered.size) options.onUnavailable?.(unanswered.size);
        if (cache.size + missing.length > maxEntries) cache.clear();
        for (const id of missing) {
          if (unanswered.has(id)) continue;
          const it = byId.get(id);
          const value: TitleInfo | undefined = it
            ? {
                titleId: id,
                name: String(it.name ?? ''),
                type: it.type === 'show' ? 'show' : 'movie',
                genres: Array.isArray(it.genres) ? it.genres.map(String) : [],
                maturityRating: String(it.maturityRating ?? ''),
              }
            : undefined;
          cache.set(id, { value, expires: t + ttlMs });
          if (value) out.set(id, value);
        }
      }
      return out;
    },
  };
}
