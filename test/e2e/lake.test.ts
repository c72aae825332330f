/**
 * The lake on the emulator: the Iceberg delivery stand-in commits what the pipeline writes, the tables match
 * the CDK definitions, every contract column lands with its type, the named queries run locally with
 * checked results, and a stand-in killed mid-stream resumes without losing or duplicating a record.
 */

import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icebergTableInput } from '../../infra/constructs/lake-storage.js';
import { LAKE_QUERIES } from '../../infra/lake-queries.js';
import { LAKE_TABLES } from '../../lambdas/domain/lake-schema.js';
import { type DeliveryHandle, describeLake, queryLake, startDelivery } from '../../scripts/lake.js';
import { runLoad } from '../../scripts/loadgen.js';
import { sampleCatalog, seedCatalog } from '../../scripts/seed-catalog.js';
import { E2E_TEST_PROFILE } from './context.js';
import { ctx, eventually, harness } from './harness.js';

const c = ctx();
const h = harness(c);
const out = c.outputs;
const skip =
  c.skipReason ??
  (c.emulator ? undefined : 'the local lake stand-in runs only on emulators; on AWS Firehose delivers');
const today = new Date().toISOString().slice(0, 10);
const RECONCILE_RECORDS = Number(process.env.RECONCILE_RECORDS ?? '3000');

const sql = (text: string, params: string[] = []) =>
  queryLake({ endpoint: c.endpoint, database: out.GlueDatabaseName, sql: text, params });

function impression(profileId: string, overrides: Record<string, unknown> = {}) {
  return {
    schema: 'impression/1-0-0',
    eventId: randomUUID(),
    eventTime: new Date(Date.now() - 4_000).toISOString(),
    profileId,
    accountId: 'acct-lake',
    sessionId: 'sess-lake',
    device: { type: 'mobile', os: 'ios', appVersion: '17.2' },
    country: 'BR',
    page: 'lake-page',
    row: { index: 4, id: 'lake-row', type: 'trending' },
    position: 7,
    titleId: 'title-0001',
    entityId: 'title-0001',
    artworkId: 'art-9',
    trackId: 123,
    visibility: { percent: 75, durationMs: 1800 },
    context: { experiment: 'B', locale: 'pt-BR' },
    ...overrides,
  };
}

async function sendRaw(profileId: string, bodies: readonly (object | string)[]) {
  return h.put(
    out.RawStreamName,
    bodies.map((b) => ({ partitionKey: profileId, data: typeof b === 'string' ? b : JSON.stringify(b) })),
  );
}

const lakeIds = (profileId: string) =>
  sql('SELECT event_id FROM impressions WHERE profile_id = ?', [profileId]).map((r) => String(r.event_id));

describe.skipIf(Boolean(skip))(`lake on ${c.target}${skip ? ` (${skip})` : ''}`, () => {
  let delivery: DeliveryHandle | undefined;

  beforeAll(async () => {
    await seedCatalog(h.documents, out.TitleCatalogTableName!, sampleCatalog(50));
    delivery = await startDelivery({
      endpoint: c.endpoint,
      pipelineStack: c.stacks.pipeline,
      bufferSeconds: 1,
    });
  });
  afterAll(async () => {
    await delivery?.stop();
  });

  it('creates the tables exactly as the CDK app defines them (schema, field ids, day partitions, format v2)', async () => {
    const described = describeLake(c.endpoint, out.GlueDatabaseName);
    for (const def of LAKE_TABLES) {
      const expected = icebergTableInput(def, 'x');
      const actual = described[def.name]! as {
        formatVersion: number;
        schema: { fields: { id: number; name: string; required: boolean; type: unknown }[] };
        partitionSpec: {
          fields: { 'source-id': number; 'field-id': number; transform: string; name: string }[];
        };
      };
      expect(actual.formatVersion).toBe(2);
      const fields = (
        expected.schema as { fields: { id: number; name: string; required: boolean; type: string }[] }
      ).fields;
      expect(
        actual.schema.fields.map((f) => ({ id: f.id, name: f.name, required: f.required, type: f.type })),
      ).toEqual(
        fields.map((f) => ({
          id: f.id,
          name: f.name,
          required: f.required,
          type: f.type.startsWith('{') ? JSON.parse(f.type) : f.type,
        })),
      );
      const spec = (
        expected.partitionSpec as {
          fields: { sourceId: number; fieldId: number; transform: string; name: string }[];
        }
      ).fields;
      expect(actual.partitionSpec.fields).toEqual(
        spec.map((p) => ({
          'source-id': p.sourceId,
          'field-id': p.fieldId,
          transform: p.transform,
          name: p.name,
        })),
      );
    }
  });

  it('lands every enriched record once, with every contract column and its type, partitioned by day', async () => {
    const p = `lake-rows-${randomUUID().slice(0, 8)}`;
    const good = [
      impression(p),
      impression(p, { titleId: 'no-such-title', entityId: undefined, context: undefined }),
    ];
    const bad = ['{broken', JSON.stringify(impression(p, { position: -1 }))];
    const filtered = [impression(p, { visibility: { percent: 5, durationMs: 100 } })];
    await sendRaw(p, [...good, ...bad, ...filtered]);

    const rows = await eventually(
      async () => sql('SELECT * FROM impressions WHERE profile_id = ? ORDER BY event_id', [p]),
      (r) => r.length >= good.length,
      { what: 'lake rows', timeoutMs: 90_000 },
    );
    expect(rows.map((r) => r.event_id).sort()).toEqual(good.map((g) => g.eventId).sort());
    const row = rows.find((r) => r.event_id === good[0]!.eventId)!;
    const catalogTitle = sampleCatalog(1)[0]!;
    expect(row).toMatchObject({
      schema_version: 'impression/1-0-0',
      profile_id: p,
      account_id: 'acct-lake',
      session_id: 'sess-lake',
      device_type: 'mobile',
      device_os: 'ios',
      app_version: '17.2',
      country: 'BR',
      page: 'lake-page',
      row_index: 4,
      row_id: 'lake-row',
      row_type: 'trending',
      position: 7,
      title_id: 'title-0001',
      entity_id: 'title-0001',
      artwork_id: 'art-9',
      track_id: 123,
      visible_percent: 75,
      visible_ms: 1800,
      title_name: catalogTitle.name,
      title_type: catalogTitle.type,
      title_genres: catalogTitle.genres,
      maturity_rating: catalogTitle.maturityRating,
      context: { experiment: 'B', locale: 'pt-BR' },
      event_date: good[0]!.eventTime.slice(0, 10),
    });
    expect(new Date(String(row.event_time)).toISOString()).toBe(good[0]!.eventTime);
    expect(Number(row.ingest_lag_ms)).toBeGreaterThanOrEqual(0);
    const unknown = rows.find((r) => r.event_id === good[1]!.eventId)!;
    expect(unknown).toMatchObject({ title_name: null, title_genres: null, context: null, entity_id: null });

    const types = Object.fromEntries(
      sql('SELECT column_name, column_type FROM (DESCRIBE impressions)').map((r) => [
        r.column_name,
        r.column_type,
      ]),
    );
    expect(types).toMatchObject({
      event_id: 'VARCHAR',
      event_time: 'TIMESTAMP WITH TIME ZONE',
      received_at: 'TIMESTAMP WITH TIME ZONE',
      ingest_lag_ms: 'BIGINT',
      event_date: 'DATE',
      row_index: 'INTEGER',
      track_id: 'BIGINT',
      title_genres: 'VARCHAR[]',
      context: 'MAP(VARCHAR, VARCHAR)',
    });
    expect(Object.keys(types)).toEqual(LAKE_TABLES[0]!.columns.map((col) => col.name));

    const rejected = await eventually(
      async () =>
        sql('SELECT reason, detail, partition_key, raw FROM impressions_rejected WHERE partition_key = ?', [
          p,
        ]),
      (r) => r.length >= bad.length,
      { what: 'rejected lake rows' },
    );
    expect(rejected.map((r) => r.reason).sort()).toEqual(['decode.not-json', 'schema.out-of-range:position']);
    expect(rejected.find((r) => r.reason === 'decode.not-json')!.raw).toBe('{broken');

    const s3 = new S3Client({
      region: c.region,
      endpoint: c.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: new NodeHttpHandler(),
    });
    const keys = (
      await s3.send(
        new ListObjectsV2Command({ Bucket: out.LakeBucketName, Prefix: 'warehouse/impressions/data/' }),
      )
    ).Contents?.map((o) => o.Key ?? '');
    expect(
      keys?.some(
        (k) => k.includes(`event_time_day=${good[0]!.eventTime.slice(0, 10)}`) && k.endsWith('.parquet'),
      ),
    ).toBe(true);

    // The lake holds exactly what the enriched stream carried for this profile.
    const enriched = (await h.readAll(out.EnrichedStreamName)).filter((r) => r.partitionKey === p);
    expect(rows.length).toBe(enriched.length);
  });

  it('runs every named query locally with checked results, the erasure DELETE included', async () => {
    const p = `lake-named-${randomUUID().slice(0, 8)}`;
    const title = `lake-title-${randomUUID().slice(0, 6)}`;
    const page = `lake-page-${randomUUID().slice(0, 6)}`;
    const events = Array.from({ length: 30 }, (_, i) =>
      impression(p, {
        titleId: title,
        entityId: title,
        page,
        row: { index: i % 3, id: 'r' },
        position: i % 5,
        eventTime: new Date(Date.now() - (30 - i) * 1000).toISOString(),
      }),
    );
    await sendRaw(p, [...events, '[]', '"x"']);
    await eventually(
      async () => lakeIds(p),
      (ids) => ids.length >= events.length,
      { what: 'named-query fixture in the lake' },
    );
    await eventually(
      async () => sql('SELECT count(*) AS n FROM impressions_rejected WHERE partition_key = ?', [p]),
      (r) => Number(r[0]!.n) >= 2,
    );
    const byName = Object.fromEntries(LAKE_QUERIES.map((q) => [q.name, q]));

    const top = sql(byName['top-titles-per-day']!.sql, [today, today]);
    expect(top[0]).toMatchObject({ title_id: title, impressions: 30, profiles: 1 });

    const placement = sql(byName['impressions-by-page-row-position']!.sql, [today]).filter(
      (r) => r.page === page,
    );
    expect(placement).toHaveLength(15);
    expect(placement.reduce((n, r) => n + Number(r.impressions), 0)).toBe(30);
    expect(placement.find((r) => r.row_index === 0 && r.position === 0)).toMatchObject({ impressions: 2 });

    const rates = sql(byName['rejection-rate-by-reason']!.sql);
    const notObject = rates.find((r) => String(r.day).startsWith(today) && r.reason === 'decode.not-object')!;
    const independent = sql(
      "SELECT count(*) AS n FROM impressions_rejected WHERE split_part(reason, ':', 1) = 'decode.not-object' AND CAST(received_at AS date) = CAST(? AS date)",
      [today],
    );
    expect(Number(notObject.records)).toBe(Number(independent[0]!.n));
    expect(Number(notObject.percent_of_received)).toBeGreaterThan(0);
    expect(Number(notObject.percent_of_received)).toBeLessThan(100);

    const unique = sql(
      `SELECT count(*) AS n FROM (${byName['impressions-deduplicated']!.sql}) WHERE profile_id = ?`,
      [today, today, p],
    );
    expect(unique).toEqual([{ n: 30 }]);

    const hist = sql(byName['profile-history']!.sql, [p]);
    expect(hist.map((r) => r.event_id)).toEqual([...events].reverse().map((e) => e.eventId));

    const erased = sql(byName['erase-profile']!.sql, [p]);
    expect(erased).toEqual([{ deleted_rows: 30 }]);
    expect(lakeIds(p)).toEqual([]);
  });

  it('shows replayed records more than once in the table and exactly once through the deduplicated view', async () => {
    const p = `lake-dups-${randomUUID().slice(0, 8)}`;
    const events = [impression(p), impression(p), impression(p)];
    await sendRaw(p, events);
    await eventually(
      async () => lakeIds(p),
      (ids) => ids.length >= 3,
    );
    // A redelivery: the same enriched records on the enriched stream again, as a retried batch would put them.
    const enriched = (await h.readAll(out.EnrichedStreamName)).filter((r) => r.partitionKey === p);
    await h.put(
      out.EnrichedStreamName,
      enriched.map((r) => ({ partitionKey: p, data: r.data })),
    );
    const all = await eventually(
      async () => lakeIds(p),
      (ids) => ids.length >= 6,
      { what: 'the redelivered copies in the lake' },
    );
    expect(all.length).toBe(6);
    const view = LAKE_QUERIES.find((q) => q.name === 'impressions-deduplicated')!;
    const once = sql(`SELECT event_id FROM (${view.sql}) WHERE profile_id = ?`, [today, today, p]);
    expect(once.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.eventId).sort());
  });

  it(`reconciles ${RECONCILE_RECORDS} mixed records under faults: every enriched impression once in history and counts, at least once in the lake and once through the deduplicated view`, async () => {
    // Faults the deployed stack can be given from outside: producer retries (in the traffic), redelivered
    // enriched batches, and the lake delivery killed and restarted mid-run.
    const load = runLoad({
      kinesis: h.kinesis,
      streamName: out.RawStreamName,
      rate: 1500,
      events: RECONCILE_RECORDS,
      seed: 4242,
      profiles: 40,
      testProfile: E2E_TEST_PROFILE,
      badShare: 0.03,
      duplicateShare: 0.02,
    });
    await new Promise((r) => setTimeout(r, Math.min(3000, RECONCILE_RECORDS / 3)));
    await delivery!.kill();
    delivery = await startDelivery({
      endpoint: c.endpoint,
      pipelineStack: c.stacks.pipeline,
      bufferSeconds: 1,
    });
    const result = await load;
    expect(result.failed).toBe(0);
    const profiles = new Set<string>();
    const expectedEnriched = new Map<string, string>();

    // What the generator sent, as the pipeline must have classified it.
    const sent = result.records;
    for (const r of sent) {
      profiles.add(r.partitionKey);
      if (r.expected === 'enriched') expectedEnriched.set(r.eventId!, r.profileId!);
    }
    const ours = (k: string) => /^p\d{7}$/.test(k);

    // Redeliver a tenth of the enriched stream's records of these profiles, as retried batches would.
    const enrichedRecords = await eventually(
      async () => (await h.readAll(out.EnrichedStreamName)).filter((r) => ours(r.partitionKey)),
      (rs) => rs.length >= expectedEnriched.size,
      { what: 'all enriched records', timeoutMs: 240_000 },
    );
    const redelivered = enrichedRecords.filter((_, i) => i % 10 === 0);
    await h.put(
      out.EnrichedStreamName,
      redelivered.map((r) => ({ partitionKey: r.partitionKey, data: r.data })),
    );
    const enrichedIds = enrichedRecords.map((r) => JSON.parse(r.data).event_id as string);
    expect(new Set(enrichedIds)).toEqual(new Set(expectedEnriched.keys()));

    // History: every enriched eventId exactly once, per profile; counts exactly once.
    let historyTotal = 0;
    let counted = 0;
    for (const profile of [...profiles].filter(ours)) {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const r = await h.api(
          'GET',
          `/v1/profiles/${profile}/impressions?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        const body = r.json() as { items: { eventId: string; titleId: string }[]; nextCursor: string | null };
        ids.push(...body.items.map((i) => i.eventId));
        cursor = body.nextCursor;
      } while (cursor);
      const want = [...expectedEnriched].filter(([, p]) => p === profile).map(([id]) => id);
      expect(ids.length, profile).toBe(new Set(ids).size);
      expect(new Set(ids)).toEqual(new Set(want));
      historyTotal += ids.length;
      const titles = [
        ...new Set(
          sent
            .filter((x) => x.profileId === profile)
            .map((x) => JSON.parse(Buffer.from(x.data).toString()).titleId as string),
        ),
      ];
      for (let i = 0; i < titles.length; i += 100) {
        const f = await h.api(
          'GET',
          `/v1/profiles/${profile}/frequency?titleIds=${titles.slice(i, i + 100).join(',')}&window=1d`,
        );
        counted += (f.json() as { titles: { count: number }[] }).titles.reduce((n, t) => n + t.count, 0);
      }
    }
    expect(historyTotal).toBe(expectedEnriched.size);
    expect(counted).toBe(expectedEnriched.size);

    // Lake: at least once; exactly once through the deduplicated view; duplicates reported.
    const lakeRows = await eventually(
      async () => sql("SELECT event_id FROM impressions WHERE regexp_matches(profile_id, '^p[0-9]{7}$')"),
      (rows) =>
        new Set(rows.map((r) => r.event_id)).size >= expectedEnriched.size &&
        rows.length >= expectedEnriched.size + redelivered.length,
      { what: 'every enriched record and every redelivered copy in the lake', timeoutMs: 120_000 },
    );
    const view = LAKE_QUERIES.find((q) => q.name === 'impressions-deduplicated')!;
    const once = sql(`SELECT event_id FROM (${view.sql}) WHERE regexp_matches(profile_id, '^p[0-9]{7}$')`, [
      today,
      today,
    ]);
    expect(once.length).toBe(expectedEnriched.size);
    expect(new Set(once.map((r) => r.event_id))).toEqual(new Set(expectedEnriched.keys()));
    process.stdout.write(
      `\nreconciliation under faults: ${result.sent} records sent; enriched ${expectedEnriched.size}; history ${historyTotal}; counted ${counted}; ` +
        `lake rows ${lakeRows} (${lakeRows - expectedEnriched.size} redelivered duplicates, reported), deduplicated ${once.length}\n`,
    );
  });

  it('survives a kill mid-stream: after a restart nothing committed is lost or written twice', async () => {
    const p = `lake-crash-${randomUUID().slice(0, 8)}`;
    const first = Array.from({ length: 40 }, () => impression(p));
    await sendRaw(p, first);
    await eventually(
      async () => lakeIds(p),
      (ids) => ids.length >= first.length,
      { what: 'first half committed' },
    );
    // More records arrive; the stand-in reads them into its buffer and is killed before (or while) committing.
    const second = Array.from({ length: 40 }, () => impression(p));
    await sendRaw(p, second);
    await new Promise((r) => setTimeout(r, 300));
    expect(await delivery!.kill()).toBeNull();
    delivery = await startDelivery({
      endpoint: c.endpoint,
      pipelineStack: c.stacks.pipeline,
      bufferSeconds: 1,
    });
    const ids = await eventually(
      async () => lakeIds(p),
      (x) => x.length >= first.length + second.length,
      { what: 'all records after the restart' },
    );
    // Give a duplicate, if the checkpoint were wrong, the time to appear.
    const third = [impression(p)];
    await sendRaw(p, third);
    const finalIds = await eventually(
      async () => lakeIds(p),
      (x) => x.length >= ids.length + 1,
    );
    expect(finalIds.length).toBe(new Set(finalIds).size);
    expect(new Set(finalIds)).toEqual(new Set([...first, ...second, ...third].map((e) => e.eventId)));
  });
});
