/**
 * The history API: an HTTP API (API Gateway v2) whose every route requires SigV4 (`AWS_IAM`), in front of
 * the history-api function. One `$default` route sends everything to the function, so that unknown routes
 * and wrong methods get the contract's RFC 9457 404 and 405 from one error mapper.
 */
import { Duration } from 'aws-cdk-lib';
import { HttpApi, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import {
  AccountRootPrincipal,
  type IPrincipal,
  PolicyStatement,
  Role,
  SessionTagsPrincipal,
} from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { NodeFunction } from './node-function.js';

export interface HistoryApiProps {
  readonly table: ITable;
  readonly cursorSecret: ISecret;
  /**
   * Who may assume the client role that apps use (a token-vending backend, or a Cognito identity pool's
   * authenticated role trust). Sessions must carry the session tag `profileId` and the session name
   * `p.<profileId>`.
   * @default the account's root principal (any IAM principal of the account that is allowed to)
   */
  readonly clientRoleTrust?: IPrincipal;
  /** p99 latency above which the latency alarm fires. @default 500 ms */
  readonly latencyAlarmThreshold?: Duration;
}

export class HistoryApi extends Construct {
  readonly api: HttpApi;
  readonly fn: NodeFunction['fn'];
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
      environment: {
        HISTORY_TABLE_NAME: props.table.tableName,
        CURSOR_SECRET_ID: props.cursorSecret.secretArn,
      },
    }).fn;
    props.table.grant(this.fn, 'dynamodb:Query', 'dynamodb:BatchWriteItem');
    props.cursorSecret.grantRead(this.fn);

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH });
    this.api = new HttpApi(this, 'Api', {
      description: 'impressions history API (v1)',
      defaultIntegration: new HttpLambdaIntegration('Integration', this.fn),
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    this.clientRole = new Role(this, 'ClientRole', {
      description: 'History API client sessions, each scoped to one profile by its profileId session tag',
      assumedBy: new SessionTagsPrincipal(props.clientRoleTrust ?? new AccountRootPrincipal()),
      maxSessionDuration: Duration.hours(1),
    });
    // An IAM policy variable, resolved by IAM at request time (not a JavaScript template).
    // biome-ignore lint/suspicious/noTemplateCurlyInString: IAM policy variable
    const ownProfile = '/v1/profiles/${aws:PrincipalTag/profileId}';
    this.clientRole.addToPolicy(
      new PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: [
          this.api.arnForExecuteApi('*', `${ownProfile}/*`, '$default'),
          this.api.arnForExecuteApi('*', ownProfile, '$default'),
        ],
      }),
    );
    this.fn.addEnvironment('SCOPED_ROLE_NAMES', this.clientRole.roleName);
    this.api.addStage('Stage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 5000, burstLimit: 10000 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
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
