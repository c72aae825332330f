/**
 * The lake on AWS (the `aws` target, `npm run test:e2e:aws`; skipped on emulators, which run neither Firehose
 * nor Athena): records written by the pipeline are queryable in Athena within the buffering interval plus a
 * margin, Firehose refused none of them (nothing under the error prefix), and `npm run erase` removes a
 * profile's rows from both tables through Athena.
 */
import { randomUUID } from 'node:crypto';
import { AthenaClient } from '@aws-sdk/client-athena';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { athenaCount, eraseOnAthena } from '../../ops/erase.js';
import { ctx, eventually, harness } from './harness.js';

const c = ctx();
const h = harness(c);
const out = c.outputs;
const skip =
  c.skipReason ??
  (c.emulator
    ? 'Firehose and Athena are not emulated: this runs on the AWS target (npm run test:e2e:aws)'
    : undefined);
// The stage's buffering interval plus a margin for Firehose's commit and Athena's metadata refresh.
const LAKE_WAIT_MS = (DEFAULT_STAGE.lakeBufferSeconds + 240) * 1000;

describe.skipIf(Boolean(skip))(`lake on ${c.target}${skip ? ` (${skip})` : ''}`, () => {
  it(
    'lands records in Athena within the buffer time, refuses none of them, and erases a profile from both tables',
    async () => {
      const p = `lake-aws-${randomUUID().slice(0, 8)}`;
      const event = () => ({
        schema: 'impression/1-0-0',
        eventId: randomUUID(),
        eventTime: new Date(Date.now() - 2_000).toISOString(),
        profileId: p,
        accountId: 'acct-aws',
        sessionId: 'sess-aws',
        device: { type: 'web' },
        country: 'US',
        page: 'home',
        row: { index: 1, id: 'r1' },
        position: 2,
        titleId: 'title-0001',
        artworkId: 'art-1',
        visibility: { percent: 100, durationMs: 2000 },
      });
      await h.put(out.RawStreamName, [
        ...[event(), event(), event()].map((e) => ({ partitionKey: p, data: JSON.stringify(e) })),
        { partitionKey: p, data: '{not json' },
      ]);
      const athena = {
        athena: new AthenaClient({ region: c.region }),
        workGroup: out.AthenaWorkGroupName,
        database: out.GlueDatabaseName,
      };
      const count = (table: string, column: string) =>
        athenaCount(athena, `SELECT count(*) AS n FROM ${table} WHERE ${column} = '${p}'`);
      await eventually(
        async () => [
          await count('impressions', 'profile_id'),
          await count('impressions_rejected', 'partition_key'),
        ],
        ([rows, rejected]) => rows! >= 3 && rejected! >= 1,
        { what: 'the rows in Athena', timeoutMs: LAKE_WAIT_MS, intervalMs: 20_000 },
      );

      const s3 = new S3Client({ region: c.region });
      const errors = await s3.send(
        new ListObjectsV2Command({ Bucket: out.LakeBucketName, Prefix: 'delivery-errors/', MaxKeys: 10 }),
      );
      expect(errors.Contents?.map((o) => o.Key) ?? [], 'records Firehose refused').toEqual([]);

      const del = await h.api('DELETE', `/v1/profiles/${p}/impressions`);
      expect(del.status, del.text).toBe(202);
      const erased = await eraseOnAthena(athena, p);
      expect(erased.tables).toEqual({
        impressions: { matched: 3, removed: 3, remaining: 0 },
        impressions_rejected: { matched: 1, removed: 1, remaining: 0 },
      });
    },
    LAKE_WAIT_MS + 600_000,
  );
});
