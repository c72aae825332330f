/** Dependencies of the filter-enrich handler for handler tests: empty stores, a remember that records. */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DEFAULT_CLASSIFIER_CONFIG } from '../../lambdas/domain/classify.js';
import type { FilterEnrichDeps } from '../../lambdas/filter-enrich/handler.js';

export function filterEnrichDeps(overrides: Partial<FilterEnrichDeps> = {}) {
  const remembered: { eventId: string; sequenceNumber: string }[] = [];
  const d: FilterEnrichDeps = {
    // Mock it with aws-sdk-client-mock in the test: commands never leave the process.
    kinesis: new KinesisClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    }),
    enrichedStreamName: 'enriched',
    rejectedStreamName: 'rejected',
    config: DEFAULT_CLASSIFIER_CONFIG,
    ports: { acceptedEventIds: async () => new Map(), titles: async () => new Map() },
    remember: async (entries) => {
      remembered.push(...entries);
      return [];
    },
    ...overrides,
  };
  return { d, remembered };
}
