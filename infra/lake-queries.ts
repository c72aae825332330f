/**
 * The Athena named queries the app ships (Trino SQL, Athena engine v3). `?` marks an execution parameter
 * (Athena `ExecutionParameters`), in the order given by `parameters`.
 *
 * One source for Athena and the local lake: the SQL keeps to what Trino and DuckDB share (CAST rather than
 * date(), split_part, window functions), so it runs unchanged on both. The one translation is the erasure
 * `DELETE`, which the local query tool carries out as an Iceberg row-level delete through pyiceberg.
 */
import { IMPRESSIONS_TABLE } from '../lambdas/domain/lake-schema.js';

export interface LakeQuery {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly parameters: readonly string[];
  readonly sql: string;
}

const IMPRESSION_COLUMNS = IMPRESSIONS_TABLE.columns.map((c) => c.name).join(', ');

export const LAKE_QUERIES: readonly LakeQuery[] = [
  {
    id: 'ImpressionsDeduplicated',
    name: 'impressions-deduplicated',
    description:
      'Every impression exactly once (the first copy by arrival): at-least-once delivery can land an eventId more than once',
    parameters: ['first day (date)', 'last day (date)'],
    sql: `SELECT ${IMPRESSION_COLUMNS}
FROM (
  SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY received_at, ingest_lag_ms) AS copy
  FROM impressions
  WHERE event_date BETWEEN CAST(? AS date) AND CAST(? AS date)
)
WHERE copy = 1`,
  },
  {
    id: 'TopTitlesPerDay',
    name: 'top-titles-per-day',
    description: 'The 20 most shown titles of each day, with distinct profiles reached',
    parameters: ['first day (date)', 'last day (date)'],
    sql: `WITH once AS (
  SELECT event_date, title_id, title_name, profile_id,
         row_number() OVER (PARTITION BY event_id ORDER BY received_at) AS copy
  FROM impressions
  WHERE event_date BETWEEN CAST(? AS date) AND CAST(? AS date)
), per_title AS (
  SELECT event_date, title_id, title_name, count(*) AS impressions, count(DISTINCT profile_id) AS profiles
  FROM once WHERE copy = 1
  GROUP BY event_date, title_id, title_name
)
SELECT event_date, title_id, title_name, impressions, profiles
FROM (
  SELECT *, row_number() OVER (PARTITION BY event_date ORDER BY impressions DESC, title_id) AS rank
  FROM per_title
)
WHERE rank <= 20
ORDER BY event_date, impressions DESC, title_id`,
  },
  {
    id: 'ImpressionsByPlacement',
    name: 'impressions-by-page-row-position',
    description: 'Impressions by page, row and position for one day (placement heat map)',
    parameters: ['day (date)'],
    sql: `SELECT page, row_index, position, count(DISTINCT event_id) AS impressions
FROM impressions
WHERE event_date = CAST(? AS date)
GROUP BY page, row_index, position
ORDER BY page, row_index, position`,
  },
  {
    id: 'RejectionRateByReason',
    name: 'rejection-rate-by-reason',
    description: 'Rejected records per day and reason, with the share of all records received that day',
    parameters: [],
    sql: `WITH rejected AS (
  SELECT CAST(received_at AS date) AS day, split_part(reason, ':', 1) AS reason, count(*) AS records
  FROM impressions_rejected GROUP BY 1, 2
), accepted AS (
  SELECT CAST(received_at AS date) AS day, count(DISTINCT event_id) AS records FROM impressions GROUP BY 1
)
SELECT r.day, r.reason, r.records,
       round(100.0 * r.records / (coalesce(a.records, 0) + t.total), 3) AS percent_of_received
FROM rejected r
JOIN (SELECT day, sum(records) AS total FROM rejected GROUP BY day) t ON t.day = r.day
LEFT JOIN accepted a ON a.day = r.day
ORDER BY r.day, r.records DESC`,
  },
  {
    id: 'ProfileHistory',
    name: 'profile-history',
    description: 'One profile’s impressions, newest first, one row per eventId',
    parameters: ['profile id'],
    sql: `SELECT event_id, event_time, title_id, title_name, artwork_id, page, row_id, row_index, position, device_type
FROM (
  SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY received_at) AS copy
  FROM impressions WHERE profile_id = ?
) WHERE copy = 1
ORDER BY event_time DESC
LIMIT 1000`,
  },
  {
    id: 'EraseProfile',
    name: 'erase-profile',
    description: 'Privacy erasure of one profile from the lake (Iceberg row-level DELETE)',
    parameters: ['profile id'],
    sql: 'DELETE FROM impressions WHERE profile_id = ?',
  },
];
