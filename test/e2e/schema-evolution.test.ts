/**
 * Schema evolution end to end on the local stack: with rows already in the lake under the old table
 * definition (`impressions` without `device_locale`), the table gains the column the way a deployment adds it
 * locally (CloudFormation updates the Glue table, the delivery stand-in evolves the Iceberg schema as the
 * custom resource's `ALTER TABLE … ADD COLUMNS` does on AWS), events of `impression/1-0-0` and
 * `impression/1-1-0` are both accepted, no row is lost, duplicated or rewritten, old rows read NULL in the new
 * column and new rows carry it; an event of an unknown version is `schema.unsupported-version`.
 *
 * The lake it evolves is its own: a small CloudFormation stack with a Glue database, the two tables (the
 * shape LakeStorage gives them on an emulator) and two Firehose deliveries reading the deployment's enriched
 * and rejected streams, so the old definition never meets the deployment's own table, which other files
 * use with the current one.
 */

import { randomUUID } from 'node:crypto';
import {
  CreateStackCommand,
  DeleteStackCommand,
  UpdateStackCommand,
  waitUntilStackCreateComplete,
  waitUntilStackUpdateComplete,
} from '@aws-sdk/client-cloudformation';
import { GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAKE_PREFIXES } from '../../infra/constructs/lake-storage.js';
import {
  IMPRESSIONS_TABLE,
  type LakeTableDefinition,
  REJECTED_TABLE,
} from '../../lambdas/domain/lake-schema.js';
import { hiveType } from '../../lambdas/lake/catalog-types.js';
import { type DeliveryHandle, describeLake, queryLake, startDelivery } from '../../scripts/lake.js';
import { ctx, eventually, harness } from './harness.js';

const c = ctx();
const h = harness(c);
const out = c.outputs;
const skip =
  c.skipReason ??
  (c.emulator ? undefined : 'the local lake stand-in runs only on emulators; on AWS Firehose delivers');

const run = randomUUID().slice(0, 8);
const stackName = `schema-evolution-${run}`;
const database = `schema_evolution_${run}`;
/** The definition before impression/1-1-0: every column but the last. */
const OLD_IMPRESSIONS: LakeTableDefinition = {
  ...IMPRESSIONS_TABLE,
  columns: IMPRESSIONS_TABLE.columns.slice(0, -1),
};
const NEW_COLUMN = IMPRESSIONS_TABLE.columns.at(-1)!;
const tablePrefix = (name: string) => `schema-evolution-${run}/${LAKE_PREFIXES.table(name)}`;

/** The lake stack: the Glue tables as LakeStorage declares them on an emulator, and their deliveries. */
function template(impressions: LakeTableDefinition) {
  const tables = [impressions, REJECTED_TABLE];
  const streams = { impressions: out.EnrichedStreamName, impressions_rejected: out.RejectedStreamName };
  const logical = (t: LakeTableDefinition) => (t.name === 'impressions' ? 'Impressions' : 'Rejected');
  const resources: Record<string, unknown> = {
    Database: {
      Type: 'AWS::Glue::Database',
      Properties: { CatalogId: { Ref: 'AWS::AccountId' }, DatabaseInput: { Name: database } },
    },
    Role: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'firehose.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        },
      },
    },
  };
  for (const t of tables) {
    resources[`${logical(t)}Table`] = {
      Type: 'AWS::Glue::Table',
      DependsOn: 'Database',
      Properties: {
        CatalogId: { Ref: 'AWS::AccountId' },
        DatabaseName: database,
        TableInput: {
          Name: t.name,
          TableType: 'EXTERNAL_TABLE',
          StorageDescriptor: {
            Location: `s3://${out.LakeBucketName}/${tablePrefix(t.name).replace(/\/$/, '')}`,
            Columns: t.columns.map((col) => ({ Name: col.name, Type: hiveType(col.type), Comment: col.doc })),
          },
        },
      },
    };
    const role = { 'Fn::GetAtt': ['Role', 'Arn'] };
    resources[`${logical(t)}Delivery`] = {
      Type: 'AWS::KinesisFirehose::DeliveryStream',
      DependsOn: [`${logical(t)}Table`, 'Role'],
      Properties: {
        DeliveryStreamType: 'KinesisStreamAsSource',
        KinesisStreamSourceConfiguration: {
          KinesisStreamARN: {
            'Fn::Sub': `arn:\${AWS::Partition}:kinesis:\${AWS::Region}:\${AWS::AccountId}:stream/${streams[t.name]}`,
          },
          RoleARN: role,
        },
        IcebergDestinationConfiguration: {
          RoleARN: role,
          AppendOnly: true,
          CatalogConfiguration: {
            CatalogArn: {
              'Fn::Sub': `arn:\${AWS::Partition}:glue:\${AWS::Region}:\${AWS::AccountId}:catalog`,
            },
          },
          DestinationTableConfigurationList: [
            { DestinationDatabaseName: database, DestinationTableName: t.name },
          ],
          BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 1 },
          S3BackupMode: 'FailedDataOnly',
          S3Configuration: {
            BucketARN: `arn:aws:s3:::${out.LakeBucketName}`,
            RoleARN: role,
            ErrorOutputPrefix: `schema-evolution-${run}/errors/${t.name}/!{firehose:error-output-type}/`,
          },
        },
      },
    };
  }
  return JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', Resources: resources });
}

const sql = (text: string, params: string[] = []) =>
  queryLake({ endpoint: c.endpoint, database, sql: text, params });

function impression(profileId: string, version: '1-0-0' | '1-1-0', locale?: string) {
  return {
    schema: `impression/${version}`,
    eventId: randomUUID(),
    eventTime: new Date(Date.now() - 3_000).toISOString(),
    profileId,
    accountId: 'acct-evolve',
    sessionId: 'sess-evolve',
    device: {
      type: 'tv',
      os: 'tizen',
      appVersion: version === '1-0-0' ? '16.4.0' : '16.5.0',
      ...(locale ? { locale } : {}),
    },
    country: 'BR',
    page: 'home',
    row: { index: 1, id: 'evolve-row', type: 'trending' },
    position: 2,
    titleId: 'title-0001',
    artworkId: 'art-1',
    visibility: { percent: 90, durationMs: 2500 },
  };
}

const send = (profileId: string, bodies: readonly object[]) =>
  h.put(
    out.RawStreamName,
    bodies.map((b) => ({ partitionKey: profileId, data: JSON.stringify(b) })),
  );

/** The table's data files (key → ETag): an append adds files, a rewrite would replace or change them. */
async function dataFiles(s3: S3Client): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  let token: string | undefined;
  do {
    const r = await s3.send(
      new ListObjectsV2Command({
        Bucket: out.LakeBucketName,
        Prefix: `${tablePrefix('impressions')}data/`,
        ContinuationToken: token,
      }),
    );
    for (const o of r.Contents ?? []) files.set(o.Key!, o.ETag ?? '');
    token = r.NextContinuationToken;
  } while (token);
  return files;
}

const rowsOf = (profileId: string) =>
  sql('SELECT * FROM impressions WHERE profile_id = ? ORDER BY event_id', [profileId]);

describe.skipIf(Boolean(skip))(`schema evolution on ${c.target}${skip ? ` (${skip})` : ''}`, () => {
  let delivery: DeliveryHandle | undefined;
  let created = false;
  const s3 = new S3Client({ ...h.config, forcePathStyle: true });
  const glue = new GlueClient(h.config);
  const waiter = { client: h.cfn, maxWaitTime: 300, minDelay: 1, maxDelay: 3 };

  beforeAll(async () => {
    await h.cfn.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: template(OLD_IMPRESSIONS),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    created = true;
    await waitUntilStackCreateComplete(waiter, { StackName: stackName });
  });
  afterAll(async () => {
    await delivery?.stop();
    if (created) await h.cfn.send(new DeleteStackCommand({ StackName: stackName }));
  });

  it('adds device_locale to a table holding rows: both versions accepted, old rows NULL and untouched', async () => {
    // 1. The deployment before impression/1-1-0: its delivery writes by the old definition.
    delivery = await startDelivery({
      endpoint: c.endpoint,
      pipelineStack: stackName,
      bufferSeconds: 1,
      definitions: { tables: [OLD_IMPRESSIONS, REJECTED_TABLE], file: `tables-${run}-old.json` },
    });
    const before = `evolve-old-${run}`;
    const oldEvents = Array.from({ length: 4 }, () => impression(before, '1-0-0'));
    await send(before, oldEvents);
    const oldRows = await eventually(
      async () => rowsOf(before),
      (r) => r.length >= oldEvents.length,
      { what: 'rows under the old definition', timeoutMs: 90_000 },
    );
    expect(oldRows.map((r) => r.event_id).sort()).toEqual(oldEvents.map((e) => e.eventId).sort());
    expect(oldRows.every((r) => !('device_locale' in r))).toBe(true);
    await delivery.stop();
    delivery = undefined;
    const filesBefore = await dataFiles(s3);
    expect(filesBefore.size).toBeGreaterThan(0);

    // 2. The deployment of impression/1-1-0: CloudFormation updates the Glue table with the appended column,
    //    and the delivery, started with the new definition, evolves the Iceberg schema before it writes.
    await h.cfn.send(
      new UpdateStackCommand({
        StackName: stackName,
        TemplateBody: template(IMPRESSIONS_TABLE),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    await waitUntilStackUpdateComplete(waiter, { StackName: stackName });
    delivery = await startDelivery({ endpoint: c.endpoint, pipelineStack: stackName, bufferSeconds: 1 });
    const schema = describeLake(c.endpoint, database).impressions!.schema as {
      fields: { id: number; name: string; required: boolean; type: unknown }[];
    };
    expect(schema.fields.map((f) => f.name)).toEqual(IMPRESSIONS_TABLE.columns.map((col) => col.name));
    expect(schema.fields.at(-1)).toMatchObject({
      id: NEW_COLUMN.id,
      name: 'device_locale',
      required: false,
      type: 'string',
    });
    // The column is a metadata change: no data file was written, replaced or changed.
    expect(await dataFiles(s3)).toEqual(filesBefore);
    const entry = await glue.send(new GetTableCommand({ DatabaseName: database, Name: 'impressions' }));
    expect(entry.Table?.StorageDescriptor?.Columns?.map((col) => col.Name)).toContain('device_locale');

    // 3. Producers of both versions, and one of a version nobody registered.
    const after = `evolve-new-${run}`;
    const locales = ['pt-BR', 'en-US', 'zh-Hant-TW'];
    const newEvents = [
      ...Array.from({ length: 2 }, () => impression(after, '1-0-0')),
      ...locales.map((l) => impression(after, '1-1-0', l)),
    ];
    const unknown = { ...impression(after, '1-1-0', 'en-US'), schema: 'impression/1-9-0' };
    await send(after, [...newEvents, unknown]);
    const newRows = await eventually(
      async () => rowsOf(after),
      (r) => r.length >= newEvents.length,
      { what: 'rows under the new definition', timeoutMs: 90_000 },
    );
    expect(Object.fromEntries(newRows.map((r) => [r.event_id, [r.schema_version, r.device_locale]]))).toEqual(
      Object.fromEntries(newEvents.map((e) => [e.eventId, [e.schema, e.device.locale ?? null]])),
    );
    // The lake's rejected table reads the whole rejected stream: this run's row is the one under its key.
    const rejected = (
      await eventually(
        async () => sql('SELECT reason, partition_key, raw FROM impressions_rejected'),
        (r) => r.some((row) => row.partition_key === after),
        { what: 'the unknown version rejected', timeoutMs: 90_000 },
      )
    ).filter((row) => row.partition_key === after);
    expect(rejected.map((r) => r.reason)).toEqual(['schema.unsupported-version:schema']);
    expect(rejected.map((r) => JSON.parse(String(r.raw)).eventId)).toEqual([unknown.eventId]);

    // 4. The old rows: all there, once, unchanged, reading NULL in the new column; their files untouched.
    const oldNow = rowsOf(before);
    expect(oldNow).toEqual(oldRows.map((r) => ({ ...r, device_locale: null })));
    const filesAfter = await dataFiles(s3);
    for (const [key, etag] of filesBefore) expect(filesAfter.get(key), key).toBe(etag);
    expect(delivery.failed(), 'records Firehose would send to the error prefix').toEqual({});
  });
});
