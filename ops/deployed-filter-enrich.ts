/**
 * filter-enrich's handler as the deployment runs it, in this process: its settings read from the
 * function's environment in the deployed template of the pipeline stack (CloudFormation `GetTemplate`,
 * through the names its settings module declares, `FILTER_ENRICH_ENV`), the resource names the template
 * holds as references taken from the stack outputs, and the tool's own clients (its credentials). What
 * `npm run redrive` hands the records of a failed batch to, so that they get exactly the outcome the
 * deployed function would give them on a redelivery.
 */
import { type CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  FILTER_ENRICH_ENV,
  type FilterEnrichSettings,
  type FilterEnrichSettingValues,
  filterEnrichSettings,
} from '../lambdas/filter-enrich/settings.js';
import { ONE_SHOT_ALLOWANCE } from '../lambdas/history-store/index.js';
import type { ClientConfig } from './deployment.js';
import type { BatchProcessor } from './redrive-core.js';

/** The settings that are resource names (references in the template), and the stack output of each. */
export const NAME_OUTPUTS = {
  enrichedStreamName: 'EnrichedStreamName',
  rejectedStreamName: 'RejectedStreamName',
  catalogTableName: 'TitleCatalogTableName',
  historyTableName: 'HistoryTableName',
} as const satisfies Partial<Record<keyof FilterEnrichSettingValues, string>>;

/** The function's environment: literal values from the template, names from the outputs. */
export function filterEnrichEnvironmentOf(
  templateBody: string,
  outputs: Readonly<Record<string, string | undefined>>,
  stack = 'the pipeline stack',
): Record<string, string> {
  let template: { Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }> };
  try {
    template = JSON.parse(templateBody);
  } catch {
    throw new Error(`the template of ${stack} is not JSON`);
  }
  const functions = Object.values(template.Resources ?? {}).filter((res) => {
    if (res.Type !== 'AWS::Lambda::Function') return false;
    const vars = (res.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    return Boolean(
      vars && FILTER_ENRICH_ENV.enrichedStreamName in vars && FILTER_ENRICH_ENV.rejectedStreamName in vars,
    );
  });
  if (functions.length !== 1)
    throw new Error(`${stack} has ${functions.length} functions with filter-enrich's settings, not 1`);
  const vars = (functions[0]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
  const env: Record<string, string> = {};
  for (const [setting, name] of Object.entries(FILTER_ENRICH_ENV)) {
    const output = NAME_OUTPUTS[setting as keyof typeof NAME_OUTPUTS];
    const value = output ? outputs[output] : vars[name];
    if (typeof value !== 'string')
      throw new Error(
        output
          ? `the deployment has no ${output} output (for ${name})`
          : `${stack}: ${name} is ${JSON.stringify(value)} in the template, not a value`,
      );
    env[name] = value;
  }
  return env;
}

/**
 * The deployed function's settings, read by its own strict reader (`filterEnrichSettings`) from its
 * environment in the deployed template of the pipeline stack.
 */
export async function deployedFilterEnrichSettings(
  cfn: CloudFormationClient,
  pipelineStack: string,
  outputs: Readonly<Record<string, string | undefined>>,
): Promise<FilterEnrichSettings> {
  const r = await cfn.send(new GetTemplateCommand({ StackName: pipelineStack, TemplateStage: 'Original' }));
  const env = filterEnrichEnvironmentOf(r.TemplateBody ?? '', outputs, pipelineStack);
  const saved = { ...process.env };
  try {
    Object.assign(process.env, env);
    return filterEnrichSettings();
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/**
 * The handler with the deployed settings. The handler module is loaded here, after its metrics and logs
 * are turned off for this process (they would be written to the tool's standard output; the tool reports
 * the outcomes itself).
 */
export async function deployedFilterEnrich(
  cfn: CloudFormationClient,
  pipelineStack: string,
  outputs: Readonly<Record<string, string | undefined>>,
  clientConfig: ClientConfig,
): Promise<BatchProcessor> {
  const settings = await deployedFilterEnrichSettings(cfn, pipelineStack, outputs);
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const { deployedDeps, makeHandler } = await import('../lambdas/filter-enrich/handler.js');
  // One retry layer: the adapters retry themselves (lambdas/adapters/clients.ts).
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientConfig, maxAttempts: 1 }));
  const kinesis = new KinesisClient({ ...clientConfig, maxAttempts: 1 });
  // A one-shot process: the day allowance is reserved exactly and what is not stored given back
  // (docs/history-model.md), so the tool leaves the day counters equal to what is stored.
  return makeHandler(deployedDeps(settings, { documents, kinesis }, { dayAllowance: ONE_SHOT_ALLOWANCE }));
}
