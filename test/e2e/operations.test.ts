/**
 * The operations tools against the deployment on the emulator, run as an operator runs them (the CLIs, as
 * child processes, on a session file naming the deployment):
 * - `npm run redrive` with on-failure messages in the format the Lambda developer guide documents
 *   ("Capturing discarded batches for a Kinesis Data Streams event source"; the emulator's mapping never
 *   sends any) on filter-enrich's on-failure queue: a batch's records, read back from the shard, are handed
 *   to filter-enrich's handler (run by the tool with the deployed settings) as a redelivery: the history is
 *   unchanged, the enriched stream gets the batch's impressions again (idempotent downstream), nothing is
 *   re-put; expired, foreign-stream or unreadable messages are left (a batch that failed after its history
 *   write, one never accepted, and a late impression judged by its original arrival:
 *   test/unit/ops-redrive.test.ts, with the real handler and the fault tests' ESM driver);
 * - `npm run reprocess` after the condition that rejected records is gone (a producer clock ahead);
 * - `npm run rebuild-history`: profiles' history items erased, rebuilt from the lake through the
 *   pipeline's write path with the deployed settings, and the history API answering exactly as before; run
 *   again, everything is already present.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  type _Record,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleCatalog, seedCatalog } from '../../ops/seed.js';
import { ROOT } from '../../scripts/emulator.js';
import { type DeliveryHandle, queryLake, startDelivery } from '../../scripts/lake.js';
import { runToEnd } from '../support/child-process.js';
import { DEFAULT_HISTORY_LIMITS } from '../support/oracles.js';
import { ctx, eventually, harness } from './harness.js';

const c = ctx();
const h = harness(c);
const out = c.outputs;
const skip =
  c.skipReason ?? (c.emulator ? undefined : 'runs the local lake stand-in, which runs only on emulators');
const sqs = new SQSClient(h.config);
const TITLES = sampleCatalog(50).map((t) => t.titleId);

/** Runs a tool's CLI against this deployment; resolves with its exit code and output. */
const tool = (name: string, args: readonly string[], session: string) =>
  runToEnd(
    path.join(ROOT, 'node_modules', '.bin', 'tsx'),
    [path.join(ROOT, 'scripts', 'impressions.ts'), name, '--session', session, ...args],
    { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } },
  );
const json = (r: { stdout: string; stderr: string }) => {
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON: ${r.stdout}\n${r.stderr}`);
  }
};

function event(profileId: string, i: number, overrides: Record<string, unknown> = {}) {
  return {
    schema: 'impression/1-0-0',
    eventId: randomUUID(),
    eventTime: new Date(Date.now() - 60_000 + i * 1000).toISOString(),
    profileId,
    accountId: 'acct-ops',
    sessionId: 'sess-ops',
    device: { type: 'tv', os: 'tizen', appVersion: '6.1.0' },
    country: 'US',
    page: 'home',
    row: { index: i % 5, id: `row-${i % 5}`, type: 'trending' },
    position: i % 20,
    titleId: TITLES[i % 7]!,
    artworkId: `art-${i % 3}`,
    trackId: 11,
    visibility: { percent: 90, durationMs: 1500 },
    ...overrides,
  };
}

/** Puts records and returns what Kinesis answered per record (shard and sequence number). */
async function putRaw(partitionKey: string, bodies: readonly (string | Uint8Array)[]) {
  const r = await h.kinesis.send(
    new PutRecordsCommand({
      StreamName: out.RawStreamName,
      Records: bodies.map((b) => ({
        PartitionKey: partitionKey,
        Data: typeof b === 'string' ? Buffer.from(b) : b,
      })),
    }),
  );
  expect(r.FailedRecordCount ?? 0).toBe(0);
  return r.Records!;
}

async function history(profileId: string) {
  const items: unknown[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `limit=500&cursor=${encodeURIComponent(cursor)}` : 'limit=500';
    const r = await h.api('GET', `/v1/profiles/${profileId}/impressions?${q}`);
    expect(r.status, r.text).toBe(200);
    const body = r.json() as { items: unknown[]; nextCursor: string | null };
    items.push(...body.items);
    cursor = body.nextCursor;
  } while (cursor);
  return items;
}
async function frequency(profileId: string) {
  const r = await h.api(
    'GET',
    `/v1/profiles/${profileId}/frequency?titleIds=${TITLES.slice(0, 7).join(',')}&window=30d`,
  );
  expect(r.status, r.text).toBe(200);
  return (r.json() as { titles: unknown }).titles;
}
const waitForHistory = (profileId: string, n: number) =>
  eventually(
    () => history(profileId),
    (items) => items.length === n,
    {
      what: `${n} history items of ${profileId}`,
      timeoutMs: 90_000,
    },
  );

/**
 * The Kinesis records of a stream that `mine` selects, in runs of consecutive records of one shard, each as
 * the on-failure record the Lambda developer guide documents.
 */
async function failureMessages(streamName: string, mine: (r: _Record) => boolean) {
  const { StreamDescriptionSummary: s } = await h.kinesis.send(
    new DescribeStreamSummaryCommand({ StreamName: streamName }),
  );
  const shards = await h.kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  const messages: string[] = [];
  for (const shard of shards.Shards ?? []) {
    let it = (
      await h.kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    let run: _Record[] = [];
    const flush = () => {
      if (!run.length) return;
      messages.push(
        JSON.stringify({
          requestContext: {
            requestId: randomUUID(),
            functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:consumer',
            condition: 'RetryAttemptsExhausted',
            approximateInvokeCount: 6,
          },
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          version: '1.0',
          timestamp: new Date().toISOString(),
          KinesisBatchInfo: {
            shardId: shard.ShardId,
            startSequenceNumber: run[0]!.SequenceNumber,
            endSequenceNumber: run.at(-1)!.SequenceNumber,
            approximateArrivalOfFirstRecord: run[0]!.ApproximateArrivalTimestamp?.toISOString(),
            approximateArrivalOfLastRecord: run.at(-1)!.ApproximateArrivalTimestamp?.toISOString(),
            batchSize: run.length,
            streamArn: s!.StreamARN,
          },
        }),
      );
      run = [];
    };
    for (let page = 0; it && page < 1000; page++) {
      const r = await h.kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      for (const rec of r.Records ?? []) {
        if (mine(rec)) run.push(rec);
        else flush();
      }
      if (!r.Records?.length && (r.MillisBehindLatest ?? 0) === 0) break;
      it = r.NextShardIterator;
    }
    flush();
  }
  return messages;
}

async function queueDepth(url: string) {
  const a = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

async function drain(url: string) {
  for (let i = 0; i < 20; i++) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!r.Messages?.length) return;
    for (const m of r.Messages)
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
  }
}

const sql = async (text: string, params: string[] = []) =>
  queryLake({ endpoint: c.endpoint, database: out.GlueDatabaseName, sql: text, params });

describe.skipIf(Boolean(skip))(`operations tools on ${c.target}${skip ? ` (${skip})` : ''}`, () => {
  let delivery: DeliveryHandle | undefined;
  let session = '';
  const started = new Date(Date.now() - 120_000).toISOString();

  beforeAll(async () => {
    await seedCatalog(h.documents, out.TitleCatalogTableName!, sampleCatalog(50));
    delivery = await startDelivery({
      endpoint: c.endpoint,
      pipelineStack: c.stacks.pipeline,
      bufferSeconds: 1,
    });
    session = path.join(mkdtempSync(path.join(tmpdir(), 'ops-')), 'session.json');
    writeFileSync(
      session,
      JSON.stringify({ endpoint: c.endpoint, pipelineStack: c.stacks.pipeline, outputs: out }),
    );
  });
  afterAll(async () => {
    await delivery?.stop();
  });

  it("stack outputs name the one on-failure queue, filter-enrich's", () => {
    expect(out.FilterEnrichFailureQueueUrl).toMatch(/^http/);
    expect(Object.keys(out).filter((k) => k.endsWith('FailureQueueUrl'))).toEqual([
      'FilterEnrichFailureQueueUrl',
    ]);
  });

  it('redrive: a batch is handed back to the handler as a redelivery: the history unchanged, the impressions enriched again, nothing re-put; twice counts nothing twice', async () => {
    const p = `ops-redrive-raw-${randomUUID().slice(0, 8)}`;
    const bodies = Array.from({ length: 5 }, (_, i) => JSON.stringify(event(p, i)));
    await putRaw(p, bodies);
    const before = await waitForHistory(p, 5);
    const freqBefore = await frequency(p);
    const mine = new Set(bodies);
    const messages = await failureMessages(out.RawStreamName, (rec) =>
      mine.has(Buffer.from(rec.Data!).toString()),
    );
    const queue = out.FilterEnrichFailureQueueUrl!;
    const enrichedOf = async () =>
      (await h.readAll(out.EnrichedStreamName)).filter((r) => r.partitionKey === p).length;
    const enrichedBefore = await enrichedOf();
    for (let round = 1; round <= 2; round++) {
      for (const m of messages) await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: m }));
      const r = await tool('redrive', ['--queue', 'FilterEnrichFailureQueueUrl', '--json'], session);
      expect(r.code, r.stderr).toBe(0);
      const s = (
        json(r).queues as {
          outcomes: Record<string, number>;
          recordsProcessed: number;
          recordsFailed: number;
        }[]
      )[0]!;
      expect(s.outcomes.redriven).toBe(messages.length);
      expect(s).toMatchObject({ recordsProcessed: 5, recordsFailed: 0 });
      // Processed by the tool before it answers: the history is as it was, and the raw stream holds no copy.
      expect(await waitForHistory(p, 5)).toEqual(before);
      expect(await frequency(p)).toEqual(freqBefore);
      const expected = enrichedBefore + 5 * round;
      expect(await eventually(enrichedOf, (n) => n >= expected, { what: 'enriched copies' })).toBe(expected);
    }
    const raw = (await h.readAll(out.RawStreamName)).filter((r) => mine.has(r.data));
    expect(raw).toHaveLength(5);
    expect(await queueDepth(queue)).toBe(0);
  });

  it('redrive: refuses an expired range, a range of another stream and a message in another format, and leaves them in the queue', async () => {
    const p = `ops-expired-${randomUUID().slice(0, 8)}`;
    const bodies = [JSON.stringify(event(p, 0))];
    await putRaw(p, bodies);
    const [message] = await failureMessages(
      out.RawStreamName,
      (rec) => Buffer.from(rec.Data!).toString() === bodies[0],
    );
    const old = JSON.parse(message!) as { KinesisBatchInfo: Record<string, unknown> };
    old.KinesisBatchInfo.approximateArrivalOfFirstRecord = new Date(
      Date.now() - 8 * 86_400_000,
    ).toISOString();
    const queue = out.FilterEnrichFailureQueueUrl!;
    await drain(queue);
    await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: JSON.stringify(old) }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: '{"hello":"world"}' }));
    // The enriched stream has no event-source mapping any more: a range of it is not re-driven.
    // (filter-enrich puts it there once the mapping has read the raw record: wait for it.)
    const [enriched] = await eventually(
      () => failureMessages(out.EnrichedStreamName, (rec) => rec.PartitionKey === p),
      (messages) => messages.length > 0,
      { what: `the enriched record of ${p}` },
    );
    expect(enriched).toBeDefined();
    await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: enriched! }));
    const r = await tool('redrive', ['--queue', 'FilterEnrichFailureQueueUrl'], session);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/range expired \(left\)\s+1/);
    expect(r.stdout).toMatch(/not an on-failure record \(left\)\s+1/);
    expect(r.stdout).toMatch(/another stream \(left\)\s+1/);
    expect(r.stdout).toMatch(/longer ago than the stream's retention/);
    expect(await queueDepth(queue)).toBe(3);
    await drain(queue);
  });

  it('reprocess: rejected records pass once the cause is gone; the ones rejected again get a second row with the same raw payload', async () => {
    const p = `ops-reprocess-${randomUUID().slice(0, 8)}`;
    const putAt = Date.now();
    // A producer's clock 5 min 20 s ahead: time.future now, fine 20 s later.
    const ahead = Array.from({ length: 3 }, (_, i) =>
      event(p, i, { eventTime: new Date(putAt + 320_000 + i).toISOString() }),
    );
    const wrongType = JSON.stringify(event(p, 5, { row: { index: 'two', id: 'r', type: 't' } }));
    const notUtf8 = Buffer.from([0xff, 0xfe, 0x41, 0x42]);
    await putRaw(p, [...ahead.map((e) => JSON.stringify(e)), wrongType, notUtf8]);
    const rejectedRows = () =>
      sql('SELECT reason, raw, detail, sequence_number FROM impressions_rejected WHERE partition_key = ?', [
        p,
      ]);
    await eventually(rejectedRows, (rows) => rows.length === 5, {
      what: 'rejected rows in the lake',
      timeoutMs: 90_000,
    });

    const dry = await tool('reprocess', ['--from', started, '--profile', p, '--dry-run', '--json'], session);
    expect(dry.code, dry.stderr).toBe(0);
    expect(json(dry)).toMatchObject({ dryRun: true, selected: 5, wouldPut: 5 });
    const onlyFuture = await tool(
      'reprocess',
      ['--from', started, '--profile', p, '--reason', 'time.future', '--dry-run', '--json'],
      session,
    );
    expect(json(onlyFuture)).toMatchObject({ selected: 3, byReason: { 'time.future': 3 } });

    await new Promise((r) => setTimeout(r, Math.max(0, putAt + 25_000 - Date.now())));
    const run = await tool(
      'reprocess',
      ['--from', started, '--profile', p, '--json', '--wait', '90'],
      session,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toMatchObject({
      selected: 5,
      put: 5,
      enriched: 3,
      rejectedAgain: { 'schema.wrong-type:row.index': 1, 'decode.not-json': 1 },
      notInLake: 0,
    });
    expect(await waitForHistory(p, 3)).toHaveLength(3);
    const rows = await rejectedRows();
    expect(rows).toHaveLength(7);
    const byRaw = new Map<string, string[]>();
    for (const r of rows) byRaw.set(String(r.raw), [...(byRaw.get(String(r.raw)) ?? []), String(r.reason)]);
    expect(byRaw.get(wrongType)).toEqual(['schema.wrong-type:row.index', 'schema.wrong-type:row.index']);
    expect(byRaw.get(notUtf8.toString('base64'))).toEqual(['decode.not-json', 'decode.not-json']);
  });

  it('rebuild-history: erased history items are rebuilt from the lake, and the history API answers exactly as before', async () => {
    const profiles = [0, 1, 2].map((k) => `ops-rebuild-${k}-${randomUUID().slice(0, 8)}`);
    for (const [k, p] of profiles.entries())
      await putRaw(
        p,
        Array.from({ length: 6 + k * 5 }, (_, i) => JSON.stringify(event(p, i))),
      );
    const before: Record<string, { history: unknown[]; frequency: unknown }> = {};
    for (const [k, p] of profiles.entries())
      before[p] = { history: await waitForHistory(p, 6 + k * 5), frequency: await frequency(p) };
    await eventually(
      () =>
        sql(`SELECT count(DISTINCT event_id) AS n FROM impressions WHERE profile_id IN (?, ?, ?)`, profiles),
      (r) => Number(r[0]?.n) === 6 + 11 + 16,
      { what: 'the impressions in the lake', timeoutMs: 90_000 },
    );

    // The table's items of these profiles erased (as if the table had been lost).
    for (const p of profiles) {
      const items = await h.documents.send(
        new QueryCommand({
          TableName: out.HistoryTableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `P#${p}` },
        }),
      );
      expect(items.Items?.length).toBeGreaterThan(0);
      for (let i = 0; i < (items.Items ?? []).length; i += 25)
        await h.documents.send(
          new BatchWriteCommand({
            RequestItems: {
              [out.HistoryTableName]: items
                .Items!.slice(i, i + 25)
                .map((it) => ({ DeleteRequest: { Key: { pk: it.pk, sk: it.sk } } })),
            },
          }),
        );
      expect(await history(p)).toHaveLength(0);
    }

    const args = ['--from', started, ...profiles.flatMap((p) => ['--profile', p]), '--json'];
    const dry = await tool('rebuild-history', [...args, '--dry-run'], session);
    expect(dry.code, dry.stderr).toBe(0);
    // The deployed function's settings (the stage's defaults), read from the pipeline stack's template.
    const settings = { retentionDays: 30, limits: DEFAULT_HISTORY_LIMITS };
    expect(json(dry)).toMatchObject({ dryRun: true, settings, offered: 33, stored: 0, profiles: 3 });
    expect(await history(profiles[0]!)).toHaveLength(0);

    for (let round = 0; round < 2; round++) {
      const r = await tool('rebuild-history', args, session);
      expect(r.code, r.stderr).toBe(0);
      const summary = json(r);
      // Into the emptied table everything is stored; run again, everything is already present.
      expect(summary).toMatchObject({
        dryRun: false,
        settings,
        impressions: 33,
        offered: 33,
        stored: round === 0 ? 33 : 0,
        alreadyPresent: round === 0 ? 0 : 33,
        refusedByCaps: 0,
        failed: 0,
        unusable: 0,
      });
      expect(summary.lakeRows).toBeGreaterThanOrEqual(33);
      for (const p of profiles) {
        expect(await history(p)).toEqual(before[p]!.history);
        expect(await frequency(p)).toEqual(before[p]!.frequency);
      }
    }
  });

  it('answers bad arguments and a missing deployment in one line, without a stack trace', async () => {
    const bad = await tool('reprocess', ['--from', 'last tuesday'], session);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const none = await tool(
      'rebuild-history',
      ['--from', new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)],
      path.join(tmpdir(), 'no-such-session.json'),
    );
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^rebuild-history: no local deployment/);
    expect(none.stderr).not.toMatch(/\n\s+at /);
  });
});
