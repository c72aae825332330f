/**
 * The Iceberg table custom resource driven through CloudFormation's request sequences (user guide, "Custom
 * resource request types" and "Custom resource response objects"; the CDK provider framework's handling of a
 * failed Create), against a strict Athena + Glue fake (`test/support/table-lifecycle.ts`). Each sequence
 * asserts what the catalog holds afterwards, so a table lost, duplicated or left half-changed fails here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LakeTableDefinition, REJECTED_TABLE } from '../../lambdas/domain/lake-schema.js';
import { hiveType } from '../../lambdas/lake/catalog-types.js';
import { lastFieldId } from '../../lambdas/lake/lake-ddl.js';
import { CREATE_FAILED_MARKER, request, strictLake } from '../support/table-lifecycle.js';

const LOCATION = 's3://lake-bucket/warehouse/impressions_rejected';
const TABLE = 'lake_db.impressions_rejected';
const props = (def: LakeTableDefinition = REJECTED_TABLE, location = LOCATION) => ({
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  WorkGroup: 'ddl-wg',
  Database: 'lake_db',
  Location: location,
  Definition: JSON.stringify(def),
});
const grown: LakeTableDefinition = {
  ...REJECTED_TABLE,
  columns: [
    ...REJECTED_TABLE.columns,
    { id: lastFieldId(REJECTED_TABLE) + 1, name: 'source', type: 'string', required: false, doc: 'app' },
  ],
};
const columnsOf = (def: LakeTableDefinition) =>
  def.columns.map((c) => ({ name: c.name, type: hiveType(c.type) }));

let lake: ReturnType<typeof strictLake>;
beforeEach(() => {
  lake = strictLake();
});
afterEach(() => lake.restore());

const create = (logical = 'TableRejected', p = props()) =>
  request({ RequestType: 'Create', LogicalResourceId: logical, ResourceProperties: p });
const update = (physicalId: string, next: ReturnType<typeof props>, old: ReturnType<typeof props>) =>
  request({
    RequestType: 'Update',
    LogicalResourceId: 'TableRejected',
    PhysicalResourceId: physicalId,
    ResourceProperties: next,
    OldResourceProperties: old,
  });
const del = (physicalId: string, logical = 'TableRejected', p = props()) =>
  request({
    RequestType: 'Delete',
    LogicalResourceId: logical,
    PhysicalResourceId: physicalId,
    ResourceProperties: p,
  });

describe('the table custom resource through CloudFormation request sequences', () => {
  it('create, update with an added column, delete', async () => {
    const made = await create();
    expect(made).toMatchObject({ status: 'SUCCESS', physicalId: TABLE });
    expect(lake.tables.get(TABLE)?.columns).toEqual(columnsOf(REJECTED_TABLE));
    expect(lake.statements[0]).toMatch(/^CREATE TABLE/);

    const altered = await update(TABLE, props(grown), props());
    expect(altered).toMatchObject({ status: 'SUCCESS', physicalId: TABLE });
    expect(lake.tables.get(TABLE)?.columns).toEqual(columnsOf(grown));

    lake.stack.set('TableRejected', { physicalId: TABLE, status: 'DELETE_IN_PROGRESS' });
    expect(await del(TABLE, 'TableRejected', props(grown))).toMatchObject({ status: 'SUCCESS' });
    expect(lake.tables.has(TABLE)).toBe(false);
    expect(lake.statements.at(-1)).toBe('DROP TABLE IF EXISTS `lake_db`.`impressions_rejected`');
  });

  it('an update rollback after an applied append keeps the column, and the next deploy of it runs nothing', async () => {
    await create();
    await update(TABLE, props(grown), props());
    lake.tables.get(TABLE)!.rows = 10;
    // Another resource of the stack failed: CloudFormation sends an Update with the old definition as new.
    const rolledBack = await update(TABLE, props(), props(grown));
    expect(rolledBack).toMatchObject({ status: 'SUCCESS', physicalId: TABLE });
    expect(lake.tables.get(TABLE)).toMatchObject({ columns: columnsOf(grown), rows: 10 });
    const before = lake.statements.length;
    // The fixed deploy appends the same column again: the table has it, so nothing runs (an ALTER would fail).
    expect(await update(TABLE, props(grown), props())).toMatchObject({ status: 'SUCCESS' });
    expect(lake.statements).toHaveLength(before);
  });

  it('an append whose ALTER fails rolls back cleanly', async () => {
    await create();
    lake.failNextStatement('AccessDeniedException: glue:UpdateTable');
    const failed = await update(TABLE, props(grown), props());
    expect(failed).toMatchObject({ status: 'FAILED', physicalId: TABLE });
    expect(failed.status === 'FAILED' && failed.reason).toMatch(/add-columns .* AccessDenied/);
    expect(await update(TABLE, props(), props(grown))).toMatchObject({ status: 'SUCCESS' });
    expect(lake.tables.get(TABLE)?.columns).toEqual(columnsOf(REJECTED_TABLE));
  });

  it('a non-append change fails before any statement, and its rollback succeeds', async () => {
    await create();
    const before = lake.statements.length;
    const dropped = { ...REJECTED_TABLE, columns: REJECTED_TABLE.columns.filter((c) => c.name !== 'raw') };
    const failed = await update(TABLE, props(dropped), props());
    expect(failed.status === 'FAILED' && failed.reason).toMatch(/only appending columns is applied in place/);
    expect(lake.statements).toHaveLength(before);
    expect(await update(TABLE, props(), props(dropped))).toMatchObject({ status: 'SUCCESS' });
    expect(lake.tables.get(TABLE)?.columns).toEqual(columnsOf(REJECTED_TABLE));
  });

  it('a retyped column is refused before any statement; the rollback of the refused change succeeds', async () => {
    await create();
    const before = lake.statements.length;
    const first = REJECTED_TABLE.columns[0]!;
    const retyped = {
      ...REJECTED_TABLE,
      columns: [{ ...first, type: 'long' as const }, ...REJECTED_TABLE.columns.slice(1)],
    };
    const failed = await update(TABLE, props(retyped), props());
    expect(failed.status === 'FAILED' && failed.reason).toMatch(/retyping it .* needs a migration/);
    expect(lake.statements).toHaveLength(before);
    expect(await update(TABLE, props(), props(retyped))).toMatchObject({ status: 'SUCCESS' });
  });

  it('a location change is refused with the reason; its rollback succeeds and the table stays', async () => {
    await create();
    const moved = props(REJECTED_TABLE, 's3://other-bucket/warehouse/impressions_rejected');
    const failed = await update(TABLE, moved, props());
    expect(failed.status === 'FAILED' && failed.reason).toMatch(/location cannot change in place/);
    expect(await update(TABLE, props(), moved)).toMatchObject({ status: 'SUCCESS' });
    expect(lake.tables.get(TABLE)?.location).toBe(`${LOCATION}/`);
  });

  it('a create whose statement fails: the rollback delete is delivered and harmless, and the retry creates', async () => {
    lake.failNextStatement('AccessDeniedException: not authorized to perform glue:CreateTable');
    const failed = await create();
    expect(failed).toMatchObject({ status: 'FAILED', physicalId: TABLE });
    expect(lake.tables.has(TABLE)).toBe(false);
    expect(await del(TABLE)).toMatchObject({ status: 'SUCCESS' });
    expect(await create()).toMatchObject({ status: 'SUCCESS', physicalId: TABLE });
    expect(lake.tables.get(TABLE)?.columns).toEqual(columnsOf(REJECTED_TABLE));
  });

  it('a CREATE that finds the table appeared meanwhile fails instead of adopting it', async () => {
    // The table appears between on-event's catalog read and the statement: the statement fails, and the
    // resource does not claim a table it neither created nor checked.
    lake.failNextStatement('AlreadyExistsException: Table already exists.');
    const failed = await create();
    expect(failed.status === 'FAILED' && failed.reason).toMatch(/already exists/);
  });

  it('a name taken by another kind of table, or at another location, is refused; the rollback does not touch it', async () => {
    lake.tables.set(TABLE, {
      location: 's3://elsewhere/t/',
      columns: [{ name: 'x', type: 'string' }],
      tableType: 'ICEBERG',
      rows: 5,
    });
    const failed = await create();
    expect(failed).toMatchObject({ status: 'FAILED', physicalId: CREATE_FAILED_MARKER });
    expect(failed.status === 'FAILED' && failed.reason).toMatch(/refusing to adopt/);
    expect(await del(CREATE_FAILED_MARKER)).toMatchObject({ status: 'SUCCESS' });
    expect(lake.tables.get(TABLE)).toMatchObject({ location: 's3://elsewhere/t/', rows: 5 });
    lake.tables.set(TABLE, {
      location: `${LOCATION}/`,
      columns: [{ name: 'x', type: 'string' }],
      tableType: 'HIVE',
      rows: 5,
    });
    expect((await create()).status).toBe('FAILED');
  });

  it('a stage destroyed with its data kept is adopted by the next deploy, older schema brought forward', async () => {
    await create('TableRejected', props());
    lake.tables.get(TABLE)!.rows = 100;
    // Destroy with RETAIN: CloudFormation sends no Delete. The new deploy has one column more.
    const adopted = await create('TableRejected', props(grown));
    expect(adopted).toMatchObject({ status: 'SUCCESS', physicalId: `adopted:${TABLE}` });
    expect(lake.statements.filter((s) => s.startsWith('CREATE'))).toHaveLength(1);
    expect(lake.tables.get(TABLE)).toMatchObject({ columns: columnsOf(grown), rows: 100 });
  });

  it('an adopted table survives the rollback of the deploy that adopted it (RetainExceptOnCreate deletes)', async () => {
    lake.tables.set(TABLE, {
      location: `${LOCATION}/`,
      columns: columnsOf(REJECTED_TABLE),
      tableType: 'ICEBERG',
      rows: 7,
    });
    const adopted = await create();
    expect(adopted).toMatchObject({ status: 'SUCCESS', physicalId: `adopted:${TABLE}` });
    expect(await del(`adopted:${TABLE}`)).toMatchObject({ status: 'SUCCESS' });
    expect(lake.tables.get(TABLE)?.rows).toBe(7);
    expect(lake.statements.some((s) => s.startsWith('DROP'))).toBe(false);
  });

  it("a renamed logical id: the old resource's delete keeps the table the new one adopted", async () => {
    await create('TableRejected');
    lake.tables.get(TABLE)!.rows = 3;
    const renamed = await create('TableRejectedV2');
    expect(renamed).toMatchObject({ status: 'SUCCESS', physicalId: `adopted:${TABLE}` });
    lake.stack.set('TableRejectedV2', { physicalId: `adopted:${TABLE}`, status: 'CREATE_COMPLETE' });
    lake.stack.set('TableRejected', { physicalId: TABLE, status: 'DELETE_IN_PROGRESS' });
    expect(await del(TABLE, 'TableRejected')).toMatchObject({ status: 'SUCCESS' });
    expect(lake.tables.get(TABLE)?.rows).toBe(3);
    // Without the other claim, the same delete drops the table it created.
    lake.stack.delete('TableRejectedV2');
    expect(await del(TABLE, 'TableRejected')).toMatchObject({ status: 'SUCCESS' });
    expect(lake.tables.has(TABLE)).toBe(false);
  });

  it('a delete whose database is already gone completes', async () => {
    lake.failNextStatement('SCHEMA_NOT_FOUND: Schema lake_db does not exist');
    expect(await del(TABLE)).toMatchObject({ status: 'SUCCESS' });
  });
});
