/**
 * When to retry, and how long to wait: the contract's rules. A 429 (the profile's rate caps; nothing was
 * written) and a 503 (could not be done now) carry `Retry-After`; the wait is at least that long, plus up
 * to half again of jitter so that many devices told the same do not come back together. Without
 * `Retry-After` (a gateway's own 503, a network error), capped exponential backoff with full jitter.
 * Attempts are bounded, and only idempotent calls are retried (every route of the contract is: reads, the
 * check, DELETE, and ingest, whose retried body is a duplicate that the pipeline filters).
 */

export interface RetryOptions {
  /** Attempts per call, counting the first. @default 5 */
  readonly attempts?: number;
  /** First backoff step without `Retry-After`. @default 200 */
  readonly baseDelayMs?: number;
  /** No single wait is longer. @default 30000 */
  readonly maxDelayMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1). @default Math.random */
  readonly random?: () => number;
  /** For `Retry-After` given as an HTTP date. @default Date.now */
  readonly now?: () => number;
}

export type RetryPolicy = Required<RetryOptions>;

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    attempts: Math.max(1, Math.floor(options.attempts ?? 5)),
    baseDelayMs: options.baseDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    sleep: options.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms))),
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
  };
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : undefined;
}

/** The wait before attempt `attempt + 1`, after `attempt` (1-based) failed. */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  retryAfterSeconds: number | undefined,
): number {
  if (retryAfterSeconds !== undefined) {
    const base = Math.min(retryAfterSeconds * 1000, policy.maxDelayMs);
    return Math.min(base + base * 0.5 * policy.random(), policy.maxDelayMs);
  }
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(cap * policy.random());
}
