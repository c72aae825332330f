/**
 * Custom resource (CDK provider framework) that keeps an Iceberg table as its definition says: it creates the
 * table with Athena DDL, appends the columns a later schema adds, and drops the table on delete when this
 * resource created it and no other resource of the stack names it. It only starts the statement;
 * `is-complete.ts` waits for it. SQL comes from `lambdas/lake/lake-ddl.ts`.
 *
 * Every request is decided against the table the Glue catalog holds, not against the request's old
 * properties, because CloudFormation's request sequences do not say which way they go (user guide, "Custom
 * resource request types"; a rollback is an Update whose new properties are the old ones):
 * - Create: a table that does not exist is created (physical id `<db>.<table>`); one that exists (kept by an
 *   earlier deployment of the stage) is adopted if it is an Iceberg table at the same location, with missing
 *   columns appended (physical id `adopted:<db>.<table>`). Anything else at that name fails the request.
 * - Update: appends what the table lacks; a definition shorter than the table (a rolled-back append) keeps
 *   the table's extra columns and runs nothing. A new name or database is a new table (new physical id;
 *   CloudFormation then deletes the old resource). A new location is refused: Athena cannot move an Iceberg
 *   table, and a second table at the old name would collide.
 * - Delete: an adopted table is never dropped (the resource did not create it, and RetainExceptOnCreate
 *   deletes a resource whose first deployment rolls back); a created table is kept while another resource of
 *   the stack names it (a renamed logical id adopts it before the old one is deleted), and dropped otherwise.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { startStatement } from '../adapters/athena-ddl.js';
import { functionLogger } from '../adapters/observability.js';
import { catalogTable, stackResources } from '../adapters/table-catalog.js';
import type { LakeTableDefinition } from '../domain/lake-schema.js';
import { addColumnsSql, createTableSql, dropTableSql, reconcileColumns } from '../lake/lake-ddl.js';

export interface IcebergTableProperties {
  readonly ServiceToken: string;
  readonly WorkGroup: string;
  readonly Database: string;
  readonly Location: string;
  /** JSON of the table's `LakeTableDefinition`. */
  readonly Definition: string;
}

/** What a request did: the statement started (if any), for is-complete and the stack's events. */
export type TableAction = 'create' | 'add-columns' | 'drop' | 'keep';

export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data: { readonly QueryExecutionId?: string; readonly Statement: TableAction };
}

type Props = IcebergTableProperties & { def: LakeTableDefinition };

const logger = functionLogger('iceberg-table');

const RESOURCE_TYPE = 'Custom::IcebergTable';
const ADOPTED = 'adopted:';

const props = (p: unknown): Props => {
  const r = p as IcebergTableProperties;
  return { ...r, def: JSON.parse(r.Definition) as LakeTableDefinition };
};
const tableName = (p: { Database: string; def: LakeTableDefinition }) => `${p.Database}.${p.def.name}`;
/** The table a physical id names (`<db>.<table>` or `adopted:<db>.<table>`). */
export const tableOfPhysicalId = (id: string | undefined): string | undefined =>
  id?.startsWith(ADOPTED) ? id.slice(ADOPTED.length) : id;
const sameLocation = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

export async function handler(
  event: CloudFormationCustomResourceEvent,
  context?: Context,
): Promise<OnEventResponse> {
  if (context) logger.addContext(context);
  const p = props(event.ResourceProperties);
  const run = async (id: string, action: TableAction, sql?: string): Promise<OnEventResponse> => ({
    PhysicalResourceId: id,
    Data: {
      Statement: action,
      ...(sql ? { QueryExecutionId: await startStatement(sql, p.WorkGroup, p.Database) } : {}),
    },
  });

  /**
   * Brings the catalog's table to `p`'s definition. `existingId` is the physical id to keep (Update);
   * `retyped` the columns whose type the request changes.
   */
  const ensure = async (existingId?: string, retyped?: ReadonlySet<string>): Promise<OnEventResponse> => {
    const table = await catalogTable(p.Database, p.def.name);
    if (!table) return run(tableName(p), 'create', createTableSql(p.def, p.Database, p.Location));
    if (existingId && !sameLocation(table.location, p.Location)) {
      throw new Error(
        `${tableName(p)}: the location cannot change in place (${table.location} → ${p.Location}); Athena cannot move an Iceberg table. Give the table a new name to create it at the new location.`,
      );
    }
    if (table.tableType?.toUpperCase() !== 'ICEBERG' || !sameLocation(table.location, p.Location)) {
      throw new Error(
        `${tableName(p)} exists but is not the Iceberg table at ${p.Location} (type ${table.tableType ?? 'none'}, location ${table.location || 'none'}); refusing to adopt it`,
      );
    }
    const id = existingId ?? `${ADOPTED}${tableName(p)}`;
    const { add, kept } = reconcileColumns(table.columns, p.def, retyped);
    if (kept.length) logger.info('keeping columns not in the definition', { table: tableName(p), kept });
    return add.length ? run(id, 'add-columns', addColumnsSql(p.Database, p.def.name, add)) : run(id, 'keep');
  };

  switch (event.RequestType) {
    case 'Create':
      return ensure();
    case 'Update': {
      const old = props(event.OldResourceProperties);
      if (tableName(old) !== tableName(p)) return ensure();
      const before = new Map(old.def.columns.map((c) => [c.name, JSON.stringify(c.type)]));
      const retyped = new Set(
        p.def.columns
          .filter((c) => before.has(c.name) && before.get(c.name) !== JSON.stringify(c.type))
          .map((c) => c.name),
      );
      if (JSON.stringify(old.def.partition) !== JSON.stringify(p.def.partition)) {
        throw new Error(`${p.def.name}: the partition spec cannot change in place`);
      }
      return ensure(event.PhysicalResourceId, retyped);
    }
    case 'Delete': {
      const id = event.PhysicalResourceId;
      if (id.startsWith(ADOPTED)) return run(id, 'keep');
      const claimed = (await stackResources(event.StackId)).some(
        (r) =>
          r.type === RESOURCE_TYPE &&
          r.logicalId !== event.LogicalResourceId &&
          !r.status.startsWith('DELETE_') &&
          tableOfPhysicalId(r.physicalId) === id,
      );
      if (claimed) return run(id, 'keep');
      return run(id, 'drop', dropTableSql(p.Database, p.def.name));
    }
  }
}
