/**
 * `impressions reprocess` (`npm run reprocess` in this repository): puts rejected records back on the raw stream after a fix, and reports how many now
 * pass, by new outcome. Rows are selected from `impressions_rejected` through the lake's query layer
 * (DuckDB locally, Athena on AWS); the logic is in ops/reprocess-core.ts.
 *
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, findDeployment, output } from './deployment.js';
import {
  CliError,
  type CliSpec,
  numberOption,
  type OptionSpecs,
  OUTPUT_OPTIONS,
  type Parsed,
  parseCli,
  printSummary,
  profilesOption,
  progress,
  RANGE_OPTIONS,
  timeRange,
} from './kit.js';
import { lakeQuery, type ToolContext } from './lake-query.js';
import { type Outcomes, planReprocess, putKeepingSequences, readOutcomes } from './reprocess-core.js';

export const REPROCESS_SPEC = {
  command: 'impressions reprocess',
  description: `Puts the raw payloads of rejected rows (impressions_rejected) back on the raw stream, where they get the
outcome the pipeline gives them today, then reads the lake until every one is accounted for (or --wait
runs out) and reports them by new outcome. Rows rejected again stay rejected: a second row is written,
with the same raw payload and its new reason. A payload that several rows share is put once.`,
  options: {
    ...RANGE_OPTIONS,
    reason: {
      type: 'string',
      arg: '<code>',
      multiple: true,
      help: 'only these reasons: exact (schema.wrong-type:row.index) or a prefix (schema.wrong-type,\nschema, time.future)',
    },
    limit: { type: 'string', arg: '<n>', help: 'at most n records are put back (default 1000000)' },
    wait: {
      type: 'string',
      arg: '<s>',
      help: 'seconds to wait for the outcomes to reach the lake (default 120; 900 on AWS:\nFirehose buffers up to its configured interval); 0 reports right away',
    },
    ...OUTPUT_OPTIONS,
    ...DEPLOYMENT_OPTIONS,
  },
  footer: `${DEPLOYMENT_HELP}

Examples:
  impressions reprocess --from 2026-11-26 --reason schema.unsupported-version --dry-run
  impressions reprocess --from 2026-11-26T10:00:00Z --to 2026-11-26T12:00:00Z --profile p-123
  impressions reprocess --stage prod --from 2026-11-20 --reason time.future`,
} as const satisfies CliSpec<OptionSpecs>;

type ReprocessValues = Parsed<typeof REPROCESS_SPEC.options>['values'];

/** The selection and bounds the options ask for; a malformed one is a usage error naming it. */
function reprocessOptions(values: ReprocessValues) {
  const { fromMs, toMs } = timeRange(values);
  const limit = numberOption(values.limit, 'limit', 1, 10_000_000) ?? 1_000_000;
  const waitOption = numberOption(values.wait, 'wait', 0, 3600);
  const reasons = values.reason ?? [];
  const profiles = profilesOption(values.profile);
  for (const r of reasons)
    if (!/^[a-z][a-z0-9.-]*(:[A-Za-z0-9_.[\]-]+)?$/.test(r))
      throw new CliError(`--reason ${r} is not a reason code`, 2);
  return { fromMs, toMs, limit, waitOption, reasons, profiles };
}

type ToPut = Awaited<ReturnType<typeof planReprocess>>['toPut'];
type Deployment = Awaited<ReturnType<typeof findDeployment>>;

/** Puts the payloads on the raw stream; answers those put, by eventId and the sequence number they got. */
async function putBack(d: Deployment, rawStream: string, toPut: ToPut) {
  const kinesis = new KinesisClient(d.clientConfig);
  const putBar = progress('putting on the raw stream', toPut.length);
  const seqs = await putKeepingSequences(
    kinesis,
    rawStream,
    toPut.map((p) => ({ partitionKey: p.row.partition_key, data: p.data })),
    undefined,
    (n) => putBar.update(n, ''),
  );
  putBar.done();
  return toPut.flatMap((p, i) => (seqs[i] ? [{ eventId: p.eventId, sequenceNumber: seqs[i]! }] : []));
}

/**
 * The outcomes, read back from the lake until all are there or the wait is over. Kinesis arrival times come
 * from the service's clock: allow a little skew against this machine's.
 */
async function awaitOutcomes(
  query: ReturnType<typeof lakeQuery>,
  put: Parameters<typeof readOutcomes>[1],
  startedMs: number,
  waitSeconds: number,
  pollMs: number,
): Promise<Outcomes> {
  const since = startedMs - 2_000;
  const deadline = Date.now() + waitSeconds * 1000;
  const waitBar = progress('waiting for the outcomes in the lake', put.length);
  let outcomes: Outcomes = { enriched: 0, rejectedAgain: {}, notInLake: put.length };
  for (;;) {
    outcomes = put.length ? await readOutcomes(query, put, since) : outcomes;
    waitBar.update(put.length - outcomes.notInLake, '');
    if (outcomes.notInLake === 0 || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  waitBar.done();
  return outcomes;
}

export async function reprocess(argv: readonly string[], ctx: ToolContext = {}): Promise<number> {
  const { values } = parseCli(REPROCESS_SPEC, argv);
  const { fromMs, toMs, limit, waitOption, reasons, profiles } = reprocessOptions(values);
  const d = await findDeployment(values);
  const wait = waitOption ?? (d.kind === 'aws' ? 900 : 120);
  const query = lakeQuery(d, ctx);
  const rawStream = output(d, 'RawStreamName');

  const readBar = progress('reading impressions_rejected (days)', undefined);
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
    printSummary(
      `dry run: reprocess (${d.label})`,
      { ...head, 'would be put on the raw stream': toPut.length },
      Boolean(values.json),
      { dryRun: true, ...planned, wouldPut: toPut.length },
    );
    return 0;
  }
  const startedMs = Date.now();
  const put = await putBack(d, rawStream, toPut);
  const notPut = toPut.length - put.length;
  const outcomes = await awaitOutcomes(query, put, startedMs, wait, d.kind === 'aws' ? 15_000 : 2_000);
  const rejectedAgain = Object.values(outcomes.rejectedAgain).reduce((a, b) => a + b, 0);
  printSummary(
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
