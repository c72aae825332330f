/**
 * IAM, checked on every AWS call the code makes. Each function of the app runs here as deployed (its
 * exported handler, its settings read from its environment in the synthesized template, the SDK clients it
 * creates), in front of in-memory services; every call it sends is recorded (`test/support/iam-calls.ts`)
 * and checked with an IAM policy evaluator (`@cloud-copilot/iam-simulate`) against the identity policies
 * of the function's role in the same template, resolved for a concrete account and region. Calls that a
 * service makes with the function's credentials (Athena running DDL) come from `ATHENA_CALLS` below.
 * The emulator grants every call; this is where a missing grant fails before a deploy does.
 */

import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import { stackNamesOf } from '../../infra/contract.js';
import { documentClient, kinesisClient } from '../../lambdas/adapters/clients.js';
import type { LakeTableDefinition } from '../../lambdas/domain/lake-schema.js';
import { handler as filterEnrich } from '../../lambdas/filter-enrich/handler.js';
import { handler as historyApi } from '../../lambdas/history-api/handler.js';
import { handler as isComplete } from '../../lambdas/iceberg-table/is-complete.js';
import { type OnEventResponse, handler as onEvent } from '../../lambdas/iceberg-table/on-event.js';
import { lastFieldId } from '../../lambdas/lake/lake-ddl.js';
import { apiEvent, CALLERS, ERASER_ROLE_ARN, SERVICE_ROLE_ARN } from '../support/api.js';
import { impression, kinesisEvent, rawRecord } from '../support/factories.js';
import {
  type AwsCall,
  type AwsTarget,
  callRecorder,
  deniedCalls,
  type FunctionRole,
  functionRole,
  resolvedApp,
  stackIdOf,
  type TemplateJson,
} from '../support/iam-calls.js';
import { memoryDynamo, memoryKinesis } from '../support/memory-aws.js';

const TARGET: AwsTarget = { account: '123456789012', region: 'us-east-1' };
const STAGE = 'prod';
const names = stackNamesOf(STAGE);

/**
 * What Athena does with the caller's credentials when it runs one of the table statements (Athena user
 * guide, "Configure access to databases and tables in the AWS Glue Data Catalog",
 * https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html):
 * - section "Mandatory: Access Policy to the Default Database and Catalog per AWS Region": for every query,
 *   `glue:GetDatabase` and `glue:CreateDatabase` on the catalog and on `database/default`, whether or not
 *   the query names a database (`QueryExecutionContext`);
 * - section "Examples of database and table-level permissions": a Glue action on a table is authorized on
 *   the catalog, the database and the table (the ancestors of the table, "Limitations"): `CREATE TABLE`
 *   needs `GetDatabase`, `GetTable`, `CreateTable`; `ALTER TABLE ADD COLUMNS` `GetTable`, `UpdateTable`;
 *   `DROP TABLE` `GetTable`, `DeleteTable`;
 * - and the query result location (the workgroup's output location) and the table's location: Athena
 *   writes the results and, for an Iceberg `CREATE TABLE`/`ALTER TABLE`, the table's metadata files with
 *   the caller's S3 permissions (Athena user guide, "Access to Amazon S3"; the AWS managed policy
 *   AmazonAthenaFullAccess, statement "BaseQueryResultsPermissions": `s3:GetBucketLocation`,
 *   `s3:ListBucket`, `s3:PutObject`, `s3:GetObject` on the results bucket).
 */
const ATHENA_CALLS = {
  every: ['glue:GetDatabase', 'glue:CreateDatabase'],
  create: ['glue:GetDatabase', 'glue:GetTable', 'glue:CreateTable'],
  'add-columns': ['glue:GetDatabase', 'glue:GetTable', 'glue:UpdateTable'],
  drop: ['glue:GetDatabase', 'glue:GetTable', 'glue:DeleteTable'],
} as const;

interface TableStatement {
  readonly kind: 'create' | 'add-columns' | 'drop';
  readonly database: string;
  readonly table: string;
  /** `s3://bucket/prefix` of the table. */
  readonly location: string;
  /** `s3://bucket/prefix/` of the workgroup's results. */
  readonly results: string;
}

function athenaCalls(s: TableStatement, { account, region }: AwsTarget): AwsCall[] {
  const glue = (resource: string) => `arn:aws:glue:${region}:${account}:${resource}`;
  const calls: AwsCall[] = [];
  for (const action of ATHENA_CALLS.every)
    for (const r of ['catalog', 'database/default']) calls.push({ action, resource: glue(r) });
  const onTable = [glue('catalog'), glue(`database/${s.database}`), glue(`table/${s.database}/${s.table}`)];
  for (const action of ATHENA_CALLS[s.kind])
    for (const resource of action === 'glue:GetDatabase' ? onTable.slice(0, 2) : onTable)
      calls.push({ action, resource });
  const s3 = (url: string) => /^s3:\/\/([^/]+)\/?(.*)$/.exec(url)!.slice(1) as [string, string];
  const [resultsBucket, resultsPrefix] = s3(s.results);
  calls.push(
    { action: 's3:GetBucketLocation', resource: `arn:aws:s3:::${resultsBucket}` },
    { action: 's3:ListBucket', resource: `arn:aws:s3:::${resultsBucket}` },
    { action: 's3:PutObject', resource: `arn:aws:s3:::${resultsBucket}/${resultsPrefix}q.csv` },
    { action: 's3:GetObject', resource: `arn:aws:s3:::${resultsBucket}/${resultsPrefix}q.csv` },
  );
  if (s.kind !== 'drop') {
    const [bucket, prefix] = s3(s.location);
    calls.push(
      { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}` },
      { action: 's3:PutObject', resource: `arn:aws:s3:::${bucket}/${prefix}/metadata/00000.metadata.json` },
      { action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/${prefix}/metadata/00000.metadata.json` },
    );
  }
  return calls;
}

// -------------------------------------------------------------------------------------------------------
// The app, synthesized once as `cdk deploy` would for a concrete account and region.

let stacks: Record<string, TemplateJson>;
const recorder = callRecorder(TARGET);
const roles = new Map<string, FunctionRole>();

/** The functions of the app, by the logical id of each in its stack. */
const FUNCTIONS: Record<string, { stack: string; find: (id: string, env: string) => boolean }> = {
  'filter-enrich': { stack: names.pipeline, find: (_, env) => env.includes('ENRICHED_STREAM_NAME') },
  'history-api': { stack: names.pipeline, find: (_, env) => env.includes('CURSOR_SECRET_ID') },
  'iceberg-table on-event': { stack: names.stateful, find: (id) => id.startsWith('LakeDdlOnEvent') },
  'iceberg-table is-complete': { stack: names.stateful, find: (id) => id.startsWith('LakeDdlIsComplete') },
};

/**
 * Functions CDK provides (their code is CDK's, their grants CDK's): the custom-resource provider framework's
 * onEvent/isComplete/onTimeout and the bucket auto-delete handler of throwaway stages.
 */
const CDK_FUNCTION =
  /^LakeDdlProviderframework|^CustomS3AutoDeleteObjects|^AWS679f53fac002430cb0da5b7982bd2287/;

const functionIdOf = (name: string) => {
  const { stack, find } = FUNCTIONS[name]!;
  const ids = Object.entries(stacks[stack]!.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .filter(([id, r]) => find(id, JSON.stringify(r.Properties?.Environment ?? {})))
    .map(([id]) => id);
  expect(ids, name).toHaveLength(1);
  return ids[0]!;
};

const roleOf = (name: string, templates = stacks) =>
  functionRole(templates, FUNCTIONS[name]!.stack, functionIdOf(name), TARGET);

/** Runs `run` with the function's environment (as deployed) in `process.env`. */
async function withEnvironment<T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env, { AWS_REGION: TARGET.region });
  try {
    return await run();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

const restores: (() => void)[] = [];
const secrets = mockClient(SecretsManagerClient);
const athena = mockClient(AthenaClient);
const glue = mockClient(GlueClient);
const cloudFormation = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);

beforeAll(async () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const built = buildApp(
    app,
    resolveStage(STAGE, { apiServices: [SERVICE_ROLE_ARN], apiErasers: [ERASER_ROLE_ARN] }),
    TARGET,
  );
  stacks = {
    [names.stateful]: Template.fromStack(built.stateful).toJSON() as TemplateJson,
    [names.pipeline]: Template.fromStack(built.pipeline).toJSON() as TemplateJson,
  };
  for (const name of Object.keys(FUNCTIONS)) roles.set(name, roleOf(name));

  // The services behind the SDK clients the handlers create.
  const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 7 });
  const kinesis = memoryKinesis({ throttle: 0, partial: 0, seed: 7 });
  // Like an endpoint that does not return the item with a failed condition (the store then reads it with
  // GetItem): on for the redelivered batch below.
  const dynamo = { returnItemOnConditionFailure: true };
  restores.push(
    recorder.recordSends(documentClient(), 'dynamodb', async (command: never) => {
      try {
        return await ddb.client.send(command);
      } catch (err) {
        if (!dynamo.returnItemOnConditionFailure) delete (err as { Item?: unknown }).Item;
        throw err;
      }
    }),
    recorder.recordSends(kinesisClient(), 'kinesis', (command: never) => kinesis.client.send(command)),
    recorder.recordSends(SecretsManagerClient.prototype, 'secretsmanager'),
    recorder.recordSends(AthenaClient.prototype, 'athena'),
    recorder.recordSends(GlueClient.prototype, 'glue'),
    recorder.recordSends(CloudFormationClient.prototype, 'cloudformation'),
    recorder.recordSends(LambdaClient.prototype, 'lambda'),
  );
  lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  secrets
    .on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' })
    .resolves({ SecretString: 'k'.repeat(64) })
    .on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' })
    .rejects(Object.assign(new Error('no such version'), { name: 'ResourceNotFoundException' }));
  let executions = 0;
  athena
    .on(StartQueryExecutionCommand)
    .callsFake(() => ({ QueryExecutionId: `q-${++executions}` }))
    .on(GetQueryExecutionCommand)
    .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });

  // filter-enrich: a batch with an accepted and a rejected record, then its redelivery (duplicates).
  const now = Date.now();
  const accepted = rawRecord(
    impression({ profileId: 'p1', eventTime: new Date(now - 2_000).toISOString() }),
    { arrivalMs: now, partitionKey: 'p1' },
  );
  const rejected = rawRecord('not json', { arrivalMs: now });
  await recorder.as('filter-enrich', () =>
    withEnvironment(roles.get('filter-enrich')!.environment, async () => {
      await filterEnrich(kinesisEvent([accepted, rejected]));
      dynamo.returnItemOnConditionFailure = false;
      await filterEnrich(kinesisEvent([accepted]));
      dynamo.returnItemOnConditionFailure = true;
    }),
  );

  // history-api: every route, as a service and as an eraser.
  // The Lambda runtime names the function in its environment; the background erasure invokes that name.
  const apiFunctionName = resolvedApp(stacks, TARGET).resolve(names.pipeline, {
    Ref: functionIdOf('history-api'),
  }) as string;
  await recorder.as('history-api', () =>
    withEnvironment(
      { ...roles.get('history-api')!.environment, AWS_LAMBDA_FUNCTION_NAME: apiFunctionName },
      async () => {
        const call = async (
          method: string,
          path: string,
          body?: unknown,
          userArn: string = CALLERS.service,
        ) => {
          const r = await historyApi(
            apiEvent(method, path, { body: body === undefined ? undefined : JSON.stringify(body), userArn }),
            { awsRequestId: 'r' } as never,
          );
          expect(r.statusCode, `${method} ${path}: ${r.body}`).toBeLessThan(300);
        };
        await call('GET', '/v1/profiles/p1/impressions?limit=1');
        await call('GET', '/v1/profiles/p1/frequency?titleIds=title-1&window=7d');
        await call('POST', '/v1/profiles/p1/frequency/check', { caps: [{ titleId: 'title-1', max: 2 }] });
        await call('POST', '/v1/profiles/p1/impressions', {
          events: [impression({ profileId: 'p1', eventTime: new Date(now - 1_000).toISOString() })],
        });
        await call('DELETE', '/v1/profiles/p1/impressions', undefined, CALLERS.eraser);
        // A DELETE with too little time left hands the rest to the background: the function invokes itself,
        // and that round (an erasure continuation event) completes it.
        const short = await historyApi(
          apiEvent('DELETE', '/v1/profiles/p2/impressions', { userArn: CALLERS.eraser }),
          { awsRequestId: 'r', getRemainingTimeInMillis: () => 1_000 } as never,
        );
        expect(JSON.parse(short.body ?? '{}')).toMatchObject({ complete: false });
        const invoked = lambda.commandCalls(InvokeCommand);
        expect(invoked).toHaveLength(1);
        const next = JSON.parse(new TextDecoder().decode(invoked[0]!.args[0].input.Payload as Uint8Array));
        expect(
          await historyApi(next, { awsRequestId: 'r2', getRemainingTimeInMillis: () => 9_000 } as never),
        ).toMatchObject({
          complete: true,
        });
      },
    ),
  );

  // The Iceberg table custom resource: create, an update that appends a column, delete; each statement
  // awaited by is-complete, and what Athena does with on-event's credentials for it.
  const tables = Object.values(stacks[names.stateful]!.Resources).filter(
    (r) => r.Type === 'Custom::IcebergTable',
  );
  expect(tables.length).toBeGreaterThan(0);
  const stateful = resolvedApp(stacks, TARGET);
  const resolveStateful = (v: unknown) => stateful.resolve(names.stateful, v) as Record<string, string>;
  const workGroups = Object.values(stacks[names.stateful]!.Resources).filter(
    (r) => r.Type === 'AWS::Athena::WorkGroup',
  );
  // The catalog as the table statements leave it (on-event reads it before each request), and a stack in
  // which no other resource names the table (on-event lists it before a drop).
  const catalog = new Map<string, LakeTableDefinition>();
  glue.on(GetTableCommand).callsFake((input: { DatabaseName: string; Name: string }) => {
    const def = catalog.get(`${input.DatabaseName}.${input.Name}`);
    if (!def) throw Object.assign(new Error('not found'), { name: 'EntityNotFoundException' });
    return {
      Table: {
        Name: input.Name,
        StorageDescriptor: {
          Location: tableLocation.get(`${input.DatabaseName}.${input.Name}`),
          Columns: def.columns.map((c) => ({ Name: c.name, Type: 'string' })),
        },
        Parameters: { table_type: 'ICEBERG' },
      },
    };
  });
  const tableLocation = new Map<string, string>();
  cloudFormation.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
  for (const table of tables) {
    const props = resolveStateful(table.Properties) as Record<string, string> & {
      ServiceToken: string;
      Database: string;
      Location: string;
      Definition: string;
      WorkGroup: string;
    };
    const wg = workGroups.find((w) => resolveStateful({ n: w.Properties.Name }).n === props.WorkGroup)!;
    const results = resolveStateful(wg.Properties.WorkGroupConfiguration.ResultConfiguration)
      .OutputLocation as string;
    const def = JSON.parse(props.Definition) as LakeTableDefinition;
    // An update that appends a column (ALTER TABLE ADD COLUMNS): the next definition has one column more.
    const grown: LakeTableDefinition = {
      ...def,
      columns: [
        ...def.columns,
        { id: lastFieldId(def) + 1, name: 'iam_probe', type: 'string', required: false, doc: 'probe' },
      ],
    };
    const base = {
      ServiceToken: 'token',
      ResponseURL: 'u',
      StackId: stackIdOf(TARGET, names.stateful),
      RequestId: 'r',
      LogicalResourceId: 'l',
    };
    const events: CloudFormationCustomResourceEvent[] = [
      { ...base, RequestType: 'Create', ResourceType: 'Custom::IcebergTable', ResourceProperties: props },
      {
        ...base,
        RequestType: 'Update',
        ResourceType: 'Custom::IcebergTable',
        PhysicalResourceId: `${props.Database}.${def.name}`,
        ResourceProperties: { ...props, Definition: JSON.stringify(grown) },
        OldResourceProperties: props,
      },
      {
        ...base,
        RequestType: 'Delete',
        ResourceType: 'Custom::IcebergTable',
        PhysicalResourceId: `${props.Database}.${def.name}`,
        ResourceProperties: props,
      },
    ];
    for (const event of events) {
      const out: OnEventResponse = await recorder.as('iceberg-table on-event', () =>
        withEnvironment(roles.get('iceberg-table on-event')!.environment, () => onEvent(event)),
      );
      const key = `${props.Database}.${def.name}`;
      if (out.Data.Statement === 'create') {
        catalog.set(key, def);
        tableLocation.set(key, props.Location);
      }
      if (out.Data.Statement === 'add-columns') catalog.set(key, grown);
      recorder.add(
        'iceberg-table on-event',
        athenaCalls(
          {
            kind: out.Data.Statement as TableStatement['kind'],
            database: props.Database,
            table: def.name,
            location: props.Location,
            results,
          },
          TARGET,
        ),
      );
      const done = await recorder.as('iceberg-table is-complete', () =>
        withEnvironment(roles.get('iceberg-table is-complete')!.environment, () =>
          isComplete({ ...event, ...out } as never),
        ),
      );
      expect(done).toEqual({ IsComplete: true });
    }
  }
}, 60_000);

afterAll(() => {
  for (const restore of restores.reverse()) restore();
  secrets.restore();
  athena.restore();
  glue.restore();
  cloudFormation.restore();
  lambda.restore();
});

const callsOf = (name: string) => recorder.calls.get(name) ?? [];
const actionsOf = (name: string) => [...new Set(callsOf(name).map((c) => c.action))].sort();

describe('every AWS call each function makes is allowed by its role in the template', () => {
  it('covers every function of the app (the others are CDK’s own)', () => {
    const all = Object.entries(stacks).flatMap(([, t]) =>
      Object.entries(t.Resources)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
        .map(([id]) => id),
    );
    const checked = Object.keys(FUNCTIONS).map(functionIdOf);
    expect(all.filter((id) => !checked.includes(id) && !CDK_FUNCTION.test(id))).toEqual([]);
    expect(recorder.calls.get('unattributed')).toBeUndefined();
  });

  it('records every call the functions send, each SDK command at least once', () => {
    expect(actionsOf('filter-enrich')).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'kinesis:PutRecords',
    ]);
    // Both output streams.
    expect(
      new Set(
        callsOf('filter-enrich')
          .filter((c) => c.action === 'kinesis:PutRecords')
          .map((c) => c.resource),
      ).size,
    ).toBe(2);
    expect(actionsOf('history-api')).toEqual([
      'dynamodb:BatchWriteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem', // the ingest route's per-profile window counter
      'kinesis:PutRecords',
      'lambda:InvokeFunction', // the background round of an erasure that stopped early
      'secretsmanager:GetSecretValue',
    ]);
    expect(actionsOf('iceberg-table on-event')).toEqual(
      expect.arrayContaining([
        'athena:StartQueryExecution',
        'cloudformation:ListStackResources',
        'glue:CreateTable',
        'glue:GetTable',
        'glue:UpdateTable',
        'glue:DeleteTable',
      ]),
    );
    expect(actionsOf('iceberg-table is-complete')).toEqual(['athena:GetQueryExecution']);
  });

  for (const name of Object.keys(FUNCTIONS)) {
    it(`${name}: no call is denied`, async () => {
      expect(callsOf(name).length).toBeGreaterThan(0);
      expect(await deniedCalls(roles.get(name)!, callsOf(name))).toEqual([]);
    });
  }
});

describe('the check fails when a role loses a permission', () => {
  /** The templates with `action` removed from every statement of `name`'s role. */
  function without(name: string, action: string): Record<string, TemplateJson> {
    const copy = structuredClone(stacks) as Record<string, TemplateJson>;
    const { roleId } = roles.get(name)!;
    for (const r of Object.values(copy[FUNCTIONS[name]!.stack]!.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy' || !JSON.stringify(r.Properties.Roles).includes(`"${roleId}"`))
        continue;
      for (const s of r.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
        s.Action = ([] as string[]).concat(s.Action).filter((a) => a !== action);
      r.Properties.PolicyDocument.Statement = r.Properties.PolicyDocument.Statement.filter(
        (s: { Action: string[] }) => s.Action.length,
      );
    }
    return copy;
  }

  it('history-api without dynamodb:PutItem: exactly the day-rollup writes are denied', async () => {
    const denied = await deniedCalls(
      roleOf('history-api', without('history-api', 'dynamodb:PutItem')),
      callsOf('history-api'),
    );
    const table = callsOf('history-api').find((c) => c.action === 'dynamodb:Query')!.resource;
    expect(denied).toEqual([{ action: 'dynamodb:PutItem', resource: table, result: 'ImplicitlyDenied' }]);
  });

  it('iceberg-table on-event without glue:CreateDatabase: exactly the default database and catalog calls are denied', async () => {
    const denied = await deniedCalls(
      roleOf('iceberg-table on-event', without('iceberg-table on-event', 'glue:CreateDatabase')),
      callsOf('iceberg-table on-event'),
    );
    const glue = `arn:aws:glue:${TARGET.region}:${TARGET.account}`;
    expect(denied.map((d) => `${d.action} ${d.resource}`).sort()).toEqual([
      `glue:CreateDatabase ${glue}:catalog`,
      `glue:CreateDatabase ${glue}:database/default`,
    ]);
  });
});
