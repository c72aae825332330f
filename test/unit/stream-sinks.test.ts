/** The Kinesis adapters of filter-enrich's output ports: wire bytes, keys, partial-failure retries. */
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { enrichedStreamSink, kinesisSink } from '../../lambdas/adapters/stream-sinks.js';
import { type EnrichedOut, planBatch } from '../../lambdas/domain/filter-enrich.js';
import { impression, rawRecord } from '../support/factories.js';
import { DEFAULT_CLASSIFIER_CONFIG } from '../support/oracles.js';

const kinesisMock = mockClient(KinesisClient);
// The unit project shares modules between files (isolate: false): put the real client back.
afterAll(() => kinesisMock.restore());
const client = new KinesisClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
const FAST = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };
const calls = () => kinesisMock.commandCalls(PutRecordsCommand).map((c) => c.args[0].input);

async function enrichedOf(n: number): Promise<EnrichedOut[]> {
  const records = Array.from({ length: n }, () => rawRecord(impression()));
  const plan = await planBatch(records, DEFAULT_CLASSIFIER_CONFIG, { titles: async () => new Map() });
  return [...plan.enriched];
}

beforeEach(() => kinesisMock.reset());

describe('Kinesis sinks', () => {
  it('writes each enriched record as JSON of its wire form, under the profile key', async () => {
    kinesisMock.on(PutRecordsCommand).callsFake((input) => ({
      FailedRecordCount: 0,
      Records: input.Records.map((_: unknown, i: number) => ({ SequenceNumber: String(i), ShardId: 's' })),
    }));
    const [e] = await enrichedOf(1);
    const r = await enrichedStreamSink(client, 'enriched').put([e!]);
    expect(r.failed).toEqual([]);
    const [put] = calls();
    expect(put!.StreamName).toBe('enriched');
    expect(put!.Records![0]!.PartitionKey).toBe(e!.partitionKey);
    expect(JSON.parse(Buffer.from(put!.Records![0]!.Data!).toString()).event_id).toBe(e!.record.event_id);
  });

  it('retries only the failed entries of a partial PutRecords failure', async () => {
    let call = 0;
    kinesisMock.on(PutRecordsCommand).callsFake((input) => {
      call++;
      return {
        FailedRecordCount: call === 1 ? 1 : 0,
        Records: input.Records.map((_: unknown, i: number) =>
          call === 1 && i === 1
            ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' }
            : { SequenceNumber: `${call}-${i}`, ShardId: 's' },
        ),
      };
    });
    const items = await enrichedOf(3);
    const r = await enrichedStreamSink(client, 'enriched', { retry: FAST }).put(items);
    expect(r.failed).toEqual([]);
    expect(calls()).toHaveLength(2);
    expect(calls()[1]!.Records).toHaveLength(1);
    const retried = JSON.parse(Buffer.from(calls()[1]!.Records![0]!.Data!).toString());
    expect(retried.event_id).toBe(items[1]!.record.event_id);
  });

  it('answers every item of an aggregate whose write never succeeded as failed, and puts nothing for none', async () => {
    kinesisMock.on(PutRecordsCommand).callsFake((input) => ({
      FailedRecordCount: input.Records.length,
      Records: input.Records.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'x' })),
    }));
    const sink = kinesisSink(client, 's', {
      toRecord: (n: number) => ({ partitionKey: 'same', data: new Uint8Array([n]) }),
      aggregate: true,
      retry: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
    });
    expect((await sink.put([1, 2, 3])).failed).toEqual([1, 2, 3]);
    kinesisMock.reset();
    expect((await sink.put([])).failed).toEqual([]);
    expect(calls()).toHaveLength(0);
  });
});
