#!/usr/bin/env node
/**
 * `impressions <tool> [options]`: the operator CLI, the `bin` of the package. One tool per operation, each with
 * its generated `--help`, one argument parser, one error type and one way to find the deployment
 * (ops/deployment.ts). In this repository `npm run <tool>` runs the same tools (scripts/impressions.ts), with
 * the local lake stand-in for a local deployment.
 */
import { COST_SPEC, cost } from './cost.js';
import { ERASE_SPEC, erase } from './erase.js';
import { CliError, helpText, isEntryPoint, runCli } from './kit.js';
import type { ToolContext } from './lake-query.js';
import { QUALITY_SPEC, quality } from './quality.js';
import { QUERY_SPEC, query } from './query.js';
import { REBUILD_SPEC, rebuildHistory } from './rebuild-history.js';
import { REDRIVE_SPEC, redrive } from './redrive.js';
import { REPROCESS_SPEC, reprocess } from './reprocess.js';
import { SEED_SPEC, seed } from './seed.js';

export interface Tool {
  /** The first line of the tool's description. */
  readonly summary: string;
  readonly help: string;
  readonly run: (argv: readonly string[], ctx: ToolContext) => Promise<number> | number;
}

const tool = (summary: string, spec: Parameters<typeof helpText>[0], run: Tool['run']): Tool => ({
  summary,
  help: helpText(spec),
  run,
});

/** Every tool, by the name it is run with. */
export const TOOLS: Readonly<Record<string, Tool>> = {
  redrive: tool(
    're-drive the batches filter-enrich gave up on (its on-failure queue)',
    REDRIVE_SPEC,
    redrive,
  ),
  reprocess: tool(
    'put rejected records back on the raw stream after a fix; report their new outcomes',
    REPROCESS_SPEC,
    reprocess,
  ),
  'rebuild-history': tool(
    'rebuild the history table from the lake for a time range',
    REBUILD_SPEC,
    rebuildHistory,
  ),
  erase: tool("erase profiles from the lake tables (after the API's erasure)", ERASE_SPEC, erase),
  seed: tool('load the sample title catalog', SEED_SPEC, seed),
  query: tool('SQL over the lake tables (Athena on AWS)', QUERY_SPEC, query),
  quality: tool('the daily data-quality report for one day, and what its rules find', QUALITY_SPEC, quality),
  cost: tool('monthly cost and cost per billion impressions, per component', COST_SPEC, cost),
};

/** The help of `impressions` itself: the tools, one line each. */
export function usage(): string {
  const width = Math.max(...Object.keys(TOOLS).map((n) => n.length)) + 2;
  return [
    'Usage: impressions <tool> [options]',
    '',
    'Operates an impressions deployment: on AWS with --stage <name> (or --stack), with your AWS credentials;',
    'without it, the local deployment of this repository (npm start -- --keep).',
    '',
    'Tools:',
    ...Object.entries(TOOLS).map(([name, t]) => `  ${name.padEnd(width)}${t.summary}`),
    '',
    "impressions <tool> --help shows a tool's options.",
    '',
  ].join('\n');
}

/** Runs `impressions <tool> …`; returns the exit code. */
export async function main(argv: readonly string[], ctx: ToolContext = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const t = TOOLS[name];
  if (!t)
    throw new CliError(
      `unknown tool ${name}; the tools: ${Object.keys(TOOLS).join(', ')} (see impressions --help)`,
      2,
    );
  return t.run(rest, ctx);
}

if (isEntryPoint(import.meta.filename))
  runCli(`impressions${process.argv[2] && TOOLS[process.argv[2]] ? ` ${process.argv[2]}` : ''}`, () =>
    main(process.argv.slice(2)),
  );
