import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { historyStore } from '../../lambdas/adapters/history-store.js';
import { enrich } from '../../lambdas/domain/enrich.js';
import { toEnrichedWire } from '../../lambdas/domain/stream-encoding.js';
import { makeHandler } from '../../lambdas/history-writer/handler.js';
import { impression, kinesisEvent, NOW_MS, rawRecord } from '../support/factories.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
);
const fastRetry = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

const enrichedRecord = (overrides: Parameters<typeof impression>[0] = {}) => {
  const e = impression(overrides);
  return rawRecord(toEnrichedWire(enrich(e, Date.parse(e.eventTime), NOW_MS, undefined)));
};
const handler = () => makeHandler({ store: historyStore(doc, 'history', fastRetry), retentionDays: 30 });

beforeEach(() => ddbMock.reset());

describe('history-writer handler', () => {
  it('sets a bucket’s impressions in one update per profile and bucket', async () => {
    ddbMock.on(UpdateCommand).resolves({});
    const res = await handler()(
      kinesisEvent([
        enrichedRecord(),
        enrichedRecord({ titleId: 't2', entityId: 't2' }),
        enrichedRecord({ profileId: 'p2' }),
      ]),
    );
    expect(res.batchItemFailures).toEqual([]);
    const updates = ddbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates).toHaveLength(2);
    const p1 = updates.find((u) => u.Key?.pk === 'P#profile-1')!;
    expect(p1.Key?.sk).toMatch(/^B#2026-06-15T11:59:50\.000Z$/);
    expect(p1.UpdateExpression).toBe('SET x = :x, #a0 = :v0, #a1 = :v1');
    expect(
      Object.values(p1.ExpressionAttributeNames ?? {}).every((n) => /^i[A-Za-z0-9_-]{22}$/.test(n)),
    ).toBe(true);
  });

  it('retries throttled updates until they succeed', async () => {
    let calls = 0;
    ddbMock.on(UpdateCommand).callsFake(() => {
      calls++;
      if (calls <= 2)
        throw Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
      return {};
    });
    const res = await handler()(kinesisEvent([enrichedRecord()]));
    expect(res.batchItemFailures).toEqual([]);
    expect(calls).toBe(3);
  });

  it('spills a full bucket into an overflow part instead of failing', async () => {
    ddbMock.on(UpdateCommand).callsFake((input) => {
      if (!String(input.Key.sk).endsWith('#1')) {
        throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
          name: 'ValidationException',
        });
      }
      return {};
    });
    const res = await handler()(kinesisEvent([enrichedRecord()]));
    expect(res.batchItemFailures).toEqual([]);
    expect(ddbMock.commandCalls(UpdateCommand).map((c) => String(c.args[0].input.Key?.sk).slice(-2))).toEqual(
      ['0Z', '#1'],
    );
  });

  it('reports exactly the records whose bucket stays throttled', async () => {
    const stuck = enrichedRecord({ profileId: 'stuck' });
    const fine = enrichedRecord();
    ddbMock.on(UpdateCommand).callsFake((input) => {
      if (input.Key.pk === 'P#stuck')
        throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      return {};
    });
    const res = await handler()(kinesisEvent([fine, stuck]));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: stuck.sequenceNumber }]);
  });

  it('reports a malformed record instead of skipping it, and still writes the rest', async () => {
    ddbMock.on(UpdateCommand).resolves({});
    const bad = rawRecord('{"not":"enriched"}');
    const res = await handler()(kinesisEvent([enrichedRecord(), bad]));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: bad.sequenceNumber }]);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it('reports the whole batch on a non-retryable error', async () => {
    ddbMock.on(UpdateCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const records = [enrichedRecord(), enrichedRecord()];
    const res = await handler()(kinesisEvent(records));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      records.map((r) => r.sequenceNumber).sort(),
    );
  });
});
