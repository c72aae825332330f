/** The one place where every function's runtime, architecture, bundling, logging and tracing are set. */

import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface NodeFunctionProps {
  /** Handler file below `lambdas/`, e.g. `filter-enrich/handler.ts`. */
  readonly entry: string;
  /** Settings of the function (built with its `settings.ts`). @default none */
  readonly environment?: Record<string, string>;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default 60 seconds */
  readonly timeout?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** X-Ray tracing (the stage's `tracing`). @default 'active' */
  readonly tracing?: 'active' | 'pass-through';
}

const LAMBDAS_DIR = path.join(import.meta.dirname, '..', '..', 'lambdas');

/**
 * Every function of the app: a `NodejsFunction` (as Powertools for AWS Lambda's examples and Clickstream
 * Analytics on AWS subclass it) with the one runtime, architecture, bundling, logging and tracing of the
 * project. Its log group is a sibling `<id>Logs` with the stage's retention, deleted with the stack.
 */
export class NodeFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id, {
      entry: path.join(LAMBDAS_DIR, props.entry),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(60),
      tracing: props.tracing === 'pass-through' ? Tracing.PASS_THROUGH : Tracing.ACTIVE,
      logGroup: new LogGroup(scope, `${id}Logs`, {
        retention: props.logRetention ?? RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      bundling: {
        // The SDK is bundled (not taken from the runtime) so the same artifact runs on AWS and on the emulator.
        externalModules: [],
        minify: true,
        sourceMap: true,
        target: 'node22',
        format: OutputFormat.CJS,
        forceDockerBundling: false,
      },
    });
  }
}
