/**
 * `impressions rebuild-history` (`npm run rebuild-history` in this repository): rebuilds the history table from the lake for a time range (and optionally some
 * profiles) — after a lost table, a changed retention or a changed bucket layout — with the pipeline's own
 * history write path and the deployed settings (retention, caps). The logic is in ops/rebuild-core.ts.
 *
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SETTINGS } from '../infra/config.js';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, findDeployment, output } from './deployment.js';
import { deployedHistorySettings, openHistoryStore } from './history-write.js';
import {
  CliError,
  type CliSpec,
  numberOption,
  type OptionSpecs,
  OUTPUT_OPTIONS,
  parseCli,
  printSummary,
  profilesOption,
  progress,
  RANGE_OPTIONS,
  timeRange,
} from './kit.js';
import { lakeQuery, type ToolContext } from './lake-query.js';
import { rebuild } from './rebuild-core.js';

export const REBUILD_SPEC = {
  command: 'impressions rebuild-history',
  description: `Reads the impressions whose event time is in [--from, --to) from the lake (each once: same profile,
eventId and event time), day by day, and offers them to the history table through the pipeline's own
write path, with the deployed filter-enrich function's settings (retention, per-window and per-day caps,
read from the pipeline stack's template). The history write detects duplicates: impressions the table
still holds are reported as already present and not written again, so it is safe to run again or over a
partial table. Impressions older than the retention are not written (their TTL would remove them).`,
  options: {
    ...RANGE_OPTIONS,
    'retention-days': {
      type: 'string',
      arg: '<n>',
      help: 'write with this retention instead of the deployed one (e.g. before deploying a\nchanged historyRetentionDays)',
    },
    ...OUTPUT_OPTIONS,
    ...DEPLOYMENT_OPTIONS,
  },
  footer: `${DEPLOYMENT_HELP}

Examples:
  impressions rebuild-history --from 2026-11-01 --dry-run
  impressions rebuild-history --from 2026-11-01 --to 2026-11-08 --profile p-123 --profile p-456
  impressions rebuild-history --stage prod --from 2026-10-28`,
} as const satisfies CliSpec<OptionSpecs>;

export async function rebuildHistory(argv: readonly string[], ctx: ToolContext = {}): Promise<number> {
  const { values } = parseCli(REBUILD_SPEC, argv);
  const { fromMs, toMs } = timeRange(values);
  const retentionDays = numberOption(
    values['retention-days'],
    'retention-days',
    SETTINGS.historyRetentionDays.min,
    SETTINGS.historyRetentionDays.max,
  );
  const profiles = profilesOption(values.profile);

  const d = await findDeployment(values);
  let deployed: Awaited<ReturnType<typeof deployedHistorySettings>>;
  try {
    deployed = await deployedHistorySettings(
      new CloudFormationClient(d.clientConfig),
      d.pipelineStack,
      d.outputs,
    );
  } catch (e) {
    throw new CliError(`cannot read the history settings of ${d.pipelineStack}: ${(e as Error).message}`);
  }
  const settings = { ...deployed, retentionDays: retentionDays ?? deployed.retentionDays };
  const query = lakeQuery(d, ctx);
  const dryRun = Boolean(values['dry-run']);
  const store = dryRun
    ? undefined
    : openHistoryStore(
        DynamoDBDocumentClient.from(new DynamoDBClient(d.clientConfig)),
        output(d, 'HistoryTableName'),
      );
  const bar = progress('rebuilding history (days)', undefined);
  const s = await rebuild(
    query,
    store,
    { fromMs, toMs, profiles, settings, nowMs: Date.now() },
    { onDay: (done, total, stored) => bar.update(done, `${stored} stored`, total) },
  );
  bar.done();
  printSummary(
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
