/**
 * Fault campaign: realistic mixed traffic through the real filter-enrich handler and adapters (the history
 * write is the duplicate detector), driven by an in-test event source mapping with AWS's checkpoint rules,
 * over in-memory DynamoDB and Kinesis with faults injected at the SDK level (throttling, unprocessed items,
 * partial PutRecords failures), handler crashes after partial writes, duplicate delivery of every batch, a
 * full re-read of the shard, and hostile producers (a profile bursting past its cap, oversized aggregates).
 * The promise under test: every impression accounted for once — none lost, none double counted — producer
 * duplicates filtered, redeliveries not, and the new rejections exactly where the caps say.
 *
 * `npm test` runs a small campaign; `npm run test:faults` runs ≥ 100,000 records (FAULT_RECORDS).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { aggregate } from '../../lambdas/adapters/kpl-aggregate.js';
import { titleCatalog } from '../../lambdas/adapters/title-catalog.js';
import type { RawRecord } from '../../lambdas/domain/filter-enrich.js';
import { bucketStart } from '../../lambdas/domain/history-model.js';
import { makeHandler as filterEnrich } from '../../lambdas/filter-enrich/handler.js';
import { type AdmitSettings, historyStore } from '../../lambdas/history-store/index.js';
import { impressionsOfItem } from '../../lambdas/history-store/item-codec.js';
import { sampleCatalog } from '../../ops/seed.js';
import { type GeneratedRecord, prng, traffic } from '../../scripts/traffic.js';
import { drive } from '../support/esm-driver.js';
import { impression } from '../support/factories.js';
import { streamSinks } from '../support/handlers.js';
import { memoryDynamo, memoryKinesis } from '../support/memory-aws.js';
import {
  countWindow,
  DEFAULT_CLASSIFIER_CONFIG,
  DEFAULT_HISTORY_LIMITS,
  DEFAULT_MAX_USER_RECORDS,
} from '../support/oracles.js';

const RECORDS = Number(process.env.FAULT_RECORDS ?? '6000');
const FAST = { attempts: 8, baseDelayMs: 0, maxDelayMs: 0 };
// The event source mapping's settings as deployed (test/infra asserts the template carries exactly these).
const MAPPING = {
  batchSize: DEFAULT_STAGE.consumer.batchSize,
  maxRetries: DEFAULT_STAGE.consumer.retryAttempts,
  bisectOnError: true,
};
const SETTINGS: AdmitSettings = { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS };
const NOW = Date.now();
const HOUR = 3_600_000;

interface Row {
  scenario: string;
  records: number;
  faultsInjected: number;
  lost: number;
  doubleCounted: number;
  duplicatesFiltered: number;
  redeliveredDuplicates: number;
  aggregateTooLarge: string;
  profileBurst: string;
  onFailureBatches: number;
}
const table: Row[] = [];

afterAll(() => {
  const lines = [
    '| scenario | records | faults injected | records lost | double counted | producer duplicates filtered | redelivered duplicates (reported) | decode.aggregate-too-large (expected / rows) | quality.profile-burst (expected / rows) | batches to on-failure |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...table.map(
      (r) =>
        `| ${r.scenario} | ${r.records} | ${r.faultsInjected} | ${r.lost} | ${r.doubleCounted} | ${r.duplicatesFiltered} | ${r.redeliveredDuplicates} | ${r.aggregateTooLarge} | ${r.profileBurst} | ${r.onFailureBatches} |`,
    ),
  ];
  process.stdout.write(`\nFault campaign (${RECORDS} records per scenario)\n${lines.join('\n')}\n`);
  if (process.env.FAULT_REPORT)
    writeFileSync(path.resolve(process.env.FAULT_REPORT), `${lines.join('\n')}\n`);
});

interface Labelled {
  readonly raw: RawRecord;
  /** Outcome of the contract, or `aggregate` for an oversized KPL aggregate (one rejected row). */
  readonly expected: string;
  readonly eventId?: string;
  readonly profileId?: string;
}

/**
 * Mixed traffic with event times spread over the last hour in stream order (sessions of minutes, as apps
 * send them); a producer's retry keeps its original's time, as a retry does.
 */
function generate(seed: number, count = RECORDS): Labelled[] {
  const catalog = sampleCatalog(300);
  const gen = traffic({
    seed,
    titleIds: catalog.map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0.03,
    nowMs: () => NOW,
  });
  const timeOf = new Map<string, string>();
  const out: Labelled[] = [];
  for (let i = 0; i < count; i++) {
    const r = gen.next().value as GeneratedRecord;
    let data = r.data;
    if (!r.expected.startsWith('rejected.')) {
      const e = JSON.parse(Buffer.from(r.data).toString('utf8'));
      e.eventTime =
        timeOf.get(e.eventId) ?? new Date(NOW - HOUR + Math.floor((i * HOUR) / count)).toISOString();
      timeOf.set(e.eventId, e.eventTime);
      data = Buffer.from(JSON.stringify(e));
    }
    out.push({
      raw: { sequenceNumber: '', partitionKey: r.partitionKey, data, arrivalMs: NOW },
      expected: r.expected,
      eventId: r.eventId,
      profileId: r.profileId,
    });
  }
  return out;
}

/** Hostile producers mixed in: one profile bursting past its 10-second cap, and oversized aggregates. */
async function hostile(mixed: Labelled[], seed: number): Promise<Labelled[]> {
  const rand = prng(seed);
  const cap = DEFAULT_HISTORY_LIMITS.perWindow;
  const from = bucketStart(NOW - HOUR / 2);
  const burst: Labelled[] = Array.from({ length: cap + Math.ceil(cap / 2) }, (_, i) => {
    const e = impression({
      profileId: 'burst',
      eventTime: new Date(from + i).toISOString(),
    });
    return {
      raw: {
        sequenceNumber: '',
        partitionKey: 'burst',
        data: Buffer.from(JSON.stringify(e)),
        arrivalMs: NOW,
      },
      expected: i < cap ? 'enriched' : 'rejected.quality.profile-burst',
      eventId: e.eventId,
      profileId: 'burst',
    };
  });
  const [oversized] = await aggregate(
    Array.from({ length: 1001 }, () => ({
      partitionKey: 'agg',
      data: Buffer.from(JSON.stringify(impression())),
    })),
  );
  const aggregates = Array.from({ length: 5 }, () => ({
    raw: { sequenceNumber: '', partitionKey: 'agg', data: oversized!.data, arrivalMs: NOW },
    expected: 'aggregate',
  }));
  // Interleave, keeping the burst's own order (its first `cap` in stream order are the ones kept).
  const out = [...mixed];
  for (const x of [...burst, ...aggregates]) {
    const at = Math.floor(rand() * (out.length + 1));
    out.splice(at, 0, x);
  }
  const isBurst = new Set(burst);
  const positions = out.flatMap((x, i) => (isBurst.has(x) ? [i] : []));
  positions.forEach((p, i) => {
    out[p] = burst[i]!;
  });
  return out;
}

const sequenced = (xs: Labelled[]): Labelled[] =>
  xs.map((x, i) => ({ ...x, raw: { ...x.raw, sequenceNumber: String(10n ** 20n + BigInt(i)) } }));

interface Scenario {
  readonly name: string;
  readonly throttle: number;
  readonly partial: number;
  /** Probability that an invocation dies: inside the history write (after part of it) or after all writes. */
  readonly crash: number;
  readonly duplicateDelivery: boolean;
  readonly hostile?: boolean;
}

// 10 % of invocations die (half inside the history write, half after every write), and every batch is
// delivered twice: a batch fails an attempt with p ≈ 0.19, so its six attempts all fail with p ≈ 5e-5.
const CRASHES: Scenario = {
  name: 'crashes + duplicate delivery',
  throttle: 0.02,
  partial: 0.05,
  crash: 0.1,
  duplicateDelivery: true,
};
/** A scenario's time grows with the records (≈ 1 ms per record on 2 busy cores, with margin). */
const TIMEOUT = 60_000 + RECORDS * 6;

async function run(s: Scenario, seed: number) {
  const labelled = sequenced(s.hostile ? await hostile(generate(seed), seed) : generate(seed));
  const raw = labelled.map((l) => l.raw);
  const faults = { throttle: s.throttle, partial: s.partial, seed };
  const ddb = memoryDynamo(faults);
  const kin = memoryKinesis(faults);
  const rand = prng(seed + 7);
  let crashes = 0;

  // The catalog is loaded before the run, without faults.
  for (const t of sampleCatalog(300))
    ddb.table('catalog').set(JSON.stringify([['titleId', t.titleId]]), { ...t });

  const store = historyStore(ddb.client, 'history', FAST);
  const inner = filterEnrich({
    ...streamSinks(kin.client, { retry: FAST }),
    maxUserRecordsPerAggregate: DEFAULT_MAX_USER_RECORDS,
    config: { ...DEFAULT_CLASSIFIER_CONFIG, testProfiles: new Set(['bot']) },
    ports: { titles: titleCatalog(ddb.client, 'catalog', { retry: FAST }).titles },
    history: {
      // A crash after part of the batch's history writes landed.
      admit: async (candidates, settings) => {
        if (rand() < s.crash / 2 && candidates.length > 1) {
          crashes++;
          await store.admit(candidates.slice(0, Math.floor(candidates.length / 2)), settings);
          throw new Error('injected crash after a partial batch');
        }
        return store.admit(candidates, settings);
      },
      erasures: store.erasures,
    },
    historySettings: SETTINGS,
  });
  // A crash after every write of the batch and before the response (the checkpoint does not move).
  const fe: typeof inner = async (event) => {
    const res = await inner(event);
    if (rand() < s.crash / 2) {
      crashes++;
      throw new Error('injected crash before the response');
    }
    return res;
  };

  const settings = { ...MAPPING, duplicateDelivery: s.duplicateDelivery };
  const report = await drive(raw, fe, settings);
  const enrichedStream = () =>
    (kin.streams.get('enriched') ?? []).map((r) => JSON.parse(Buffer.from(r.data).toString('utf8')));
  const rejectedRows = () =>
    (kin.streams.get('rejected') ?? []).map((r) => JSON.parse(Buffer.from(r.data).toString('utf8')));

  ddb.state.faultsOn = false;
  const expected = labelled.filter((l) => l.expected === 'enriched');
  const expectedIds = new Set(expected.map((e) => e.eventId!));
  const copies = new Map<string, number>();
  for (const item of ddb.table('history').values()) {
    for (const i of impressionsOfItem(item)) copies.set(i.eventId, (copies.get(i.eventId) ?? 0) + 1);
  }
  const lost = expected.filter((e) => !copies.has(e.eventId!)).length;
  const extra = [...copies.keys()].filter((id) => !expectedIds.has(id)).length;
  const storedTwice = [...copies.values()].filter((n) => n > 1).length;

  // Frequency through the API's own counting: per profile, equal to the expected distinct impressions.
  const byProfile = new Map<string, number>();
  for (const e of expected) byProfile.set(e.profileId!, (byProfile.get(e.profileId!) ?? 0) + 1);
  let doubleCounted = 0;
  for (const [profile, n] of byProfile) {
    const imps = await store.impressionsBetween(profile, NOW - 2 * HOUR, NOW + 60_000);
    const titles = [...new Set(imps.map((i) => i.titleId))];
    const counts = countWindow(imps, titles, NOW + 60_000, '1d');
    doubleCounted += Math.max(0, [...counts.values()].reduce((a, c) => a + c.count, 0) - n);
  }

  // Every enriched impression is on the enriched stream; extra copies are redeliveries (reported).
  const onStream = enrichedStream();
  const streamIds = new Set(onStream.map((r) => r.event_id));
  const missingOnStream = [...expectedIds].filter((id) => !streamIds.has(id)).length;
  const unexpectedOnStream = [...streamIds].filter((id) => !expectedIds.has(id)).length;

  // Every rejected record is on the rejected stream with its reason (perhaps more than once: redelivery).
  const rows = rejectedRows();
  const reasonBySeq = new Map(rows.map((r) => [r.sequence_number, r.reason]));
  const expectedRejected = labelled.filter(
    (l) => l.expected.startsWith('rejected.') || l.expected === 'aggregate',
  );
  const wrongRejections = expectedRejected.filter((l) => {
    const reason = reasonBySeq.get(l.raw.sequenceNumber);
    if (l.expected === 'aggregate') return reason !== 'decode.aggregate-too-large';
    return reason === undefined || !l.expected.startsWith(`rejected.${String(reason).split(':')[0]}`);
  }).length;
  const bySeqOnce = (reason: string) =>
    new Set(rows.filter((r) => r.reason === reason).map((r) => r.sequence_number)).size;

  table.push({
    scenario: s.name,
    records: raw.length,
    faultsInjected:
      ddb.counts.throttles +
      ddb.counts.unprocessed +
      kin.counts.throttles +
      kin.counts.failedEntries +
      crashes,
    lost,
    doubleCounted: doubleCounted + extra + storedTwice,
    duplicatesFiltered: labelled.filter((l) => l.expected === 'filtered.duplicate').length,
    redeliveredDuplicates: onStream.length - streamIds.size,
    aggregateTooLarge: `${labelled.filter((l) => l.expected === 'aggregate').length} / ${bySeqOnce('decode.aggregate-too-large')}`,
    profileBurst: `${labelled.filter((l) => l.expected === 'rejected.quality.profile-burst').length} / ${bySeqOnce('quality.profile-burst')}`,
    onFailureBatches: report.onFailure.length,
  });
  ddb.state.faultsOn = true;
  return {
    crashes,
    ddb,
    kin,
    raw,
    labelled,
    expected,
    lost,
    extra,
    storedTwice,
    doubleCounted,
    missingOnStream,
    unexpectedOnStream,
    wrongRejections,
    report,
    fe,
    settings,
    onStream,
    store,
  };
}

function expectExact(r: Awaited<ReturnType<typeof run>>) {
  expect(r.report.onFailure).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.extra).toBe(0);
  expect(r.storedTwice).toBe(0);
  expect(r.doubleCounted).toBe(0);
  expect(r.missingOnStream).toBe(0);
  // No producer duplicate and nothing rejected ever reaches the enriched stream.
  expect(r.unexpectedOnStream).toBe(0);
  expect(r.wrongRejections).toBe(0);
}

describe('poison records', () => {
  it('never block a shard: a profile whose history writes always fail goes to the on-failure destination after the retries, the rest lands', async () => {
    const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 9 });
    const kin = memoryKinesis({ throttle: 0, partial: 0, seed: 9 });
    const original = ddb.client.send.bind(ddb.client);
    ddb.client.send = ((cmd: { input: { Key?: { pk?: string } } }) =>
      cmd.input.Key?.pk === 'P#stuck'
        ? Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }))
        : original(cmd as never)) as typeof ddb.client.send;
    const fe = filterEnrich({
      ...streamSinks(kin.client, { retry: FAST }),
      maxUserRecordsPerAggregate: DEFAULT_MAX_USER_RECORDS,
      config: { ...DEFAULT_CLASSIFIER_CONFIG, testProfiles: new Set(['bot']) },
      ports: { titles: async () => new Map() },
      history: historyStore(ddb.client, 'history', { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 }),
      historySettings: SETTINGS,
    });
    const labelled = generate(11, 40);
    const poison: Labelled = {
      raw: {
        sequenceNumber: '',
        partitionKey: 'stuck',
        data: Buffer.from(
          JSON.stringify(impression({ profileId: 'stuck', eventTime: new Date(NOW - 1000).toISOString() })),
        ),
        arrivalMs: NOW,
      },
      expected: 'enriched',
    };
    const shard = sequenced([...labelled.slice(0, 6), poison, ...labelled.slice(6)]);
    const report = await drive(
      shard.map((l) => l.raw),
      fe,
      { batchSize: 10, maxRetries: 3, bisectOnError: true },
    );
    expect(report.onFailure.flat().map((r) => r.sequenceNumber)).toContain(shard[6]!.raw.sequenceNumber);
    const stored = new Set(
      [...ddb.table('history').values()].flatMap((item) => impressionsOfItem(item).map((i) => i.eventId)),
    );
    const expected = labelled.filter((l) => l.expected === 'enriched').map((l) => l.eventId!);
    expect(expected.length).toBeGreaterThan(0);
    expect([...stored].sort()).toEqual([...expected].sort());
  });
});

describe(`fault campaign, ${RECORDS} records per scenario`, { timeout: TIMEOUT }, () => {
  it('no faults: the baseline accounts for every record', async () => {
    const r = await run(
      { name: 'no faults', throttle: 0, partial: 0, crash: 0, duplicateDelivery: false },
      1,
    );
    expect(r.expected.length).toBeGreaterThan(RECORDS / 2);
    expect(r.labelled.filter((l) => l.expected === 'filtered.duplicate').length).toBeGreaterThan(0);
    expectExact(r);
    expect(r.onStream.length).toBe(r.expected.length);
  });

  it('throttling and partial failures on every service: everything lands once, reported failures are exactly the records not done', async () => {
    const r = await run(
      {
        name: 'throttling + partial failures',
        throttle: 0.1,
        partial: 0.1,
        crash: 0,
        duplicateDelivery: false,
      },
      2,
    );
    expect(r.ddb.counts.throttles + r.kin.counts.failedEntries).toBeGreaterThan(0);
    expectExact(r);
  });

  it('crashes mid-batch and every batch delivered twice: no loss, no double count, duplicates still filtered', async () => {
    const r = await run(CRASHES, 3);
    expect(r.crashes).toBeGreaterThan(0);
    expect(r.report.partialFailures + r.report.functionErrors).toBeGreaterThan(0);
    expectExact(r);
  });

  it('a whole shard re-read from the start changes no impression in history and no count', async () => {
    const r = await run(
      { name: 'shard re-read', throttle: 0.05, partial: 0.05, crash: 0.05, duplicateDelivery: false },
      4,
    );
    const view = () => {
      const byId = new Map<string, string>();
      for (const item of r.ddb.table('history').values()) {
        for (const i of impressionsOfItem(item)) {
          const json = JSON.stringify(i);
          const prior = byId.get(i.eventId);
          if (prior !== undefined && prior !== json) throw new Error(`two versions of ${i.eventId}`);
          byId.set(i.eventId, json);
        }
      }
      return JSON.stringify([...byId.entries()].sort());
    };
    r.ddb.state.faultsOn = false;
    const snapshot = view();
    r.ddb.state.faultsOn = true;
    const enrichedBefore = r.kin.streams.get('enriched')!.length;
    await drive(r.raw, r.fe, r.settings);
    r.ddb.state.faultsOn = false;
    expect(view()).toBe(snapshot);
    // The re-read is a redelivery of every record: every accepted impression is enriched again, no more.
    const again = (r.kin.streams.get('enriched') ?? []).slice(enrichedBefore);
    const ids = new Set(again.map((x) => JSON.parse(Buffer.from(x.data).toString()).event_id));
    expect(ids).toEqual(new Set(r.expected.map((e) => e.eventId)));
    expectExact(r);
  });

  it('hostile producers under faults: a profile past its 10-second cap and oversized aggregates are rejected exactly, nobody else fails', async () => {
    const r = await run(
      {
        ...CRASHES,
        name: `hostile producers (burst profile, oversized aggregates) + ${CRASHES.name}`,
        hostile: true,
      },
      5,
    );
    expectExact(r);
    const burst = r.labelled.filter((l) => l.profileId === 'burst' && l.expected === 'enriched');
    expect(burst).toHaveLength(DEFAULT_HISTORY_LIMITS.perWindow);
  });
});
