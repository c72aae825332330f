import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../lambdas/filter-enrich/handler.js';
import { impression, kinesisEvent, rawRecord } from '../support/factories.js';
import { filterEnrichDeps } from '../support/handlers.js';

const kinesisMock = mockClient(KinesisClient);

const putsTo = (stream: string) =>
  kinesisMock.commandCalls(PutRecordsCommand).filter((c) => c.args[0].input.StreamName === stream);

beforeEach(() => kinesisMock.reset());

describe('filter-enrich handler', () => {
  it('writes enriched and rejected records and reports no failures for data errors', async () => {
    kinesisMock.on(PutRecordsCommand).callsFake((input) => ({
      FailedRecordCount: 0,
      Records: input.Records.map((_: unknown, i: number) => ({ SequenceNumber: String(i), ShardId: 's' })),
    }));
    const { d, remembered } = filterEnrichDeps();
    const good = rawRecord(impression());
    const bad = rawRecord('garbage');
    const res = await makeHandler(d)(kinesisEvent([good, bad]));
    expect(res.batchItemFailures).toEqual([]);
    const enriched = putsTo('enriched');
    expect(enriched).toHaveLength(1);
    expect(enriched[0]!.args[0].input.Records![0]!.PartitionKey).toBe('profile-1');
    const rejectedRow = JSON.parse(
      Buffer.from(putsTo('rejected')[0]!.args[0].input.Records![0]!.Data!).toString(),
    );
    expect(rejectedRow).toMatchObject({
      reason: 'decode.not-json',
      raw: 'garbage',
      sequence_number: bad.sequenceNumber,
    });
    expect(remembered.map((r) => r.sequenceNumber)).toEqual([good.sequenceNumber]);
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
    const { d } = filterEnrichDeps();
    const records = [rawRecord(impression()), rawRecord(impression()), rawRecord(impression())];
    const res = await makeHandler(d)(kinesisEvent(records));
    expect(res.batchItemFailures).toEqual([]);
    const calls = putsTo('enriched');
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.Records).toHaveLength(1);
    const retried = JSON.parse(Buffer.from(calls[1]!.args[0].input.Records![0]!.Data!).toString());
    const second = JSON.parse(Buffer.from(records[1]!.data).toString());
    expect(retried.event_id).toBe(second.eventId);
  });

  it('reports exactly the records whose writes never succeeded, and does not remember them', async () => {
    kinesisMock.on(PutRecordsCommand).callsFake((input) => ({
      FailedRecordCount: 1,
      Records: input.Records.map((r: { Data: Uint8Array }, i: number) =>
        JSON.parse(Buffer.from(r.Data).toString()).position === 7
          ? { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }
          : { SequenceNumber: String(i), ShardId: 's' },
      ),
    }));
    const { d, remembered } = filterEnrichDeps();
    const ok = rawRecord(impression());
    const failing = rawRecord(impression({ position: 7 }));
    const res = await makeHandler(d)(kinesisEvent([ok, failing]));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: failing.sequenceNumber }]);
    expect(remembered.map((r) => r.sequenceNumber)).toEqual([ok.sequenceNumber]);
  }, 30_000);

  it('reports the whole batch when a store is down, never dropping it', async () => {
    const { d } = filterEnrichDeps({
      ports: {
        acceptedEventIds: async () => {
          throw new Error('dynamodb unavailable');
        },
        titles: async () => new Map(),
      },
    });
    const records = [rawRecord(impression()), rawRecord('x')];
    const res = await makeHandler(d)(kinesisEvent(records));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.sequenceNumber));
  });

  it('reports records whose eventId could not be remembered', async () => {
    kinesisMock.on(PutRecordsCommand).callsFake((input) => ({
      FailedRecordCount: 0,
      Records: input.Records.map((_: unknown, i: number) => ({ SequenceNumber: String(i), ShardId: 's' })),
    }));
    const { d } = filterEnrichDeps({
      remember: async (entries) => entries.map((_, i) => i).filter((i) => i === 1),
    });
    const records = [rawRecord(impression()), rawRecord(impression())];
    const res = await makeHandler(d)(kinesisEvent(records));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.sequenceNumber }]);
  });
});
