/**
 * Who may call what (history API contract, "Who may call what"). Pure: the IAM identity API Gateway put in
 * the request context, and the stage's lists, decide; anything not allowed is refused (fail closed). Which
 * kinds of caller may call a route is declared with the route (`API_ROUTES`, api-routes.ts), as follows:
 *
 * - a **client session** of the client role, scoped to one profile by its session name: both GET routes,
 *   the check call and the ingest route, for that profile only; never DELETE;
 * - a **service** (a principal on the services allow-list): every route but DELETE, for any profile;
 * - an **eraser** (a principal on the erasers allow-list): DELETE, for any profile;
 * - anyone else (other roles and users of the account, root, federated users, a request without an IAM
 *   identity): nothing.
 */

import { NotPermittedError } from '../domain/errors.js';
import { isProfileId } from '../domain/profile-id.js';
import { API_ROUTES, type ApiRoute, type CallerKind, type RouteDeclaration } from './api-routes.js';

export interface AuthorizationPolicy {
  /** ARN of the client role (`arn:aws:iam::<account>:role/<path><name>`); its sessions are scoped. */
  readonly clientRoleArn?: string;
  /** Principals that may read, check and ingest for any profile (role ARNs, or exact principal ARNs). */
  readonly services: readonly string[];
  /** Principals that may erase any profile (role ARNs, or exact principal ARNs). */
  readonly erasers: readonly string[];
}

/** The caller as far as authorization is concerned. */
export interface Caller {
  /** The profile a client session is scoped to; `null` for a client session with no profile in its name. */
  readonly client?: { readonly profileId: string | null };
  readonly service: boolean;
  readonly eraser: boolean;
}

export const NOBODY: Caller = { service: false, eraser: false };

/**
 * AWS's `RoleSessionName` is at most 64 characters of `[\w+=,.@-]` (STS API reference, AssumeRole), so
 * `p.<profileId>` reaches ids of up to 62 characters. Ids of 63–64 characters (which can never contain a
 * `.`) are the session name on their own. Both forms are unambiguous: a name with a `.` is the prefixed
 * form, a name of 63–64 id characters is the bare form, and anything else names no profile.
 */
export function sessionNameFor(profileId: string): string {
  return profileId.length <= 62 ? `p.${profileId}` : profileId;
}

export function profileOfSessionName(name: string): string | null {
  // `sessionNameFor` in reverse: `p.` and an id of at most 62 characters, or a longer id as it is.
  if (name.startsWith('p.')) {
    const id = name.slice(2);
    return id.length <= 62 && isProfileId(id) ? id : null;
  }
  return name.length >= 63 && isProfileId(name) ? name : null;
}

interface RoleRef {
  readonly partition: string;
  readonly account: string;
  readonly name: string;
}

/** The role of an IAM role ARN (any path): role names are unique within an account, whatever the path. */
function roleOfRoleArn(arn: string): RoleRef | null {
  const m = /^arn:([\w-]+):iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/.exec(arn);
  return m ? { partition: m[1]!, account: m[2]!, name: m[3]! } : null;
}

/** The role and session of an assumed-role session ARN (the `userArn` API Gateway reports for it). */
function sessionOf(arn: string): (RoleRef & { readonly session: string }) | null {
  const m = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/.exec(arn);
  return m ? { partition: m[1]!, account: m[2]!, name: m[3]!, session: m[4]! } : null;
}

const sameRole = (a: RoleRef, b: RoleRef) =>
  a.partition === b.partition && a.account === b.account && a.name === b.name;

/** Whether a principal is on a list: a role entry holds every session of that role, other entries match exactly. */
function listed(userArn: string, list: readonly string[]): boolean {
  const session = sessionOf(userArn);
  return list.some((entry) => {
    if (entry === userArn) return true;
    const role = roleOfRoleArn(entry);
    return role !== null && session !== null && sameRole(role, session);
  });
}

/**
 * The caller, from the `userArn` of API Gateway's IAM authorizer context (`undefined` when the request
 * carries none). A session of the client role is only ever a client, whatever the lists say.
 */
export function callerOf(userArn: unknown, policy: AuthorizationPolicy): Caller {
  if (typeof userArn !== 'string' || userArn.length === 0 || userArn.length > 2048) return NOBODY;
  const session = sessionOf(userArn);
  const clientRole = policy.clientRoleArn ? roleOfRoleArn(policy.clientRoleArn) : null;
  if (session && clientRole && sameRole(session, clientRole)) {
    return { client: { profileId: profileOfSessionName(session.session) }, service: false, eraser: false };
  }
  return { service: listed(userArn, policy.services), eraser: listed(userArn, policy.erasers) };
}

/** Whether the caller may call anything at all (checked before a request is even parsed). */
export const mayCallAnything = (caller: Caller): boolean =>
  caller.service || caller.eraser || (caller.client?.profileId ?? null) !== null;

/** Refuses (`NotPermittedError`) any call the route's declaration does not allow. */
export function authorize(caller: Caller, route: ApiRoute, profileId: string): void {
  const declared: RouteDeclaration = API_ROUTES[route];
  const allows = (kind: CallerKind) => declared.callers.includes(kind);
  if (allows('service') && caller.service) return;
  if (allows('eraser') && caller.eraser) return;
  if (allows('clientSession') && caller.client) {
    if (caller.client.profileId === null)
      throw new NotPermittedError('client sessions must be scoped to a profile');
    if (caller.client.profileId === profileId) return;
    throw new NotPermittedError('a client session may only call the API for its own profile');
  }
  throw new NotPermittedError(declared.refusal ?? 'this principal may not call this route');
}
