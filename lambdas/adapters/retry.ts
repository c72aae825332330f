/** Bounded exponential backoff with full jitter, for the parts of a batch call that the service left undone. */
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

/**
 * Runs `step` on the pending items until none are left or the attempts are used up. `step` returns the items
 * still pending (unprocessed or failed); they are returned at the end if they never succeeded.
 */
export async function retryPending<T>(
  items: readonly T[],
  step: (pending: readonly T[]) => Promise<readonly T[]>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<readonly T[]> {
  const sleep = policy.sleep ?? defaultSleep;
  let pending = items;
  for (let attempt = 0; attempt < policy.attempts && pending.length > 0; attempt++) {
    if (attempt > 0) {
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      await sleep(Math.random() * cap);
    }
    pending = await step(pending);
  }
  return pending;
}
