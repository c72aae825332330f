import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { historyStore } from '../../lambdas/adapters/history-store.js';
import { enrich } from '../../lambdas/domain/enrich.js';
import { makeHandler } from '../../lambdas/history-writer/handler.js';
import { impression, kinesisEvent, NOW_MS, rawRecord } from '../support/factories.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
);
const fastRetry = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

const enrichedRecord = (overrides: Parameters<typeof impression>[0] = {}) => {
  const e = impression(overrides);
  return rawRecord(enrich(e, Date.parse(e.eventTime), NOW_MS, undefined));
};

beforeEach(() => ddbMock.reset());

describe('history-writer handler', () => {
  it('puts history items and adds frequency members', async () => {
    ddbMock.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
    ddbMock.on(UpdateCommand).resolves({});
    const handler = makeHandler({ store: historyStore(doc, 'history', fastRetry), retentionDays: 30 });
    const res = await handler(
      kinesisEvent([enrichedRecord(), enrichedRecord({ titleId: 't2', entityId: 't2' })]),
    );
    expect(res.batchItemFailures).toEqual([]);
    const puts = ddbMock.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems!.history!;
    expect(puts).toHaveLength(2);
    const updates = ddbMock.commandCalls(UpdateCommand);
    expect(updates).toHaveLength(2);
    expect(updates[0]!.args[0].input.UpdateExpression).toContain('ADD ev :m');
  });

  it('retries UnprocessedItems until they are written', async () => {
    let call = 0;
    ddbMock.on(BatchWriteCommand).callsFake((input) => {
      call++;
      const items = input.RequestItems.history;
      return { UnprocessedItems: call === 1 ? { history: items.slice(1) } : {} };
    });
    ddbMock.on(UpdateCommand).resolves({});
    const handler = makeHandler({ store: historyStore(doc, 'history', fastRetry), retentionDays: 30 });
    const res = await handler(kinesisEvent([enrichedRecord(), enrichedRecord(), enrichedRecord()]));
    expect(res.batchItemFailures).toEqual([]);
    const calls = ddbMock.commandCalls(BatchWriteCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.RequestItems!.history).toHaveLength(2);
  });

  it('reports exactly the records whose writes stay unprocessed or throttled', async () => {
    const stuck = enrichedRecord({ titleId: 'stuck', entityId: 'stuck' });
    const fine = enrichedRecord();
    ddbMock.on(BatchWriteCommand).callsFake((input) => ({
      UnprocessedItems: {
        history: input.RequestItems.history.filter(
          (r: { PutRequest: { Item: { ti: string } } }) => r.PutRequest.Item.ti === 'stuck',
        ),
      },
    }));
    const throttled = Object.assign(new Error('throttled'), {
      name: 'ProvisionedThroughputExceededException',
    });
    ddbMock.on(UpdateCommand).callsFake((input) => {
      if (String(input.Key.sk).startsWith('F#stuck#')) throw throttled;
      return {};
    });
    const handler = makeHandler({ store: historyStore(doc, 'history', fastRetry), retentionDays: 30 });
    const res = await handler(kinesisEvent([fine, stuck]));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: stuck.sequenceNumber }]);
  });

  it('reports a malformed record instead of skipping it, and still writes the rest', async () => {
    ddbMock.on(BatchWriteCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});
    const bad = rawRecord('{"not":"enriched"}');
    const handler = makeHandler({ store: historyStore(doc, 'history', fastRetry), retentionDays: 30 });
    const res = await handler(kinesisEvent([enrichedRecord(), bad]));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: bad.sequenceNumber }]);
    expect(ddbMock.commandCalls(BatchWriteCommand)).toHaveLength(1);
  });

  it('reports the whole batch on a non-retryable error', async () => {
    ddbMock
      .on(BatchWriteCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    ddbMock.on(UpdateCommand).resolves({});
    const records = [enrichedRecord(), enrichedRecord()];
    const handler = makeHandler({ store: historyStore(doc, 'history', fastRetry), retentionDays: 30 });
    const res = await handler(kinesisEvent(records));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      records.map((r) => r.sequenceNumber).sort(),
    );
  });
});
