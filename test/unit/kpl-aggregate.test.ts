import agg from 'aws-kinesis-agg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AGGREGATE_MAX_BYTES,
  aggregate,
  aggregateByKey,
  encodeAggregate,
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
describe('encodeAggregate writes the KPL aggregation format', () => {
  it('byte for byte as awslabs aws-kinesis-agg does, for any records under one key', async () => {
    await fc.assert(
      fc.asyncProperty(
        // aws-kinesis-agg keeps its partition-key table in a plain object, so it mis-encodes keys such as
        // "__proto__" (ours is right for them: see the next test); compare on every other key.
        fc.string({ minLength: 1, maxLength: 256 }).filter((k) => !(k in Object.prototype)),
        fc.array(fc.uint8Array({ maxLength: 20_000 }), { minLength: 1, maxLength: 8 }),
        async (key, records) => {
          const lib = await aggregate(records.map((data) => ({ partitionKey: key, data })));
          expect(lib).toHaveLength(1);
          expect(encodeAggregate(key, records).equals(lib[0]!.data)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is de-aggregated by aws-kinesis-agg with its checksum verified', async () => {
    const records = [Buffer.from('{"a":1}'), Buffer.from('é✓ unicode'), Buffer.alloc(0)];
    for (const key of ['profile-é', '__proto__', 'constructor']) {
      const users = await deaggregate(encodeAggregate(key, records));
      expect(users.map((u) => u.partitionKey)).toEqual([key, key, key]);
      expect(users.map((u) => Buffer.from(u.data, 'base64'))).toEqual(records);
    }
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
