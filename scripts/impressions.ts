/**
 * The operator CLI (ops/main.ts) as this repository runs it: `npm run <tool>` is `impressions <tool>` with the
 * local lake stand-in (scripts/lake.ts) for a local deployment, which the installed package does not carry.
 */
import { runCli } from '../ops/kit.js';
import { main, TOOLS } from '../ops/main.js';
import { LOCAL_LAKE } from './lake.js';

const name = process.argv[2];
runCli(name && TOOLS[name] ? name : 'impressions', () =>
  main(process.argv.slice(2), { localLake: LOCAL_LAKE }),
);
