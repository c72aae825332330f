/**
 * Opaque pagination cursors, authenticated with HMAC-SHA256 and bound to the profile and the query's filters.
 * A cursor that was altered, or is used with another profile or other filters, fails verification.
 *
 * Key rotation: each cursor names the key that signed it (a key id derived from the key) and when it was
 * issued. The current key signs; the current and the previous key verify. A cursor lives at most
 * `CURSOR_LIFETIME_MS`, so once the secret has been rotated, every cursor still alive was signed by the
 * current or the previous key as long as rotations are at least one cursor lifetime apart.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidParameterError } from './errors.js';

/** How long a cursor is accepted after it was issued. */
export const CURSOR_LIFETIME_MS = 24 * 3600 * 1000;

export interface CursorBinding {
  readonly profileId: string;
  readonly since: string | null;
  readonly until: string | null;
  readonly titleId: string | null;
}

export interface CursorKey {
  /** Derived from the key (not secret): lets a cursor name its key without revealing it. */
  readonly id: string;
  readonly secret: Uint8Array;
}

/** The keys in use: `current` signs, `current` and `previous` verify. */
export interface CursorKeyring {
  readonly current: CursorKey;
  readonly previous?: CursorKey;
}

export const cursorKey = (secret: Uint8Array): CursorKey => ({
  id: createHash('sha256').update('cursor-key-id').update(secret).digest('base64url').slice(0, 8),
  secret,
});

interface CursorPayload {
  readonly v: 2;
  /** Key id. */
  readonly i: string;
  /** Issued at (ms since the epoch). */
  readonly t: number;
  readonly b: string;
  readonly k: string;
}

const bindingOf = (b: CursorBinding) => JSON.stringify([b.profileId, b.since, b.until, b.titleId]);

const mac = (key: Uint8Array, body: string) => createHmac('sha256', key).update(body).digest();

/** A cursor signed by a key the keyring does not hold (e.g. one newer than this instance's cached keys). */
export class UnknownCursorKeyError extends InvalidParameterError {
  constructor() {
    super('cursor', 'invalid cursor: its key has been retired; start again from the first page');
  }
}

const invalid = () =>
  new InvalidParameterError('cursor', 'invalid cursor: it was altered or belongs to another query');

/** Encodes the last returned sort key as a cursor for the next page of the same query. */
export function encodeCursor(
  keys: CursorKeyring,
  binding: CursorBinding,
  lastSortKey: string,
  nowMs: number,
): string {
  const payload: CursorPayload = {
    v: 2,
    i: keys.current.id,
    t: nowMs,
    b: bindingOf(binding),
    k: lastSortKey,
  };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(keys.current.secret, body).toString('base64url')}`;
}

/** Verifies a cursor against this query and returns the sort key to continue after. */
export function decodeCursor(
  keys: CursorKeyring,
  binding: CursorBinding,
  cursor: string,
  nowMs: number,
): string {
  const dot = cursor.indexOf('.');
  if (dot < 1 || cursor.length > 2048) throw invalid();
  const body = cursor.slice(0, dot);
  let payload: CursorPayload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as CursorPayload;
  } catch {
    throw invalid();
  }
  if (payload === null || typeof payload !== 'object' || payload.v !== 2) throw invalid();
  // The key id only selects the key; nothing of the payload is trusted before the MAC is verified.
  const key = [keys.current, keys.previous].find((k) => k !== undefined && k.id === payload.i);
  if (!key) throw new UnknownCursorKeyError();
  const given = Buffer.from(cursor.slice(dot + 1), 'base64url');
  const expected = mac(key.secret, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  if (payload.b !== bindingOf(binding) || typeof payload.k !== 'string' || typeof payload.t !== 'number')
    throw invalid();
  if (nowMs - payload.t > CURSOR_LIFETIME_MS || payload.t - nowMs > 5 * 60_000) {
    throw new InvalidParameterError('cursor', 'expired cursor: start again from the first page');
  }
  return payload.k;
}
