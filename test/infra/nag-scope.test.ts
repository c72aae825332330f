/**
 * cdk-nag suppressions are scoped to the resources (and IAM findings to the actions or resources) that need
 * them: none is stack-wide, and a new wildcard is reported, not silenced by an earlier suppression.
 */
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import { NodeFunction } from '../../infra/constructs/node-function.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const app = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

describe('cdk-nag suppressions', () => {
  it('none is stack-wide', () => {
    const { stateful, pipeline } = buildApp(app(), resolveStage('scope'), ENV);
    for (const stack of [stateful, pipeline]) {
      expect(Template.fromStack(stack).toJSON().Metadata?.cdk_nag).toBeUndefined();
    }
  });

  it('"*" is accepted on a function role for X-Ray only: another action on "*" is reported', () => {
    const iam5Star = (extra: boolean) => {
      const a = app();
      const stack = new Stack(a, 'Probe', { env: ENV });
      const fn = new NodeFunction(stack, 'Fn', { entry: 'filter-enrich/handler.ts' });
      if (extra) fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
      Aspects.of(a).add(new AwsSolutionsChecks());
      return Annotations.fromStack(stack)
        .findError('*', Match.stringLikeRegexp('AwsSolutions-IAM5\\[Resource::\\*\\]'))
        .map((f) => f.id);
    };
    expect(iam5Star(false)).toEqual([]);
    expect(iam5Star(true)).toEqual([expect.stringContaining('/Fn/ServiceRole/DefaultPolicy')]);
  });
});
