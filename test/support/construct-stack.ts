/** A bare stack for one construct's test (no asset bundling: the tests read templates). */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Stream } from 'aws-cdk-lib/aws-kinesis';
import { Bucket } from 'aws-cdk-lib/aws-s3';

export function constructStack() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Probe', { env: { account: '123456789012', region: 'eu-west-1' } });
  return {
    stack,
    stream: () => new Stream(stack, 'Stream'),
    bucket: () => new Bucket(stack, 'Bucket'),
    template: () => Template.fromStack(stack),
  };
}
