/**
 * Every end-to-end target's modules load on the running Node (the README supports Node >= 20). A target
 * whose dependency needs a newer Node would otherwise fail only for the user who has Docker and a
 * LocalStack token or an AWS account: @testcontainers/localstack 12 pulls undici 8 (Node >= 22.19), which
 * crashes on import under Node 20 ("Cannot read properties of undefined (reading 'bind')").
 */
import { describe, expect, it } from 'vitest';

describe(`end-to-end targets load on Node ${process.versions.node}`, () => {
  it('LocalStack: @testcontainers/localstack and its container class', async () => {
    const m = await import('@testcontainers/localstack');
    expect(typeof m.LocalstackContainer).toBe('function');
  });

  it('ministack and the shared suite: the global setup, the harness and the emulator scripts', async () => {
    const setup = await import('../e2e/global-setup.js');
    expect(typeof setup.default).toBe('function');
    const emulator = await import('../../scripts/emulator.js');
    expect(typeof emulator.startEmulator).toBe('function');
    expect(Object.keys(await import('../e2e/harness.js')).length).toBeGreaterThan(0);
  });

  it('AWS: the SDK clients the AWS target drives (Athena, Glue, S3, SNS, SQS, CloudWatch, CloudFormation)', async () => {
    const clients = await Promise.all([
      import('@aws-sdk/client-athena').then((m) => m.AthenaClient),
      import('@aws-sdk/client-glue').then((m) => m.GlueClient),
      import('@aws-sdk/client-s3').then((m) => m.S3Client),
      import('@aws-sdk/client-sns').then((m) => m.SNSClient),
      import('@aws-sdk/client-sqs').then((m) => m.SQSClient),
      import('@aws-sdk/client-cloudwatch').then((m) => m.CloudWatchClient),
      import('@aws-sdk/client-cloudformation').then((m) => m.CloudFormationClient),
    ]);
    for (const c of clients) expect(typeof c).toBe('function');
  });
});
