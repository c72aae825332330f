/**
 * The ingest route's per-profile limit: at most `perWindow` events per profile in each 10-second window of
 * the API's clock (by default the burst cap of `quality.profile-burst`, 1,000), counted before anything is
 * put on the raw stream, so that no device can saturate a shard or fill the rejected table.
 *
 * One counter item per profile and window in the history table, beside the profile's other items
 * (partition key `P#<profileId>`, sort key `I#<window start, ISO>`, a count and a TTL, whose attribute names
 * are the store's `ATTR`, its key `item-codec.ts`'s), raised by one conditional UpdateItem per request: the count grows by the
 * request's events only if the new total stays within the cap (DynamoDB condition expressions cannot add,
 * so the condition is `count ≤ cap − events`). A request refused
 * adds nothing; a request admitted counts whether or not its put then succeeds (a 503's retry puts the
 * events again, so it counts again). One write unit per request (the item is a few dozen bytes); the
 * counters expire with their window (TTL), and an erasure removes them with the rest of the profile.
 *
 * The windows are fixed, so a profile can send up to twice the cap across one window boundary; the
 * burst cap of filter-enrich still holds exactly per 10 s of event time behind it.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Clock, systemClock } from '../adapters/clock.js';
import { type RetryPolicy, retryCall } from '../adapters/retry.js';
import { ATTR, ingestWindowSortKey, profileKey } from './item-codec.js';

/** Width of an ingest window (the contract's burst window). */
export const INGEST_WINDOW_MS = 10_000;
/** How long a window's counter is kept after the window ends (its TTL; DynamoDB removes it later). */
const KEEP_AFTER_WINDOW_S = 60;

export type IngestAllowance =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/** Counts a request's events against its profile's window: allowed, or refused with the wait. */
export type IngestLimiter = (profileId: string, events: number) => Promise<IngestAllowance>;

export interface IngestLimitOptions {
  /** Events per profile per window. */
  readonly perWindow: number;
  readonly now?: Clock;
  /** Short: the caller is waiting. A counter still throttled after it is a 503 (nothing written). */
  readonly policy?: RetryPolicy;
}

export const INGEST_LIMIT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 25, maxDelayMs: 100 };

const conditionFailed = (err: unknown) =>
  err instanceof Error && err.name === 'ConditionalCheckFailedException';

export function ingestLimiter(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: IngestLimitOptions,
): IngestLimiter {
  const now = options.now ?? systemClock;
  const policy = options.policy ?? INGEST_LIMIT_RETRY;
  return async (profileId, events) => {
    const t = now();
    const start = Math.floor(t / INGEST_WINDOW_MS) * INGEST_WINDOW_MS;
    const end = start + INGEST_WINDOW_MS;
    // Whole seconds until the next window, at least 1 (Retry-After is in seconds).
    const retryAfterSeconds = Math.max(1, Math.ceil((end - t) / 1000));
    // A request larger than the cap can never pass: refused like any request over the cap.
    if (events > options.perWindow) return { allowed: false, retryAfterSeconds };
    try {
      await retryCall(
        () =>
          client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { [ATTR.partitionKey]: profileKey(profileId), [ATTR.sortKey]: ingestWindowSortKey(start) },
              UpdateExpression: 'SET #n = if_not_exists(#n, :zero) + :k, #x = :x',
              ConditionExpression: 'attribute_not_exists(#n) OR #n <= :room',
              ExpressionAttributeNames: { '#n': ATTR.count, '#x': ATTR.ttl },
              ExpressionAttributeValues: {
                ':zero': 0,
                ':k': events,
                ':room': options.perWindow - events,
                ':x': Math.floor(end / 1000) + KEEP_AFTER_WINDOW_S,
              },
            }),
          ),
        policy,
      );
      return { allowed: true };
    } catch (err) {
      if (conditionFailed(err)) return { allowed: false, retryAfterSeconds };
      throw err;
    }
  };
}
