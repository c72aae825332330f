/**
 * Custom resource (CDK provider framework) that creates an Iceberg table with Athena DDL, adds the columns
 * a later schema appends, and drops the table when the resource is deleted. It only starts the statement;
 * `is-complete.ts` waits for it. SQL comes from `lambdas/domain/lake-ddl.ts`.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { startStatement } from '../adapters/athena-ddl.js';
import { addColumnsSql, addedColumns, createTableSql, dropTableSql } from '../domain/lake-ddl.js';
import type { LakeTableDefinition } from '../domain/lake-schema.js';

export interface IcebergTableProperties {
  readonly ServiceToken: string;
  readonly WorkGroup: string;
  readonly Database: string;
  readonly Location: string;
  /** JSON of the table's `LakeTableDefinition`. */
  readonly Definition: string;
}

export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data: { readonly QueryExecutionId?: string; readonly Statement: string };
}

const props = (p: unknown): IcebergTableProperties & { def: LakeTableDefinition } => {
  const r = p as IcebergTableProperties;
  return { ...r, def: JSON.parse(r.Definition) as LakeTableDefinition };
};
const physicalId = (p: { Database: string; def: LakeTableDefinition }) => `${p.Database}.${p.def.name}`;

export async function handler(event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> {
  const p = props(event.ResourceProperties);
  const run = async (id: string, statement: string, sql?: string): Promise<OnEventResponse> => ({
    PhysicalResourceId: id,
    Data: {
      Statement: statement,
      ...(sql ? { QueryExecutionId: await startStatement(sql, p.WorkGroup, p.Database) } : {}),
    },
  });
  const create = () => run(physicalId(p), 'create', createTableSql(p.def, p.Database, p.Location));
  if (event.RequestType === 'Create') return create();
  if (event.RequestType === 'Delete') {
    return run(event.PhysicalResourceId, 'drop', dropTableSql(p.Database, p.def.name));
  }
  const old = props(event.OldResourceProperties);
  // A new name or location is a new table; CloudFormation then deletes (or, when retained, keeps) the old one.
  if (physicalId(old) !== physicalId(p) || old.Location !== p.Location) return create();
  // Throws (failing the deployment with the reason, before any statement runs) on a change other than appending.
  const added = addedColumns(old.def, p.def);
  return run(
    event.PhysicalResourceId,
    'add-columns',
    added.length ? addColumnsSql(p.Database, p.def.name, added) : undefined,
  );
}
