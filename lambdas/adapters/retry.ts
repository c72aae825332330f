/**
 * The one retry layer of the data path: error classification and bounded exponential backoff with full
 * jitter. The SDK clients are built with `maxAttempts: 1` (lambdas/adapters/clients.ts), so every retry of a
 * throttled or transient call happens here, and a call is tried at most `policy.attempts` times in all.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. @default 6 */
  readonly attempts: number;
  /** @default 50 */
  readonly baseDelayMs: number;
  /** @default 2000 */
  readonly maxDelayMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 50, maxDelayMs: 2000 };

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Full jitter: a random pause up to `baseDelayMs · 2^attempt`, capped at `maxDelayMs`. */
function backoff(attempt: number, policy: RetryPolicy): Promise<void> {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return (policy.sleep ?? defaultSleep)(Math.random() * cap);
}

/** Error names of throttling and service-side faults. */
const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'LimitExceededException',
  'RequestLimitExceeded',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  // Transient network and timeout errors that the SDK's own retry strategy covers (@smithy/service-error-classification).
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Node socket error codes the SDK's retry strategy treats as transient (@smithy/service-error-classification). */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

/**
 * Throttling, service-side faults and transient network errors are retried; anything else (access denied,
 * no such stream, a failed condition, validation) is raised.
 */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & {
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
    code?: unknown;
  };
  return (
    RETRYABLE_NAMES.has(e.name) ||
    (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500 ||
    e.$retryable !== undefined
  );
}

/**
 * Runs `step` on the pending items until none are left or the attempts are used up. `step` returns the items
 * still pending (unprocessed or failed); they are returned at the end if they never succeeded.
 */
export async function retryPending<T>(
  items: readonly T[],
  step: (pending: readonly T[]) => Promise<readonly T[]>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<readonly T[]> {
  let pending = items;
  for (let attempt = 0; attempt < policy.attempts && pending.length > 0; attempt++) {
    if (attempt > 0) await backoff(attempt, policy);
    pending = await step(pending);
  }
  return pending;
}

/**
 * A `retryPending` step whose call may fail as a whole: a retryable error leaves every pending item pending
 * (tried again after a backoff), any other error is raised at once.
 */
export function retryingStep<T>(
  step: (pending: readonly T[]) => Promise<readonly T[]>,
): (pending: readonly T[]) => Promise<readonly T[]> {
  return async (pending) => {
    try {
      return await step(pending);
    } catch (err) {
      if (isRetryable(err)) return pending;
      throw err;
    }
  };
}

/**
 * One call retried on retryable errors with the policy's backoff; the last error is raised when the attempts
 * are used up, a non-retryable one at once.
 */
export async function retryCall<R>(call: () => Promise<R>, policy: RetryPolicy = DEFAULT_RETRY): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) await backoff(attempt, policy);
    try {
      return await call();
    } catch (err) {
      if (attempt + 1 >= policy.attempts || !isRetryable(err)) throw err;
    }
  }
}
