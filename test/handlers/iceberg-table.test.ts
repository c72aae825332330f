/**
 * The Iceberg table custom resource (CDK provider framework): on-event starts the right Athena statement
 * for Create, Update and Delete; is-complete waits for it and fails the deployment with Athena's reason.
 */
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type LakeTableDefinition, REJECTED_TABLE } from '../../lambdas/domain/lake-schema.js';
import { handler as isComplete } from '../../lambdas/iceberg-table/is-complete.js';
import { handler as onEvent } from '../../lambdas/iceberg-table/on-event.js';
import { hiveType } from '../../lambdas/lake/catalog-types.js';
import { lastFieldId } from '../../lambdas/lake/lake-ddl.js';

const athena = mockClient(AthenaClient);
const glue = mockClient(GlueClient);
// The stack holds no other resource naming the table (the sequences with one are in the lifecycle test).
const cloudFormation = mockClient(CloudFormationClient);
cloudFormation.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
// The unit project shares modules between files (isolate: false): put the real clients back.
afterAll(() => {
  for (const mock of [athena, glue, cloudFormation]) mock.restore();
});
/** The catalog holds the table as REJECTED_TABLE defines it (for Update); Create tests clear it. */
const catalogHolds = (
  def: LakeTableDefinition | undefined,
  location = 's3://lake/warehouse/impressions_rejected/',
) => {
  glue.reset();
  if (!def) {
    glue
      .on(GetTableCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'EntityNotFoundException' }));
    return;
  }
  glue.on(GetTableCommand).resolves({
    Table: {
      Name: def.name,
      DatabaseName: 'lake_db',
      StorageDescriptor: {
        Location: location,
        Columns: def.columns.map((c) => ({ Name: c.name, Type: hiveType(c.type) })),
      },
      Parameters: { table_type: 'ICEBERG' },
    },
  });
};
beforeEach(() => {
  athena.reset();
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
  catalogHolds(undefined);
});

const props = (
  def: LakeTableDefinition = REJECTED_TABLE,
  location = 's3://lake/warehouse/impressions_rejected',
) => ({
  ServiceToken: 'arn:aws:lambda:eu-west-1:1:function:f',
  WorkGroup: 'ddl-wg',
  Database: 'lake_db',
  Location: location,
  Definition: JSON.stringify(def),
});
const base = {
  ServiceToken: 'x',
  ResponseURL: 'https://example.com',
  StackId: 'stack',
  RequestId: 'r',
  LogicalResourceId: 'T',
  ResourceType: 'Custom::IcebergTable',
};
const create = {
  ...base,
  RequestType: 'Create',
  ResourceProperties: props(),
} as CloudFormationCustomResourceEvent;
const update = (next: ReturnType<typeof props>) =>
  ({
    ...base,
    RequestType: 'Update',
    PhysicalResourceId: 'lake_db.impressions_rejected',
    ResourceProperties: next,
    OldResourceProperties: props(),
  }) as CloudFormationCustomResourceEvent;
const started = () => athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);

describe('iceberg table custom resource', () => {
  it('Create runs CREATE TABLE in the DDL workgroup and names the table as its physical id', async () => {
    const res = await onEvent(create);
    expect(res).toEqual({
      PhysicalResourceId: 'lake_db.impressions_rejected',
      Data: { Statement: 'create', QueryExecutionId: 'q-1' },
    });
    expect(started()).toHaveLength(1);
    expect(started()[0]!.WorkGroup).toBe('ddl-wg');
    // Without a context Athena resolves against the Region's `default` database.
    expect(started()[0]!.QueryExecutionContext).toEqual({ Catalog: 'AwsDataCatalog', Database: 'lake_db' });
    expect(started()[0]!.QueryString).toMatch(
      /^CREATE TABLE `lake_db`\.`impressions_rejected` \([\s\S]*PARTITIONED BY \(day\(received_at\)\)/,
    );
  });

  it('Update that appends a column runs ALTER TABLE ADD COLUMNS; an unchanged schema runs nothing', async () => {
    const grown = {
      ...REJECTED_TABLE,
      columns: [
        ...REJECTED_TABLE.columns,
        {
          id: lastFieldId(REJECTED_TABLE) + 1,
          name: 'source',
          type: 'string' as const,
          required: false,
          doc: 'app',
        },
      ],
    };
    catalogHolds(REJECTED_TABLE);
    const res = await onEvent(update(props(grown)));
    expect(res.PhysicalResourceId).toBe('lake_db.impressions_rejected');
    expect(started()[0]!.QueryString).toBe(
      "ALTER TABLE `lake_db`.`impressions_rejected` ADD COLUMNS (`source` string COMMENT 'app')",
    );
    athena.resetHistory();
    const same = await onEvent(update(props()));
    expect(same.Data.QueryExecutionId).toBeUndefined();
    expect(started()).toHaveLength(0);
    expect(await isComplete({ ...update(props()), ...same })).toEqual({ IsComplete: true });
  });

  it('Update that drops a column fails with the reason and starts no statement', async () => {
    catalogHolds(REJECTED_TABLE);
    const dropped = { ...REJECTED_TABLE, columns: REJECTED_TABLE.columns.filter((c) => c.name !== 'raw') };
    await expect(onEvent(update(props(dropped)))).rejects.toThrow(
      /only appending columns is applied in place/,
    );
    expect(started()).toHaveLength(0);
  });

  it('Update to a new location is refused with the reason and starts no statement', async () => {
    catalogHolds(REJECTED_TABLE);
    await expect(
      onEvent(update(props(REJECTED_TABLE, 's3://other/warehouse/impressions_rejected'))),
    ).rejects.toThrow(/location cannot change in place/);
    expect(started()).toHaveLength(0);
  });

  it('Delete drops the table', async () => {
    const res = await onEvent({
      ...base,
      RequestType: 'Delete',
      PhysicalResourceId: 'lake_db.impressions_rejected',
      ResourceProperties: props(),
    } as CloudFormationCustomResourceEvent);
    expect(res.PhysicalResourceId).toBe('lake_db.impressions_rejected');
    expect(started()[0]!.QueryString).toBe('DROP TABLE IF EXISTS `lake_db`.`impressions_rejected`');
  });

  it("is-complete waits while the statement runs, completes on success, and fails with Athena's reason", async () => {
    const running = {
      ...create,
      PhysicalResourceId: 'x',
      Data: { Statement: 'create' as const, QueryExecutionId: 'q-1' },
    };
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'SUCCEEDED' } } })
      .resolves({
        QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'line 1:8: mismatched input' } },
      });
    expect(await isComplete(running)).toEqual({ IsComplete: false });
    expect(await isComplete(running)).toEqual({ IsComplete: true });
    await expect(isComplete(running)).rejects.toThrow(
      /Athena create q-1 failed: FAILED: line 1:8: mismatched input/,
    );
  });

  it('a CREATE that finds the table already there fails (on-event looked first; adoption is decided there)', async () => {
    const creating = {
      ...create,
      PhysicalResourceId: 'x',
      Data: { Statement: 'create' as const, QueryExecutionId: 'q-3' },
    };
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        Status: { State: 'FAILED', StateChangeReason: 'AlreadyExistsException: Table already exists.' },
      },
    });
    await expect(isComplete(creating as never)).rejects.toThrow(/already exists/);
  });

  it('a DROP whose database is already gone counts as done; any other failed DROP fails the deletion', async () => {
    const dropping = {
      ...base,
      RequestType: 'Delete',
      PhysicalResourceId: 'lake_db.impressions_rejected',
      ResourceProperties: props(),
      Data: { Statement: 'drop' as const, QueryExecutionId: 'q-2' },
    } as CloudFormationCustomResourceEvent & { Data: { Statement: 'drop'; QueryExecutionId: string } };
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({
        QueryExecution: {
          Status: { State: 'FAILED', StateChangeReason: 'SCHEMA_NOT_FOUND: Schema lake_db does not exist' },
        },
      })
      .resolves({ QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'Access denied' } } });
    expect(await isComplete(dropping)).toEqual({ IsComplete: true });
    await expect(isComplete(dropping)).rejects.toThrow(/Access denied/);
  });
});
