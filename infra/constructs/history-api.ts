/**
 * The history API: an HTTP API (API Gateway v2) whose every route requires SigV4 (`AWS_IAM`), in front of
 * the history-api function. One `$default` route sends everything to the function, so that unknown routes
 * and wrong methods get the contract's RFC 9457 404 and 405 from one error mapper.
 *
 * Who may call what is decided twice: by IAM (only the client role's policy is defined here; services and
 * erasers hold `execute-api:Invoke` from their own policies) and by the function, which refuses every
 * caller that is not a scoped client session or on the stage's allow-lists (fail closed).
 */

import { Aws, Duration, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { AccountRootPrincipal, Policy, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { routesFor } from '../../lambdas/history-api/api-routes.js';
import { historyApiEnvironment } from '../../lambdas/history-api/settings.js';
import { DEFAULT_STAGE } from '../config.js';
import { sizeStage } from '../sizing.js';
import { nagClientRole } from './nag.js';
import { NodeFunction } from './node-function.js';

export interface HistoryApiProps {
  readonly table: ITable;
  /** X-Ray tracing of the function (the stage's `tracing`). @default the stage default, `DEFAULT_STAGE.tracing` */
  readonly tracing?: 'active' | 'pass-through';
  readonly cursorSecret: ISecret;
  /** The raw stream, where the ingest route puts the events it accepts. */
  readonly rawStream: IStream;
  /**
   * Principals (role ARNs) that may start client sessions: `sts:AssumeRole` with `sts:TagSession` on the
   * client role, which its trust policy allows only to these principals, only with the session tag
   * `profileId` and only with a session name that names a profile (see `sessionNameFor`).
   * @default the role `<stack name>-client-vendor` of this account (create it to vend sessions)
   */
  readonly clientSessionVendors?: readonly string[];
  /** Principals that may read, check and ingest for any profile (role ARNs). @default none */
  readonly servicePrincipals?: readonly string[];
  /** Principals that may erase any profile (role ARNs). @default none */
  readonly eraserPrincipals?: readonly string[];
  /** The stage's throttle (infra/sizing.ts sizes it). @default the throttle sized for `DEFAULT_STAGE` */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Events per profile per 10-second window the ingest route takes before answering 429 (the burst cap of
   * `quality.profile-burst`). @default the stage default, `DEFAULT_STAGE.profileBurstPerWindow`
   */
  readonly ingestEventsPerWindow?: number;
  /** p99 latency above which the latency alarm fires. @default 500 ms */
  readonly latencyAlarmThreshold?: Duration;
  /** Days of history kept: an erasure's marker lasts as long (`filtered.erased`). */
  readonly retentionDays: number;
}

/**
 * The access log: what happened to each request, and nothing that identifies who made it or about whom:
 * no source IP, no caller principal or session name (a client session's name holds its profile), and no
 * path (it holds the profile id). The default format (CLF) would log `$context.identity.sourceIp`,
 * `.caller` and `.user`.
 */
export const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    httpMethod: '$context.httpMethod',
    routeKey: '$context.routeKey',
    status: '$context.status',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationStatus: '$context.integrationStatus',
    error: '$context.error.message',
  }),
);

/** The throttle infra/sizing.ts sizes for a stage at every default (its peak load, its share of device ingest). */
const defaultThrottle = () => {
  const { rateLimit, burstLimit } = sizeStage(DEFAULT_STAGE).api;
  return { rateLimit, burstLimit };
};

export class HistoryApi extends Construct {
  readonly api: HttpApi;
  /** The function behind every route. */
  readonly fn: NodeFunction;
  /** The role client apps assume: it can call the API only for the profile in its `profileId` session tag. */
  readonly clientRole: Role;
  readonly serverErrorAlarm: Alarm;
  readonly latencyAlarm: Alarm;

  constructor(scope: Construct, id: string, props: HistoryApiProps) {
    super(scope, id);
    this.fn = new NodeFunction(this, 'Handler', {
      entry: 'history-api/handler.ts',
      memorySize: 1024,
      timeout: Duration.seconds(10),
      ...(props.tracing ? { tracing: props.tracing } : {}),
    });
    // Query: history and frequency; PutItem: the day rollups the frequency routes store (history-store/title-counts.ts);
    // BatchWriteItem: erasure; UpdateItem: the ingest route's per-profile window counters (ingest-limit.ts).
    // GetItem: the erasure marker the readers and the erasure read (consistently).
    props.table.grant(
      this.fn,
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:UpdateItem',
    );
    props.cursorSecret.grantRead(this.fn);
    props.rawStream.grant(this.fn, 'kinesis:PutRecords');
    // An erasure that cannot finish in one request continues in the background: the function invokes itself
    // asynchronously (erase-continuation.ts). A policy of its own, so the function does not depend on it (the
    // function's default policy naming the function's own ARN would be a circular dependency).
    new Policy(this, 'EraseInBackground', {
      roles: [this.fn.role!],
      statements: [
        new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fn.functionArn] }),
      ],
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH });
    this.api = new HttpApi(this, 'Api', {
      description: 'impressions history API (v1)',
      defaultIntegration: new HttpLambdaIntegration('Integration', this.fn),
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    // The trust policy: only the named vendors, only with a `profileId` session tag (and no other tag), only
    // with a session name that can name a profile: `p.<id>` or a bare id of 63-64 characters (AWS's
    // RoleSessionName holds at most 64). IAM user guide, "Pass session tags in AWS STS" (a trust policy
    // must allow sts:TagSession; aws:RequestTag and aws:TagKeys control the tags passed) and "AWS STS
    // condition keys" (sts:RoleSessionName).
    const vendors = props.clientSessionVendors ?? [
      `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${Stack.of(this).stackName}-client-vendor`,
    ];
    const vendorOnly = { ArnEquals: { 'aws:PrincipalArn': [...vendors] } };
    const taggedWithProfile = { 'aws:RequestTag/profileId': '?*' };
    this.clientRole = new Role(this, 'ClientRole', {
      description: 'History API client sessions, each scoped to one profile by its profileId session tag',
      assumedBy: new AccountRootPrincipal().withConditions({
        ...vendorOnly,
        StringLike: {
          ...taggedWithProfile,
          'sts:RoleSessionName': ['p.?*', '?'.repeat(63), '?'.repeat(64)],
        },
      }),
      maxSessionDuration: Duration.hours(1),
    });
    this.clientRole.assumeRolePolicy?.addStatements(
      new PolicyStatement({
        actions: ['sts:TagSession'],
        principals: [new AccountRootPrincipal()],
        conditions: {
          ...vendorOnly,
          StringLike: taggedWithProfile,
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['profileId'] },
        },
      }),
    );
    // IAM resolves the policy variable at request time (not a JavaScript template). The resource of an HTTP
    // API call is `.../<stage>/<METHOD>/<path>` (API Gateway developer guide, "Control access to HTTP APIs
    // with IAM authorization"): a client session may call the routes the table allows client sessions
    // (`API_ROUTES`), for its own profile, and no other (never DELETE).
    // biome-ignore lint/suspicious/noTemplateCurlyInString: IAM policy variable
    const ownProfile = '${aws:PrincipalTag/profileId}';
    this.clientRole.addToPolicy(
      new PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: routesFor('clientSession').map((r) =>
          this.api.arnForExecuteApi(r.method, r.path.replace('{profileId}', ownProfile), '$default'),
        ),
      }),
    );
    nagClientRole(this.clientRole);
    const environment = historyApiEnvironment({
      historyTableName: props.table.tableName,
      cursorSecretId: props.cursorSecret.secretArn,
      rawStreamName: props.rawStream.streamName,
      servicePrincipals: props.servicePrincipals ?? [],
      eraserPrincipals: props.eraserPrincipals ?? [],
      clientRoleArn: this.clientRole.roleArn,
      ingestEventsPerWindow: props.ingestEventsPerWindow ?? DEFAULT_STAGE.profileBurstPerWindow,
      retentionDays: props.retentionDays,
    });
    for (const [name, value] of Object.entries(environment)) this.fn.addEnvironment(name, value);
    this.api.addStage('Stage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? defaultThrottle(),
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    });

    this.serverErrorAlarm = new Alarm(this, 'ServerErrorAlarm', {
      alarmDescription: 'History API answers with 5xx',
      metric: this.api.metricServerError({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: 5,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.latencyAlarm = new Alarm(this, 'LatencyAlarm', {
      alarmDescription: 'History API p99 latency is above the threshold',
      metric: this.api.metricLatency({ period: Duration.minutes(1), statistic: 'p99' }),
      threshold: (props.latencyAlarmThreshold ?? Duration.millis(500)).toMilliseconds(),
      evaluationPeriods: 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  /** The base URL of the API (the contract's `HistoryApiUrl`). */
  get url(): string {
    return this.api.apiEndpoint;
  }
}
