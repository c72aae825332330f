/**
 * The Athena named queries the app ships (Trino SQL, Athena engine v3). `?` marks an execution parameter
 * (Athena `ExecutionParameters`), in the order given by `parameters`. Athena takes `?` parameters only in
 * SELECT, INSERT INTO, CTAS and UNLOAD (Athena user guide, "Use parameterized queries"), so every query here
 * is a SELECT; erasure is a tool (`npm run erase`), not a named query.
 *
 * Time filters are ranges on the partition source (`event_time` for `impressions`, `received_at` for
 * `impressions_rejected`), so that the hidden partitions `day(event_time)` / `day(received_at)` prune the
 * scan: Iceberg projects a predicate on a source column onto its partition transform, while a predicate on
 * another column (such as `event_date`) cannot prune partitions. A day `D` given as a parameter covers
 * `[D 00:00 UTC, D+1 00:00 UTC)`.
 *
 * One source for Athena and the local lake: the SQL keeps to what Trino and DuckDB share (CAST rather than
 * date(), split_part, window functions, INTERVAL arithmetic), so it runs unchanged on both.
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

/** Start of the UTC day given by a `?` date parameter, as a timestamptz literal both engines fold. */
const dayStart = 'CAST(CAST(? AS date) AS timestamp with time zone)';
/** `column` within the days [first ?, last ?] (two parameters), as a range that prunes day partitions. */
export const dayRange = (column: string) =>
  `${column} >= ${dayStart} AND ${column} < ${dayStart} + INTERVAL '1' DAY`;

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
  WHERE ${dayRange('event_time')}
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
  WHERE ${dayRange('event_time')}
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
    description: 'Impressions by page, row and position over a range of days (placement heat map)',
    parameters: ['first day (date)', 'last day (date)'],
    sql: `SELECT page, row_index, position, count(DISTINCT event_id) AS impressions
FROM impressions
WHERE ${dayRange('event_time')}
GROUP BY page, row_index, position
ORDER BY page, row_index, position`,
  },
  {
    id: 'RejectionRateByReason',
    name: 'rejection-rate-by-reason',
    description:
      'Rejected records per day of arrival and reason, with the share of all records received that day',
    parameters: ['first day (date)', 'last day (date)', 'first day (date)', 'last day (date)'],
    // An accepted impression's event_time lies within [received_at - 7 days, received_at + 5 minutes] (the
    // event contract's time.too-late and time.future rules), so every impression received in the range is
    // read from the event_time partitions of [first - 7 days, last + 1 day + 5 minutes) only.
    sql: `WITH rejected AS (
  SELECT CAST(received_at AS date) AS day, split_part(reason, ':', 1) AS reason, count(*) AS records
  FROM impressions_rejected
  WHERE ${dayRange('received_at')}
  GROUP BY 1, 2
), accepted AS (
  SELECT CAST(received_at AS date) AS day, count(DISTINCT event_id) AS records
  FROM impressions
  WHERE event_time >= ${dayStart} - INTERVAL '7' DAY
    AND event_time < ${dayStart} + INTERVAL '1' DAY + INTERVAL '5' MINUTE
  GROUP BY 1
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
];
