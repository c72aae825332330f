/**
 * cdk-nag AwsSolutions suppressions, each with its reason, each on the resource (and, for IAM findings, the
 * action or resource pattern) that needs it. Kept in one place so a review sees them all. Wildcard findings
 * are suppressed only after checking what the wildcard grants: a `Resource::*` statement is accepted only for
 * actions IAM cannot scope (X-Ray), so any other `*` that appears later is reported, not silenced.
 */
import { Stack } from 'aws-cdk-lib';
import { Policy } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * Actions granted on "*" where AWS documents no narrower resource: X-Ray's (Service Authorization Reference,
 * AWS X-Ray), and the CloudWatch Logs delivery actions of the Step Functions guide's logging policy ("Logging
 * Step Functions executions using CloudWatch Logs", IAM policy with "Resource": "*"), used by the provider
 * framework's waiter.
 */
const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
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
];

interface Statement {
  readonly Action: string | string[];
  readonly Resource?: unknown;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function suppress(
  construct: IConstruct,
  id: string,
  reason: string,
  appliesTo?: (string | { regex: string })[],
) {
  NagSuppressions.addResourceSuppressions(construct, [{ id, reason, ...(appliesTo ? { appliesTo } : {}) }]);
}

/** IAM5 suppressions of one policy, derived from what its wildcard statements grant. */
function suppressPolicyWildcards(policy: Policy): void {
  const statements = (Stack.of(policy).resolve(policy.document.toJSON()) as { Statement?: Statement[] })
    ?.Statement;
  const text = (s: Statement) => JSON.stringify(s.Resource);
  const star = (statements ?? []).filter((s) => list(s.Resource as string | string[]).includes('*'));
  const starActions = star.flatMap((s) => list(s.Action));
  const unscopable = new Set([
    ...XRAY_ACTIONS,
    ...(policy.node.path.includes('/waiter-state-machine/') ? STATE_MACHINE_LOG_ACTIONS : []),
  ]);
  if (starActions.length > 0 && starActions.every((a) => unscopable.has(a))) {
    suppress(
      policy,
      'AwsSolutions-IAM5',
      `"*" only for ${starActions.join(', ')}, which support no resource-level permissions.`,
      ['Resource::*'],
    );
  }
  const all = statements ?? [];
  if (all.some((s) => /(warehouse|delivery-errors|athena-ddl-results)\//.test(text(s)))) {
    suppress(
      policy,
      'AwsSolutions-IAM5',
      "Object actions under one table's own prefixes of the lake bucket (its location, its error prefix, the DDL " +
        'results); Iceberg data and metadata keys are not known in advance.',
      [
        {
          regex: '/^Resource::.*LakeBucket.*\\/warehouse\\/impressions(_rejected)?\\.iceberg\\/\\*$/',
        },
        { regex: '/^Resource::.*LakeBucket.*\\/delivery-errors\\/impressions(_rejected)?\\/\\*$/' },
        { regex: '/^Resource::.*LakeBucket.*\\/athena-ddl-results\\/\\*$/' },
      ],
    );
  }
  if (all.some((s) => /quality-reports\//.test(text(s)))) {
    suppress(
      policy,
      'AwsSolutions-IAM5',
      "The quality report's own folders of the lake bucket: the reports it unloads (one folder per run, named by " +
        'the scheduler at run time) and the workgroup results Athena writes with its credentials.',
      [
        { regex: '/^Resource::.*LakeBucket.*\\/quality-reports\\/\\*$/' },
        { regex: '/^Resource::.*LakeBucket.*\\/athena-results\\/\\*$/' },
      ],
    );
  }
  if (all.some((s) => /\/aws-glue\/iceberg-/.test(text(s)))) {
    suppress(
      policy,
      'AwsSolutions-IAM5',
      'The CloudWatch Logs groups of the Glue table optimizers, exactly as the AWS Glue guide "Table optimization ' +
        'prerequisites" lists them (log streams are created by Glue). The partition is a token environment-agnostic and ' +
        'a literal once the account and region are concrete, as `cdk deploy` synthesizes.',
      [
        {
          regex:
            '/^Resource::arn:(<AWS::Partition>|aws[a-z-]*):logs:.*:log-group:\\/aws-glue\\/iceberg-(compaction|retention|orphan-file-deletion)\\/logs:\\*$/',
        },
      ],
    );
  }
  if (all.some((s) => list(s.Action).includes('lambda:InvokeFunction') && /:\*"/.test(text(s)))) {
    suppress(
      policy,
      'AwsSolutions-IAM5',
      'The CDK provider framework invokes its handler functions by any version or alias (`<function ARN>:*`).',
      [{ regex: '/^Resource::<.+\\.Arn>:\\*$/' }],
    );
  }
  if (all.some((s) => /PrincipalTag\/profileId/.test(text(s)))) {
    suppress(
      policy,
      'AwsSolutions-IAM5',
      'The client role may invoke the history API for any HTTP method, but only on the paths of the profile in its ' +
        'own profileId session tag; the wildcard is the method and the route below that profile.',
      [{ regex: '/^Resource::.*execute-api.*PrincipalTag\\/profileId.*$/' }],
    );
  }
}

function suppressConstruct(c: IConstruct): void {
  if (c instanceof LambdaFunction) {
    if (c.runtime === Runtime.NODEJS_22_X) {
      suppress(
        c,
        'AwsSolutions-L1',
        'Node.js 22 is the runtime the project supports and tests on; upgrades are deliberate.',
      );
    }
    if (c.role) {
      suppress(
        c.role,
        'AwsSolutions-IAM4',
        'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes, which every function needs.',
        ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      );
    }
  } else if (c instanceof Policy) {
    suppressPolicyWildcards(c);
  } else if (c instanceof CfnDeliveryStream && c.deliveryStreamType === 'KinesisStreamAsSource') {
    suppress(
      c,
      'AwsSolutions-KDF1',
      'Reads a KMS-encrypted Kinesis stream (KinesisStreamAsSource), for which Firehose server-side encryption is ' +
        'not configurable; data at rest is encrypted by the source stream and the bucket.',
    );
  } else if (c instanceof Queue && c.node.id === 'OnFailure') {
    suppress(
      c,
      'AwsSolutions-SQS3',
      'An on-failure destination itself; a queue behind it would hold nothing.',
    );
  } else if (c instanceof Topic && c.node.id === 'AlarmTopic') {
    suppress(
      c,
      'AwsSolutions-SNS2',
      'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key; alarm messages carry no ' +
        'impression data.',
    );
  } else if (c instanceof CfnStateMachine && c.node.path.includes('/DdlProvider/')) {
    suppress(
      c,
      'AwsSolutions-SF2',
      "The CDK provider framework's waiter (polls the table DDL during deployments) exposes no X-Ray option; its " +
        'executions are logged.',
    );
  } else if (c instanceof Bucket && c.node.path.endsWith('/Lake/Bucket')) {
    suppress(
      c,
      'AwsSolutions-S1',
      'The lake bucket is written by Firehose and the lake roles and read through Athena only; this app configures no ' +
        "server access logs (they would need a second bucket per stage). Object-level auditing is the account's " +
        'choice: CloudTrail data events for this bucket, docs/security.md "Auditing lake access".',
    );
  } else if (c instanceof Secret && c.node.id === 'CursorSecret') {
    suppress(
      c,
      'AwsSolutions-SMG4',
      'The cursor HMAC key only authenticates pagination cursors (24 h); it is not rotated on a schedule but by an ' +
        'operator with PutSecretValue, which breaks no open cursor (AWSPREVIOUS still verifies): docs/operations.md ' +
        '"Rotating the cursor key".',
    );
  }
}

export function applySuppressions(stateful: Stack, pipeline: Stack): void {
  for (const stack of [stateful, pipeline]) for (const c of stack.node.findAll()) suppressConstruct(c);
}
