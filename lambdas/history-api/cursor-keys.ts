/**
 * The cursor keyring from Secrets Manager: the secret's `AWSCURRENT` version signs and verifies, its
 * `AWSPREVIOUS` version (the value before the last rotation, if any) still verifies. "Secrets Manager
 * uses staging labels to identify the versions of a secret during rotation: AWSCURRENT, AWSPENDING and
 * AWSPREVIOUS" (Secrets Manager user guide, "Secret versions"); `PutSecretValue` without stages moves
 * AWSCURRENT to the new value and AWSPREVIOUS to the former one (API reference, PutSecretValue).
 *
 * Cached per execution environment for `maxAgeMs`; a cursor naming an unknown key may force one refresh,
 * at most every `minRefreshMs`, so forged key ids cannot turn into a Secrets Manager call per request.
 */

import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock } from '../adapters/clock.js';
import { type CursorKeyring, cursorKey } from '../domain/cursor.js';

export interface KeyringOptions {
  /** @default 300_000 */
  readonly maxAgeMs?: number;
  /** @default 10_000 */
  readonly minRefreshMs?: number;
  readonly nowMs?: () => number;
}

const MIN_SECRET_CHARS = 32;

export function secretsManagerKeyring(
  client: Pick<SecretsManagerClient, 'send'>,
  secretId: string,
  options: KeyringOptions = {},
) {
  const now = options.nowMs ?? systemClock;
  let cached: { ring: CursorKeyring; at: number } | undefined;

  async function version(stage: 'AWSCURRENT' | 'AWSPREVIOUS'): Promise<string | undefined> {
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
      return out.SecretString;
    } catch (err) {
      // A secret that was never rotated has no AWSPREVIOUS version.
      if (stage === 'AWSPREVIOUS' && (err as Error).name === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }

  async function load(): Promise<CursorKeyring> {
    const [current, previous] = await Promise.all([version('AWSCURRENT'), version('AWSPREVIOUS')]);
    if (typeof current !== 'string' || current.length < MIN_SECRET_CHARS)
      throw new Error('cursor secret is missing or short');
    const ring: CursorKeyring = {
      current: cursorKey(Buffer.from(current, 'utf8')),
      ...(typeof previous === 'string' && previous.length >= MIN_SECRET_CHARS && previous !== current
        ? { previous: cursorKey(Buffer.from(previous, 'utf8')) }
        : {}),
    };
    cached = { ring, at: now() };
    return ring;
  }

  return async (request: { refresh?: boolean } = {}): Promise<CursorKeyring> => {
    if (!cached) return load();
    const age = now() - cached.at;
    if (age >= (options.maxAgeMs ?? 300_000)) return load();
    if (request.refresh && age >= (options.minRefreshMs ?? 10_000)) return load();
    return cached.ring;
  };
}
