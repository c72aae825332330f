/**
 * RFC 9457 problem details as typed errors: `ApiProblem` with `type`, `title`, `status`, `detail`; a class
 * per status family (`ClientProblem` 4xx, `ServerProblem` 5xx) and one per status the contract names.
 * An answer that is not a problem document (a gateway's own error page) becomes the same classes, with the
 * status's title and the start of the body as `detail`.
 */

export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
}

export interface ProblemContext {
  readonly method: string;
  readonly url: string;
  /** Seconds from `Retry-After`, when the answer had one. */
  readonly retryAfterSeconds?: number;
}

export class ApiProblem extends Error implements ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  readonly method: string;
  readonly url: string;
  readonly retryAfterSeconds?: number;

  constructor(problem: ProblemDocument, context: ProblemContext) {
    super(`${context.method} ${context.url}: ${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = new.target.name;
    this.type = problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    if (problem.instance !== undefined) this.instance = problem.instance;
    this.method = context.method;
    this.url = context.url;
    if (context.retryAfterSeconds !== undefined) this.retryAfterSeconds = context.retryAfterSeconds;
  }
}

/** 4xx: the request must change before it can succeed (except 429, which a later retry may pass). */
export class ClientProblem extends ApiProblem {}
/** 5xx. */
export class ServerProblem extends ApiProblem {}

/** 400: a bad parameter or body; `detail` names the parameter. */
export class BadRequestProblem extends ClientProblem {}
/** 403: the caller's identity may not make this call (or there is none). */
export class ForbiddenProblem extends ClientProblem {}
/** 404: an unknown route. */
export class NotFoundProblem extends ClientProblem {}
/** 405: a wrong method. */
export class MethodNotAllowedProblem extends ClientProblem {}
/** 413: a body (or an event) over its limit. */
export class PayloadTooLargeProblem extends ClientProblem {}
/** 415: a body that is not `application/json`. */
export class UnsupportedMediaTypeProblem extends ClientProblem {}
/** 429: the profile sent faster than its caps allow; nothing of the request was written. */
export class TooManyRequestsProblem extends ClientProblem {}
/** 500: a genuine fault (logged by the service with a request id). */
export class InternalServerProblem extends ServerProblem {}
/** 503: retry later (`retryAfterSeconds`); for ingest, nothing was lost by retrying the same body. */
export class ServiceUnavailableProblem extends ServerProblem {}

const BY_STATUS: Readonly<Record<number, typeof ApiProblem>> = {
  400: BadRequestProblem,
  403: ForbiddenProblem,
  404: NotFoundProblem,
  405: MethodNotAllowedProblem,
  413: PayloadTooLargeProblem,
  415: UnsupportedMediaTypeProblem,
  429: TooManyRequestsProblem,
  500: InternalServerProblem,
  503: ServiceUnavailableProblem,
};

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const str = (v: unknown): v is string => typeof v === 'string';

/** The problem document of an answer's body, or one made from its status when the body is not one. */
export function problemDocument(status: number, text: string): ProblemDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const o = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  const title = str(o.title) ? o.title : (TITLES[status] ?? `HTTP ${status}`);
  // API Gateway's own answers are `{"message": "..."}`.
  const detail = str(o.detail) ? o.detail : str(o.message) ? o.message : text.slice(0, 500);
  return {
    type: str(o.type) ? o.type : 'about:blank',
    title,
    status,
    detail,
    ...(str(o.instance) ? { instance: o.instance } : {}),
  };
}

/** The typed error for a non-2xx answer. */
export function problemFor(status: number, text: string, context: ProblemContext): ApiProblem {
  const Problem =
    BY_STATUS[status] ?? (status >= 500 ? ServerProblem : status >= 400 ? ClientProblem : ApiProblem);
  return new Problem(problemDocument(status, text), context);
}
