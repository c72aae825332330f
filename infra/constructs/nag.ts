/**
 * cdk-nag AwsSolutions suppressions, one named function per reason. Each is called by the construct that creates
 * the resource it names, right after creating it (as AWS Solutions Constructs do), so the reason sits beside the
 * choice it explains. Every suppression is on one resource (IAM findings on the exact resource pattern the owner
 * granted); none is stack-wide. A `Resource::*` finding is accepted only after checking, at synthesis, that every
 * action granted on `*` is one IAM cannot scope: a later grant of another action on `*` is reported.
 */
import { AspectPriority, Aspects, type IAspect, Stack } from 'aws-cdk-lib';
import { Policy } from 'aws-cdk-lib/aws-iam';
import type { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Provider } from 'aws-cdk-lib/custom-resources';
import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** X-Ray's actions support no resource-level permissions (Service Authorization Reference, AWS X-Ray). */
export const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] as const;

/**
 * The CloudWatch Logs delivery actions of the Step Functions guide's logging policy ("Logging Step Functions
 * executions using CloudWatch Logs", IAM policy with "Resource": "*"), used by the provider framework's waiter.
 */
const STATE_MACHINE_LOG_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:CreateLogStream',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutLogEvents',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
] as const;

type AppliesTo = (string | { regex: string })[];

function suppress(
  construct: IConstruct,
  id: string,
  reason: string,
  appliesTo?: AppliesTo,
  applyToChildren = false,
): void {
  NagSuppressions.addResourceSuppressions(
    construct,
    [{ id, reason, ...(appliesTo ? { appliesTo } : {}) }],
    applyToChildren,
  );
}

interface Statement {
  readonly Action: string | string[];
  readonly Resource?: string | string[];
}
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Suppresses `Resource::*` on a policy below the scope only if every action it grants on `*` is in `actions`.
 * It runs as a mutating aspect, before the checks (which run at the default priority), so it judges the policy as
 * synthesized, after every grant.
 */
class StarOnlyFor implements IAspect {
  private readonly actions: ReadonlySet<string>;
  constructor(actions: readonly string[]) {
    this.actions = new Set(actions);
  }
  visit(node: IConstruct): void {
    if (!(node instanceof Policy)) return;
    const doc = Stack.of(node).resolve(node.document.toJSON()) as { Statement?: Statement[] } | undefined;
    const onStar = (doc?.Statement ?? []).filter((s) => list(s.Resource).includes('*'));
    const actions = onStar.flatMap((s) => list(s.Action));
    if (actions.length === 0 || !actions.every((a) => this.actions.has(a))) return;
    suppress(
      node,
      'AwsSolutions-IAM5',
      `"*" only for ${actions.join(', ')}, which support no resource-level permissions.`,
      ['Resource::*'],
    );
  }
}

function acceptStarOnlyFor(scope: IConstruct, actions: readonly string[]): void {
  Aspects.of(scope).add(new StarOnlyFor(actions), { priority: AspectPriority.MUTATING });
}

/** A function of the project's one runtime with the basic execution role, traced with X-Ray. */
export function nagFunction(fn: LambdaFunction): void {
  suppress(
    fn,
    'AwsSolutions-L1',
    'Node.js 22 is the runtime the project supports and tests on; upgrades are deliberate.',
  );
  if (!fn.role) return;
  suppress(
    fn.role,
    'AwsSolutions-IAM4',
    'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes, which every function needs.',
    ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
  );
  acceptStarOnlyFor(fn.role, XRAY_ACTIONS);
}

/**
 * The CDK provider framework around the table DDL: its own functions, its waiter state machine (no X-Ray option,
 * the Step Functions logging policy on `*`) and its invocation of the handlers by version or alias.
 */
export function nagProviderFramework(provider: Provider): void {
  for (const c of provider.node.findAll()) {
    if (c instanceof LambdaFunction) nagFunction(c);
    if (c instanceof CfnStateMachine) {
      suppress(
        c,
        'AwsSolutions-SF2',
        "The CDK provider framework's waiter (polls the table DDL during deployments) exposes no X-Ray option; its " +
          'executions are logged.',
      );
    }
  }
  const waiter = provider.node.tryFindChild('waiter-state-machine');
  if (waiter) acceptStarOnlyFor(waiter, [...XRAY_ACTIONS, ...STATE_MACHINE_LOG_ACTIONS]);
  suppress(
    provider,
    'AwsSolutions-IAM5',
    'The CDK provider framework invokes its handler functions by any version or alias (`<function ARN>:*`).',
    [{ regex: '/^Resource::<.+\\.Arn>:\\*$/' }],
    true,
  );
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Object actions under the given prefixes of the lake bucket, granted to `grantee` (a role, or a function with its
 * role), and nothing wider: Iceberg data and metadata keys, Firehose's error files, Athena's results and the
 * reports are not known in advance.
 */
export function nagLakePrefixes(grantee: IConstruct, prefixes: readonly string[], reason: string): void {
  suppress(
    grantee,
    'AwsSolutions-IAM5',
    `Object actions under the lake bucket's ${prefixes.join(', ')} only: ${reason}`,
    prefixes.map((p) => ({ regex: `/^Resource::.*LakeBucket.*\\/${escapeRegex(p)}\\*$/` })),
    true,
  );
}

/** The CloudWatch Logs groups of the Glue table optimizers, granted to `role`. */
export function nagGlueOptimizerLogs(role: IConstruct, logGroups: readonly string[]): void {
  suppress(
    role,
    'AwsSolutions-IAM5',
    'The CloudWatch Logs groups of the Glue table optimizers, exactly as the AWS Glue guide "Table optimization ' +
      'prerequisites" lists them (log streams are created by Glue). The partition is a token environment-agnostic and ' +
      'a literal once the account and region are concrete, as `cdk deploy` synthesizes.',
    logGroups.map((g) => ({
      regex: `/^Resource::arn:(<AWS::Partition>|aws[a-z-]*):logs:.*:log-group:${escapeRegex(g)}:\\*$/`,
    })),
    true,
  );
}

/** The history API client role: any route of the profile in its own session tag. */
export function nagClientRole(role: IConstruct): void {
  suppress(
    role,
    'AwsSolutions-IAM5',
    'The client role may invoke the history API only on the paths of the profile in its own profileId session tag; ' +
      'the wildcard is the route below that profile.',
    [{ regex: '/^Resource::.*execute-api.*PrincipalTag\\/profileId.*$/' }],
    true,
  );
}

/** The lake bucket: no server access logs. */
export function nagLakeBucket(bucket: Bucket): void {
  suppress(
    bucket,
    'AwsSolutions-S1',
    'The lake bucket is written by Firehose and the lake roles and read through Athena only; this app configures no ' +
      "server access logs (they would need a second bucket per stage). Object-level auditing is the account's " +
      'choice: CloudTrail data events for this bucket, docs/security.md "Auditing lake access".',
  );
}

/** An alarm topic: SNS-managed key not usable by CloudWatch alarms. */
export function nagAlarmTopic(topic: Topic): void {
  suppress(
    topic,
    'AwsSolutions-SNS2',
    'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key; alarm messages carry no ' +
      'impression data.',
  );
}

/** A Firehose delivery stream reading a Kinesis stream. */
export function nagStreamSourcedDelivery(delivery: CfnDeliveryStream): void {
  suppress(
    delivery,
    'AwsSolutions-KDF1',
    'Reads a KMS-encrypted Kinesis stream (KinesisStreamAsSource), for which Firehose server-side encryption is ' +
      'not configurable; data at rest is encrypted by the source stream and the bucket.',
  );
}

/** An event source mapping's on-failure queue. */
export function nagOnFailureQueue(queue: Queue): void {
  suppress(
    queue,
    'AwsSolutions-SQS3',
    'An on-failure destination itself; a queue behind it would hold nothing.',
  );
}

/** The cursor HMAC key: rotated by an operator, not on a schedule. */
export function nagCursorSecret(secret: Secret): void {
  suppress(
    secret,
    'AwsSolutions-SMG4',
    'The cursor HMAC key only authenticates pagination cursors (24 h); it is not rotated on a schedule but by an ' +
      'operator with PutSecretValue, which breaks no open cursor (AWSPREVIOUS still verifies): docs/operations.md ' +
      '"Rotating the cursor key".',
  );
}
