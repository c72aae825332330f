/**
 * Crafted KPL framing and hostile payloads through the filter-enrich handler, its real Kinesis sinks over the
 * strict in-memory Kinesis (which refuses what the service refuses), and the ESM driver at the deployed
 * retry settings: every data error is a record's outcome, one bad aggregate is one row, the batch completes.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { fromRejectedWire } from '../../lambdas/adapters/stream-encoding.js';
import { type RawRecord, REJECTED_ROW_LIMITS } from '../../lambdas/domain/filter-enrich.js';
import { makeHandler } from '../../lambdas/filter-enrich/handler.js';
import { drive } from '../support/esm-driver.js';
import { impression, rawRecord } from '../support/factories.js';
import { filterEnrichDeps, streamSinks } from '../support/handlers.js';
import { KINESIS_LIMITS } from '../support/kinesis-limits.js';
import { aggregateBody, craftAggregate, frame, varintField } from '../support/kpl-framing.js';
import { memoryKinesis } from '../support/memory-aws.js';

// The event source mapping's settings as deployed (test/infra asserts the template carries exactly these).
const MAPPING = {
  batchSize: DEFAULT_STAGE.consumer.batchSize,
  maxRetries: DEFAULT_STAGE.consumer.retryAttempts,
  bisectOnError: true,
};
const FAST = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };

/** Drives `records` through filter-enrich with the strict in-memory Kinesis behind its real sinks. */
async function run(records: readonly RawRecord[]) {
  const kinesis = memoryKinesis({ throttle: 0, partial: 0, seed: 1 });
  const { d } = filterEnrichDeps(streamSinks(kinesis.client, { retry: FAST }));
  const report = await drive(records, makeHandler(d), MAPPING);
  const stream = (name: string) => kinesis.streams.get(name) ?? [];
  const rejected = stream('rejected').map((r) => ({
    bytes: r.data.byteLength + Buffer.byteLength(r.partitionKey),
    row: fromRejectedWire(JSON.parse(Buffer.from(r.data).toString())),
  }));
  const enriched = stream('enriched').map((r) => JSON.parse(Buffer.from(r.data).toString()));
  return { report, rejected, rows: rejected.map((r) => r.row), enriched };
}

const completed = (report: Awaited<ReturnType<typeof run>>['report']) => {
  expect(report.functionErrors).toBe(0);
  expect(report.partialFailures).toBe(0);
  expect(report.onFailure).toEqual([]);
};

const json = (e: unknown) => Buffer.from(JSON.stringify(e));
const ones = (n: number) => Array.from({ length: n }, () => ({ keyIndex: 0, data: Buffer.from('x') }));

describe('decode.bad-aggregate: an aggregate that cannot be de-aggregated whole is one row', () => {
  const cases: [string, Buffer, string][] = [
    [
      'a partition-key index outside the key table',
      craftAggregate({ keys: ['p'], records: [{ keyIndex: 5, data: Buffer.from('nope') }] }),
      'partition key index 5 outside its table of 1',
    ],
    [
      'an empty key table',
      craftAggregate({ keys: [], records: [{ keyIndex: 0, data: json(impression()) }] }),
      'empty partition key table',
    ],
    [
      'an explicit hash key index outside its table',
      craftAggregate({ keys: ['p'], records: [{ keyIndex: 0, hashKeyIndex: 3, data: json(impression()) }] }),
      'explicit hash key index 3 outside its table of 0',
    ],
    ['zero user records', craftAggregate({ keys: ['p'] }), 'zero user records'],
    [
      'an MD5 mismatch',
      (() => {
        const b = craftAggregate({ keys: ['p'], records: [{ keyIndex: 0, data: json(impression()) }] });
        b[b.length - 1]! ^= 0xff;
        return b;
      })(),
      'MD5 mismatch',
    ],
    [
      'malformed protobuf (a length past the message)',
      frame(Buffer.from([0x0a, 0x7f, 0x70])),
      'malformed protobuf',
    ],
    [
      'a user record without data',
      craftAggregate({ keys: ['p'], records: [{ keyIndex: 0 }] }),
      'user record 0 has no data',
    ],
  ];

  it.each(cases)('%s: one row, the rest of the batch enriched, no retry', async (_name, bytes, detail) => {
    const good = [rawRecord(impression()), rawRecord(impression())];
    const bad = rawRecord(bytes);
    const { report, rows, enriched } = await run([good[0]!, bad, good[1]!]);
    completed(report);
    expect(rows).toEqual([
      expect.objectContaining({
        reason: 'decode.bad-aggregate',
        sequence_number: bad.sequenceNumber,
        detail: expect.stringContaining(detail),
        raw: expect.any(String),
      }),
    ]);
    expect(enriched).toHaveLength(2);
  });
});

describe('the aggregate cap holds for any framing', () => {
  it('a record count behind a long varint is still read: 1,500 user records are one decode.aggregate-too-large row', async () => {
    // An unknown varint field of 9 bytes (valid protobuf, up to 10) before the records.
    const body = Buffer.concat([varintField(15, 1, 9), aggregateBody({ keys: ['p'], records: ones(1500) })]);
    const rec = rawRecord(frame(body));
    const { report, rows } = await run([rec]);
    completed(report);
    expect(rows.map((r) => [r.reason, r.sequence_number])).toEqual([
      ['decode.aggregate-too-large', rec.sequenceNumber],
    ]);
  });

  it('a varint longer than protobuf allows makes the count unreadable: one decode.bad-aggregate row', async () => {
    const body = Buffer.concat([
      aggregateBody({ keys: ['p'], records: ones(1500) }),
      Buffer.from([0x78, ...new Array(10).fill(0xff), 0x01]), // field 15, an 11-byte varint
    ]);
    const rec = rawRecord(frame(body));
    const { report, rows } = await run([rec]);
    completed(report);
    expect(rows.map((r) => [r.reason, r.sequence_number])).toEqual([
      ['decode.bad-aggregate', rec.sequenceNumber],
    ]);
    expect(rows[0]!.detail).toContain('malformed protobuf');
  });

  it('bounds the rejected rows per Kinesis record and per batch: 100 aggregates of 1,000 one-byte records', async () => {
    const records = Array.from({ length: 100 }, () =>
      rawRecord(craftAggregate({ keys: ['p'], records: ones(1000) })),
    );
    const { report, rows } = await run(records);
    completed(report);
    const perRecord = new Map<string, number>();
    for (const r of rows) {
      const seq = r.sequence_number.split(':')[0]!;
      perRecord.set(seq, (perRecord.get(seq) ?? 0) + 1);
    }
    expect(perRecord.size).toBe(100);
    expect(Math.max(...perRecord.values())).toBeLessThanOrEqual(REJECTED_ROW_LIMITS.perRecord + 1);
    expect(rows.length).toBeLessThanOrEqual(
      REJECTED_ROW_LIMITS.perBatch + REJECTED_ROW_LIMITS.perRecord + 1 + 100,
    );
    // Every row beyond a record's own names how many user records it stands for: together, all 100,000.
    const summarised = rows.reduce((n, r) => {
      const m = /^(\d+) rejected user records/.exec(r.detail ?? '');
      return n + (m ? Number(m[1]) : 1);
    }, 0);
    expect(summarised).toBe(100_000);
  });
});

describe('the rejected row is bounded: raw at most 16 KiB, never over 1 MiB once JSON-encoded', () => {
  it('a 1 MiB record of control characters (6 bytes each once escaped) is one row the stream takes', async () => {
    const rec = rawRecord(Buffer.alloc(KINESIS_LIMITS.maxRecordBytes - 64, 0x01));
    const { report, rejected } = await run([rec, rawRecord(impression())]);
    completed(report);
    expect(rejected).toHaveLength(1);
    const [{ row, bytes }] = rejected as [(typeof rejected)[number]];
    expect(row.reason).toBe('decode.too-large');
    expect(Buffer.byteLength(row.raw)).toBe(16 * 1024);
    expect(row.detail).toContain(`of ${KINESIS_LIMITS.maxRecordBytes - 64} bytes`);
    expect(bytes).toBeLessThanOrEqual(KINESIS_LIMITS.maxRecordBytes);
  });

  it('a payload cut inside a character stays UTF-8 text and keeps its profile in profile_id', async () => {
    // 33 bytes before the first é: every cut at an even offset (16 KiB, 256 KiB) falls inside one.
    const head = '{"profileId":"profile-7","pad":"x';
    expect(Buffer.byteLength(head)).toBe(33);
    const text = `${head}${'é'.repeat(150_000)}"}`;
    const rec = rawRecord(Buffer.from(text));
    const { report, rows } = await run([rec]);
    completed(report);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.reason).toBe('decode.too-large');
    expect(row.raw.startsWith(head)).toBe(true);
    expect(Buffer.byteLength(row.raw)).toBe(16 * 1024 - 1);
    expect(row.detail).toContain(`of ${Buffer.byteLength(text)} bytes`);
    expect(row.profile_id).toBe('profile-7');
  });

  it('binary payloads keep base64 of their first 12 KiB', async () => {
    const rec = rawRecord(Buffer.alloc(20 * 1024, 0xff));
    const { rows } = await run([rec]);
    expect(Buffer.from(rows[0]!.raw, 'base64').byteLength).toBe(12 * 1024);
    expect(rows[0]!.detail).toContain('raw is base64');
    expect(rows[0]!.profile_id).toBeNull();
  });

  it('a schema rejection keeps the profile id in its own column; an invalid id is not copied there', async () => {
    const bad = rawRecord({ ...impression({ profileId: 'profile-9' }), position: 'x' });
    const odd = rawRecord({ ...impression(), profileId: "x' OR 1=1 --" });
    const { rows } = await run([bad, odd]);
    expect(rows.map((r) => r.profile_id)).toEqual(['profile-9', null]);
  });
});
