import agg from 'aws-kinesis-agg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AGGREGATE_MAX_BYTES,
  aggregateByKey,
  encodeAggregate,
  isAggregatable,
} from '../../lambdas/adapters/kpl-aggregate.js';

const deaggregate = (data: Uint8Array) =>
  new Promise<{ partitionKey: string; data: string }[]>((resolve, reject) =>
    agg.deaggregateSync(
      {
        data: Buffer.from(data).toString('base64'),
        partitionKey: 'parent',
        sequenceNumber: '1',
        approximateArrivalTimestamp: 0,
        kinesisSchemaVersion: '1.0',
      },
      true,
      (err, users) =>
        err
          ? reject(err)
          : resolve((users ?? []).map((u) => ({ partitionKey: u.partitionKey, data: u.data }))),
    ),
  );

// The format: https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md
describe('encodeAggregate writes the KPL aggregation format (aws-kinesis-agg)', () => {
  it('is de-aggregated by aws-kinesis-agg with its checksum verified, for any records under one key', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 256 }).filter(isAggregatable),
        fc.array(fc.uint8Array({ maxLength: 20_000 }), { minLength: 1, maxLength: 8 }),
        async (key, records) => {
          const users = await deaggregate(encodeAggregate(key, records));
          expect(users.map((u) => u.partitionKey)).toEqual(records.map(() => key));
          expect(users.map((u) => Buffer.from(u.data, 'base64'))).toEqual(records.map((r) => Buffer.from(r)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses the keys the library mis-encodes (property names of Object.prototype)', () => {
    for (const key of ['__proto__', 'hasOwnProperty', 'constructor'])
      expect(() => encodeAggregate(key, [Buffer.from('{}')])).toThrow(/cannot aggregate/);
    expect(isAggregatable('profile-é')).toBe(true);
  });
});

describe('aggregateByKey', () => {
  it('packs per partition key, in order, within the KPL default size, and hands back every source', async () => {
    const records = Array.from({ length: 300 }, (_, i) => ({
      partitionKey: `p${i % 3}`,
      data: Buffer.alloc(900 + (i % 7) * 100, i % 256),
      source: i,
    }));
    const packed = await aggregateByKey(records);
    expect(packed.flatMap((p) => p.source).sort((a, b) => a - b)).toEqual(records.map((r) => r.source));
    for (const p of packed) {
      const users = await deaggregate(p.data);
      expect(users.map((u) => Buffer.from(u.data, 'base64'))).toEqual(p.source.map((s) => records[s]!.data));
      expect(users.every((u) => u.partitionKey === p.partitionKey)).toBe(true);
      expect(p.source.reduce((n, s) => n + records[s]!.data.byteLength, 0)).toBeLessThanOrEqual(
        AGGREGATE_MAX_BYTES,
      );
      expect(p.source).toEqual([...p.source].sort((a, b) => a - b));
    }
  });
});

describe('aggregateByKey under keys the library cannot aggregate', () => {
  it('writes those records plain, each with its source, and aggregates the others', async () => {
    const records = ['__proto__', 'hasOwnProperty', 'p1', '__proto__', 'p1'].map((partitionKey, i) => ({
      partitionKey,
      data: Buffer.from(`{"i":${i}}`),
      source: i,
    }));
    const packed = await aggregateByKey(records);
    expect(packed.map((p) => [p.partitionKey, p.source])).toEqual([
      ['__proto__', [0]],
      ['__proto__', [3]],
      ['hasOwnProperty', [1]],
      ['p1', [2, 4]],
    ]);
    expect(packed.slice(0, 3).map((p) => Buffer.from(p.data).toString())).toEqual([
      '{"i":0}',
      '{"i":3}',
      '{"i":1}',
    ]);
    const users = await deaggregate(packed[3]!.data);
    expect(users.map((u) => Buffer.from(u.data, 'base64').toString())).toEqual(['{"i":2}', '{"i":4}']);
  });
});
