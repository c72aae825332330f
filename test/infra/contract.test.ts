import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import {
  LAKE_TABLE_NAMES,
  OUTPUT_KEYS,
  PIPELINE_OUTPUTS,
  PYTHON_CONTRACT_FILE,
  parseStackName,
  pythonContractText,
  STATEFUL_OUTPUTS,
  stackList,
  stackNamesOf,
} from '../../infra/contract.js';
import { LAKE_TABLES } from '../../lambdas/domain/lake-schema.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };

/** Output ids without CDK's own cross-stack exports. */
const outputIds = (t: Template) =>
  Object.keys(t.findOutputs('*')).filter((k) => !k.startsWith('ExportsOutput'));

describe('infra/contract.ts', () => {
  it('names the stacks the app builds, for any stage', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const built = buildApp(app, resolveStage('qa-2'), ENV);
    expect(built.stateful.stackName).toBe(stackNamesOf('qa-2').stateful);
    expect(built.pipeline.stackName).toBe(stackNamesOf('qa-2').pipeline);
    expect(stackList('qa-2')).toEqual([built.stateful.stackName, built.pipeline.stackName]);
    expect(parseStackName(built.pipeline.stackName)).toEqual({ stage: 'qa-2', role: 'pipeline' });
    expect(parseStackName('Other-qa-2-Pipeline')).toBeUndefined();

    // Each stack outputs exactly its contract keys: an output added or renamed in a stack fails here.
    expect(outputIds(Template.fromStack(built.stateful)).sort()).toEqual([...STATEFUL_OUTPUTS].sort());
    expect(outputIds(Template.fromStack(built.pipeline)).sort()).toEqual([...PIPELINE_OUTPUTS].sort());
    expect(new Set(OUTPUT_KEYS).size).toBe(OUTPUT_KEYS.length);
  });

  it('exports the log group npm start reads metrics from as an output, not by logical id', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const pipeline = Template.fromStack(buildApp(app, resolveStage('test'), ENV).pipeline);
    const out = pipeline.findOutputs('FilterEnrichLogGroupName');
    const ref = JSON.stringify(out.FilterEnrichLogGroupName?.Value);
    const groups = Object.keys(pipeline.findResources('AWS::Logs::LogGroup'));
    expect(groups.some((id) => ref.includes(`"${id}"`) && id.startsWith('FilterEnrich'))).toBe(true);
  });

  it('agrees with the table definitions', () => {
    expect(LAKE_TABLE_NAMES).toEqual(LAKE_TABLES.map((t) => t.name));
  });

  it('is what scripts/lake/contract.json (read by the Python tools) says: regenerate with npx tsx infra/contract.ts', () => {
    expect(readFileSync(PYTHON_CONTRACT_FILE, 'utf8')).toBe(pythonContractText());
  });
});
