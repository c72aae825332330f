/**
 * The sample title catalog and its loader: `npm run seed -- [--table <TitleCatalogTableName>] [--count N]`
 * (without --table, the local deployment `npm start -- --keep` is running).
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll } from '../lambdas/adapters/dynamo-batch.js';
import { CliError, isEntryPoint, numberOption, parseCli, requireSession, runCli } from './cli.js';
import { emulatorClientConfig } from './emulator.js';

export interface CatalogTitle {
  readonly titleId: string;
  readonly name: string;
  readonly type: 'movie' | 'show';
  readonly genres: readonly string[];
  readonly maturityRating: string;
}

const GENRES = [
  'drama',
  'comedy',
  'thriller',
  'documentary',
  'animation',
  'sci-fi',
  'romance',
  'crime',
  'kids',
  'horror',
];
const RATINGS = ['G', 'PG', 'PG-13', 'R', 'TV-Y', 'TV-PG', 'TV-14', 'TV-MA'];
const WORDS = [
  'Midnight',
  'River',
  'Echo',
  'Crown',
  'Signal',
  'Harbor',
  'Atlas',
  'Ember',
  'Orbit',
  'Willow',
  'Static',
  'Summit',
];

/** A deterministic sample catalog of `count` titles (`title-0001` …). */
export function sampleCatalog(count = 1000): CatalogTitle[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    return {
      titleId: `title-${String(n).padStart(4, '0')}`,
      name: `${WORDS[n % WORDS.length]} ${WORDS[(n * 7) % WORDS.length]} ${n}`,
      type: n % 3 === 0 ? 'movie' : 'show',
      genres: [GENRES[n % GENRES.length]!, GENRES[(n * 3 + 1) % GENRES.length]!].filter(
        (g, j, a) => a.indexOf(g) === j,
      ),
      maturityRating: RATINGS[n % RATINGS.length]!,
    };
  });
}

export async function seedCatalog(
  client: DynamoDBDocumentClient,
  tableName: string,
  titles = sampleCatalog(),
): Promise<number> {
  const failed = await batchWriteAll(
    client,
    tableName,
    titles.map((t) => ({ PutRequest: { Item: { ...t } } })),
  );
  if (failed.length) throw new Error(`${failed.length} catalog items could not be written`);
  return titles.length;
}

const SEED_CLI = {
  command: 'npm run seed --',
  description:
    "Loads the sample title catalog into a deployment's title catalog table (by default the local deployment\n" +
    'that `npm start -- --keep` is running; `npm start` seeds it already).',
  options: {
    table: {
      type: 'string',
      arg: '<name>',
      help: 'the TitleCatalogTableName of a deployment (AWS credentials)',
    },
    count: { type: 'string', arg: '<n>', help: 'titles to write (default 1000)' },
  },
} as const;

async function main(): Promise<number> {
  const { values } = parseCli(SEED_CLI, process.argv.slice(2));
  const count = numberOption(values.count, 'count', 1, 100_000) ?? 1000;
  let table = values.table;
  let client = new DynamoDBClient({});
  if (!table) {
    const session = requireSession();
    table = session.outputs.TitleCatalogTableName;
    if (!table) throw new CliError('the local deployment has no TitleCatalogTableName output');
    client = new DynamoDBClient(emulatorClientConfig(session.endpoint));
  }
  const doc = DynamoDBDocumentClient.from(client);
  process.stdout.write(
    `seeded ${await seedCatalog(doc, table, sampleCatalog(count))} titles into ${table}\n`,
  );
  return 0;
}

if (isEntryPoint(import.meta.filename)) runCli('seed', main);
