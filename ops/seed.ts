/**
 * The sample title catalog and its loader: `impressions seed [--count N]` (`npm run seed` here) writes it into
 * the deployment's title catalog table (the stack output TitleCatalogTableName).
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll } from '../lambdas/adapters/dynamo-batch.js';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, findDeployment, output } from './deployment.js';
import { type CliSpec, numberOption, type OptionSpecs, parseCli } from './kit.js';

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

export const SEED_SPEC = {
  command: 'impressions seed',
  description:
    "Loads the sample title catalog into a deployment's title catalog table (the stack output\n" +
    'TitleCatalogTableName; `npm start` seeds the local one already).',
  options: {
    count: { type: 'string', arg: '<n>', help: 'titles to write (default 1000)' },
    ...DEPLOYMENT_OPTIONS,
  },
  footer: DEPLOYMENT_HELP,
} as const satisfies CliSpec<OptionSpecs>;

/** `impressions seed`: see SEED_SPEC. */
export async function seed(argv: readonly string[]): Promise<number> {
  const { values } = parseCli(SEED_SPEC, argv);
  const count = numberOption(values.count, 'count', 1, 100_000) ?? 1000;
  const d = await findDeployment(values);
  const table = output(d, 'TitleCatalogTableName');
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(d.clientConfig));
  process.stdout.write(
    `seeded ${await seedCatalog(doc, table, sampleCatalog(count))} titles into ${table} (${d.label})\n`,
  );
  return 0;
}
