/**
 * The ingest route on a deployed stage: an app's client session (a session of the client role scoped to
 * one profile, obtained as a token-vending backend obtains it) writes its own profile's impressions through
 * the signed HTTP API and reads them back from the history API; writing another profile's impressions, or
 * erasing its own, is a 403 (from the function everywhere, and from IAM first on AWS).
 */
import { randomUUID } from 'node:crypto';
import { STSClient } from '@aws-sdk/client-sts';
import { beforeAll, describe, expect, it } from 'vitest';
import { historyClient } from '../../client/index.js';
import type { ImpressionEvent } from '../../lambdas/domain/event-schema.js';
import { sampleCatalog, seedCatalog } from '../../ops/seed.js';
import { clientSession, loadgenApiSink } from '../../scripts/ingest-client.js';
import { runLoad } from '../../scripts/loadgen.js';
import { impression } from '../support/factories.js';
import { E2E_TEST_PROFILE } from './context.js';
import { ctx, eventually, harness } from './harness.js';

const c = ctx();
const h = harness(c);
const out = c.outputs;
const TITLE = sampleCatalog(1)[0]!.titleId;

/** A valid event of the profile, seen 5 s ago (the handler tests' factory, with a catalog title). */
const event = (profileId: string, position: number): ImpressionEvent =>
  impression({
    eventTime: new Date(Date.now() - 5_000).toISOString(),
    profileId,
    position,
    titleId: TITLE,
    entityId: TITLE,
  });

/** An app's view of the API: the history API client, signed with its client session's credentials. */
async function app(profileId: string) {
  const sts = new STSClient(h.config);
  const credentials = await clientSession(sts, out.ClientRoleArn!, profileId);
  const client = historyClient({ baseUrl: out.HistoryApiUrl, region: c.region, credentials });
  return {
    client,
    /** The answer as it came (for the refusals' statuses). */
    api: (method: string, pathAndQuery: string, body?: string) =>
      client.request(method, pathAndQuery, body === undefined ? {} : { body }),
  };
}

describe.skipIf(Boolean(c.skipReason))(
  `ingest route on ${c.target}${c.skipReason ? ` (${c.skipReason})` : ''}`,
  () => {
    beforeAll(async () => {
      await seedCatalog(h.documents, out.TitleCatalogTableName!, sampleCatalog(50));
    });

    it('a client session writes its own impressions through the API and reads them back', async () => {
      const p = `e2e-ingest-${randomUUID().slice(0, 8)}`;
      const me = await app(p);
      const events = [1, 2, 3].map((i) => event(p, i));
      expect(await me.client.ingest(p, events)).toEqual({ profileId: p, accepted: 3 });
      const history = await eventually(
        () => me.client.historyPage(p),
        (b) => b.items.length >= events.length,
        { what: `the ${events.length} ingested impressions of ${p}` },
      );
      expect(history.items.map((i) => i.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
      // The same events again (a client retrying after a 503) are duplicates, never counted twice: sent with
      // one new event after them on the same shard, whose arrival shows that the retry was processed.
      const marker = event(p, 4);
      expect(await me.client.ingestAll(p, [...events, marker])).toEqual({ profileId: p, accepted: 4 });
      await eventually(
        () => me.client.historyPage(p),
        (b) => b.items.length >= 4,
        { what: 'the event sent after the retried ones' },
      );
      const freq = await me.client.frequency(p, [TITLE]);
      expect(freq.titles[0]!.count).toBe(4);
    });

    it('a profile id of 64 characters (the longest valid) gets a working client session', async () => {
      const p = `e2e-${randomUUID().replaceAll('-', '')}`.padEnd(64, 'x');
      expect(p).toHaveLength(64);
      const me = await app(p);
      expect(await me.client.ingest(p, [event(p, 1)])).toEqual({ profileId: p, accepted: 1 });
      await eventually(
        () => me.client.historyPage(p),
        (b) => b.items.length === 1,
        { what: `the impression of ${p}` },
      );
    });

    it('writing another profile’s impressions, or erasing its own profile, is a 403', async () => {
      const p = `e2e-ingest-${randomUUID().slice(0, 8)}`;
      const other = `e2e-victim-${randomUUID().slice(0, 8)}`;
      const me = await app(p);
      const forged = await me.api(
        'POST',
        `/v1/profiles/${other}/impressions`,
        JSON.stringify({ events: [event(other, 1)] }),
      );
      expect(forged.status, forged.text).toBe(403);
      // Its own profile in the path, another's in the body: a 400 naming the event (nothing written).
      const smuggled = await me.api(
        'POST',
        `/v1/profiles/${p}/impressions`,
        JSON.stringify({ events: [event(p, 1), event(other, 2)] }),
      );
      expect(smuggled.status, smuggled.text).toBe(400);
      expect(smuggled.text).toContain('events[1].profileId');
      expect((await me.api('DELETE', `/v1/profiles/${p}/impressions`)).status).toBe(403);
      expect((await me.api('GET', `/v1/profiles/${other}/impressions`)).status).toBe(403);
      // Nothing reached the other profile's history (a service may read it).
      const r = await h.api('GET', `/v1/profiles/${other}/impressions`);
      expect(r.status, r.text).toBe(200);
      expect((r.json() as { items: unknown[] }).items).toEqual([]);
    });

    it('the load generator’s second way in (--via api) delivers its traffic through the ingest route', async () => {
      const result = await runLoad({
        kinesis: h.kinesis,
        streamName: out.RawStreamName,
        rate: 400,
        events: 400,
        seed: 4242,
        profiles: 5,
        testProfile: E2E_TEST_PROFILE,
        sink: loadgenApiSink(out.HistoryApiUrl, c.region),
      });
      expect(result.failed).toBe(0);
      // Only records the route cannot carry by design (not a JSON object of their own profile) are left out.
      expect(result.sent + result.refused).toBeGreaterThanOrEqual(400);
      expect(result.refused).toBeLessThan(result.sent / 10);
      const enriched = result.records.filter((r) => r.expected === 'enriched');
      const p = enriched[0]!.profileId!;
      const mine = new Set(enriched.filter((r) => r.profileId === p).map((r) => r.eventId));
      await eventually(
        async () => {
          const r = await h.api('GET', `/v1/profiles/${p}/impressions?limit=500`);
          return (r.json() as { items: { eventId: string }[] }).items.filter((i) => mine.has(i.eventId));
        },
        (items) => items.length === mine.size,
        { what: `the ${mine.size} impressions of ${p} sent through the API`, timeoutMs: 90_000 },
      );
    });
  },
);
