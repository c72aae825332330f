/**
 * The background part of an erasure (history API contract, revision 2026-12-02: "if one request cannot
 * remove everything within the function's time it answers 202 with complete: false, the rest is removed in
 * the background"). The request that stops early invokes this same function asynchronously with a
 * continuation event; each continuation erases what its invocation's time allows at the original erasure
 * time (the marker does not move) and hands the rest to the next, up to `MAX_CONTINUATIONS` rounds.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

/** The event a continuation is invoked with (never an API Gateway event: no `requestContext`). */
export interface ErasureContinuation {
  readonly source: 'impressions.history-api.erasure';
  readonly profileId: string;
  readonly erasedAtMs: number;
  /** 1 for the first continuation. */
  readonly round: number;
}

/** Rounds at most (each up to ERASE_ITEMS_PER_CALL items): a million items, far past any profile's caps. */
export const MAX_CONTINUATIONS = 100;

export const isErasureContinuation = (event: unknown): event is ErasureContinuation =>
  typeof event === 'object' &&
  event !== null &&
  (event as { source?: unknown }).source === 'impressions.history-api.erasure' &&
  typeof (event as { profileId?: unknown }).profileId === 'string' &&
  Number.isSafeInteger((event as { erasedAtMs?: unknown }).erasedAtMs) &&
  Number.isSafeInteger((event as { round?: unknown }).round);

export type ContinueErasure = (next: Omit<ErasureContinuation, 'source'>) => Promise<void>;

/** Invokes `functionName` (this function) asynchronously with the next continuation. */
export function lambdaContinuation(
  client: Pick<LambdaClient, 'send'>,
  functionName: string,
): ContinueErasure {
  return async (next) => {
    const event: ErasureContinuation = { source: 'impressions.history-api.erasure', ...next };
    await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
  };
}

let lambda: LambdaClient | undefined;
/** The continuation of the deployed function: its own name, from the Lambda runtime's environment. */
export function selfContinuation(): ContinueErasure | undefined {
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME;
  if (!name) return undefined;
  lambda ??= new LambdaClient({ maxAttempts: 3 });
  return lambdaContinuation(lambda, name);
}
