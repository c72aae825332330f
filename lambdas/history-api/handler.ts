/**
 * history-api: the routes of the history API contract (v1) behind an IAM-authenticated HTTP API.
 * Thin adapter: decide who is calling (fail closed), parse the request with the pure router, call the
 * store or the raw stream, map errors with `toProblem` (problems.ts).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { documentClient, kinesisClient } from '../adapters/clients.js';
import { functionLogger } from '../adapters/observability.js';
import { NotPermittedError } from '../domain/errors.js';
import { historyStore, ingestLimiter } from '../history-store/index.js';
import { type AuthorizationPolicy, authorize, callerOf, mayCallAnything } from './authorization.js';
import { secretsManagerKeyring } from './cursor-keys.js';
import { type ErasureContinuation, isErasureContinuation, selfContinuation } from './erase-continuation.js';
import { problemHeaders, toProblem } from './problems.js';
import { rawStreamWriter } from './raw-stream.js';
import { type ApiRequest, parseRequest, routeOf } from './requests.js';
import { type HistoryApiDeps, historyRoutes, json } from './routes.js';
import { historyApiSettings } from './settings.js';

export { type HistoryApiDeps, RETRY_AFTER_SECONDS } from './routes.js';

// The API emits no custom metrics (its access log and API Gateway's metrics count requests): a logger only.
const logger = functionLogger('history-api');

export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const raw = event.body ?? undefined;
  const body = raw !== undefined && event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  return {
    method: event.requestContext?.http?.method ?? 'GET',
    path: event.rawPath ?? '/',
    query: Object.fromEntries(new URLSearchParams(event.rawQueryString ?? '')),
    body,
    bodyBytes: body === undefined ? 0 : Buffer.byteLength(body),
    // HTTP API (payload 2.0) gives header names in lower case; any other casing is read the same.
    contentType: Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1],
  };
}

/**
 * The handler's two call shapes: an API request answers with an HTTP response, an erasure's background round
 * (erase-continuation.ts) with what that round did.
 */
export interface HistoryApiHandler {
  (event: ErasureContinuation, context?: ApiContext): Promise<unknown>;
  (event: APIGatewayProxyEventV2, context?: ApiContext): Promise<ReturnType<typeof json>>;
}

type HistoryApiEvent = APIGatewayProxyEventV2 | ErasureContinuation;

export function makeHandler(deps: HistoryApiDeps): HistoryApiHandler {
  return requestHandler(deps) as HistoryApiHandler;
}

/** Either kind of event, answered as `HistoryApiHandler` says. */
function requestHandler(
  deps: HistoryApiDeps,
): (event: HistoryApiEvent, context?: ApiContext) => Promise<unknown> {
  const { list, frequency, check, ingest, erase, continueErasure } = historyRoutes(deps, logger);

  const policy: AuthorizationPolicy = deps.authorization ?? { services: [], erasers: [] };

  const timeLeftOf = (context?: Partial<Pick<Context, 'getRemainingTimeInMillis'>>) =>
    context?.getRemainingTimeInMillis ? () => context.getRemainingTimeInMillis!() : undefined;

  async function handle(event: HistoryApiEvent, context?: ApiContext) {
    // An erasure's background round, invoked by this function itself (erase-continuation.ts).
    if (isErasureContinuation(event)) return continueErasure(event, timeLeftOf(context));
    const requestId = context?.awsRequestId ?? event.requestContext?.requestId ?? 'unknown';
    try {
      // Fail closed: no identity, or one that may call nothing, is refused before the request is read.
      const caller = callerOf(identityOf(event)?.userArn, policy);
      if (!mayCallAnything(caller))
        throw new NotPermittedError('this caller is not allowed to call the history API');
      const request = toApiRequest(event);
      const target = routeOf(request);
      authorize(caller, target.route, target.profileId);
      const q = parseRequest(request);
      switch (q.route) {
        case 'list':
          return await list(q);
        case 'frequency':
          return await frequency(q);
        case 'check':
          return await check(q);
        case 'ingest':
          return await ingest(q);
        case 'erase':
          return await erase(q, timeLeftOf(context));
        default:
          // A route of the table (`API_ROUTES`, api-routes.ts) that no case handles does not compile.
          return unhandledRoute(q);
      }
    } catch (err) {
      const problem = toProblem(err, requestId);
      if (problem.status >= 500) logger.error('request failed', { error: err as Error, requestId });
      return json(problem.status, problem, problemHeaders(err));
    }
  }
  return handle;
}

type ApiContext = Pick<Context, 'awsRequestId'> & Partial<Pick<Context, 'getRemainingTimeInMillis'>>;

/** The exhaustiveness check of the route switch: `q` is `never` once every route has a case. */
function unhandledRoute(q: never): never {
  throw new Error(`no handler for route ${(q as { route?: unknown }).route}`);
}

/** API Gateway's IAM authorizer context (payload 2.0), if the request has one. */
function identityOf(event: APIGatewayProxyEventV2): { userArn?: unknown } | undefined {
  const ctx = event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } } | undefined;
  const iam = ctx?.authorizer?.iam;
  return iam !== null && typeof iam === 'object' ? iam : undefined;
}

let defaultHandler: ReturnType<typeof requestHandler> | undefined;

export function handler(event: APIGatewayProxyEventV2, context: Context): Promise<ReturnType<typeof json>>;
export function handler(event: ErasureContinuation, context: Context): Promise<unknown>;
export function handler(event: HistoryApiEvent, context: Context) {
  logger.addContext(context);
  if (!defaultHandler) {
    const s = historyApiSettings();
    defaultHandler = requestHandler({
      store: historyStore(documentClient(), s.historyTableName),
      cursorKeys: secretsManagerKeyring(new SecretsManagerClient({}), s.cursorSecretId),
      ingest: rawStreamWriter(kinesisClient(), s.rawStreamName),
      ingestLimit: ingestLimiter(documentClient(), s.historyTableName, {
        perWindow: s.ingestEventsPerWindow,
      }),
      authorization: {
        clientRoleArn: s.clientRoleArn,
        services: s.servicePrincipals,
        erasers: s.eraserPrincipals,
      },
      erasure: { retentionDays: s.retentionDays },
      continueErasure: selfContinuation(),
    });
  }
  return defaultHandler(event, context);
}
