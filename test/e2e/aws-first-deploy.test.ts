/**
 * What a first real deployment must prove on its own (`npm run test:e2e:aws`, E2E_TARGET=aws; skipped on
 * every other target, whose emulators cannot show it): rows queryable in Athena within the Firehose buffer
 * time plus a margin, nothing under the delivery error prefixes, an alarm's state change delivered through
 * the alarm topic, the Glue table optimizers enabled, and the lake erasure tool removing a profile's rows
 * from both tables. It needs an account and cannot run here; docs/deploy-aws.md says how to run it.
 */

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { GetTableOptimizerCommand, GlueClient } from '@aws-sdk/client-glue';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { LAKE_TABLES } from '../../lambdas/domain/lake-schema.js';
import { sampleCatalog, seedCatalog } from '../../ops/seed.js';
import { ROOT, stackResource } from '../../scripts/emulator.js';
import { impression } from '../support/factories.js';
import { ctx, eventually, harness } from './harness.js';

const c = ctx();
const skip =
  c.skipReason ??
  (c.target === 'aws' ? undefined : 'first-deploy checks need real AWS: run npm run test:e2e:aws');

/** Firehose's buffer for the stage (the AWS target deploys the defaults) plus commit and query margin. */
const LAKE_DEADLINE_MS = (DEFAULT_STAGE.lakeBufferSeconds + 240) * 1000;

describe.skipIf(Boolean(skip))(`first deploy on ${c.target}${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const h = harness(c);
  const out = c.outputs;
  const config = { region: c.region };
  const athena = new AthenaClient(config);
  const profileId = `e2e-first-deploy-${randomUUID().slice(0, 8)}`;
  const sent: string[] = [];

  /** Runs one statement in the deployment's workgroup and database; returns the rows (header dropped). */
  async function query(sql: string, params: string[] = []): Promise<string[][]> {
    const { QueryExecutionId } = await athena.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: out.AthenaWorkGroupName,
        QueryExecutionContext: { Database: out.GlueDatabaseName },
        ...(params.length ? { ExecutionParameters: params.map((p) => `'${p.replace(/'/g, "''")}'`) } : {}),
      }),
    );
    const state = await eventually(
      async () =>
        (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }))).QueryExecution?.Status ?? {},
      (s) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(String(s.State)),
      { timeoutMs: 120_000, intervalMs: 1_000, what: `Athena query ${QueryExecutionId}` },
    );
    if (state.State !== 'SUCCEEDED')
      throw new Error(`${sql}: ${state.State} ${state.StateChangeReason ?? ''}`);
    const res = await athena.send(new GetQueryResultsCommand({ QueryExecutionId }));
    return (res.ResultSet?.Rows ?? []).slice(1).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? ''));
  }
  const count = async (sql: string, params: string[]) => Number((await query(sql, params))[0]?.[0] ?? 'NaN');
  const lakeRows = () => count('SELECT count(*) FROM impressions WHERE profile_id = ?', [profileId]);
  const rejectedRows = () =>
    count('SELECT count(*) FROM impressions_rejected WHERE strpos(raw, ?) > 0', [profileId]);

  beforeAll(async () => {
    await seedCatalog(h.documents, out.TitleCatalogTableName!, sampleCatalog(50));
    const now = Date.now();
    // A catalog title (seeded above), event times a few seconds old: all enriched.
    const events = Array.from({ length: 20 }, (_, i) =>
      impression({
        profileId,
        eventTime: new Date(now - 5_000 - i).toISOString(),
        position: i,
        titleId: 'title-0001',
        entityId: 'title-0001',
      }),
    );
    sent.push(...events.map((e) => e.eventId));
    // One record the pipeline rejects (wrong type), so impressions_rejected holds a row naming the profile.
    const bad = { ...events[0]!, eventId: randomUUID(), position: 'first' };
    await h.put(out.RawStreamName, [
      ...events.map((e) => ({ partitionKey: profileId, data: JSON.stringify(e) })),
      { partitionKey: profileId, data: JSON.stringify(bad) },
    ]);
  });

  it(
    `rows are queryable in Athena within the buffer time plus a margin (${LAKE_DEADLINE_MS / 1000} s), in both tables`,
    async () => {
      const started = Date.now();
      await eventually(lakeRows, (n) => n === sent.length, {
        timeoutMs: LAKE_DEADLINE_MS,
        intervalMs: 15_000,
        what: `the ${sent.length} impressions of ${profileId} in Athena`,
      });
      await eventually(rejectedRows, (n) => n >= 1, {
        timeoutMs: Math.max(60_000, LAKE_DEADLINE_MS - (Date.now() - started)),
        intervalMs: 15_000,
        what: 'the rejected record in impressions_rejected',
      });
      const ids = (await query('SELECT event_id FROM impressions WHERE profile_id = ?', [profileId])).map(
        (r) => r[0],
      );
      expect(ids.sort()).toEqual([...sent].sort());
    },
    LAKE_DEADLINE_MS * 2 + 120_000,
  );

  it('nothing went to the delivery error prefixes (records Firehose could not write)', async () => {
    const s3 = new S3Client(config);
    for (const def of LAKE_TABLES) {
      const listed = await s3.send(
        new ListObjectsV2Command({
          Bucket: out.LakeBucketName,
          Prefix: `delivery-errors/${def.name}/`,
          MaxKeys: 5,
        }),
      );
      expect({ table: def.name, errors: (listed.Contents ?? []).map((o) => o.Key) }).toEqual({
        table: def.name,
        errors: [],
      });
    }
  });

  describe('alarm notifications', () => {
    const sqs = new SQSClient(config);
    const sns = new SNSClient(config);
    let queueUrl: string | undefined;
    let subscriptionArn: string | undefined;
    let alarmName: string | undefined;
    afterAll(async () => {
      if (alarmName) {
        await new CloudWatchClient(config).send(
          new SetAlarmStateCommand({
            AlarmName: alarmName,
            StateValue: 'OK',
            StateReason: 'first-deploy test done',
          }),
        );
      }
      if (subscriptionArn) await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn }));
      if (queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    });

    it('an alarm state change reaches the alarm topic and its subscribers (CloudWatch may publish to it)', async () => {
      const topicArn = await alarmTopicArn();
      alarmName = await stackResource(h.cfn, c.stacks.pipeline, 'OperationsRawWriteThrottledAlarm');
      queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${c.stacks.pipeline}-alarm-probe` })))
        .QueueUrl!;
      const queueArn = (
        await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
      ).Attributes!.QueueArn!;
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queueUrl,
          Attributes: {
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: { Service: 'sns.amazonaws.com' },
                  Action: 'sqs:SendMessage',
                  Resource: queueArn,
                  Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
                },
              ],
            }),
          },
        }),
      );
      subscriptionArn = (
        await sns.send(
          new SubscribeCommand({
            TopicArn: topicArn,
            Protocol: 'sqs',
            Endpoint: queueArn,
            ReturnSubscriptionArn: true,
          }),
        )
      ).SubscriptionArn;
      await new CloudWatchClient(config).send(
        new SetAlarmStateCommand({
          AlarmName: alarmName,
          StateValue: 'ALARM',
          StateReason: 'first-deploy test',
        }),
      );
      const received = await eventually(
        async () =>
          (
            await sqs.send(
              new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10, MaxNumberOfMessages: 10 }),
            )
          ).Messages ?? [],
        (messages) => messages.some((m) => (m.Body ?? '').includes(alarmName!)),
        { timeoutMs: 180_000, intervalMs: 1_000, what: `a notification of ${alarmName}` },
      );
      expect(received.some((m) => (m.Body ?? '').includes('ALARM'))).toBe(true);
    }, 240_000);
  });

  it('the Glue table optimizers (compaction, snapshot retention, orphan file deletion) are enabled on both tables', async () => {
    const glue = new GlueClient(config);
    // The catalog id is the account id, read from an ARN of the deployment (the alarm topic's).
    const account = (await alarmTopicArn()).split(':')[4];
    for (const def of LAKE_TABLES) {
      for (const type of ['compaction', 'retention', 'orphan_file_deletion'] as const) {
        const res = await glue.send(
          new GetTableOptimizerCommand({
            CatalogId: account,
            DatabaseName: out.GlueDatabaseName,
            TableName: def.name,
            Type: type,
          }),
        );
        expect({ table: def.name, type, enabled: res.TableOptimizer?.configuration?.enabled }).toEqual({
          table: def.name,
          type,
          enabled: true,
        });
      }
    }
  });

  it("the erasure tool removes the profile's rows from impressions and impressions_rejected", async () => {
    expect(await lakeRows()).toBe(sent.length);
    const { code, output } = await npm([
      'run',
      'erase',
      '--',
      '--profile',
      profileId,
      '--stack',
      c.stacks.pipeline,
    ]);
    expect({ code, output: output.slice(-2000) }).toMatchObject({ code: 0 });
    expect(await lakeRows()).toBe(0);
    expect(await rejectedRows()).toBe(0);
  }, 600_000);
});

/** The alarm topic's ARN (looked up by type: the topic policy's logical id shares the topic's prefix). */
async function alarmTopicArn(): Promise<string> {
  const { StackResources } = await harness(c).cfn.send(
    new DescribeStackResourcesCommand({ StackName: c.stacks.pipeline }),
  );
  const topic = StackResources?.find(
    (r) => r.ResourceType === 'AWS::SNS::Topic' && r.LogicalResourceId?.startsWith('OperationsAlarmTopic'),
  );
  if (!topic?.PhysicalResourceId) throw new Error(`no alarm topic in ${c.stacks.pipeline}`);
  return topic.PhysicalResourceId;
}

/** Runs npm in the repository with the ambient AWS credentials and region; resolves with its exit code and output. */
function npm(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd: ROOT, env: { ...process.env, AWS_REGION: c.region } });
    let output = '';
    child.stdout.on('data', (d) => {
      output += String(d);
    });
    child.stderr.on('data', (d) => {
      output += String(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
