/**
 * `npm run cost -- --events-per-sec 1500000 --event-bytes 1200 [...]`: monthly cost and cost per billion
 * impressions per component, and the sizing, from the benchmarks' measured per-event figures
 * (bench/results/latest.json when present, else the documented defaults) and the dated price table.
 */

import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CliError, isEntryPoint, numberOption, parseCli, runCli } from './cli.js';
import { type CostInputs, costModel, DEFAULT_INPUTS, PRICES, PRICES_DATE } from './cost-model.js';

const COST_CLI = {
  command: 'npm run cost --',
  description:
    'Monthly cost and cost per billion impressions per component, and the sizing, from the measured\n' +
    'per-event figures (bench/results/latest.json when present, else the documented defaults) and the\n' +
    'dated price table.',
  options: {
    'events-per-sec': {
      type: 'string',
      arg: '<n>',
      help: 'sustained impressions per second (default 1500000)',
    },
    'event-bytes': { type: 'string', arg: '<n>', help: 'raw event size (default: measured, else 1200)' },
    'accepted-share': { type: 'string', arg: '<f>', help: 'share of records enriched (default 0.85)' },
    aggregate: {
      type: 'boolean',
      help: 'producers aggregate the raw stream with the KPL too (records per Kinesis record measured)',
    },
    'plain-enriched': {
      type: 'boolean',
      help: 'the stage writes the enriched stream unaggregated (aggregateEnriched=false)',
    },
    kinesis: { type: 'string', arg: '<mode>', help: 'provisioned | on-demand (default provisioned)' },
    dynamodb: { type: 'string', arg: '<mode>', help: 'provisioned | on-demand (default provisioned)' },
    'retention-days': { type: 'string', arg: '<n>', help: 'history retention (default 30)' },
    'athena-tb': { type: 'string', arg: '<n>', help: 'TB scanned by Athena per month (default 50)' },
    prices: { type: 'boolean', help: 'print the price table with its sources' },
  },
} as const;

interface Latest {
  readonly enrich?: { enrichEventsPerSec: { median: number } };
  readonly wcu?: { design: { wcuPerImpression: number } };
  readonly streams?: {
    rawBytesAvg: number;
    enrichedBytesAvg: number;
    raw: { userRecordsPerAggregate: number };
    enriched: { userRecordsPerAggregate: number };
  };
  readonly lake?: { parquetBytesPerImpression: number };
  readonly date?: string;
}

function main(): number {
  const { values } = parseCli(COST_CLI, process.argv.slice(2));
  if (values.prices) {
    process.stdout.write(`Prices of ${PRICES_DATE} (us-east-1 list prices):\n`);
    for (const [k, p] of Object.entries(PRICES))
      process.stdout.write(`  ${k.padEnd(28)} $${p.usd}  ${p.source}\n`);
    return 0;
  }
  const num = (name: keyof typeof values, min: number, max: number): number | undefined =>
    numberOption(values[name] as string | undefined, name, min, max, true);
  const mode = (name: 'kinesis' | 'dynamodb'): 'provisioned' | 'on-demand' | undefined => {
    const v = values[name];
    if (v === undefined) return undefined;
    if (v !== 'provisioned' && v !== 'on-demand')
      throw new CliError(`--${name} must be provisioned or on-demand, got ${v}`, 2);
    return v;
  };

  const latestFile = path.resolve(import.meta.dirname, '..', 'bench', 'results', 'latest.json');
  const latest: Latest = existsSync(latestFile)
    ? (JSON.parse(readFileSync(latestFile, 'utf8')) as Latest)
    : {};
  let inputs: CostInputs = {
    ...DEFAULT_INPUTS,
    ...(latest.streams
      ? { eventBytes: latest.streams.rawBytesAvg, enrichedBytes: latest.streams.enrichedBytesAvg }
      : {}),
    ...(latest.wcu ? { historyWcuPerImpression: latest.wcu.design.wcuPerImpression } : {}),
    ...(latest.enrich ? { filterEnrichCpuUsPerEvent: 1e6 / latest.enrich.enrichEventsPerSec.median } : {}),
    ...(latest.lake ? { parquetBytesPerImpression: latest.lake.parquetBytesPerImpression } : {}),
    ...(latest.streams && !values['plain-enriched']
      ? { enrichedRecordsPerKinesisRecord: latest.streams.enriched.userRecordsPerAggregate }
      : {}),
    ...(values.aggregate && latest.streams
      ? { rawRecordsPerKinesisRecord: latest.streams.raw.userRecordsPerAggregate }
      : {}),
  };
  inputs = {
    ...inputs,
    eventsPerSec: num('events-per-sec', 1, 1e9) ?? inputs.eventsPerSec,
    eventBytes: num('event-bytes', 1, 1024 * 1024) ?? inputs.eventBytes,
    acceptedShare: num('accepted-share', 0, 1) ?? inputs.acceptedShare,
    retentionDays: num('retention-days', 1, 3650) ?? inputs.retentionDays,
    athenaTbPerMonth: num('athena-tb', 0, 1e6) ?? inputs.athenaTbPerMonth,
    kinesisMode: mode('kinesis') ?? inputs.kinesisMode,
    dynamoMode: mode('dynamodb') ?? inputs.dynamoMode,
  };
  if (values.aggregate && !latest.streams)
    throw new CliError('--aggregate needs measured aggregation: run npm run bench first', 2);
  const r = costModel(inputs);
  const usd = (n: number) => `$${n.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;
  process.stdout.write(
    `impressions: ${inputs.eventsPerSec.toLocaleString('en-US')}/s × ${inputs.eventBytes} B = ${(r.impressionsPerMonth / 1e9).toFixed(0)} billion a month\n` +
      `measured figures: ${latest.date ? `bench/results/latest.json of ${latest.date}` : 'none (run npm run bench); documented defaults'}; prices of ${PRICES_DATE}\n\n` +
      `${'component'.padEnd(44)}${'per month'.padStart(14)}${'per billion'.padStart(14)}  basis\n` +
      r.lines
        .map(
          (l) =>
            `${l.component.padEnd(44)}${usd(l.monthlyUsd).padStart(14)}${`$${l.perBillionUsd.toFixed(2)}`.padStart(14)}  ${l.basis}`,
        )
        .join('\n') +
      `\n${'total'.padEnd(44)}${usd(r.totalMonthlyUsd).padStart(14)}${`$${r.totalPerBillionUsd.toFixed(2)}`.padStart(14)}\n\nsizing:\n` +
      Object.entries(r.sizing)
        .map(([k, v]) => `  ${k.padEnd(28)} ${v.toLocaleString('en-US')}`)
        .join('\n') +
      '\n',
  );
  return 0;
}

if (isEntryPoint(import.meta.filename)) runCli('cost', main);
