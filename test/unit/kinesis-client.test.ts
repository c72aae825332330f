import { Readable } from 'node:stream';
import {
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  type PutRecordsInput,
} from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withNativeBase64PutRecords } from '../../lambdas/adapters/clients.js';

interface HttpRequest {
  readonly body?: unknown;
  readonly headers: Record<string, string>;
  readonly hostname: string;
  readonly path: string;
}

const text = (body: unknown) =>
  typeof body === 'string' ? body : Buffer.from(body as Uint8Array).toString('utf8');

/** A Kinesis client whose HTTP layer records each request and answers PutRecords with success. */
function capturing(): { client: KinesisClient; requests: HttpRequest[] } {
  const requests: HttpRequest[] = [];
  const client = new KinesisClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    requestHandler: {
      async handle(request: HttpRequest) {
        requests.push(request);
        const n = (JSON.parse(text(request.body)) as PutRecordsInput).Records?.length ?? 0;
        const body = JSON.stringify({
          FailedRecordCount: 0,
          Records: Array.from({ length: n }, (_, i) => ({ SequenceNumber: String(i), ShardId: 's' })),
        });
        return { response: { statusCode: 200, headers: {}, body: Readable.from([body]) } };
      },
    },
  });
  return { client, requests };
}

describe('PutRecords with native base64 (lambdas/adapters/clients.ts)', () => {
  it('sends the same request as the SDK serializer: target, content type and JSON body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record(
            {
              Data: fc.uint8Array({ maxLength: 3000 }),
              PartitionKey: fc.string({ minLength: 1, maxLength: 256 }),
              ExplicitHashKey: fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map(String),
            },
            { requiredKeys: ['Data', 'PartitionKey'] },
          ),
          { minLength: 1, maxLength: 20 },
        ),
        fc.constantFrom({ StreamName: 'enriched' }, { StreamARN: 'arn:aws:kinesis:us-east-1:1:stream/x' }),
        async (records, target) => {
          const sdk = capturing();
          const fast = capturing();
          withNativeBase64PutRecords(fast.client);
          const input = { ...target, Records: records };
          await sdk.client.send(new PutRecordsCommand(input));
          await fast.client.send(new PutRecordsCommand(input));
          const [a, b] = [sdk.requests[0]!, fast.requests[0]!];
          expect(JSON.parse(text(b.body))).toEqual(JSON.parse(text(a.body)));
          expect(b.headers['x-amz-target']).toBe('Kinesis_20131202.PutRecords');
          expect(b.headers['content-type']).toBe(a.headers['content-type']);
          expect(b.headers['content-length']).toBe(String(Buffer.byteLength(text(b.body))));
          expect(`${b.hostname}${b.path}`).toBe(`${a.hostname}${a.path}`);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('leaves other operations to the SDK', async () => {
    const sdk = capturing();
    const fast = capturing();
    withNativeBase64PutRecords(fast.client);
    const input = { StreamName: 'enriched', Limit: 5 };
    await sdk.client.send(new ListShardsCommand(input));
    await fast.client.send(new ListShardsCommand(input));
    expect(text(fast.requests[0]!.body)).toBe(text(sdk.requests[0]!.body));
    expect(fast.requests[0]!.headers['x-amz-target']).toBe('Kinesis_20131202.ListShards');
  });
});
