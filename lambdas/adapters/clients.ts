/**
 * AWS SDK clients, created once per execution environment. HTTP/1.1 keep-alive everywhere: Kinesis's
 * default HTTP/2 handler is not needed for PutRecords and is not spoken by local emulators. The endpoint
 * comes from the SDK's standard configuration (`AWS_ENDPOINT_URL`, set only when running on an emulator).
 */

import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * One retry layer: the adapters retry throttling and transient faults themselves (lambdas/adapters/retry.ts,
 * with partial-batch awareness the SDK lacks), so the data-path clients try each request once. With the SDK's
 * default of 3 attempts under the adapters' 6, one call could be tried up to 18 times inside
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
  kinesis ??= new KinesisClient({ requestHandler: requestHandler(), maxAttempts: SINGLE_ATTEMPT });
  return kinesis;
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
