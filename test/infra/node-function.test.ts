/** NodeFunction: every function's runtime, architecture, bundling, tracing and log group, defaults exercised. */
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { NodeFunction } from '../../infra/constructs/node-function.js';
import { constructStack } from '../support/construct-stack.js';

describe('NodeFunction', () => {
  it('is a NodejsFunction on Node.js 22, arm64, traced, 1024 MB and 60 s by default, with a one-month log group', () => {
    const s = constructStack();
    const fn = new NodeFunction(s.stack, 'Fn', { entry: 'filter-enrich/handler.ts' });
    expect(fn).toBeInstanceOf(NodejsFunction);
    const t = s.template();
    t.resourceCountIs('AWS::Lambda::Function', 1);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 60,
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
      Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_LOG_LEVEL: 'INFO' } },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^FnLogs') } },
    });
    t.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete', Properties: { RetentionInDays: 30 } });
  });

  it('takes memory, timeout, log retention and settings from its props', () => {
    const s = constructStack();
    new NodeFunction(s.stack, 'Fn', {
      entry: 'history-api/handler.ts',
      memorySize: 256,
      timeout: Duration.seconds(10),
      logRetention: RetentionDays.ONE_WEEK,
      environment: { X_NAME: 'x' },
    });
    const t = s.template();
    t.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 256,
      Timeout: 10,
      Environment: { Variables: Match.objectLike({ X_NAME: 'x', NODE_OPTIONS: '--enable-source-maps' }) },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it("records no traces of its own with tracing 'pass-through' (the stage's tracing lever)", () => {
    const s = constructStack();
    new NodeFunction(s.stack, 'Fn', { entry: 'filter-enrich/handler.ts', tracing: 'pass-through' });
    s.template().hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'PassThrough' } });
  });
});
