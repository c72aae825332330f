/**
 * What the history table itself declares of the store's item layout: its key attributes with their types,
 * and the TTL attribute. The stack that creates the table (`infra/stateful-stack.ts`) and the item codec
 * (`item-codec.ts`, `ATTR`) both read it, so the table's key schema is the one every item is written with.
 * It imports nothing: infra compiles against it without the store's SDK and domain code.
 */

/** A key attribute: its name and its DynamoDB scalar type (S string, N number, B binary). */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

/** A DynamoDB table's key schema and TTL attribute: what a table is created with. */
export interface TableSchema {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly ttlAttribute?: string;
}

export const HISTORY_TABLE_SCHEMA = {
  /** Every item of one profile shares it (`profileKey`). */
  partitionKey: { name: 'pk', type: 'S' },
  /** Tells the item's kind by its prefix, and orders a profile's items (`SORT_KEY_PREFIX`). */
  sortKey: { name: 'sk', type: 'S' },
  /** Epoch seconds; every item has one (DynamoDB deletes an item within days of it). */
  ttlAttribute: 'x',
} as const satisfies TableSchema;
