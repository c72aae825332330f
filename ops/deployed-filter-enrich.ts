/**
 * filter-enrich as the deployment runs it, in this process: its settings read by its own settings reader
 * (`filterEnrichSettings`) from the function's environment in the deployed template of the pipeline stack
 * (CloudFormation `GetTemplate`, through the names its settings module declares, `FILTER_ENRICH_ENV`), the
 * resource names the template holds as references taken from the stack outputs, and the tool's own clients
 * (its credentials). What `npm run redrive` hands the records of a failed batch to, so that they get exactly
 * the outcome the deployed function would give them on a redelivery, and where `npm run rebuild-history`
 * takes the history settings from.
 *
 * The template, not `lambda:GetFunctionConfiguration`: its `Original` stage holds exactly the values the
 * stack deployed, and the tools need neither the function's name (no stack output names it) nor another
 * permission.
 */
import { type CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FilterEnrich } from '../lambdas/filter-enrich/handler.js';
import {
  FILTER_ENRICH_ENV,
  type FilterEnrichSettings,
  type FilterEnrichSettingValues,
  filterEnrichSettings,
} from '../lambdas/filter-enrich/settings.js';
import { ONE_SHOT_ALLOWANCE } from '../lambdas/history-store/index.js';
import type { ClientConfig } from './deployment.js';

/** The settings that are resource names (references in the template), and the stack output of each. */
export const NAME_OUTPUTS = {
  enrichedStreamName: 'EnrichedStreamName',
  rejectedStreamName: 'RejectedStreamName',
  catalogTableName: 'TitleCatalogTableName',
  historyTableName: 'HistoryTableName',
} as const satisfies Partial<Record<keyof FilterEnrichSettingValues, string>>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A function resource's environment variables, when it is a function that has them. */
function functionVariables(resource: unknown): Record<string, unknown> | undefined {
  if (!isObject(resource) || resource.Type !== 'AWS::Lambda::Function') return undefined;
  const environment = isObject(resource.Properties) ? resource.Properties.Environment : undefined;
  const variables = isObject(environment) ? environment.Variables : undefined;
  return isObject(variables) ? variables : undefined;
}

/**
 * The environment variables of the one function of the template that has filter-enrich's settings (its
 * stream names: no other function of the stack writes both).
 */
function filterEnrichVariables(templateBody: string, stack: string): Record<string, unknown> {
  let template: unknown;
  try {
    template = JSON.parse(templateBody);
  } catch {
    throw new Error(`the template of ${stack} is not JSON`);
  }
  if (!isObject(template) || !isObject(template.Resources))
    throw new Error(`the template of ${stack} has no Resources`);
  const found = Object.values(template.Resources).flatMap((res) => {
    const vars = functionVariables(res);
    return vars &&
      FILTER_ENRICH_ENV.enrichedStreamName in vars &&
      FILTER_ENRICH_ENV.rejectedStreamName in vars
      ? [vars]
      : [];
  });
  if (found.length !== 1)
    throw new Error(`${stack} has ${found.length} functions with filter-enrich's settings, not 1`);
  return found[0]!;
}

/**
 * The function's environment for its settings: literal values from the template, resource names from the
 * outputs. A setting the template holds as anything but a literal (a reference, a missing variable) is
 * refused, naming it: the tool would otherwise run with settings the function does not have.
 */
export function filterEnrichEnvironmentOf(
  templateBody: string,
  outputs: Readonly<Record<string, string | undefined>>,
  stack = 'the pipeline stack',
): Record<string, string> {
  const vars = filterEnrichVariables(templateBody, stack);
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
  if (r.TemplateBody === undefined)
    throw new Error(`CloudFormation returned no template for ${pipelineStack}`);
  return filterEnrichSettings(filterEnrichEnvironmentOf(r.TemplateBody, outputs, pipelineStack));
}

/**
 * filter-enrich with the deployed settings. The handler module is loaded here, after its metrics and logs
 * are turned off for this process (they would be written to the tool's standard output; the tool reports
 * the outcomes itself).
 */
export async function deployedFilterEnrich(
  cfn: CloudFormationClient,
  pipelineStack: string,
  outputs: Readonly<Record<string, string | undefined>>,
  clientConfig: ClientConfig,
): Promise<FilterEnrich> {
  const settings = await deployedFilterEnrichSettings(cfn, pipelineStack, outputs);
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const { deployedDeps, makeFilterEnrich } = await import('../lambdas/filter-enrich/handler.js');
  // One retry layer: the adapters retry themselves (lambdas/adapters/clients.ts).
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientConfig, maxAttempts: 1 }));
  const kinesis = new KinesisClient({ ...clientConfig, maxAttempts: 1 });
  // A one-shot process: the day allowance is reserved exactly and what is not stored given back
  // (docs/history-model.md), so the tool leaves the day counters equal to what is stored.
  return makeFilterEnrich(
    deployedDeps(settings, { documents, kinesis }, { dayAllowance: ONE_SHOT_ALLOWANCE }),
  );
}
