/**
 * The title catalog lookup under a flood of titles and an unavailable catalog: bounded BatchGetItem
 * concurrency, and titles left unprocessed after the retries degrade to unknown titles (counted), never a
 * failed batch. Through filter-enrich and the ESM driver at the deployed retry settings.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { BATCH_GET_CONCURRENCY } from '../../lambdas/adapters/dynamo-batch.js';
import { titleCatalog } from '../../lambdas/adapters/title-catalog.js';
import { makeHandler } from '../../lambdas/filter-enrich/handler.js';
import { drive } from '../support/esm-driver.js';
import { impression, rawRecord } from '../support/factories.js';
import { filterEnrichDeps } from '../support/handlers.js';

const MAPPING = {
  batchSize: DEFAULT_STAGE.consumer.batchSize,
  maxRetries: DEFAULT_STAGE.consumer.retryAttempts,
  bisectOnError: true,
};
const FAST = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };

type Key = { titleId: string };

/**
 * A catalog table behind the real document client: BatchGetItem answers after a macrotask (so requests
 * overlap as they would on the network), refuses more than 100 keys as DynamoDB does ("The maximum number of
 * items to retrieve is 100", BatchGetItem, ValidationException), and leaves unprocessed the keys `unavailable`
 * names. Every title `t-<n>` exists.
 */
function catalogTable(unavailable: (id: string) => boolean = () => false) {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
  );
  const stats = { inFlight: 0, maxInFlight: 0, requests: 0 };
  mockClient(doc)
    .on(BatchGetCommand)
    .callsFake(async (input) => {
      const keys = input.RequestItems.catalog.Keys as Key[];
      if (keys.length > 100)
        throw Object.assign(new Error('Too many items requested for the BatchGetItem call'), {
          name: 'ValidationException',
          $metadata: { httpStatusCode: 400 },
        });
      stats.requests++;
      stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
      await new Promise((r) => setImmediate(r));
      stats.inFlight--;
      const left = keys.filter((k) => unavailable(k.titleId));
      return {
        Responses: {
          catalog: keys
            .filter((k) => !unavailable(k.titleId))
            .map((k) => ({
              titleId: k.titleId,
              name: `Name ${k.titleId}`,
              type: 'movie',
              genres: ['drama'],
            })),
        },
        UnprocessedKeys: left.length ? { catalog: { Keys: left } } : {},
      };
    });
  return { doc, stats };
}

describe('title catalog lookups are bounded and degrade to unknown titles', () => {
  it(`asks for 50,000 titles with at most ${BATCH_GET_CONCURRENCY} BatchGetItem in flight`, async () => {
    const { doc, stats } = catalogTable();
    const catalog = titleCatalog(doc, 'catalog', { retry: FAST });
    const ids = Array.from({ length: 50_000 }, (_, i) => `t-${i}`);
    const found = await catalog.titles(ids);
    expect(found.size).toBe(50_000);
    expect(stats.requests).toBe(500);
    expect(stats.maxInFlight).toBeLessThanOrEqual(BATCH_GET_CONCURRENCY);
  });

  it('enriches records whose titles stay unprocessed as unknown titles, counts them, and completes the batch', async () => {
    let down = true;
    const { doc } = catalogTable((id) => down && id.endsWith('7'));
    let unavailable = 0;
    const catalog = titleCatalog(doc, 'catalog', { retry: FAST, onUnavailable: (n) => (unavailable += n) });
    const events = Array.from({ length: 30 }, (_, i) =>
      impression({ titleId: `t-${i}`, entityId: `t-${i}` }),
    );
    const { d, enriched } = filterEnrichDeps({ ports: { titles: catalog.titles } });
    const report = await drive(
      events.map((e) => rawRecord(e)),
      makeHandler(d),
      MAPPING,
    );
    expect(report.functionErrors).toBe(0);
    expect(report.partialFailures).toBe(0);
    expect(report.onFailure).toEqual([]);
    const rows = enriched.rows();
    expect(rows).toHaveLength(30);
    const unknown = rows.filter((r) => r.title_name === null).map((r) => r.title_id);
    expect(unknown.sort()).toEqual(['t-17', 't-27', 't-7']);
    expect(unavailable).toBe(3);

    // Not cached as missing: once the catalog answers again, the same lookup finds the title.
    down = false;
    const again = await catalog.titles(['t-7']);
    expect(again.get('t-7')?.name).toBe('Name t-7');
  });
});
