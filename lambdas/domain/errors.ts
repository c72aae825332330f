/**
 * The domain's named errors: what a rule refuses and why, in words a caller may read. They carry no
 * protocol: the history API maps each to its answer in one place (`lambdas/history-api/problems.ts`).
 */

/** A refusal by a rule of the domain; its message is safe to show to the caller. */
export class DomainError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = new.target.name;
  }
}

/** A parameter (or the body, or a part of it) breaks the contract; `parameter` names it. */
export class InvalidParameterError extends DomainError {
  constructor(
    readonly parameter: string,
    detail: string,
  ) {
    super(`${parameter}: ${detail}`);
  }
}

/** The caller may not make this call (or carries no identity that may make any). */
export class NotPermittedError extends DomainError {}
