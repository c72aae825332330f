/**
 * How the lake's catalogs spell the column types of the table definitions (lambdas/domain/lake-schema.ts):
 * Iceberg's JSON types and Hive/Glue type names. Shared by the Athena DDL (`lake-ddl.ts`, run by the
 * custom resource) and infra's Glue tables (`infra/constructs/lake-storage.ts`).
 */
import type { IcebergPrimitive, IcebergType } from '../domain/lake-schema.js';

/** The Iceberg JSON type of a column, as the Iceberg table spec writes it. */
export function icebergTypeJson(type: IcebergType): string | Record<string, unknown> {
  if (typeof type === 'string') return type;
  if (type.type === 'list') {
    return { type: 'list', 'element-id': type.elementId, element: type.element, 'element-required': false };
  }
  return {
    type: 'map',
    'key-id': type.keyId,
    key: type.key,
    'value-id': type.valueId,
    value: type.value,
    'value-required': false,
  };
}

const HIVE_PRIMITIVE: Record<IcebergPrimitive, string> = {
  string: 'string',
  int: 'int',
  long: 'bigint',
  date: 'date',
  timestamptz: 'timestamp',
  boolean: 'boolean',
};

/** The Hive/Glue type name of a column (what Athena shows). */
export function hiveType(type: IcebergType): string {
  if (typeof type === 'string') return HIVE_PRIMITIVE[type];
  if (type.type === 'list') return `array<${HIVE_PRIMITIVE[type.element]}>`;
  return `map<${HIVE_PRIMITIVE[type.key]},${HIVE_PRIMITIVE[type.value]}>`;
}
