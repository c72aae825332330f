/**
 * Opaque pagination cursors, authenticated with HMAC-SHA256 and bound to the profile and the query's filters.
 * A cursor that was altered, or is used with another profile or other filters, fails verification.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequestError } from './errors.js';

export interface CursorBinding {
  readonly profileId: string;
  readonly since: string | null;
  readonly until: string | null;
  readonly titleId: string | null;
}

interface CursorPayload {
  readonly v: 1;
  readonly b: string;
  readonly k: string;
}

const bindingOf = (b: CursorBinding) => JSON.stringify([b.profileId, b.since, b.until, b.titleId]);

const mac = (key: Uint8Array, body: string) => createHmac('sha256', key).update(body).digest();

/** Encodes the last returned sort key as a cursor for the next page of the same query. */
export function encodeCursor(key: Uint8Array, binding: CursorBinding, lastSortKey: string): string {
  const payload: CursorPayload = { v: 1, b: bindingOf(binding), k: lastSortKey };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

/** Verifies a cursor against this query and returns the sort key to continue after. */
export function decodeCursor(key: Uint8Array, binding: CursorBinding, cursor: string): string {
  const invalid = () =>
    new BadRequestError('cursor', 'invalid cursor: it was altered or belongs to another query');
  const dot = cursor.indexOf('.');
  if (dot < 1 || cursor.length > 2048) throw invalid();
  const body = cursor.slice(0, dot);
  const given = Buffer.from(cursor.slice(dot + 1), 'base64url');
  const expected = mac(key, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let payload: CursorPayload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as CursorPayload;
  } catch {
    throw invalid();
  }
  if (payload.v !== 1 || payload.b !== bindingOf(binding) || typeof payload.k !== 'string') throw invalid();
  return payload.k;
}
