/** Powertools logger and metrics, set up once per function. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../domain/metrics.js';

/** The function's logger; its handler adds the Lambda context (`addContext`) at each invocation. */
export const functionLogger = (serviceName: string): Logger => new Logger({ serviceName });

export function observability(serviceName: string): { logger: Logger; metrics: Metrics } {
  return {
    logger: functionLogger(serviceName),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}
