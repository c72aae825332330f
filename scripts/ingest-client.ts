/**
 * The ingest route as the project's tools use it, through the history API client (`client/`): the load
 * generator's second way in (`apiSink`, `npm run loadgen -- --via api`), and how a token-vending backend gets
 * a client session scoped to one profile (`clientSession`).
 */
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { type HistoryClient, historyClient } from '../client/index.js';
import type { OutgoingRecord } from '../lambdas/adapters/kinesis-writer.js';
import { sessionNameFor } from '../lambdas/history-api/authorization.js';

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
 * the API did not accept (after the client's retries of 429 and 503) are returned as `failed`.
 */
export function apiSink<S>(api: HistoryClient, concurrency = 16) {
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
          const outcome = await api.ingestAll(profileId, group.texts);
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
  return apiSink<S>(historyClient({ baseUrl: apiUrl, region }));
}
