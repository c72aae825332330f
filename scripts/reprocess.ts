/**
 * `npm run reprocess`: puts rejected records back on the raw stream after a fix, and reports how many now
 * pass, by new outcome. Rows are selected from `impressions_rejected` through the lake's query layer
 * (DuckDB locally, Athena on AWS); the logic is in scripts/ops/reprocess-core.ts.
 *
 *   npm run reprocess -- --from 2026-11-26 --reason schema.unsupported-version --dry-run
 *   npm run reprocess -- --from 2026-11-26T10:00:00Z --to 2026-11-26T12:00:00Z --profile p-123
 *   npm run reprocess -- --stack Impressions-prod-Pipeline --from 2026-11-20 --reason time.future
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import * as cli from './ops/cli.js';
import { lakeQuery } from './ops/lake-query.js';
import { type Outcomes, planReprocess, putKeepingSequences, readOutcomes } from './ops/reprocess-core.js';

const HELP = `npm run reprocess -- --from TIME [--to TIME] [--reason CODE ...] [--profile ID ...] [--wait S] [--dry-run] [--stack NAME]

Puts the raw payloads of rejected rows (impressions_rejected) back on the raw stream, where they get the
outcome the pipeline gives them today, then reads the lake until every one is accounted for (or --wait
runs out) and reports them by new outcome. Rows rejected again stay rejected: a second row is written,
with the same raw payload and its new reason. A payload that several rows share is put once.
  --from TIME       rows received from this time (RFC 3339, or a date meaning its UTC midnight); required
  --to TIME         ... up to this time, exclusive (default: now)
  --reason CODE     only these reasons: exact (schema.wrong-type:row.index) or a prefix (schema.wrong-type,
                    schema, time.future); repeatable
  --profile ID      only rows of these profiles (partition key or the payload's profileId); repeatable
  --limit N         at most N records are put back (default 1000000)
  --wait S          seconds to wait for the outcomes to reach the lake (default 120; 900 with --stack:
                    Firehose buffers up to its configured interval); 0 reports right away
${cli.COMMON_HELP}`;

async function main(argv: readonly string[]): Promise<number> {
  const { values } = cli.parse(argv, {
    ...cli.COMMON_OPTIONS,
    ...cli.RANGE_OPTIONS,
    reason: { type: 'string', multiple: true },
    limit: { type: 'string' },
    wait: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { fromMs, toMs } = cli.timeRange(values);
  const limit = cli.intOption(values.limit, 'limit', 1, 10_000_000) ?? 1_000_000;
  const waitOption = cli.intOption(values.wait, 'wait', 0, 3600);
  const reasons = values.reason ?? [];
  const profiles = cli.profilesOption(values);
  for (const r of reasons)
    if (!/^[a-z][a-z0-9.-]*(:[A-Za-z0-9_.[\]-]+)?$/.test(r))
      throw new cli.OpsError(`--reason ${r} is not a reason code`, 2);

  const d = await cli.findDeployment(values);
  const wait = waitOption ?? (d.kind === 'aws' ? 900 : 120);
  const query = lakeQuery(d);
  const rawStream = cli.output(d, 'RawStreamName');

  const readBar = cli.progress('reading impressions_rejected (days)', undefined);
  const plan = await planReprocess(query, { fromMs, toMs, reasons, profiles }, (done, total) =>
    readBar.update(done, '', total),
  );
  readBar.done();
  const toPut = plan.toPut.slice(0, limit);
  const planned = {
    selected: plan.selected,
    byReason: plan.byReason,
    truncated: plan.truncated,
    samePayload: plan.samePayload,
    overLimit: Math.max(0, plan.toPut.length - limit),
  };
  const head = {
    'rows selected': plan.selected,
    'by reason': plan.byReason,
    'payload kept truncated (not put)': plan.truncated,
    'same payload as another row (put once)': plan.samePayload,
    ...(plan.toPut.length > limit ? { 'over --limit (not put)': plan.toPut.length - limit } : {}),
  };
  if (values['dry-run']) {
    cli.printSummary(
      `dry run: reprocess (${d.label})`,
      { ...head, 'would be put on the raw stream': toPut.length },
      Boolean(values.json),
      { dryRun: true, ...planned, wouldPut: toPut.length },
    );
    return 0;
  }
  const kinesis = new KinesisClient(d.clientConfig);
  const startedMs = Date.now();
  const putBar = cli.progress('putting on the raw stream', toPut.length);
  const seqs = await putKeepingSequences(
    kinesis,
    rawStream,
    toPut.map((p) => ({ partitionKey: p.row.partition_key, data: p.data })),
    undefined,
    (n) => putBar.update(n, ''),
  );
  putBar.done();
  const put = toPut.flatMap((p, i) => (seqs[i] ? [{ eventId: p.eventId, sequenceNumber: seqs[i]! }] : []));
  const notPut = toPut.length - put.length;

  // The outcomes, read back from the lake until all are there or the wait is over. Kinesis arrival times
  // come from the service's clock: allow a little skew against this machine's.
  const since = startedMs - 2_000;
  const deadline = Date.now() + wait * 1000;
  const waitBar = cli.progress('waiting for the outcomes in the lake', put.length);
  let outcomes: Outcomes = { enriched: 0, rejectedAgain: {}, notInLake: put.length };
  for (;;) {
    outcomes = put.length ? await readOutcomes(query, put, since) : outcomes;
    waitBar.update(put.length - outcomes.notInLake, '');
    if (outcomes.notInLake === 0 || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, d.kind === 'aws' ? 15_000 : 2_000));
  }
  waitBar.done();
  const rejectedAgain = Object.values(outcomes.rejectedAgain).reduce((a, b) => a + b, 0);
  cli.printSummary(
    `reprocess (${d.label})`,
    {
      ...head,
      'put on the raw stream': put.length,
      'could not be put': notPut,
      'now enriched (in impressions)': outcomes.enriched,
      'rejected again (new rows)': rejectedAgain,
      'rejected again by reason': outcomes.rejectedAgain,
      'filtered, or not in the lake yet': outcomes.notInLake,
    },
    Boolean(values.json),
    { dryRun: false, ...planned, put: put.length, notPut, ...outcomes },
  );
  if (!values.json && outcomes.notInLake)
    process.stdout.write(
      '  (filtered records are counted, not stored: filtered.duplicate means it had been accepted already)\n',
    );
  return notPut ? 1 : 0;
}

if (cli.isMain(import.meta.filename)) cli.runMain(() => main(process.argv.slice(2)));
