/**
 * The sample title catalog and its loader. `npm run seed -- --table <name>` (or the stack output
 * `TitleCatalogTableName` found through CloudFormation with `--stack <stateful stack>`) loads it.
 */

import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll } from '../lambdas/adapters/dynamo-batch.js';

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

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--table');
  const table = at >= 0 ? args[at + 1] : undefined;
  if (!table) {
    process.stderr.write('usage: npm run seed -- --table <TitleCatalogTableName> [--count N]\n');
    process.exitCode = 2;
    return;
  }
  const c = args.indexOf('--count');
  const count = c >= 0 ? Number(args[c + 1]) : 1000;
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  process.stdout.write(
    `seeded ${await seedCatalog(doc, table, sampleCatalog(count))} titles into ${table}\n`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
