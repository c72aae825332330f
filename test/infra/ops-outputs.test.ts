/** The stack outputs the operations tools find the on-failure queues by (`npm run redrive`). */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';

describe('on-failure queue outputs', () => {
  it('name the queue of every Kinesis event-source mapping, with an output key ending in FailureQueueUrl', () => {
    const stacks = buildApp(new App(), resolveStage('test', {}), {
      account: '123456789012',
      region: 'eu-west-1',
    });
    const t = Template.fromStack(stacks.pipeline);
    const mappings = Object.values(t.findResources('AWS::Lambda::EventSourceMapping'));
    const destinations = mappings.map(
      (m) =>
        (m.Properties.DestinationConfig.OnFailure.Destination as { 'Fn::GetAtt': [string, string] })[
          'Fn::GetAtt'
        ][0],
    );
    const outputs = Object.entries(t.findOutputs('*')).filter(([k]) => k.endsWith('FailureQueueUrl'));
    // Each output is the URL (Ref) of a queue that is a mapping's on-failure destination, one per mapping.
    const queues = outputs.map(([, o]) => (o.Value as { Ref: string }).Ref);
    expect(new Set(queues)).toEqual(new Set(destinations));
    expect(queues).toHaveLength(mappings.length);
  });
});
