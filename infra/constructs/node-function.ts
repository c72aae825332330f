/** The one place where every function's runtime, architecture, bundling, logging and tracing are set. */

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Code, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEFAULT_STAGE } from '../config.js';
import { nagFunction } from './nag.js';

export interface NodeFunctionProps {
  /** Handler file below `lambdas/`, e.g. `filter-enrich/handler.ts`. */
  readonly entry: FunctionEntry;
  /** Settings of the function (built with its `settings.ts`). @default none */
  readonly environment?: Record<string, string>;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default 60 seconds */
  readonly timeout?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** X-Ray tracing (the stage's `tracing`). @default the stage default, `DEFAULT_STAGE.tracing` */
  readonly tracing?: 'active' | 'pass-through';
}

const LAMBDAS_DIR = path.join(import.meta.dirname, '..', '..', 'lambdas');
/** Where the package build puts each function's bundle (`functions/<bundle name>/index.js`). */
const BUNDLES_DIR = path.join(import.meta.dirname, '..', '..', 'functions');

/** Every function's handler file below `lambdas/`: what the package build bundles. */
export const FUNCTION_ENTRIES = [
  'filter-enrich/handler.ts',
  'history-api/handler.ts',
  'iceberg-table/on-event.ts',
  'iceberg-table/is-complete.ts',
] as const;
export type FunctionEntry = (typeof FUNCTION_ENTRIES)[number];

/** The directory name of a function's bundle: `filter-enrich/handler.ts` → `filter-enrich-handler`. */
export const bundleName = (entry: FunctionEntry): string => entry.replace(/\.ts$/, '').replace(/\//g, '-');

/** The esbuild options of every function, at synthesis (NodejsFunction) and in the package build alike. */
export const BUNDLING = {
  // The SDK is bundled (not taken from the runtime) so the same artifact runs on AWS and on the emulator.
  externalModules: [] as string[],
  minify: true,
  sourceMap: true,
  target: 'node22',
  format: OutputFormat.CJS,
} as const;

/**
 * The function's code when the package was built with its bundles (an installed package has no TypeScript
 * sources to bundle, nor esbuild); undefined in this repository, where synthesis bundles the sources.
 */
function prebuiltCode(entry: FunctionEntry): Code | undefined {
  const dir = path.join(BUNDLES_DIR, bundleName(entry));
  return existsSync(path.join(dir, 'index.js')) ? Code.fromAsset(dir) : undefined;
}

/**
 * Every function of the app: a `NodejsFunction` (as Powertools for AWS Lambda's examples and Clickstream
 * Analytics on AWS subclass it) with the one runtime, architecture, bundling, logging and tracing of the
 * project. Its log group is a sibling `<id>Logs` with the stage's retention, deleted with the stack.
 */
export class NodeFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    const code = prebuiltCode(props.entry);
    super(scope, id, {
      ...(code
        ? { code, handler: 'index.handler' }
        : { entry: path.join(LAMBDAS_DIR, props.entry), handler: 'handler' }),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(60),
      tracing:
        (props.tracing ?? DEFAULT_STAGE.tracing) === 'pass-through' ? Tracing.PASS_THROUGH : Tracing.ACTIVE,
      logGroup: new LogGroup(scope, `${id}Logs`, {
        retention: props.logRetention ?? RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      bundling: { ...BUNDLING, forceDockerBundling: false },
    });
    nagFunction(this);
  }
}
