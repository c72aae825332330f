import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { putRecordsReliably } from '../../lambdas/adapters/kinesis-writer.js';
import { KINESIS_LIMITS } from '../support/kinesis-limits.js';
import { memoryKinesis } from '../support/memory-aws.js';
import { memoryStreams } from '../support/ops-aws.js';

const MiB = 1024 * 1024;
const entry = (bytes: number, key = 'k') => ({ PartitionKey: key, Data: new Uint8Array(bytes) });

describe('the Kinesis stand-ins refuse what PutRecords refuses', () => {
  const fakes = {
    memoryKinesis: () => memoryKinesis({ throttle: 0, partial: 0, seed: 1 }).client,
    memoryStreams: () => memoryStreams().client,
  };

  for (const [name, make] of Object.entries(fakes)) {
    describe(name, () => {
      const put = async (Records: { PartitionKey: string; Data: Uint8Array }[]) =>
        make().send(new PutRecordsCommand({ StreamName: 's', Records }));

      it('takes requests at the limits', async () => {
        await expect(put([entry(MiB - 256, 'k'.repeat(256))])).resolves.toMatchObject({
          FailedRecordCount: 0,
        });
        await expect(put(Array.from({ length: 500 }, () => entry(10)))).resolves.toBeDefined();
        await expect(put(Array.from({ length: 5 }, () => entry(MiB - 1)))).resolves.toBeDefined();
      });

      it.each(
        (
          [
            ['no records', [], 'ValidationException'],
            ['501 records', Array.from({ length: 501 }, () => entry(1)), 'ValidationException'],
            ['a data blob over 1 MiB', [entry(MiB + 1)], 'ValidationException'],
            [
              'a record over 1 MiB with its partition key',
              [entry(MiB - 2, 'abc')],
              'InvalidArgumentException',
            ],
            ['an empty partition key', [entry(1, '')], 'ValidationException'],
            ['a partition key of 257 characters', [entry(1, 'k'.repeat(257))], 'ValidationException'],
            [
              '128 astral characters (256 UTF-16 units) pass, 129 do not',
              [entry(1, '😀'.repeat(129))],
              'ValidationException',
            ],
            [
              'a request over 5 MiB',
              Array.from({ length: 6 }, () => entry(MiB - 100)),
              'InvalidArgumentException',
            ],
          ] as const
        ).map(([what, records, error]) => ({ what, records, error })),
      )('refuses $what with $error', async ({ records, error: errorName }) => {
        const err = await put(records as { PartitionKey: string; Data: Uint8Array }[]).catch(
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).name).toBe(errorName);
        expect((err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
      });
    });
  }

  it('the writer splits what it puts within those limits', async () => {
    const k = memoryKinesis({ throttle: 0, partial: 0, seed: 1 });
    const records = Array.from({ length: 1200 }, (_, i) => ({
      partitionKey: `k${i}`,
      data: new Uint8Array(i % 100 === 0 ? KINESIS_LIMITS.maxRecordBytes - 16 : 100),
      source: i,
    }));
    await expect(putRecordsReliably(k.client, 's', records)).resolves.toEqual({ failed: [] });
    expect(k.streams.get('s')).toHaveLength(1200);
  });
});
