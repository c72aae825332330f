/**
 * `npm run bench`: every benchmark. A full run writes the committed figures: bench/results/latest.json (and a
 * dated copy) and BENCHMARKS.md, generated from that file and nothing else. `--quick` (no whole path on the
 * emulator) writes to .local/bench/ only, so the committed figures change only on a full run.
 * `--render` regenerates BENCHMARKS.md from bench/results/latest.json without measuring.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_STAGE } from '../infra/config.js';
import { sizeStage } from '../infra/sizing.js';
import { DESIGN_PEAK_EVENTS_PER_SECOND } from '../ops/cost-model.js';
import { CliError, type CliSpec, isEntryPoint, type OptionSpecs, parseCli, runCli } from '../ops/kit.js';
import { ensureLakeInstalled, LOCAL_DIR, ROOT } from '../scripts/emulator.js';
import { writeDefinitions } from '../scripts/lake.js';
import { type BenchResults, renderBenchmarks } from './benchmarks-md.js';
import { benchEnrich } from './enrich.js';
import { benchHistoryReads, benchHistoryWcu, historyFigures } from './history-wcu.js';
import { benchIngest } from './ingest.js';
import { benchStreamBytes } from './stream-bytes.js';
import type { WholeHandlerResult } from './whole-handler.js';
import { benchWholePath } from './whole-path.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const BENCH_SPEC = {
  command: 'npm run bench --',
  description: `Runs every benchmark: the enrich domain code and the whole filter-enrich handler against a
decode+parse+stringify baseline, history write units, Kinesis/Firehose billing units, lake bytes,
and the whole path on the local emulator. Takes several minutes; run it on a quiet machine
(the load average is recorded with the results). Without an option: a full run, which writes
bench/results/latest.json, a dated copy and BENCHMARKS.md.`,
  options: {
    quick: {
      type: 'boolean',
      help: 'skips the whole path; writes .local/bench/latest.json and .local/bench/BENCHMARKS.md\nonly (the committed figures are left alone)',
    },
    render: {
      type: 'boolean',
      help: 'regenerates BENCHMARKS.md from bench/results/latest.json, measures nothing',
    },
  },
} as const satisfies CliSpec<OptionSpecs>;

const say = (s: string) => process.stderr.write(`[bench] ${s}\n`);

const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const WHOLE_PATH_RATES = [500, 1000, 2000];
const WHOLE_PATH_SECONDS = 15;

/**
 * The whole-handler benchmark in a process of its own, as a Lambda execution environment holds only its
 * function: in this one the earlier benchmarks' tables would stay on the heap and make every collection of
 * the handler's garbage dearer.
 */
function wholeHandlerInFreshProcess(recordsPerProfile: number, batchSize: number): WholeHandlerResult {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'bench', 'whole-handler.ts'),
      '--profile',
      '--per-profile',
      String(recordsPerProfile),
      '--batch-size',
      String(batchSize),
    ],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`the whole-handler benchmark failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as WholeHandlerResult;
}

async function measure(quick: boolean) {
  const started = new Date();
  const loadBefore = os.loadavg();
  say('enrich hot path (domain code)');
  const enrich = await benchEnrich();
  say('history write units over simulated time at several client flush intervals, read units per route');
  const history = historyFigures(await benchHistoryWcu(), await benchHistoryReads());
  // The handler's batches make as many history writes as traffic over time does at the default flush: one
  // bucket update per profile (the day counters are written once per block, and the replay's
  // impressions per write counts them too), so as many records per profile as impressions per write.
  const perWrite = history.byFlushInterval.find(
    (f) => f.flushSeconds === history.defaultFlushSeconds,
  )!.impressionsPerWrite;
  const recordsPerProfile = Math.max(1, Math.round(perWrite));
  // Batches as the event source mapping cuts them for the stage sized at the design's load (infra/sizing.ts,
  // the figures the stage deploys and the cost model prices): records per lane in the batching window.
  const sized = sizeStage({ ...DEFAULT_STAGE, peakEventsPerSecond: DESIGN_PEAK_EVENTS_PER_SECOND });
  const batchSize = Math.round(sized.filterEnrichBatches.recordsPerInvocation);
  const sizedBatch = {
    peakEventsPerSecond: sized.peakEventsPerSecond,
    rawShards: sized.rawStream.shards,
    parallelizationFactor: DEFAULT_STAGE.consumer.parallelizationFactor,
    maxBatchingWindowSeconds: DEFAULT_STAGE.consumer.maxBatchingWindowSeconds,
    recordsPerInvocation: batchSize,
  };
  say(
    `whole filter-enrich handler against an instant local AWS, ${batchSize}-record batches, ${recordsPerProfile} records per profile, with a CPU profile`,
  );
  const wholeHandler = wholeHandlerInFreshProcess(recordsPerProfile, batchSize);
  say('stream billing units, plain and aggregated (and per invocation)');
  const streams = await benchStreamBytes(20_000, { batchSize, recordsPerProfile });
  say('ingest route per request (history-api handler, ingest limit, raw-stream writer)');
  const ingest = await benchIngest();
  say('lake bytes per impression');
  const python = ensureLakeInstalled();
  mkdirSync(path.join(LOCAL_DIR, 'bench'), { recursive: true });
  const jsonl = path.join(LOCAL_DIR, 'bench', 'enriched.jsonl');
  writeFileSync(jsonl, `${streams.enrichedJsonLines}\n`);
  const lakeSized = spawnSync(
    python,
    [path.join(ROOT, 'scripts', 'lake', 'size.py'), jsonl, writeDefinitions()],
    {
      encoding: 'utf8',
    },
  );
  if (lakeSized.status !== 0) throw new Error(`lake size benchmark failed: ${lakeSized.stderr}`);
  const lake = JSON.parse(lakeSized.stdout) as {
    parquetBytesPerImpression: number;
    jsonBytesPerImpression: number;
    rows: number;
  };
  if (!quick)
    say(`whole path on the emulator: ${WHOLE_PATH_RATES.join(', ')}/s for ${WHOLE_PATH_SECONDS} s each`);
  const wholePath = quick ? [] : await benchWholePath(WHOLE_PATH_RATES, WHOLE_PATH_SECONDS);
  const { enrichedJsonLines: _lines, ...streamSummary } = streams;
  return {
    date: started.toISOString(),
    kind: quick ? ('quick' as const) : ('full' as const),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      // 1-minute load average before and after: on a busy machine every ratio is noisier.
      loadAverage: { before: loadBefore[0]!, after: os.loadavg()[0]! },
    },
    enrich,
    sizedBatch,
    wholeHandler,
    history,
    streams: streamSummary,
    ingest,
    lake,
    wholePath,
    wholePathSeconds: WHOLE_PATH_SECONDS,
  };
}

/** Where a run writes: a quick run only under .local/bench/, a full run the committed files. */
export function outputFiles(
  quick: boolean,
  date: string,
): { results: string; markdown: string; copies: string[] } {
  if (quick) {
    const dir = path.join(LOCAL_DIR, 'bench');
    return { results: path.join(dir, 'latest.json'), markdown: path.join(dir, 'BENCHMARKS.md'), copies: [] };
  }
  return {
    results: path.join(RESULTS_DIR, 'latest.json'),
    markdown: path.join(ROOT, 'BENCHMARKS.md'),
    copies: [path.join(RESULTS_DIR, `${date.replace(/[:.]/g, '-')}.json`)],
  };
}

async function main(): Promise<number> {
  const { values } = parseCli(BENCH_SPEC, process.argv.slice(2));
  const latestFile = path.join(RESULTS_DIR, 'latest.json');
  if (values.render) {
    if (!existsSync(latestFile)) {
      throw new CliError('no bench/results/latest.json to render: run npm run bench first', 2);
    }
    writeFileSync(
      path.join(ROOT, 'BENCHMARKS.md'),
      renderBenchmarks(JSON.parse(readFileSync(latestFile, 'utf8')) as BenchResults),
    );
    say('BENCHMARKS.md regenerated from bench/results/latest.json');
    return 0;
  }
  const quick = values.quick === true;
  const results = await measure(quick);
  const json = JSON.stringify(results, null, 2);
  // The measurements are kept even if rendering fails: written first.
  mkdirSync(RESULTS_DIR, { recursive: true });
  if (!quick) writeFileSync(path.join(RESULTS_DIR, `${results.date.replace(/[:.]/g, '-')}.json`), json);
  const md = renderBenchmarks(results);
  let where: string;
  if (quick) {
    const dir = path.join(LOCAL_DIR, 'bench');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'latest.json'), json);
    writeFileSync(path.join(dir, 'BENCHMARKS.md'), md);
    where =
      '.local/bench/latest.json and .local/bench/BENCHMARKS.md (quick run: committed figures unchanged)';
  } else {
    writeFileSync(latestFile, json);
    writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), md);
    where = 'bench/results/latest.json and BENCHMARKS.md';
  }
  say(`written ${where} in ${((Date.now() - Date.parse(results.date)) / 1000).toFixed(0)} s`);
  process.stdout.write(
    `enrich domain ratio ${results.enrich.ratio.toFixed(2)}, whole handler ${results.wholeHandler.ratio.toFixed(2)} ` +
      `(CPU ${results.wholeHandler.cpuRatio.toFixed(2)}); load average ${results.machine.loadAverage.before.toFixed(1)} → ${results.machine.loadAverage.after.toFixed(1)}\n`,
  );
  return 0;
}

if (isEntryPoint(import.meta.filename)) runCli('bench', main);
