/**
 * Dependencies of the filter-enrich handler for handler tests: an empty catalog, a history that accepts
 * every candidate (or the given store), and a mocked Kinesis client.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DEFAULT_CLASSIFIER_CONFIG } from '../../lambdas/domain/classify.js';
import type { HistoryCandidate } from '../../lambdas/domain/history-model.js';
import { DEFAULT_HISTORY_LIMITS } from '../../lambdas/domain/history-model.js';
import type { FilterEnrichDeps } from '../../lambdas/filter-enrich/handler.js';

export function filterEnrichDeps(overrides: Partial<FilterEnrichDeps> = {}) {
  const offered: HistoryCandidate[] = [];
  const d: FilterEnrichDeps = {
    // Mock it with aws-sdk-client-mock in the test: commands never leave the process.
    kinesis: new KinesisClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    }),
    enrichedStreamName: 'enriched',
    rejectedStreamName: 'rejected',
    config: DEFAULT_CLASSIFIER_CONFIG,
    ports: { titles: async () => new Map() },
    history: {
      admit: async (candidates) => {
        offered.push(...candidates);
        return { admissions: candidates.map(() => ({ kind: 'accepted' as const })), writes: 0, stored: 0 };
      },
    },
    historySettings: { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS },
    ...overrides,
  };
  return { d, offered };
}
