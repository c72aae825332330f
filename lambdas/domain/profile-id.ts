/**
 * The contract's profile id (docs/contract/impression-event.md, `profileId`): 1–64 characters of
 * `[A-Za-z0-9_-]`. The event schema, the API's path, erasure and the tools all check ids with this rule.
 * No quote, space or control character can pass it, so a checked id is safe to inline in a SQL literal.
 */

/** The pattern as JSON Schema takes it (`pattern`). */
export const PROFILE_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

export const PROFILE_ID = new RegExp(PROFILE_ID_PATTERN);

/** The rule in words, for error messages. */
export const PROFILE_ID_RULE = '1-64 characters of [A-Za-z0-9_-]';

export const isProfileId = (id: unknown): id is string => typeof id === 'string' && PROFILE_ID.test(id);
