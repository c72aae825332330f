/**
 * `npm run rebuild-history`: rebuilds the history table from the lake for a time range (and optionally some
 * profiles) — after a lost table, a changed retention or a changed bucket layout — with the pipeline's own
 * history write path. The logic is in scripts/ops/rebuild-core.ts.
 *
 *   npm run rebuild-history -- --from 2026-11-01 --dry-run
 *   npm run rebuild-history -- --from 2026-11-01 --to 2026-11-08 --profile p-123 --profile p-456
 *   npm run rebuild-history -- --stack Impressions-prod-Pipeline --from 2026-10-28 --retention-days 30
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as cli from './ops/cli.js';
import { openHistoryStore } from './ops/history-write.js';
import { lakeQuery } from './ops/lake-query.js';
import { rebuild } from './ops/rebuild-core.js';

const HELP = `npm run rebuild-history -- --from TIME [--to TIME] [--profile ID ...] [--retention-days N] [--dry-run] [--stack NAME]

Reads impressions (each eventId once) whose event time is in [--from, --to) from the lake, day by day,
and writes them to the history table through the pipeline's own history write path. Idempotent: what
is already in the table is rewritten unchanged, so it is safe to run again or over a partial table.
Impressions older than the retention are not written (their TTL would remove them at once).
  --from TIME           event times from this time (RFC 3339, or a date meaning its UTC midnight); required
  --to TIME             ... up to this time, exclusive (default: now)
  --profile ID          only these profiles; repeatable
  --retention-days N    the stage's historyRetentionDays (default 30): sets the items' TTL as the pipeline does
${cli.COMMON_HELP}`;

async function main(argv: readonly string[]): Promise<number> {
  const { values } = cli.parse(argv, {
    ...cli.COMMON_OPTIONS,
    ...cli.RANGE_OPTIONS,
    'retention-days': { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { fromMs, toMs } = cli.timeRange(values);
  const retentionDays = cli.intOption(values['retention-days'], 'retention-days', 1, 3650) ?? 30;
  const profiles = cli.profilesOption(values);

  const d = await cli.findDeployment(values);
  const query = lakeQuery(d);
  const dryRun = Boolean(values['dry-run']);
  const store = dryRun
    ? undefined
    : openHistoryStore(
        DynamoDBDocumentClient.from(new DynamoDBClient(d.clientConfig)),
        cli.output(d, 'HistoryTableName'),
      );
  const bar = cli.progress('rebuilding history (days)', undefined);
  const s = await rebuild(
    query,
    store,
    { fromMs, toMs, profiles, retentionDays, nowMs: Date.now() },
    { onDay: (done, total, written) => bar.update(done, `${written} written`, total) },
  );
  bar.done();
  cli.printSummary(
    `${dryRun ? 'dry run: ' : ''}rebuild-history ${new Date(fromMs).toISOString()} … ${new Date(toMs).toISOString()} (${d.label})`,
    {
      'days read': s.days,
      'lake rows (copies included)': s.lakeRows,
      'impressions (distinct eventIds)': s.impressions,
      [dryRun ? 'would be written' : 'written to history']: s.written,
      'event time outside the range': s.outsideRange,
      'older than the retention (not written)': s.pastRetention,
      'rows not usable (bad id or time)': s.unusable,
      'could not be written': s.failed,
      profiles: s.profiles,
    },
    Boolean(values.json),
    { dryRun, ...s },
  );
  return s.failed ? 1 : 0;
}

if (cli.isMain(import.meta.filename)) cli.runMain(() => main(process.argv.slice(2)));
