import { describe, expect, it } from 'vitest';
import {
  type IcebergType,
  IMPRESSIONS_TABLE,
  LAKE_TABLES,
  type LakeColumn,
  REJECTED_TABLE,
} from '../../lambdas/domain/lake-schema.js';

const CONTRACT_IMPRESSIONS =
  'event_id string, schema_version string, event_time timestamptz, received_at timestamptz, ' +
  'ingest_lag_ms bigint, event_date date, profile_id string, account_id string, session_id string, ' +
  'device_type string, device_os string, app_version string, country string, page string, row_index int, ' +
  'row_id string, row_type string, position int, title_id string, entity_id string, artwork_id string, ' +
  'track_id bigint, visible_percent int, visible_ms bigint, title_name string, title_type string, ' +
  'title_genres list<string>, maturity_rating string, context map<string,string>, ' +
  // Appended by the project's own impression/1-1-0 (docs/lake.md, "Schema evolution"), after the contract's.
  'device_locale string';
/** The contract's columns, then the column its revision 2026-12-02 allows (the profile id, for erasure). */
const CONTRACT_REJECTED =
  'received_at timestamptz, reason string, detail string, partition_key string, sequence_number string, raw string, profile_id string';

/** The contract's notation for a column type. */
const contractType = (t: IcebergType): string => {
  if (typeof t === 'string') return t === 'long' ? 'bigint' : t;
  return t.type === 'list'
    ? `list<${contractType(t.element)}>`
    : `map<${contractType(t.key)},${contractType(t.value)}>`;
};
const asContract = (cols: readonly LakeColumn[]) =>
  cols.map((c) => `${c.name} ${contractType(c.type)}`).join(', ');

describe('lake schema follows the contract', () => {
  it('impressions: columns, order and types', () => {
    expect(asContract(IMPRESSIONS_TABLE.columns)).toBe(CONTRACT_IMPRESSIONS);
  });
  it('impressions_rejected: columns, order and types', () => {
    expect(asContract(REJECTED_TABLE.columns)).toBe(CONTRACT_REJECTED);
  });
  it('partitions by day of the event / arrival time', () => {
    expect(IMPRESSIONS_TABLE.partition).toMatchObject([{ sourceColumn: 'event_time', transform: 'day' }]);
    expect(REJECTED_TABLE.partition).toMatchObject([{ sourceColumn: 'received_at', transform: 'day' }]);
  });
  it('field ids are unique within each table, nested ids included', () => {
    for (const t of LAKE_TABLES) {
      const ids = t.columns.flatMap((c) =>
        typeof c.type === 'string'
          ? [c.id]
          : c.type.type === 'list'
            ? [c.id, c.type.elementId]
            : [c.id, c.type.keyId, c.type.valueId],
      );
      expect(new Set(ids).size).toBe(ids.length);
    }
  });
});
