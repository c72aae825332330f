/**
 * `npm run reprocess` and `npm run rebuild-history` over a lake answered in memory: reading timestamps as
 * both engines print them, selecting rejected rows exactly, decoding raw payloads back (UTF-8 and base64,
 * as filter-enrich keeps them), telling outcomes apart, and rebuilding the history table through the
 * pipeline's write path (`admit`): item for item what the pipeline stores, already-present impressions
 * found and not counted as problems, the caps applied.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { EnrichedRecord } from '../../lambdas/domain/enrich.js';
import { historyCandidate, rawText } from '../../lambdas/domain/filter-enrich.js';
import { type AdmitSettings, historyStore, ONE_SHOT_ALLOWANCE } from '../../lambdas/history-store/index.js';
import { isStoredImpression, storedImpression } from '../../lambdas/history-store/item-codec.js';
import { openHistoryStore, writeImpressions } from '../../ops/history-write.js';
import { daysOf, type LakeRow, lakeTime } from '../../ops/lake-query.js';
import { historyRowOf, rebuild, rebuildSql } from '../../ops/rebuild-core.js';
import {
  payloadOf,
  planReprocess,
  type RejectedLakeRow,
  readOutcomes,
  reasonMatches,
  rowSelected,
  selectionSql,
} from '../../ops/reprocess-core.js';
import { memoryDynamo } from '../support/memory-aws.js';
import { DEFAULT_HISTORY_LIMITS } from '../support/oracles.js';

const T = Date.parse('2026-11-26T18:00:00.123Z');
const placeholders = (sql: string) => (sql.match(/\?/g) ?? []).length;

describe('lake values', () => {
  it.each([
    ['DuckDB through Python', '2026-11-26 18:00:00.123000+00:00'],
    ['Athena', '2026-11-26 18:00:00.123 UTC'],
    ['RFC 3339', '2026-11-26T18:00:00.123Z'],
    ['another offset', '2026-11-26 19:00:00.123+01'],
  ])('reads a timestamp as %s prints it', (_, text) => {
    expect(lakeTime(text)).toBe(T);
  });

  it('reads no time out of what is not one, and bounds a range of days', () => {
    expect(lakeTime('yesterday')).toBeNaN();
    expect(daysOf(Date.parse('2026-11-25T23:00:00Z'), Date.parse('2026-11-27T00:00:00Z'))).toEqual([
      '2026-11-25',
      '2026-11-26',
    ]);
    expect(() => daysOf(0, Date.parse('2026-11-27T00:00:00Z'))).toThrow(/more than 3660 days/);
  });
});

const row = (over: Partial<RejectedLakeRow>): RejectedLakeRow => ({
  received_at: '2026-11-26 18:00:00.123000+00:00',
  reason: 'schema.wrong-type:row.index',
  detail: 'row.index must be integer',
  partition_key: 'p1',
  sequence_number: '1',
  raw: JSON.stringify({ eventId: randomUUID(), profileId: 'p1' }),
  ...over,
});
const ALL = { fromMs: T - 1000, toMs: T + 1000, reasons: [], profiles: [] };

describe('selecting rejected rows', () => {
  it('matches reasons exactly or by a prefix ending at : or .', () => {
    expect(reasonMatches('schema.wrong-type:row.index', 'schema.wrong-type')).toBe(true);
    expect(reasonMatches('schema.wrong-type:row.index', 'schema')).toBe(true);
    expect(reasonMatches('schema.wrong-type:row.index', 'schema.wrong-type:row.index')).toBe(true);
    expect(reasonMatches('schema.wrong-type:row.index', 'schema.wrong')).toBe(false);
    expect(reasonMatches('time.future', 'time.too-late')).toBe(false);
  });

  it('filters by time (from inclusive, to exclusive), reason and profile (key or payload)', () => {
    expect(rowSelected(row({}), ALL)).toBe(true);
    expect(rowSelected(row({}), { ...ALL, fromMs: T + 1 })).toBe(false);
    expect(rowSelected(row({}), { ...ALL, toMs: T })).toBe(false);
    expect(rowSelected(row({}), { ...ALL, reasons: ['time.future'] })).toBe(false);
    expect(rowSelected(row({ partition_key: 'other' }), { ...ALL, profiles: ['p1'] })).toBe(true);
    expect(
      rowSelected(row({ partition_key: 'other', raw: 'p1 but not JSON' }), { ...ALL, profiles: ['p1'] }),
    ).toBe(false);
  });

  it('binds one parameter per placeholder in the SQL', () => {
    const s = selectionSql('2026-11-26', { ...ALL, reasons: ['a', 'b'], profiles: ['p1', 'p2'] });
    expect(placeholders(s.sql)).toBe(s.params.length);
    expect(s.params).toEqual(['2026-11-26', 'a%', 'b%', 'p1', 'p1', 'p2', 'p2']);
    const r = rebuildSql('2026-11-26', ['p1', 'p2']);
    expect(placeholders(r.sql)).toBe(r.params.length);
  });

  it('decodes payloads back to the exact bytes filter-enrich kept (UTF-8, base64), and refuses truncated ones', () => {
    for (const bytes of [Buffer.from('{"a":"é"}'), Buffer.from([0xff, 0xfe, 0x00, 0x41])]) {
      const { raw, note } = rawText(bytes);
      expect(Buffer.from(payloadOf({ raw, detail: `some detail${note}` })!)).toEqual(bytes);
    }
    const big = rawText(Buffer.alloc(300 * 1024, 0x41));
    expect(payloadOf({ raw: big.raw, detail: `decode.too-large${big.note}` })).toBeUndefined();
  });

  it('plans each distinct payload once and counts what it cannot put back', async () => {
    const same = JSON.stringify({ eventId: randomUUID(), profileId: 'p1' });
    const big = rawText(Buffer.alloc(300 * 1024, 0x41));
    const rows = [
      row({ raw: same, sequence_number: '1' }),
      row({ raw: same, sequence_number: '2', reason: 'time.future' }),
      row({ raw: big.raw, detail: `too large${big.note}`, reason: 'decode.too-large' }),
      row({ sequence_number: '3' }),
      row({ received_at: '2026-11-26 20:00:00 UTC' }),
    ];
    const calls: string[][] = [];
    const plan = await planReprocess(async (_sql, params = []) => {
      calls.push([...params]);
      return rows as unknown as LakeRow[];
    }, ALL);
    expect(calls).toEqual([['2026-11-26']]);
    expect(plan).toMatchObject({ selected: 4, truncated: 1, samePayload: 1 });
    expect(plan.toPut).toHaveLength(2);
    expect(plan.byReason).toEqual({
      'schema.wrong-type:row.index': 2,
      'time.future': 1,
      'decode.too-large': 1,
    });
  });

  it('tells the re-put records apart by outcome: accepted (after the re-put only), rejected again, neither', async () => {
    const since = T;
    const lake = async (sql: string): Promise<LakeRow[]> =>
      sql.includes('FROM impressions_rejected')
        ? [{ sequence_number: 's2', reason: 'schema.wrong-type:row.index' }]
        : [
            { event_id: 'e1', received_at: '2026-11-26 18:00:01 UTC' },
            // accepted from another record before the re-put: the re-put copy is a duplicate
            { event_id: 'e3', received_at: '2026-11-26 17:00:00 UTC' },
          ];
    const o = await readOutcomes(
      lake,
      [
        { eventId: 'e1', sequenceNumber: 's1' },
        { eventId: 'e2', sequenceNumber: 's2' },
        { eventId: 'e3', sequenceNumber: 's3' },
        { sequenceNumber: 's4' },
      ],
      since,
    );
    expect(o).toEqual({ enriched: 1, rejectedAgain: { 'schema.wrong-type:row.index': 1 }, notInLake: 2 });
  });
});

function enriched(profileId: string, eventTimeMs: number, i: number): EnrichedRecord {
  return {
    event_id: randomUUID(),
    schema_version: 'impression/1-0-0',
    event_time: new Date(eventTimeMs).toISOString(),
    received_at: new Date(eventTimeMs + 500).toISOString(),
    ingest_lag_ms: 500,
    event_date: new Date(eventTimeMs).toISOString().slice(0, 10),
    profile_id: profileId,
    account_id: 'a',
    session_id: 's',
    device_type: 'tv',
    device_os: null,
    app_version: null,
    country: 'US',
    page: 'home',
    row_index: i % 10,
    row_id: `row-${i % 10}`,
    row_type: null,
    position: i % 40,
    title_id: `title-${i % 17}`,
    entity_id: null,
    artwork_id: `art-${i % 3}`,
    track_id: i % 2 ? 7 : null,
    visible_percent: 100,
    visible_ms: 1500,
    title_name: null,
    title_type: null,
    title_genres: null,
    maturity_rating: null,
    context: null,
    device_locale: null,
  };
}

/** How each engine prints a row of `impressions` (numbers as text on Athena). */
const asAthena = (r: EnrichedRecord): LakeRow => ({
  ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])),
  event_time: new Date(r.event_time).toISOString().replace('T', ' ').replace('Z', ' UTC'),
  copies: '2',
});

const SETTINGS: AdmitSettings = { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS };
const lakeOf =
  (records: readonly EnrichedRecord[]) =>
  async (_sql: string, params: readonly string[] = []) =>
    records.filter((r) => r.event_date === params[0]).map(asAthena);
/** The table's items with each impression's record tag left out (the lake does not keep sequence numbers). */
const untagged = (d: ReturnType<typeof memoryDynamo>) =>
  new Map(
    [...d.table('history').entries()].sort().map(([k, item]) => [
      k,
      Object.fromEntries(
        Object.entries(item)
          // `g`: a day counter's generation, random when the counter is created (held allowances check it).
          .filter(([a]) => a !== 'g')
          .map(([a, v]) => [
            a,
            isStoredImpression(v) ? Buffer.from(storedImpression.untagged(v)).toString('hex') : v,
          ]),
      ),
    ]),
  );

describe('rebuilding history from the lake', () => {
  const now = Date.now();
  const records = Array.from({ length: 600 }, (_, i) => enriched(`p${i % 5}`, now - 3_600_000 + i * 997, i));
  const sel = {
    fromMs: now - 2 * 3_600_000,
    toMs: now + 60_000,
    profiles: [],
    settings: SETTINGS,
    nowMs: now,
  };

  /** The table as the pipeline leaves it: its candidates (one Kinesis record each) admitted in batches. */
  async function piped() {
    const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
    // Day counters exact (no allowance held), so that a rebuilt table compares item for item.
    const store = historyStore(ddb.client, 'history', undefined, { dayAllowance: ONE_SHOT_ALLOWANCE });
    for (let i = 0; i < records.length; i += 100) {
      const batch = records.slice(i, i + 100).map((record, k) =>
        historyCandidate({
          sequenceNumber: String(4960_0000 + i + k),
          recordId: String(4960_0000 + i + k),
          partitionKey: record.profile_id,
          record,
          index: k,
          eventTimeMs: Date.parse(record.event_time),
        }),
      );
      const r = await store.admit(batch, SETTINGS);
      expect(r.admissions.every((a) => a.kind === 'accepted')).toBe(true);
    }
    return ddb;
  }

  it('into an empty table stores every impression: the items the pipeline stores, but for the record tags', async () => {
    const rebuilt = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
    const s = await rebuild(lakeOf(records), openHistoryStore(rebuilt.client, 'history'), sel, { chunk: 97 });
    expect(s).toMatchObject({
      impressions: 600,
      lakeRows: 1200,
      offered: 600,
      stored: 600,
      alreadyPresent: 0,
      refusedByCaps: 0,
      failed: 0,
      unusable: 0,
      profiles: 5,
    });
    expect(untagged(rebuilt)).toEqual(untagged(await piped()));
  });

  it("over the pipeline's own table finds every impression already present (not a problem) and changes nothing", async () => {
    const ddb = await piped();
    const before = JSON.stringify([...ddb.table('history').entries()].sort());
    const s = await rebuild(lakeOf(records), openHistoryStore(ddb.client, 'history'), sel, { chunk: 250 });
    expect(s).toMatchObject({ offered: 600, stored: 0, alreadyPresent: 600, refusedByCaps: 0, failed: 0 });
    expect(JSON.stringify([...ddb.table('history').entries()].sort())).toBe(before);
  });

  it('over a partial table stores only what is missing, and a second run stores nothing more', async () => {
    const ddb = await piped();
    const full = untagged(ddb);
    // p1 and p3 lost (every item: buckets and day counters).
    for (const [k, item] of [...ddb.table('history').entries()])
      if (item.pk === 'P#p1' || item.pk === 'P#p3') ddb.table('history').delete(k);
    const lost = records.filter((r) => r.profile_id === 'p1' || r.profile_id === 'p3').length;
    const store = openHistoryStore(ddb.client, 'history');
    const once = await rebuild(lakeOf(records), store, sel);
    expect(once).toMatchObject({ stored: lost, alreadyPresent: 600 - lost, failed: 0 });
    expect(untagged(ddb)).toEqual(full);
    const twice = await rebuild(lakeOf(records), store, sel);
    expect(twice).toMatchObject({ stored: 0, alreadyPresent: 600, failed: 0 });
    expect(untagged(ddb)).toEqual(full);
  });

  it("applies the deployment's caps: what is past them is refused, counted and named", async () => {
    // 30 impressions of one profile in one 10-second window; a window cap of 20.
    const start = Math.floor((now - 600_000) / 10_000) * 10_000;
    const burst = Array.from({ length: 30 }, (_, i) => enriched('hot', start + i * 100, i));
    const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
    const s = await rebuild(lakeOf(burst), openHistoryStore(ddb.client, 'history'), {
      ...sel,
      settings: { retentionDays: 30, limits: { perWindow: 20, perDay: 1000 } },
    });
    expect(s).toMatchObject({ offered: 30, stored: 20, alreadyPresent: 0, refusedByCaps: 10, failed: 0 });
    expect(s.problems).toHaveLength(10);
    expect(s.problems[0]).toMatch(/^hot [0-9a-f-]{36}: refused, more than 20 impressions of the profile/);
  });

  it('skips impressions older than the retention and rows it cannot read, and counts them', async () => {
    const old = enriched('p1', now - 40 * 86_400_000, 1);
    const ok = enriched('p1', now - 60_000, 2);
    const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
    const s = await rebuild(
      async (_sql, params = []) =>
        [old, ok, { ...ok, event_id: 'not-a-uuid' }].filter((r) => r.event_date === params[0]).map(asAthena),
      openHistoryStore(ddb.client, 'history'),
      { ...sel, fromMs: now - 41 * 86_400_000 },
    );
    expect(s).toMatchObject({ impressions: 3, offered: 1, stored: 1, pastRetention: 1, unusable: 1 });
    expect(historyRowOf({ ...asAthena(ok), row_index: 'x' })).toBeUndefined();
  });

  it('reports the rows a write could not store, apart from those already present', async () => {
    const failing = {
      admit: async () => ({
        admissions: [
          { kind: 'failed' as const },
          { kind: 'duplicate' as const },
          { kind: 'failed' as const },
        ],
        writes: 1,
        stored: 0,
      }),
    };
    const rows = [1, 2, 3].map((i) => historyRowOf(asAthena(enriched('p', now, i)))!);
    expect(await writeImpressions(failing, rows, SETTINGS)).toEqual({
      stored: 0,
      alreadyPresent: 1,
      refused: [],
      failed: [0, 2],
    });
  });
});
