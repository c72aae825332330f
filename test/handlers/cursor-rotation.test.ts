/**
 * Rotating the cursor secret does not break open cursors: the handler signs with Secrets Manager's
 * AWSCURRENT version and still verifies AWSPREVIOUS, and an instance whose cached keys are older than a
 * cursor re-reads them (rate-limited). Secrets Manager user guide, "Secret versions" (staging labels
 * AWSCURRENT, AWSPREVIOUS); API reference, PutSecretValue (moves AWSCURRENT, and AWSPREVIOUS to the former).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Impression } from '../../lambdas/domain/history-model.js';
import { secretsManagerKeyring } from '../../lambdas/history-api/cursor-keys.js';
import { makeHandler } from '../../lambdas/history-api/handler.js';
import { apiEvent, fakeStore, POLICY, parse } from '../support/api.js';

const sm = mockClient(SecretsManagerClient);
// The unit project shares modules between files (isolate: false): put the real client back.
afterAll(() => sm.restore());
const T = Date.parse('2026-06-15T12:00:00Z');
const items: Impression[] = [1, 2, 3].map((m) => ({
  eventId: `e${m}`,
  eventTimeMs: T - m * 60_000,
  titleId: 't1',
  artworkId: 'a',
  page: 'home',
  rowId: 'r',
  rowIndex: 0,
  position: m,
  deviceType: 'tv',
  trackId: null,
}));

/** A secret whose AWSCURRENT / AWSPREVIOUS values can be rotated like PutSecretValue does. */
function secret(initial: string) {
  const state: { current: string; previous?: string; reads: number } = { current: initial, reads: 0 };
  sm.on(GetSecretValueCommand).callsFake((input: { VersionStage?: string }) => {
    state.reads++;
    if (input.VersionStage === 'AWSPREVIOUS') {
      if (state.previous === undefined)
        throw Object.assign(new Error('no AWSPREVIOUS'), { name: 'ResourceNotFoundException' });
      return { SecretString: state.previous };
    }
    return { SecretString: state.current };
  });
  return {
    state,
    rotate(next: string) {
      state.previous = state.current;
      state.current = next;
    },
  };
}

beforeEach(() => sm.reset());

function instance(nowMs: () => number) {
  return makeHandler({
    store: fakeStore(items),
    authorization: POLICY,
    nowMs,
    cursorKeys: secretsManagerKeyring(new SecretsManagerClient({ region: 'eu-west-1' }), 'cursor', { nowMs }),
  });
}

const page = (h: ReturnType<typeof makeHandler>, cursor?: string) =>
  h(
    apiEvent(
      'GET',
      `/v1/profiles/p1/impressions?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    ),
  );

describe('cursor key rotation', () => {
  it('a cursor issued before a rotation still pages after it; two rotations later it is refused', async () => {
    let now = T;
    const s = secret('a'.repeat(64));
    const h = instance(() => now);
    const first = parse(await page(h));
    s.rotate('b'.repeat(64));
    now += 6 * 60_000; // past the cache age: the instance reads both versions again
    const second = await page(h, first.nextCursor);
    expect(second.statusCode).toBe(200);
    expect(parse(second).items[0].eventId).toBe('e2');
    s.rotate('c'.repeat(64));
    now += 6 * 60_000;
    const stale = await page(h, first.nextCursor);
    expect(stale.statusCode).toBe(400);
    expect(parse(stale).detail).toContain('cursor');
  });

  it('an instance with keys cached before a rotation accepts a cursor signed with the new key (one re-read)', async () => {
    let now = T;
    const s = secret('a'.repeat(64));
    const stale = instance(() => now);
    await page(stale); // caches the keys of before the rotation
    s.rotate('b'.repeat(64));
    const fresh = instance(() => now);
    const cursor = parse(await page(fresh)).nextCursor;
    now += 11_000;
    const readsBefore = s.state.reads;
    const r = await page(stale, cursor);
    expect(r.statusCode).toBe(200);
    expect(s.state.reads - readsBefore).toBe(2); // AWSCURRENT and AWSPREVIOUS, once
  });

  it('forged key ids cannot make every request read the secret: at most one re-read per 10 s', async () => {
    const now = T + 60_000;
    const s = secret('a'.repeat(64));
    const h = instance(() => now);
    await page(h);
    const readsBefore = s.state.reads;
    const forged = `${Buffer.from(JSON.stringify({ v: 2, i: 'zzzzzzzz', t: now, b: '', k: '' })).toString('base64url')}.AAAA`;
    for (let i = 0; i < 20; i++) expect((await page(h, forged)).statusCode).toBe(400);
    expect(s.state.reads - readsBefore).toBeLessThanOrEqual(2);
  });

  it('a secret never rotated has no previous key; a short secret is a 500 that reveals nothing', async () => {
    secret('a'.repeat(64));
    const keys = await secretsManagerKeyring(new SecretsManagerClient({ region: 'eu-west-1' }), 'cursor')();
    expect(keys.previous).toBeUndefined();
    sm.reset();
    secret('short');
    const r = await page(instance(() => T));
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toContain('short');
  });
});
