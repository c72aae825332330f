/**
 * Athena DDL for the lake's Iceberg tables, generated from the one schema in `lambdas/domain/lake-schema.ts`;
 * the custom resource (`lambdas/iceberg-table/`) runs it.
 *
 * Why Athena DDL and not `AWS::Glue::Table`: Athena's `CREATE TABLE … TBLPROPERTIES ('table_type'='ICEBERG')`
 * is the documented way to create a partitioned Iceberg table (Athena guide, "Create Iceberg tables";
 * the Firehose guide's Iceberg tutorials create their tables this way). The CloudFormation Glue shapes
 * are disputed: full `TableInput` plus `OpenTableFormatInput` rolls back ("Table metadata is expected only
 * via TableInput or via IcebergTableInputProperties inside OpenTableFormatInput", live probes in
 * go-to-k/cdkd#1408 and #1454), the `TableInput`-only shape has no partition spec, and a later update of a
 * `TableInput` table strips `table_type`/`metadata_location` (cloudformation-coverage-roadmap#1919).
 *
 * Two documented differences from the schema file, both on the safe side:
 * - Athena's Iceberg DDL creates `timestamp` (without zone) columns only ("Supported data types for Iceberg
 *   tables in Athena": "Only Iceberg timestamp (without time zone) is supported for Athena Iceberg DDL
 *   statements like CREATE TABLE"); the values are UTC instants either way.
 * - Athena's DDL has no NOT NULL, so every column is optional on AWS; required columns are enforced by the
 *   writer (filter-enrich) and checked strictly by the local delivery.
 */
import type { LakeColumn, LakeTableDefinition } from '../domain/lake-schema.js';
import { hiveType } from './catalog-types.js';

const ident = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a lake identifier: ${JSON.stringify(name)}`);
  return `\`${name}\``;
};
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** `\`db\`.\`table\`` */
export const qualifiedName = (database: string, table: string): string =>
  `${ident(database)}.${ident(table)}`;

const columnDdl = (c: LakeColumn): string => `${ident(c.name)} ${hiveType(c.type)} COMMENT ${literal(c.doc)}`;

/** Iceberg table properties set at creation (Athena guide, "Create Iceberg tables", table properties). */
export const TABLE_PROPERTIES: Readonly<Record<string, string>> = {
  table_type: 'ICEBERG',
  format: 'parquet',
  write_compression: 'zstd',
};

/**
 * `CREATE TABLE` in the syntax the Athena guide documents for Iceberg. A table kept by an earlier deployment
 * (retained data) makes it fail with "already exists"; the custom resource then adopts that table as it is.
 */
export function createTableSql(def: LakeTableDefinition, database: string, location: string): string {
  if (!location.startsWith('s3://')) throw new Error(`table location must be an s3:// URI, got ${location}`);
  // Transforms take a bare column name, as in the Athena guide's examples (`day(ts)`); names are checked first.
  const partitions = def.partition
    .map((p) => `${p.transform}(${ident(p.sourceColumn).slice(1, -1)})`)
    .join(', ');
  const props = Object.entries(TABLE_PROPERTIES)
    .map(([k, v]) => `${literal(k)}=${literal(v)}`)
    .join(', ');
  return [
    `CREATE TABLE ${qualifiedName(database, def.name)} (`,
    def.columns.map((c) => `  ${columnDdl(c)}`).join(',\n'),
    ')',
    `PARTITIONED BY (${partitions})`,
    `LOCATION ${literal(location.endsWith('/') ? location : `${location}/`)}`,
    `TBLPROPERTIES (${props})`,
  ].join('\n');
}

/** `ALTER TABLE … ADD COLUMNS` (Athena guide, "Evolve Iceberg table schema"): no data is rewritten or lost. */
export function addColumnsSql(database: string, table: string, columns: readonly LakeColumn[]): string {
  if (columns.length === 0) throw new Error('no column to add');
  return `ALTER TABLE ${qualifiedName(database, table)} ADD COLUMNS (${columns.map(columnDdl).join(', ')})`;
}

export const dropTableSql = (database: string, table: string): string =>
  `DROP TABLE IF EXISTS ${qualifiedName(database, table)}`;

/** The highest field id a definition assigns (columns and their nested element, key and value ids). */
export function lastFieldId(def: Pick<LakeTableDefinition, 'columns'>): number {
  return Math.max(
    ...def.columns.flatMap((c) =>
      typeof c.type === 'string'
        ? [c.id]
        : c.type.type === 'list'
          ? [c.id, c.type.elementId]
          : [c.id, c.type.keyId, c.type.valueId],
    ),
  );
}

/** What bringing an existing table to a definition takes: the columns to append, and the extra ones it keeps. */
export interface ColumnReconciliation {
  readonly add: readonly LakeColumn[];
  readonly kept: readonly string[];
}

const typeSpelling = (t: string) => t.toLowerCase().replace(/\s+/g, '');

/**
 * Compares the columns a table really has (the catalog's, in order) with a definition. The definition's
 * columns must start with the table's, or the table's with the definition's: the first case appends the
 * missing columns, whose field ids must continue after the table's (a forward update, or a table kept by an
 * older deployment); the second keeps the table's extra columns (CloudFormation rolling an append back
 * sends the old definition, and a rollback never removes a column that may hold data).
 *
 * `retyped` names the columns whose type the request changes (old definition against new): such a column is
 * refused when the catalog does not already have the new type. Comparing types only there keeps a rollback of
 * a refused retype (the catalog still has the type the rollback asks for) from failing, and a catalog that
 * spells a type its own way from blocking a deployment that changes no type.
 */
export function reconcileColumns(
  actual: readonly { readonly name: string; readonly type: string }[],
  def: LakeTableDefinition,
  retyped: ReadonlySet<string> = new Set(),
): ColumnReconciliation {
  const wanted = def.columns;
  const common = Math.min(actual.length, wanted.length);
  for (let i = 0; i < common; i++) {
    const [a, w] = [actual[i]!, wanted[i]!];
    if (a.name !== w.name) {
      throw new Error(
        `${def.name}: the table's column ${i + 1} is ${a.name}, the definition's is ${w.name}; only appending columns is applied in place`,
      );
    }
    if (retyped.has(w.name) && typeSpelling(a.type) !== typeSpelling(hiveType(w.type))) {
      throw new Error(
        `${def.name}: column ${w.name} is ${a.type} in the table; retyping it (to ${hiveType(w.type)}) needs a migration`,
      );
    }
  }
  if (actual.length >= wanted.length)
    return { add: [], kept: actual.slice(wanted.length).map((c) => c.name) };
  const add = wanted.slice(actual.length);
  let next = lastFieldId({ columns: wanted.slice(0, actual.length) });
  for (const c of add) {
    if (c.id !== next + 1) {
      throw new Error(`${def.name}: new column ${c.name} must take field id ${next + 1} (got ${c.id})`);
    }
    next = lastFieldId({ columns: [c] });
  }
  return { add, kept: [] };
}
