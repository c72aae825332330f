/** Named domain errors of the history API; `toProblem` is the one place that turns them into HTTP. */

export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

/** A bad parameter or body; `detail` names the parameter. */
export class BadRequestError extends DomainError {
  constructor(
    readonly parameter: string,
    detail: string,
  ) {
    super(400, 'Bad Request', `${parameter}: ${detail}`);
  }
}

export class NotFoundError extends DomainError {
  constructor(detail: string) {
    super(404, 'Not Found', detail);
  }
}

export class MethodNotAllowedError extends DomainError {
  constructor(
    readonly allow: readonly string[],
    method: string,
  ) {
    super(405, 'Method Not Allowed', `${method} is not allowed here; allowed: ${allow.join(', ')}`);
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(bytes: number, limit: number, what = 'body') {
    super(413, 'Payload Too Large', `${what} is ${bytes} bytes, limit ${limit}`);
  }
}

/** The body is not of the media type the route takes (`application/json`). */
export class UnsupportedMediaTypeError extends DomainError {
  constructor(contentType: string | undefined) {
    super(
      415,
      'Unsupported Media Type',
      `the body must be application/json${contentType ? `, not ${contentType.slice(0, 100)}` : ' (no Content-Type given)'}`,
    );
  }
}

/** The caller may not make this call (or carries no identity that may make any). */
export class ForbiddenError extends DomainError {
  constructor(detail: string) {
    super(403, 'Forbidden', detail);
  }
}

/** An error whose answer tells the client when to try again (`Retry-After`, seconds). */
export abstract class RetryLaterError extends DomainError {
  constructor(
    status: number,
    title: string,
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super(status, title, detail);
  }
}

/** A dependency could not complete the request now; the same request may be retried after `retryAfterSeconds`. */
export class ServiceUnavailableError extends RetryLaterError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(503, 'Service Unavailable', detail, retryAfterSeconds);
  }
}

/** The caller sent faster than its limit allows; nothing of the request was done. */
export class TooManyRequestsError extends RetryLaterError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(429, 'Too Many Requests', detail, retryAfterSeconds);
  }
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly requestId?: string;
}

/** RFC 9457 problem details for any error; unknown errors become a 500 that reveals nothing internal. */
export function toProblem(err: unknown, requestId: string): Problem {
  if (err instanceof DomainError) {
    return {
      type: `https://impressions.dev/problems/${err.status}`,
      title: err.title,
      status: err.status,
      detail: err.message,
    };
  }
  return {
    type: 'https://impressions.dev/problems/500',
    title: 'Internal Server Error',
    status: 500,
    detail: `an internal error occurred; quote request id ${requestId}`,
    requestId,
  };
}
