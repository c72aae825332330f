/**
 * `npm run rebuild-history`: rebuilds the history table from the lake for a time range (and optionally some
 * profiles) — after a lost table, a changed retention or a changed bucket layout — with the pipeline's own
 * history write path and the deployed settings (retention, caps). The logic is in scripts/ops/rebuild-core.ts.
 *
 *   npm run rebuild-history -- --from 2026-11-01 --dry-run
 *   npm run rebuild-history -- --from 2026-11-01 --to 2026-11-08 --profile p-123 --profile p-456
 *   npm run rebuild-history -- --stack Impressions-prod-Pipeline --from 2026-10-28
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SETTINGS } from '../infra/config.js';
import * as cli from './ops/cli.js';
import { deployedHistorySettings, openHistoryStore } from './ops/history-write.js';
import { lakeQuery } from './ops/lake-query.js';
import { rebuild } from './ops/rebuild-core.js';

const HELP = `npm run rebuild-history -- --from TIME [--to TIME] [--profile ID ...] [--retention-days N] [--dry-run] [--stack NAME]

Reads the impressions whose event time is in [--from, --to) from the lake (each once: same profile,
eventId and event time), day by day, and offers them to the history table through the pipeline's own
write path, with the deployed filter-enrich function's settings (retention, per-window and per-day caps,
read from the pipeline stack's template). The history write detects duplicates: impressions the table
still holds are reported as already present and not written again, so it is safe to run again or over a
partial table. Impressions older than the retention are not written (their TTL would remove them).
  --from TIME           event times from this time (RFC 3339, or a date meaning its UTC midnight); required
  --to TIME             ... up to this time, exclusive (default: now)
  --profile ID          only these profiles; repeatable
  --retention-days N    write with this retention instead of the deployed one (e.g. before deploying a
                        changed historyRetentionDays)
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
  const retentionDays = cli.intOption(
    values['retention-days'],
    'retention-days',
    SETTINGS.historyRetentionDays.min,
    SETTINGS.historyRetentionDays.max,
  );
  const profiles = cli.profilesOption(values);

  const d = await cli.findDeployment(values);
  let deployed: Awaited<ReturnType<typeof deployedHistorySettings>>;
  try {
    deployed = await deployedHistorySettings(new CloudFormationClient(d.clientConfig), d.pipelineStack);
  } catch (e) {
    throw new cli.OpsError(`cannot read the history settings of ${d.pipelineStack}: ${(e as Error).message}`);
  }
  const settings = { ...deployed, retentionDays: retentionDays ?? deployed.retentionDays };
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
    { fromMs, toMs, profiles, settings, nowMs: Date.now() },
    { onDay: (done, total, stored) => bar.update(done, `${stored} stored`, total) },
  );
  bar.done();
  cli.printSummary(
    `${dryRun ? 'dry run: ' : ''}rebuild-history ${new Date(fromMs).toISOString()} … ${new Date(toMs).toISOString()} (${d.label}; retention ${settings.retentionDays} d, caps ${settings.limits.perWindow} per 10 s, ${settings.limits.perDay} per day)`,
    {
      'days read': s.days,
      'lake rows (copies included)': s.lakeRows,
      'impressions (distinct)': s.impressions,
      [dryRun ? 'would be offered to the history' : 'offered to the history']: s.offered,
      ...(dryRun
        ? {}
        : {
            '  stored': s.stored,
            '  already present': s.alreadyPresent,
            '  refused by the caps': s.refusedByCaps,
            '  could not be written': s.failed,
          }),
      'event time outside the range': s.outsideRange,
      'older than the retention (not written)': s.pastRetention,
      'rows not usable (bad id or time)': s.unusable,
      profiles: s.profiles,
    },
    Boolean(values.json),
    { dryRun, settings, ...s },
  );
  if (!values.json) for (const p of s.problems) process.stdout.write(`  ! ${p}\n`);
  return s.failed ? 1 : 0;
}

if (cli.isMain(import.meta.filename)) cli.runMain(() => main(process.argv.slice(2)));
