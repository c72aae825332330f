/**
 * The lake's table definitions: the single source from which the Glue Iceberg tables (infra), the enriched
 * record the filter-enrich step writes, and the local lake tooling take their columns, field ids and
 * partition specs. Changing a column here changes all of them together.
 */

export type IcebergPrimitive = 'string' | 'int' | 'long' | 'date' | 'timestamptz' | 'boolean';

export type IcebergType =
  | IcebergPrimitive
  | { readonly type: 'list'; readonly elementId: number; readonly element: IcebergPrimitive }
  | {
      readonly type: 'map';
      readonly keyId: number;
      readonly key: IcebergPrimitive;
      readonly valueId: number;
      readonly value: IcebergPrimitive;
    };

export interface LakeColumn {
  /** Iceberg field id, stable forever once a table exists. */
  readonly id: number;
  readonly name: string;
  readonly type: IcebergType;
  readonly required: boolean;
  readonly doc: string;
}

export interface LakePartitionField {
  readonly sourceColumn: string;
  readonly transform: 'day';
  readonly name: string;
  /** Partition field id (Iceberg assigns these from 1000). */
  readonly fieldId: number;
}

export interface LakeTableDefinition {
  readonly name: 'impressions' | 'impressions_rejected';
  readonly columns: readonly LakeColumn[];
  readonly partition: readonly LakePartitionField[];
}

const col = (id: number, name: string, type: IcebergType, required: boolean, doc: string): LakeColumn => ({
  id,
  name,
  type,
  required,
  doc,
});

export const IMPRESSIONS_TABLE: LakeTableDefinition = {
  name: 'impressions',
  columns: [
    col(1, 'event_id', 'string', true, 'UUID of the impression; idempotency key'),
    col(2, 'schema_version', 'string', true, 'input schema, e.g. impression/1-0-0'),
    col(3, 'event_time', 'timestamptz', true, 'when the artwork became viewable (client clock)'),
    col(4, 'received_at', 'timestamptz', true, 'Kinesis arrival time of the raw record'),
    col(5, 'ingest_lag_ms', 'long', true, 'received_at - event_time in ms'),
    col(6, 'event_date', 'date', true, 'UTC date of event_time'),
    col(7, 'profile_id', 'string', true, 'member profile'),
    col(8, 'account_id', 'string', true, 'account owning the profile'),
    col(9, 'session_id', 'string', true, 'app session'),
    col(10, 'device_type', 'string', true, 'tv, mobile, tablet, web or console'),
    col(11, 'device_os', 'string', false, 'device operating system'),
    col(12, 'app_version', 'string', false, 'client app version'),
    col(13, 'country', 'string', true, 'ISO 3166-1 alpha-2'),
    col(14, 'page', 'string', true, 'page the row was on'),
    col(15, 'row_index', 'int', true, 'row position on the page'),
    col(16, 'row_id', 'string', true, 'stable row id'),
    col(17, 'row_type', 'string', false, 'row kind'),
    col(18, 'position', 'int', true, 'column within the row'),
    col(19, 'title_id', 'string', true, 'title whose artwork was shown'),
    col(20, 'entity_id', 'string', false, 'row entity, equals title_id when present'),
    col(21, 'artwork_id', 'string', true, 'artwork variant'),
    col(22, 'track_id', 'long', false, 'algorithm or experiment track'),
    col(23, 'visible_percent', 'int', true, 'share of the artwork on screen'),
    col(24, 'visible_ms', 'long', true, 'time on screen in ms'),
    col(25, 'title_name', 'string', false, 'catalog: title name'),
    col(26, 'title_type', 'string', false, 'catalog: movie or show'),
    col(27, 'title_genres', { type: 'list', elementId: 30, element: 'string' }, false, 'catalog: genres'),
    col(28, 'maturity_rating', 'string', false, 'catalog: maturity rating'),
    col(
      29,
      'context',
      { type: 'map', keyId: 31, key: 'string', valueId: 32, value: 'string' },
      false,
      'free-form client context',
    ),
    // Appended with impression/1-1-0; the next id after context's key and value (32).
    col(33, 'device_locale', 'string', false, 'BCP 47 language tag of the device (impression/1-1-0)'),
  ],
  partition: [{ sourceColumn: 'event_time', transform: 'day', name: 'event_time_day', fieldId: 1000 }],
};

export const REJECTED_TABLE: LakeTableDefinition = {
  name: 'impressions_rejected',
  columns: [
    col(1, 'received_at', 'timestamptz', true, 'Kinesis arrival time of the raw record'),
    col(2, 'reason', 'string', true, 'reason code, e.g. schema.wrong-type:row.index'),
    col(3, 'detail', 'string', false, 'human-readable detail'),
    col(4, 'partition_key', 'string', true, 'partition key of the raw record'),
    col(5, 'sequence_number', 'string', true, 'sequence number of the raw record'),
    col(
      6,
      'raw',
      'string',
      true,
      'first 16 KiB of the raw record, UTF-8 cut at a character boundary, else base64 of its first 12 KiB',
    ),
    col(7, 'profile_id', 'string', false, 'profileId of the raw record where it can be read (for erasure)'),
  ],
  partition: [{ sourceColumn: 'received_at', transform: 'day', name: 'received_at_day', fieldId: 1000 }],
};

export const LAKE_TABLES: readonly LakeTableDefinition[] = [IMPRESSIONS_TABLE, REJECTED_TABLE];
