/**
 * A client of the history API's ingest route (`POST /v1/profiles/{profileId}/impressions`), as an app on a
 * device or a relaying backend uses it: SigV4-signed, batches of one profile's events within the route's
 * limits (500 events, 1 MiB), the same body retried after `Retry-After` on a 503 (a retry is a duplicate by
 * the event contract, filtered downstream, never counted twice) and on a 429 (the profile's per-window
 * limit: nothing of that request was written).
 *
 * Also: how a token-vending backend gets a client session scoped to one profile (`clientSession`), and the
 * load generator's second way in (`apiSink`, `npm run loadgen -- --via api`).
 */
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { OutgoingRecord } from '../lambdas/adapters/kinesis-writer.js';
import { MAX_INGEST_BODY_BYTES, MAX_INGEST_EVENTS } from '../lambdas/domain/api-requests.js';
import { sessionNameFor } from '../lambdas/domain/authorization.js';
import { type ApiResponse, type SignedClientOptions, signedClient } from './signed-http.js';

export interface IngestClientOptions extends SignedClientOptions {
  /** Attempts per batch, counting the first, while the API answers 503 or 429. @default 5 */
  readonly attempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface IngestOutcome {
  /** Events the API accepted (202). */
  readonly accepted: number;
  /** The answer that stopped the sending (a 4xx, or a 503 after the last attempt); later batches are not sent. */
  readonly refused?: ApiResponse;
}

/** Splits one profile's serialized events into request bodies within the route's limits. */
export function ingestBodies(events: readonly string[]): string[][] {
  const bodies: string[][] = [];
  let current: string[] = [];
  let bytes = 12; // {"events":[]}
  for (const e of events) {
    const size = Buffer.byteLength(e) + 1;
    if (
      current.length === MAX_INGEST_EVENTS ||
      (current.length > 0 && bytes + size > MAX_INGEST_BODY_BYTES)
    ) {
      bodies.push(current);
      current = [];
      bytes = 12;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length) bodies.push(current);
  return bodies;
}

export function ingestClient(baseUrl: string, options: IngestClientOptions) {
  const call = signedClient(baseUrl, options);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const attempts = options.attempts ?? 5;

  /** Sends one profile's events (objects, or their JSON text) in as many requests as the limits need. */
  return async (profileId: string, events: readonly (object | string)[]): Promise<IngestOutcome> => {
    let accepted = 0;
    const texts = events.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
    for (const batch of ingestBodies(texts)) {
      const body = `{"events":[${batch.join(',')}]}`;
      for (let attempt = 1; ; attempt++) {
        const r = await call('POST', `/v1/profiles/${encodeURIComponent(profileId)}/impressions`, body);
        if (r.status === 202) {
          accepted += batch.length;
          break;
        }
        if ((r.status !== 503 && r.status !== 429) || attempt >= attempts) return { accepted, refused: r };
        const retryAfter = Number(r.headers['retry-after'] ?? '1');
        await sleep(
          1000 * (Number.isFinite(retryAfter) ? Math.min(retryAfter, 30) : 1) * (0.5 + Math.random()),
        );
      }
    }
    return { accepted };
  };
}

/**
 * What a token-vending backend does once it has authenticated a member: a session of the client role
 * scoped to the member's profile, with the session tag `profileId` (IAM's check) and the session name
 * `sessionNameFor(profileId)` (the function's check). The backend's role must be one of the stage's
 * `clientSessionVendors` and hold `sts:AssumeRole` and `sts:TagSession` on the client role.
 */
export async function clientSession(
  sts: STSClient,
  clientRoleArn: string,
  profileId: string,
  durationSeconds = 900,
): Promise<AwsCredentialIdentity> {
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: clientRoleArn,
      RoleSessionName: sessionNameFor(profileId),
      Tags: [{ Key: 'profileId', Value: profileId }],
      DurationSeconds: durationSeconds,
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiration: c.Expiration,
  };
}

/** Whether a generated record can travel through the ingest route: a JSON object of its own profile. */
function apiEventOf(record: { partitionKey: string; data: Uint8Array }): string | undefined {
  try {
    const text = Buffer.from(record.data).toString('utf8');
    const value = JSON.parse(text) as unknown;
    const ok =
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      (value as { profileId?: unknown }).profileId === record.partitionKey;
    return ok ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The load generator's way in through the API: each request's records grouped by profile and sent with
 * `concurrency` requests in flight. Records the route cannot carry (not a JSON object of the partition
 * key's profile, which the API refuses by design) are returned as `refused`, not sent; records of batches
 * the API did not accept are returned as `failed`.
 */
export function apiSink<S>(send: ReturnType<typeof ingestClient>, concurrency = 16) {
  return async (batch: readonly OutgoingRecord<S>[]): Promise<{ failed: S[]; refused: S[] }> => {
    const byProfile = new Map<string, { texts: string[]; sources: S[] }>();
    const refused: S[] = [];
    for (const r of batch) {
      const text = apiEventOf(r);
      if (text === undefined) {
        refused.push(r.source);
        continue;
      }
      let group = byProfile.get(r.partitionKey);
      if (!group) {
        group = { texts: [], sources: [] };
        byProfile.set(r.partitionKey, group);
      }
      group.texts.push(text);
      group.sources.push(r.source);
    }
    const failed: S[] = [];
    const queue = [...byProfile];
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [profileId, group] = next;
          const outcome = await send(profileId, group.texts);
          // Sending stops at the first batch not accepted: every event after the accepted ones failed.
          failed.push(...group.sources.slice(outcome.accepted));
        }
      }),
    );
    return { failed, refused };
  };
}

/** `npm run loadgen -- --via api`: the sink for a deployment's API, signed with the caller's credentials. */
export function loadgenApiSink<S>(apiUrl: string | undefined, region: string) {
  if (!apiUrl)
    throw new Error('--via api needs the API: --api-url <HistoryApiUrl>, or a local deployment (npm start)');
  return apiSink<S>(ingestClient(apiUrl, { region }));
}
