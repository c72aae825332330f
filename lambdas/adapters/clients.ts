/**
 * AWS SDK clients, created once per execution environment. HTTP/1.1 keep-alive everywhere: Kinesis's
 * default HTTP/2 handler is not needed for PutRecords and is not spoken by local emulators. The endpoint
 * comes from the SDK's standard configuration (`AWS_ENDPOINT_URL`, set only when running on an emulator).
 */

import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, type PutRecordsInput } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * One retry layer: the adapters retry throttling and transient faults themselves (lambdas/adapters/retry.ts,
 * with partial-batch awareness the SDK lacks), so the data-path clients try each request once. With the SDK's
 * default of 3 attempts (or the former 5) under the adapters' 6, one call could be tried up to 30 times inside
 * one function timeout.
 */
const SINGLE_ATTEMPT = 1;

const requestHandler = () =>
  new NodeHttpHandler({
    httpsAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
    connectionTimeout: 2_000,
    requestTimeout: 10_000,
  });

let kinesis: KinesisClient | undefined;
let documents: DynamoDBDocumentClient | undefined;

export function kinesisClient(): KinesisClient {
  kinesis ??= withNativeBase64PutRecords(
    new KinesisClient({ requestHandler: requestHandler(), maxAttempts: SINGLE_ATTEMPT }),
  );
  return kinesis;
}

interface JsonProtocol {
  serializeRequest(
    operation: { name?: string },
    input: unknown,
    context: unknown,
  ): Promise<{ body?: unknown }>;
}

/**
 * PutRecords bodies with Node's native base64. The SDK's JSON serializer encodes each record's `Data` blob
 * with a byte-by-byte JavaScript loop, which on filter-enrich's ≈ 0.5 MB requests cost about half as much as
 * decoding, parsing and serialising the records themselves (see BENCHMARKS.md, whole handler). The SDK still
 * builds the request (endpoint, headers, target) from the input without its blobs; only the body is written
 * here, the same JSON (a test compares both). Any other operation is the SDK's own.
 */
export function withNativeBase64PutRecords(client: KinesisClient): KinesisClient {
  const protocol = client.config.protocol as unknown as JsonProtocol;
  const serialize = protocol.serializeRequest.bind(protocol);
  protocol.serializeRequest = async (operation, input, context) => {
    const { Records, ...rest } = input as PutRecordsInput;
    if (operation.name !== 'PutRecords' || !Records?.every((r) => r.Data instanceof Uint8Array))
      return serialize(operation, input, context);
    const request = await serialize(operation, { ...rest, Records: [] }, context);
    request.body = JSON.stringify({
      ...rest,
      Records: Records.map(({ Data, ...entry }) => {
        const data = Data as Uint8Array;
        return {
          ...entry,
          Data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
        };
      }),
    });
    return request;
  };
  return client;
}

export function documentClient(): DynamoDBDocumentClient {
  documents ??= DynamoDBDocumentClient.from(
    new DynamoDBClient({ requestHandler: requestHandler(), maxAttempts: SINGLE_ATTEMPT }),
    {
      marshallOptions: { removeUndefinedValues: true },
    },
  );
  return documents;
}
