/**
 * The history API's errors as HTTP answers: the errors only the HTTP edge raises (routing, body limits,
 * retry later), and `toProblem`, the one mapping of every error, the domain's included, to an RFC 9457
 * problem (status, title) and its headers.
 */
import { DomainError, InvalidParameterError, NotPermittedError } from '../domain/errors.js';

/** No route of the contract has this path. */
export class NotFoundError extends DomainError {}

export class MethodNotAllowedError extends DomainError {
  constructor(
    readonly allow: readonly string[],
    method: string,
  ) {
    super(`${method} is not allowed here; allowed: ${allow.join(', ')}`);
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(bytes: number, limit: number, what = 'body') {
    super(`${what} is ${bytes} bytes, limit ${limit}`);
  }
}

/** The body is not of the media type the route takes (`application/json`). */
export class UnsupportedMediaTypeError extends DomainError {
  constructor(contentType: string | undefined) {
    super(
      `the body must be application/json${contentType ? `, not ${contentType.slice(0, 100)}` : ' (no Content-Type given)'}`,
    );
  }
}

/** An error whose answer tells the client when to try again (`Retry-After`, seconds). */
export abstract class RetryLaterError extends DomainError {
  constructor(
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super(detail);
  }
}

/** A dependency could not complete the request now; the same request may be retried after `retryAfterSeconds`. */
export class ServiceUnavailableError extends RetryLaterError {}

/** The caller sent faster than its limit allows; nothing of the request was done. */
export class TooManyRequestsError extends RetryLaterError {}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Every error the API answers with something other than a 500, with its status and title. */
const STATUS: readonly (readonly [ErrorClass, number, string])[] = [
  [InvalidParameterError, 400, 'Bad Request'],
  [NotPermittedError, 403, 'Forbidden'],
  [NotFoundError, 404, 'Not Found'],
  [MethodNotAllowedError, 405, 'Method Not Allowed'],
  [PayloadTooLargeError, 413, 'Payload Too Large'],
  [UnsupportedMediaTypeError, 415, 'Unsupported Media Type'],
  [TooManyRequestsError, 429, 'Too Many Requests'],
  [ServiceUnavailableError, 503, 'Service Unavailable'],
];

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly requestId?: string;
}

/** RFC 9457 problem details for any error; unknown errors become a 500 that reveals nothing internal. */
export function toProblem(err: unknown, requestId: string): Problem {
  const known = STATUS.find(([type]) => err instanceof type);
  if (known && err instanceof Error) {
    const [, status, title] = known;
    return { type: `https://impressions.dev/problems/${status}`, title, status, detail: err.message };
  }
  return {
    type: 'https://impressions.dev/problems/500',
    title: 'Internal Server Error',
    status: 500,
    detail: `an internal error occurred; quote request id ${requestId}`,
    requestId,
  };
}

/** The headers a problem's answer carries: `Allow` for a 405, `Retry-After` when the client should retry. */
export function problemHeaders(err: unknown): Record<string, string> {
  return {
    ...(err instanceof MethodNotAllowedError ? { allow: err.allow.join(', ') } : {}),
    ...(err instanceof RetryLaterError ? { 'retry-after': String(err.retryAfterSeconds) } : {}),
  };
}
