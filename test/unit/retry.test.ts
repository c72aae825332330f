/**
 * One retry layer: lambdas/adapters/retry.ts classifies errors and backs off; the data-path SDK clients try
 * each request once (`maxAttempts: 1`), so a throttled call is tried exactly as often as the policy says.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { documentClient, kinesisClient } from '../../lambdas/adapters/clients.js';
import { isRetryable, type RetryPolicy, retryCall } from '../../lambdas/adapters/retry.js';
import { historyStore } from '../../lambdas/history-store/index.js';

const named = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(Object.assign(new Error(name), { name }), extra);

const FAST: RetryPolicy = { attempts: 6, baseDelayMs: 0, maxDelayMs: 0, sleep: async () => {} };

describe('isRetryable', () => {
  it.each([
    ['ProvisionedThroughputExceededException', named('ProvisionedThroughputExceededException'), true],
    ['ThrottlingException', named('ThrottlingException'), true],
    ['LimitExceededException', named('LimitExceededException'), true],
    ['RequestLimitExceeded', named('RequestLimitExceeded'), true],
    ['InternalFailure', named('InternalFailure'), true],
    ['InternalServerError', named('InternalServerError'), true],
    ['ServiceUnavailable', named('ServiceUnavailable'), true],
    ['an HTTP 503', named('Whatever', { $metadata: { httpStatusCode: 503 } }), true],
    ['SDK TimeoutError', named('TimeoutError'), true],
    ['socket ECONNRESET', named('Error', { code: 'ECONNRESET' }), true],
    ['socket ETIMEDOUT', named('Error', { code: 'ETIMEDOUT' }), true],
    ['marked $retryable by the SDK', named('Whatever', { $retryable: { throttling: true } }), true],
    ['AccessDeniedException', named('AccessDeniedException', { $metadata: { httpStatusCode: 400 } }), false],
    ['ResourceNotFoundException', named('ResourceNotFoundException'), false],
    ['ConditionalCheckFailedException', named('ConditionalCheckFailedException'), false],
    ['ValidationException', named('ValidationException'), false],
    ['a plain TypeError', new TypeError('x is undefined'), false],
    ['a thrown string', 'ProvisionedThroughputExceededException', false],
  ])('%s → %s', (_, err, retryable) => {
    expect(isRetryable(err)).toBe(retryable);
  });
});

describe('retryCall', () => {
  it('raises a non-retryable error at once', async () => {
    let calls = 0;
    const call = async () => {
      calls++;
      throw named('AccessDeniedException');
    };
    await expect(retryCall(call, FAST)).rejects.toThrow('AccessDeniedException');
    expect(calls).toBe(1);
  });

  it('raises the last retryable error once the attempts are used up', async () => {
    let calls = 0;
    const call = async () => {
      calls++;
      throw named('ThrottlingException');
    };
    await expect(retryCall(call, { ...FAST, attempts: 3 })).rejects.toThrow('ThrottlingException');
    expect(calls).toBe(3);
  });
});

describe('exactly one layer retries', () => {
  it('the data-path SDK clients try each request once (the adapters retry)', async () => {
    expect(await documentClient().config.maxAttempts()).toBe(1);
    expect(await kinesisClient().config.maxAttempts()).toBe(1);
  });

  it('a history read throttled twice then answered is sent exactly 3 times', async () => {
    const mock = mockClient(DynamoDBDocumentClient);
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    mock
      .on(QueryCommand)
      .rejectsOnce(named('ProvisionedThroughputExceededException'))
      .rejectsOnce(named('ProvisionedThroughputExceededException'))
      .resolves({ Items: [] });
    // The erasure marker (none).
    mock.on(GetCommand).resolves({});
    const store = historyStore(client, 'history', FAST);
    const page = await store.listHistory({
      profileId: 'p1',
      since: null,
      until: null,
      titleId: null,
      after: null,
      limit: 10,
    });
    expect(page.impressions).toEqual([]);
    expect(mock.commandCalls(QueryCommand)).toHaveLength(3);
    expect(mock.commandCalls(GetCommand)).toHaveLength(1);
    expect(mock.calls()).toHaveLength(4);
    mock.restore();
  });

  it('a history read refused as not retryable is sent once and raised', async () => {
    const mock = mockClient(DynamoDBDocumentClient);
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    mock.on(QueryCommand).rejects(named('AccessDeniedException'));
    // The erasure marker, written before anything is deleted.
    mock.on(PutCommand).resolves({});
    const store = historyStore(client, 'history', FAST);
    await expect(store.erase('p1')).rejects.toThrow('AccessDeniedException');
    expect(mock.commandCalls(QueryCommand)).toHaveLength(1);
    expect(mock.calls()).toHaveLength(2);
    mock.restore();
  });
});
