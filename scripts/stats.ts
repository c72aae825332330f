/**
 * `npm run stats`: the pipeline's counts as the running `npm start -- --keep` sees them (the same snapshot
 * its live view and summary use: the functions' metrics, the lake rows its delivery committed, freshness),
 * refreshed every 2 s while the stack runs. Compare with `npm run loadgen -- --expect`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { requireSession } from '../ops/deployment.js';
import { CliError, isEntryPoint, parseCli, runCli } from '../ops/kit.js';
import { render, type Snapshot, STATS_FILE } from './live-stats.js';

const STATS_CLI = {
  command: 'npm run stats --',
  description:
    "The local pipeline's counts (records read, enriched, filtered and rejected by reason, history writes,\n" +
    'lake rows committed, freshness), as the running `npm start -- --keep` reports them.',
  options: {
    json: { type: 'boolean', help: 'print the counts as one JSON object on stdout' },
  },
  footer: 'Example: npm run -s loadgen -- --events 5000 --expect; sleep 15; npm run stats',
} as const;

function main(): number {
  const { values } = parseCli(STATS_CLI, process.argv.slice(2));
  requireSession();
  if (!existsSync(STATS_FILE))
    throw new CliError('the running npm start has not published its counts yet; try again');
  const snapshot = JSON.parse(readFileSync(STATS_FILE, 'utf8')) as Snapshot;
  const ageS = (Date.now() - statSync(STATS_FILE).mtimeMs) / 1000;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...snapshot, ageS })}\n`);
    return 0;
  }
  const lines = render(snapshot, undefined).split('\n').slice(2);
  process.stdout.write(
    `impressions, local pipeline (counts of ${ageS.toFixed(0)} s ago; "sent" counts only what npm start sent)\n\n${lines.join('\n')}\n`,
  );
  return 0;
}

if (isEntryPoint(import.meta.filename)) runCli('stats', main);
