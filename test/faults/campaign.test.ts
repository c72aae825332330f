/**
 * Fault campaign: realistic mixed traffic through the real handlers and adapters, driven by an in-test event
 * source mapping with AWS's checkpoint rules, over in-memory DynamoDB and Kinesis with faults injected at the
 * SDK level (throttling, unprocessed items, partial PutRecords failures), handler crashes after partial writes,
 * duplicate delivery of every batch, and a full re-read of both shards. The promise under test: every
 * impression accounted for once — none lost, none double counted — and duplicates reported, not hidden.
 *
 * `npm test` runs a small campaign; `npm run test:faults` runs ≥ 100,000 records (FAULT_RECORDS).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { dedupStore } from '../../lambdas/adapters/dedup-store.js';
import { historyStore } from '../../lambdas/adapters/history-store.js';
import { titleCatalog } from '../../lambdas/adapters/title-catalog.js';
import { DEFAULT_CLASSIFIER_CONFIG } from '../../lambdas/domain/classify.js';
import type { RawRecord } from '../../lambdas/domain/filter-enrich.js';
import { countWindow } from '../../lambdas/domain/frequency.js';
import { impressionsOfItem } from '../../lambdas/domain/history-model.js';
import { makeHandler as filterEnrich } from '../../lambdas/filter-enrich/handler.js';
import { makeHandler as historyWriter } from '../../lambdas/history-writer/handler.js';
import { sampleCatalog } from '../../scripts/seed-catalog.js';
import { type GeneratedRecord, prng, traffic } from '../../scripts/traffic.js';
import { drive } from '../support/esm-driver.js';
import { memoryDynamo, memoryKinesis } from '../support/memory-aws.js';

const RECORDS = Number(process.env.FAULT_RECORDS ?? '6000');
const FAST = { attempts: 8, baseDelayMs: 0, maxDelayMs: 0 };
// The event source mappings' settings as deployed (test/infra asserts the template carries exactly these).
const MAPPING = {
  batchSize: DEFAULT_STAGE.consumer.batchSize,
  maxRetries: DEFAULT_STAGE.consumer.retryAttempts,
  bisectOnError: true,
};
const NOW = Date.now();

interface Row {
  scenario: string;
  records: number;
  faultsInjected: number;
  lost: number;
  doubleCounted: number;
  redeliveredDuplicates: number;
  onFailureBatches: number;
}
const table: Row[] = [];

afterAll(() => {
  const lines = [
    '| scenario | records | faults injected | records lost | double counted | redelivered duplicates (reported) | batches to on-failure |',
    '|---|---|---|---|---|---|---|',
    ...table.map(
      (r) =>
        `| ${r.scenario} | ${r.records} | ${r.faultsInjected} | ${r.lost} | ${r.doubleCounted} | ${r.redeliveredDuplicates} | ${r.onFailureBatches} |`,
    ),
  ];
  process.stdout.write(`\nFault campaign (${RECORDS} records per scenario)\n${lines.join('\n')}\n`);
  if (process.env.FAULT_REPORT)
    writeFileSync(path.resolve(process.env.FAULT_REPORT), `${lines.join('\n')}\n`);
});

function generate(seed: number): { raw: RawRecord[]; labels: GeneratedRecord[] } {
  const catalog = sampleCatalog(300);
  const gen = traffic({
    seed,
    titleIds: catalog.map((t) => t.titleId),
    testProfile: 'bot',
    badShare: 0.03,
    nowMs: () => NOW,
  });
  const labels: GeneratedRecord[] = [];
  const raw: RawRecord[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const r = gen.next().value as GeneratedRecord;
    labels.push(r);
    raw.push({
      sequenceNumber: String(10n ** 20n + BigInt(i)),
      partitionKey: r.partitionKey,
      data: r.data,
      arrivalMs: NOW,
    });
  }
  return { raw, labels };
}

interface Scenario {
  readonly name: string;
  readonly throttle: number;
  readonly partial: number;
  /** Probability that a handler dies after writing part of its batch. */
  readonly crash: number;
  readonly duplicateDelivery: boolean;
}

async function run(s: Scenario, seed: number) {
  const { raw, labels } = generate(seed);
  const faults = { throttle: s.throttle, partial: s.partial, seed };
  const ddb = memoryDynamo(faults);
  const kin = memoryKinesis(faults);
  const rand = prng(seed + 7);
  let crashes = 0;

  // The catalog is loaded before the run, without faults.
  for (const t of sampleCatalog(300))
    ddb.table('catalog').set(JSON.stringify([['titleId', t.titleId]]), { ...t });

  const dedup = dedupStore(ddb.client, 'dedup', () => NOW, FAST);
  const fe = filterEnrich({
    kinesis: kin.client,
    enrichedStreamName: 'enriched',
    rejectedStreamName: 'rejected',
    config: { ...DEFAULT_CLASSIFIER_CONFIG, testProfiles: new Set(['bot']) },
    ports: {
      acceptedEventIds: dedup.acceptedEventIds,
      titles: titleCatalog(ddb.client, 'catalog', { retry: FAST }).titles,
    },
    // A crash after the enriched records were written and before they were remembered.
    remember: async (entries) => {
      if (rand() < s.crash) {
        crashes++;
        throw new Error('injected crash after a partial batch');
      }
      return dedup.remember(entries);
    },
    retry: FAST,
  });
  const store = historyStore(ddb.client, 'history', FAST);
  const hw = historyWriter({
    store: {
      // A crash after half of the batch's writes landed.
      apply: async (writes) => {
        if (rand() < s.crash && writes.length > 1) {
          crashes++;
          await store.apply(writes.slice(0, Math.floor(writes.length / 2)));
          throw new Error('injected crash after a partial batch');
        }
        return store.apply(writes);
      },
    },
    retentionDays: 30,
    nowMs: () => NOW,
  });

  const settings = { ...MAPPING, duplicateDelivery: s.duplicateDelivery };
  const r1 = await drive(raw, fe, settings);
  const toRaw = (o: { partitionKey: string; sequenceNumber: string; data: Uint8Array }): RawRecord => ({
    sequenceNumber: o.sequenceNumber,
    partitionKey: o.partitionKey,
    data: o.data,
    arrivalMs: NOW,
  });
  const enrichedStream = () => (kin.streams.get('enriched') ?? []).map(toRaw);
  const r2 = await drive(enrichedStream(), hw, settings);

  const expected = labels.filter((l) => l.expected === 'enriched');
  ddb.state.faultsOn = false;
  const stored = () => {
    const copies = new Map<string, number>();
    for (const item of ddb.table('history').values()) {
      for (const i of impressionsOfItem(item)) copies.set(i.eventId, (copies.get(i.eventId) ?? 0) + 1);
    }
    return copies;
  };
  const copies = stored();
  const lost = expected.filter((e) => !copies.has(e.eventId!)).length;
  const expectedIds = new Set(expected.map((e) => e.eventId!));
  const extra = [...copies.keys()].filter((id) => !expectedIds.has(id)).length;

  // Frequency through the API's own counting: per profile and title, equal to the expected distinct impressions.
  const byProfile = new Map<string, GeneratedRecord[]>();
  for (const e of expected) byProfile.set(e.profileId!, [...(byProfile.get(e.profileId!) ?? []), e]);
  let doubleCounted = 0;
  for (const [profile, events] of byProfile) {
    const imps = await store.impressionsBetween(profile, NOW - 86_400_000, NOW + 60_000);
    const titles = [...new Set(imps.map((i) => i.titleId))];
    const counts = countWindow(imps, titles, NOW + 60_000, '1d');
    const counted = [...counts.values()].reduce((n, c) => n + c.count, 0);
    doubleCounted += Math.max(0, counted - events.length);
  }

  // Every rejected record is on the rejected stream (perhaps more than once: redelivery), with its reason.
  const rejectedRows = (kin.streams.get('rejected') ?? []).map((r) =>
    JSON.parse(Buffer.from(r.data).toString('utf8')),
  );
  const rejectedIds = new Set(rejectedRows.map((r) => r.sequence_number));
  const expectedRejected = labels.filter((l) => l.expected.startsWith('rejected.'));

  const redelivered = enrichedStream().length - expected.length;
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
    doubleCounted: doubleCounted + extra,
    redeliveredDuplicates: redelivered,
    onFailureBatches: r1.onFailure.length + r2.onFailure.length,
  });
  ddb.state.faultsOn = true;
  return {
    crashes,
    ddb,
    kin,
    raw,
    labels,
    expected,
    copies,
    lost,
    extra,
    doubleCounted,
    rejectedIds,
    expectedRejected,
    r1,
    r2,
    fe,
    hw,
    settings,
    enrichedStream,
    store,
  };
}

describe('poison records', () => {
  it('never block a shard: a record that always fails goes to the on-failure destination after the retries, the rest lands', async () => {
    const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 9 });
    const store = historyStore(ddb.client, 'history', FAST);
    const hw = historyWriter({ store, retentionDays: 30, nowMs: () => NOW });
    const { raw, labels } = generate(11);
    // Enriched records as the history writer reads them, with one that cannot be parsed in the middle.
    const good = raw.slice(0, 40);
    const dfe = dedupStore(ddb.client, 'dedup', () => NOW, FAST);
    const kin = memoryKinesis({ throttle: 0, partial: 0, seed: 9 });
    const fe = filterEnrich({
      kinesis: kin.client,
      enrichedStreamName: 'enriched',
      rejectedStreamName: 'rejected',
      config: { ...DEFAULT_CLASSIFIER_CONFIG, testProfiles: new Set(['bot']) },
      ports: { acceptedEventIds: dfe.acceptedEventIds, titles: async () => new Map() },
      remember: dfe.remember,
      retry: FAST,
    });
    await drive(good, fe, MAPPING);
    const enriched = (kin.streams.get('enriched') ?? []).map((o) => ({ ...o, arrivalMs: NOW }));
    const poison = {
      sequenceNumber: String(BigInt(enriched[5]!.sequenceNumber) + 1n),
      partitionKey: 'p',
      data: Buffer.from('{"poison":true}'),
      arrivalMs: NOW,
    };
    const shard = [...enriched.slice(0, 6), poison, ...enriched.slice(6)].map((r, i) => ({
      ...r,
      sequenceNumber: String(10n ** 21n + BigInt(i)),
    }));
    const report = await drive(shard, hw, { batchSize: 10, maxRetries: 3, bisectOnError: true });
    expect(report.onFailure.flat().map((r) => Buffer.from(r.data).toString())).toContain('{"poison":true}');
    const stored = new Set(
      [...ddb.table('history').values()].flatMap((item) => impressionsOfItem(item).map((i) => i.eventId)),
    );
    const expected = labels
      .slice(0, 40)
      .filter((l) => l.expected === 'enriched')
      .map((l) => l.eventId!);
    expect(expected.length).toBeGreaterThan(0);
    expect([...stored].sort()).toEqual([...expected].sort());
  });
});

describe(`fault campaign, ${RECORDS} records per scenario`, () => {
  it('no faults: the baseline accounts for every record', async () => {
    const r = await run(
      { name: 'no faults', throttle: 0, partial: 0, crash: 0, duplicateDelivery: false },
      1,
    );
    expect(r.expected.length).toBeGreaterThan(RECORDS / 2);
    expect(r.lost).toBe(0);
    expect(r.extra).toBe(0);
    expect(r.doubleCounted).toBe(0);
    expect(r.rejectedIds.size).toBe(r.expectedRejected.length);
    expect(r.enrichedStream().length).toBe(r.expected.length);
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
    expect(r.r1.onFailure).toEqual([]);
    expect(r.r2.onFailure).toEqual([]);
    expect(r.lost).toBe(0);
    expect(r.extra).toBe(0);
    expect(r.doubleCounted).toBe(0);
    expect(r.rejectedIds.size).toBe(r.expectedRejected.length);
  });

  it('crashes mid-batch and every batch delivered twice: no loss, no double count', async () => {
    const r = await run(
      {
        name: 'crashes + duplicate delivery',
        throttle: 0.02,
        partial: 0.05,
        crash: 0.2,
        duplicateDelivery: true,
      },
      3,
    );
    expect(r.crashes).toBeGreaterThan(0);
    expect(r.r1.partialFailures + r.r2.partialFailures).toBeGreaterThan(0);
    expect(r.r1.onFailure).toEqual([]);
    expect(r.r2.onFailure).toEqual([]);
    expect(r.lost).toBe(0);
    expect(r.extra).toBe(0);
    expect(r.doubleCounted).toBe(0);
  });

  it('a whole shard re-read from the start changes no impression in history and no count', async () => {
    const r = await run(
      { name: 'shard re-read', throttle: 0.05, partial: 0.05, crash: 0.05, duplicateDelivery: false },
      4,
    );
    // History as readers see it: every stored impression by eventId (an impression a re-read batch places in
    // another overflow part is the same impression, and readers deduplicate by eventId).
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
    // Both shards again, from the trim horizon: the raw shard through filter-enrich, then the whole enriched
    // shard (now holding the originals and the re-enriched copies) through the history writer.
    await drive(r.raw, r.fe, r.settings);
    await drive(r.enrichedStream(), r.hw, r.settings);
    r.ddb.state.faultsOn = false;
    expect(view()).toBe(snapshot);
    expect(r.lost).toBe(0);
    expect(r.doubleCounted).toBe(0);
  });
});
