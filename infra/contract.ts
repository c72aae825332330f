/**
 * What the deployed app promises the tools around it: stack names, stack output keys, the lake's table
 * names and the metric namespace. bin/ and infra/ build the app from these; scripts/, the tests and (through
 * scripts/lake/contract.json, generated from this file and checked by test/unit/contract.test.ts) the
 * Python lake tools read them. Renaming a construct changes none of these; renaming one of these is a
 * change of the contract, found by the compiler (TypeScript) or by that test (Python).
 *
 *   npx tsx infra/contract.ts        rewrites scripts/lake/contract.json
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LAKE_TABLES } from '../lambdas/domain/lake-schema.js';
import { METRICS_NAMESPACE } from '../lambdas/domain/metrics.js';
import { PROFILE_ID_PATTERN } from '../lambdas/domain/profile-id.js';

/** The two stacks of a stage, by role. */
export const stackNamesOf = (stage: string) =>
  ({
    stateful: `Impressions-${stage}-Stateful`,
    pipeline: `Impressions-${stage}-Pipeline`,
  }) as const;

/** The stacks of a stage, in deployment order (stateful first). */
export const stackList = (stage: string): readonly string[] => {
  const s = stackNamesOf(stage);
  return [s.stateful, s.pipeline];
};

/** Parses a stack name back into its stage and role, or undefined when `stackNamesOf` does not give it. */
export function parseStackName(name: string): { stage: string; role: 'stateful' | 'pipeline' } | undefined {
  const stage = /^Impressions-([a-z][a-z0-9-]*)-[A-Za-z]+$/.exec(name)?.[1];
  if (stage === undefined) return undefined;
  const names = stackNamesOf(stage);
  if (name === names.stateful) return { stage, role: 'stateful' };
  return name === names.pipeline ? { stage, role: 'pipeline' } : undefined;
}

/** Outputs of the stateful stack. */
export const STATEFUL_OUTPUTS = [
  'RawStreamName',
  'EnrichedStreamName',
  'HistoryTableName',
  'LakeBucketName',
  'GlueDatabaseName',
  'RejectedStreamName',
  'TitleCatalogTableName',
] as const;

/**
 * Outputs of the pipeline stack. Every key ending in FailureQueueUrl is an on-failure queue (`npm run
 * redrive`); FilterEnrichLogGroupName is where `npm start` reads filter-enrich's metrics from.
 */
export const PIPELINE_OUTPUTS = [
  'HistoryApiUrl',
  'AthenaWorkGroupName',
  'AthenaErasureWorkGroupName',
  'ClientRoleArn',
  'FilterEnrichFailureQueueUrl',
  'FilterEnrichLogGroupName',
] as const;

export type OutputKey = (typeof STATEFUL_OUTPUTS)[number] | (typeof PIPELINE_OUTPUTS)[number];

/** A CfnOutput's id: only a contract key compiles. */
export const output = (key: OutputKey): OutputKey => key;

/** Every output key, once. */
export const OUTPUT_KEYS: readonly OutputKey[] = [...STATEFUL_OUTPUTS, ...PIPELINE_OUTPUTS];

/** The stage's outputs, read from CloudFormation (unknown extra keys are kept). */
export type StackOutputs = Record<OutputKey, string> & Record<string, string>;

/** The Iceberg tables of the lake (from the table definitions in lambdas/domain/lake-schema.ts). */
export const LAKE_TABLE_NAMES = LAKE_TABLES.map((t) => t.name);

/**
 * The functions' custom metrics: their CloudWatch namespace (EMF) and names, defined in the domain because
 * the handlers that emit them must not import infra.
 */
export {
  MAX_REJECTED_PAIRS_PER_BATCH,
  METRIC,
  METRICS_NAMESPACE,
  type MetricName,
  QUALITY_METRIC,
  rejectReasonMetric,
} from '../lambdas/domain/metrics.js';

/** The part of the contract the Python tools read (scripts/lake/contract.json). */
export const pythonContract = () => ({
  comment:
    'Generated from infra/contract.ts by `npx tsx infra/contract.ts`; checked by test/unit/contract.test.ts.',
  lakeTables: LAKE_TABLE_NAMES,
  metricsNamespace: METRICS_NAMESPACE,
  outputKeys: OUTPUT_KEYS,
  // The erase tool checks the ids it is given with the contract's own rule (lambdas/domain/profile-id.ts).
  profileIdPattern: PROFILE_ID_PATTERN,
});

export const PYTHON_CONTRACT_FILE = path.join(import.meta.dirname, '..', 'scripts', 'lake', 'contract.json');

export const pythonContractText = () => `${JSON.stringify(pythonContract(), null, 2)}\n`;

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename)
  writeFileSync(PYTHON_CONTRACT_FILE, pythonContractText());
