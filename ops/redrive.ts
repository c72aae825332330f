/**
 * `impressions redrive` (`npm run redrive` in this repository): re-drives the batches filter-enrich's event-source mapping gave up on (its on-failure
 * queue, the stack output FilterEnrichFailureQueueUrl):
 * reads each message's shard and sequence-number range, fetches exactly those records from the stream and
 * hands them to filter-enrich (the entry point its Lambda handler calls), run here with the deployment's
 * settings, as a redelivery (same sequence numbers, same arrival times), and deletes the message only once
 * none is left for retry. The logic is in ops/redrive-core.ts.
 *
 */

import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { deployedFilterEnrich } from './deployed-filter-enrich.js';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, findDeployment, output } from './deployment.js';
import {
  CliError,
  type CliSpec,
  numberOption,
  type OptionSpecs,
  OUTPUT_OPTIONS,
  parseCli,
  printSummary,
  progress,
} from './kit.js';
import { type RedriveSummary, redriveQueue } from './redrive-core.js';

export const REDRIVE_SPEC = {
  command: 'impressions redrive',
  description: `Re-drives the batches in the on-failure queue of filter-enrich's event-source mapping (the stack output
FilterEnrichFailureQueueUrl; every output ending in FailureQueueUrl is taken as one): each message's
records are read back from the raw stream (within its retention) and processed again by filter-enrich
itself (what its Lambda handler runs), by this tool with the deployed function's settings, exactly as a
redelivery: the same sequence numbers and the same arrival times, so every record gets the outcome of
its original arrival (an impression that arrived 6 days 23 hours late stays accepted). The message is
deleted once none of its records is left for retry. Nothing the failed batch stored is forgotten: an impression its own
record stored in the history before the batch failed (e.g. the enriched stream was unavailable) is
enriched again, so the lake gets what the history already counts. Running it twice counts nothing
twice (the history is unchanged; the streams get one more copy, absorbed like any redelivery).
Expired ranges, other streams and messages in another format are reported and left. --dry-run reads the
ranges and processes nothing.`,
  options: {
    queue: {
      type: 'string',
      arg: '<key|url>',
      help: 'only this queue (a stack output key, or the queue URL itself)',
    },
    'max-messages': { type: 'string', arg: '<n>', help: 'stop after n messages per queue' },
    'delete-expired': {
      type: 'boolean',
      help: `delete the messages whose range has expired, after reporting them: their records
are gone from the stream, so impressions the failed batch stored in the history
but never put on the enriched stream stay in the history and never reach the lake
(re-drive within the stream's retention to keep history and lake in step)`,
    },
    ...OUTPUT_OPTIONS,
    ...DEPLOYMENT_OPTIONS,
  },
  footer: `${DEPLOYMENT_HELP}

Examples:
  impressions redrive                      # the on-failure queue of the local deployment
  impressions redrive --dry-run            # what would be re-driven; nothing is put or deleted
  impressions redrive --stage prod --queue FilterEnrichFailureQueueUrl`,
} as const satisfies CliSpec<OptionSpecs>;

export const QUEUE_OUTPUT_SUFFIX = 'FailureQueueUrl';

export async function redrive(argv: readonly string[]): Promise<number> {
  const { values } = parseCli(REDRIVE_SPEC, argv);
  const maxMessages = numberOption(values['max-messages'], 'max-messages', 1, 1_000_000);
  const d = await findDeployment(values);
  const queues = Object.entries(d.outputs).filter(([k]) => k.endsWith(QUEUE_OUTPUT_SUFFIX));
  if (!queues.length)
    throw new CliError(
      `the deployment has no *${QUEUE_OUTPUT_SUFFIX} outputs (deployed from an older version?)`,
    );
  const chosen = values.queue
    ? queues.filter(([k, url]) => k === values.queue || url === values.queue)
    : queues;
  if (!chosen.length)
    throw new CliError(`no queue ${values.queue}; known: ${queues.map(([k]) => k).join(', ')}`, 2);
  // filter-enrich's mapping reads the raw stream: a message naming any other stream is not re-driven.
  const streams = new Set([output(d, 'RawStreamName')]);
  const sqs = new SQSClient(d.clientConfig);
  const kinesis = new KinesisClient(d.clientConfig);
  const filterEnrich = await deployedFilterEnrich(
    new CloudFormationClient(d.clientConfig),
    d.pipelineStack,
    d.outputs,
    d.clientConfig,
  );
  const summaries: (RedriveSummary & { queue: string })[] = [];
  for (const [key, url] of chosen) {
    const bar = progress(`${key}`, undefined);
    const s = await redriveQueue({
      sqs,
      kinesis,
      queueUrl: url,
      streams,
      dryRun: Boolean(values['dry-run']),
      maxMessages,
      deleteExpired: Boolean(values['delete-expired']),
      process: filterEnrich,
      onProgress: (done, total) => bar.update(done, '', total),
    });
    bar.done();
    summaries.push({ ...s, queue: key });
  }
  report(summaries, Boolean(values['dry-run']), Boolean(values.json), d.label);
  const bad = summaries.some(
    (s) =>
      s.outcomes.expired + s.outcomes.unreadable + s.outcomes['process-failed'] + s.outcomes['other-stream'] >
      0,
  );
  return bad ? 1 : 0;
}

function report(
  summaries: readonly (RedriveSummary & { queue: string })[],
  dryRun: boolean,
  json: boolean,
  label: string,
) {
  if (json) {
    process.stdout.write(`${JSON.stringify({ dryRun, queues: summaries }, null, 2)}\n`);
    return;
  }
  for (const s of summaries) {
    const o = s.outcomes;
    printSummary(
      `${dryRun ? 'dry run: ' : ''}${s.queue} (${label})`,
      {
        'messages read': s.messages,
        ...(dryRun
          ? { 'would be re-driven': o['would-redrive'] }
          : { 're-driven (deleted)': o.redriven, 'records processed, delete failed': o['delete-failed'] }),
        'range expired (left)': o.expired,
        ...(o['expired-deleted'] ? { 'range expired (deleted)': o['expired-deleted'] } : {}),
        'not an on-failure record (left)': o.unreadable,
        'another stream (left)': o['other-stream'],
        'records left for retry (left)': o['process-failed'],
        'records fetched': s.recordsFetched,
        ...(dryRun
          ? {}
          : { 'records processed': s.recordsProcessed, 'records left for retry': s.recordsFailed }),
        ...(s.sizeMismatches ? { 'ranges not of their batchSize': s.sizeMismatches } : {}),
      },
      false,
    );
    for (const p of s.problems.slice(0, 20)) process.stdout.write(`  ! ${p}\n`);
    if (s.problems.length > 20) process.stdout.write(`  ! … ${s.problems.length - 20} more\n`);
  }
}
