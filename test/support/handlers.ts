/**
 * Dependencies of the filter-enrich handler for handler tests: an empty catalog, a history that accepts
 * every candidate (or the given store), and in-memory enriched and rejected sinks that keep each record's
 * key and wire row. `streamSinks` gives the real Kinesis sinks instead, for tests of the stream side.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { RetryPolicy } from '../../lambdas/adapters/retry.js';
import { toEnrichedWire, toRejectedWire } from '../../lambdas/adapters/stream-encoding.js';
import {
  enrichedStreamSink,
  type RecordSink,
  rejectedStreamSink,
} from '../../lambdas/adapters/stream-sinks.js';
import type { EnrichedOut, RejectedOut } from '../../lambdas/domain/filter-enrich.js';
import type { HistoryCandidate } from '../../lambdas/domain/history-model.js';
import type { FilterEnrichDeps } from '../../lambdas/filter-enrich/handler.js';
import { DEFAULT_CLASSIFIER_CONFIG, DEFAULT_HISTORY_LIMITS, DEFAULT_MAX_USER_RECORDS } from './oracles.js';

/** A written record as a consumer would read it: its key and its wire row (JSON round trip). */
export interface Written {
  readonly partitionKey: string;
  // biome-ignore lint/suspicious/noExplicitAny: a wire row as JSON, read by property in tests
  readonly row: any;
}

/** An in-memory sink: keeps every non-empty put; `failWhen` makes it answer some records as not written. */
export function memorySink<T extends { readonly partitionKey: string }>(toRow: (item: T) => unknown) {
  const puts: Written[][] = [];
  let fails: (item: T) => boolean = () => false;
  const sink: RecordSink<T> = {
    put: async (items) => {
      const failed = items.filter((i) => fails(i));
      const written = items.filter((i) => !fails(i));
      if (written.length)
        puts.push(
          written.map((i) => ({ partitionKey: i.partitionKey, row: JSON.parse(JSON.stringify(toRow(i))) })),
        );
      return { failed };
    },
  };
  return {
    sink,
    /** Each put's records, in order. */
    puts,
    /** Every wire row written, in order. */
    rows: () => puts.flat().map((w) => w.row),
    failWhen(predicate: (item: T) => boolean) {
      fails = predicate;
    },
    reset() {
      puts.length = 0;
      fails = () => false;
    },
  };
}

/** The real Kinesis sinks over the given (mocked or in-memory) client, on streams `enriched` and `rejected`. */
export const streamSinks = (
  client: KinesisClient,
  options: { readonly retry?: RetryPolicy; readonly aggregateEnriched?: boolean } = {},
) => ({
  enriched: enrichedStreamSink(client, 'enriched', {
    retry: options.retry,
    aggregate: options.aggregateEnriched,
  }),
  rejected: rejectedStreamSink(client, 'rejected', { retry: options.retry }),
});

/** A history that knows of no erasure (for tests whose history is a stub). */
export const noErasures = async () => ({ at: new Map<string, number>(), unknown: new Set<string>() });

export function filterEnrichDeps(overrides: Partial<FilterEnrichDeps> = {}) {
  const offered: HistoryCandidate[] = [];
  const enriched = memorySink((e: EnrichedOut) => toEnrichedWire(e.record));
  const rejected = memorySink((r: RejectedOut) => toRejectedWire(r.row));
  const d: FilterEnrichDeps = {
    enriched: enriched.sink,
    rejected: rejected.sink,
    config: DEFAULT_CLASSIFIER_CONFIG,
    ports: { titles: async () => new Map() },
    history: {
      admit: async (candidates) => {
        offered.push(...candidates);
        return { admissions: candidates.map(() => ({ kind: 'accepted' as const })), writes: 0, stored: 0 };
      },
      erasures: noErasures,
    },
    historySettings: { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS },
    maxUserRecordsPerAggregate: DEFAULT_MAX_USER_RECORDS,
    ...overrides,
  };
  return { d, offered, enriched, rejected };
}
