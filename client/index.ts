/**
 * A typed client of the history API (contract v1): every route, SigV4-signed with the standard credential
 * chain, retries by the contract's 429/503 rules, RFC 9457 problems as typed errors. It imports nothing of
 * the service, the infrastructure or the tools; it needs `fetch` (Node ≥ 20) and the AWS signing packages.
 *
 * ```ts
 * const api = historyClient({ baseUrl: outputs.HistoryApiUrl });
 * for await (const page of api.history('p-123', { limit: 100 })) show(page.items);
 * ```
 */
import { ApiProblem, problemFor } from './errors.js';
import { type FetchLike, isLoopbackHost, loopbackFetch } from './loopback.js';
import {
  parseRetryAfter,
  RETRYABLE_STATUSES,
  type RetryOptions,
  retryDelayMs,
  retryPolicy,
} from './retry.js';
import { type Credentials, type Signer, sigV4Signer, unsigned } from './signing.js';
import {
  type CheckResponse,
  type EraseResponse,
  type EventObject,
  type FrequencyCap,
  type FrequencyResponse,
  type FrequencyWindow,
  type HistoryItem,
  type HistoryPage,
  type HistoryQuery,
  INGEST_LIMITS,
  type IngestEvent,
  type IngestResponse,
} from './types.js';

export * from './errors.js';
export type { FetchLike } from './loopback.js';
export { parseRetryAfter, RETRYABLE_STATUSES, type RetryOptions, retryDelayMs } from './retry.js';
export type { Credentials, Signer } from './signing.js';
export * from './types.js';

export interface HistoryClientOptions {
  /** The stack output `HistoryApiUrl`. */
  readonly baseUrl: string;
  /** @default the region in an `execute-api.<region>.amazonaws.com` URL, else `AWS_REGION` */
  readonly region?: string;
  /** Credentials to sign with (e.g. a client session's). @default the SDK's default credential chain */
  readonly credentials?: Credentials;
  /** When false, requests are sent unsigned (the API refuses them: 403). @default true */
  readonly sign?: boolean;
  readonly retry?: RetryOptions;
  /** Per attempt. @default 30000 */
  readonly timeoutMs?: number;
  /** @default global `fetch`; for `*.localhost` hosts (the local emulator), a loopback transport */
  readonly fetch?: FetchLike;
}

/** An answer as it came, for callers that look at statuses themselves. */
export interface RawResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  readonly json: () => unknown;
}

export interface RequestOptions {
  /** JSON text; sent as `application/json` unless `headers` say otherwise. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Retry 429/503 answers and network errors by the client's policy (only for idempotent calls). @default false */
  readonly retry?: boolean;
}

export interface IngestAllOutcome {
  readonly profileId: string;
  /** Events the API accepted (202), in order: the first `accepted` events of the call. */
  readonly accepted: number;
  /** The answer that stopped the sending (a 4xx, or a 429/503 after the last attempt); later batches were not sent. */
  readonly refused?: ApiProblem;
}

export interface EraseCompletelyOptions {
  /** DELETE requests at most. @default 20 */
  readonly maxRequests?: number;
  /** Wait between requests while the erasure is incomplete. @default 1000 */
  readonly intervalMs?: number;
}

const encoder = new TextEncoder();
const utf8Bytes = (s: string) => encoder.encode(s).length;

/** Splits one profile's events (JSON texts) into request bodies within the ingest route's limits. */
export function ingestBatches(events: readonly string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  const empty = utf8Bytes('{"events":[]}');
  let bytes = empty;
  for (const e of events) {
    const size = utf8Bytes(e) + 1;
    if (
      current.length === INGEST_LIMITS.events ||
      (current.length > 0 && bytes + size > INGEST_LIMITS.bodyBytes)
    ) {
      batches.push(current);
      current = [];
      bytes = empty;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length) batches.push(current);
  return batches;
}

const eventText = (e: IngestEvent) => (typeof e === 'string' ? e : JSON.stringify(e));
const time = (t: string | Date) => (typeof t === 'string' ? t : t.toISOString());
const profilePath = (profileId: string, rest = '') => `/v1/profiles/${encodeURIComponent(profileId)}/${rest}`;

function regionOf(base: URL, given: string | undefined): string | undefined {
  if (given) return given;
  const m = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(base.hostname);
  if (m) return m[1];
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.AWS_REGION ?? env?.AWS_DEFAULT_REGION;
}

export class HistoryClient {
  readonly #base: URL;
  readonly #sign: Signer;
  readonly #fetch: FetchLike;
  readonly #policy: ReturnType<typeof retryPolicy>;
  readonly #timeoutMs: number;

  constructor(options: HistoryClientOptions) {
    this.#base = new URL(options.baseUrl);
    const region = regionOf(this.#base, options.region);
    if (options.sign === false) this.#sign = unsigned;
    else if (!region) throw new Error('historyClient: no region (give `region`, or set AWS_REGION)');
    else this.#sign = sigV4Signer({ region, credentials: options.credentials });
    this.#fetch =
      options.fetch ??
      (isLoopbackHost(this.#base.hostname) ? loopbackFetch : (url, init) => globalThis.fetch(url, init));
    this.#policy = retryPolicy(options.retry);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** `pathAndQuery` joined to the base URL's path. */
  #url(pathAndQuery: string): URL {
    const basePath = this.#base.pathname.replace(/\/+$/, '');
    const [path = '', query] = pathAndQuery.split(/\?(.*)/s, 2);
    const url = new URL(this.#base.origin);
    url.pathname = `${basePath}${path.startsWith('/') ? path : `/${path}`}`;
    if (query !== undefined) url.search = query;
    return url;
  }

  /** The headers to send, signed now (each attempt is signed again: a signature's date is part of it). */
  async #signed(method: string, url: URL, options: RequestOptions): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v;
    const { host: _host, ...send } = await this.#sign({ method, url, headers, body: options.body });
    // `fetch` sets Host itself, from the URL, which is what was signed.
    return send;
  }

  async #send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: string,
  ): Promise<RawResponse> {
    const res = await this.#fetch(url.toString(), {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await res.text();
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      out[k] = v;
    });
    return { status: res.status, headers: out, text, json: () => JSON.parse(text) as unknown };
  }

  /**
   * One call as it is answered, whatever the status (network errors throw). With `retry`, 429 and 503
   * answers and network errors (a refused connection, a timeout) are retried by the client's policy and
   * the last answer is returned; a failure to sign (no credentials) is thrown at once.
   */
  async request(method: string, pathAndQuery: string, options: RequestOptions = {}): Promise<RawResponse> {
    const url = this.#url(pathAndQuery);
    const p = this.#policy;
    for (let attempt = 1; ; attempt++) {
      const headers = await this.#signed(method, url, options);
      let response: RawResponse;
      try {
        response = await this.#send(method, url, headers, options.body);
      } catch (err) {
        if (!options.retry || attempt >= p.attempts) throw err;
        await p.sleep(retryDelayMs(p, attempt, undefined));
        continue;
      }
      if (!options.retry || !RETRYABLE_STATUSES.has(response.status) || attempt >= p.attempts)
        return response;
      await p.sleep(retryDelayMs(p, attempt, parseRetryAfter(response.headers['retry-after'], p.now())));
    }
  }

  /** An idempotent call whose 2xx body is `T`; anything else is thrown as an `ApiProblem`. */
  async #call<T>(method: string, pathAndQuery: string, body?: unknown): Promise<T> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const r = await this.request(method, pathAndQuery, {
      ...(text === undefined ? {} : { body: text }),
      retry: true,
    });
    if (r.status >= 200 && r.status < 300) return r.json() as T;
    const url = this.#url(pathAndQuery).toString();
    throw problemFor(r.status, r.text, {
      method,
      url,
      ...(() => {
        const s = parseRetryAfter(r.headers['retry-after'], this.#policy.now());
        return s === undefined ? {} : { retryAfterSeconds: s };
      })(),
    });
  }

  /** One page of a profile's history, newest first (`cursor`: the previous page's `nextCursor`). */
  historyPage(profileId: string, query: HistoryQuery = {}, cursor?: string | null): Promise<HistoryPage> {
    const q = new URLSearchParams();
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    if (query.since !== undefined) q.set('since', time(query.since));
    if (query.until !== undefined) q.set('until', time(query.until));
    if (query.titleId !== undefined) q.set('titleId', query.titleId);
    if (cursor) q.set('cursor', cursor);
    const qs = q.toString();
    return this.#call('GET', `${profilePath(profileId, 'impressions')}${qs ? `?${qs}` : ''}`);
  }

  /** A profile's history page by page (each page one request, made when the loop asks for it). */
  async *history(
    profileId: string,
    query: HistoryQuery = {},
    cursor?: string | null,
  ): AsyncGenerator<HistoryPage> {
    let next = cursor ?? null;
    do {
      const page = await this.historyPage(profileId, query, next);
      yield page;
      next = page.nextCursor;
    } while (next);
  }

  /** A profile's history item by item, across pages. */
  async *impressions(profileId: string, query: HistoryQuery = {}): AsyncGenerator<HistoryItem> {
    for await (const page of this.history(profileId, query)) yield* page.items;
  }

  /** How often each title (1–100) was shown to the profile within the window (`7d` by the API's default). */
  frequency(
    profileId: string,
    titleIds: readonly string[],
    window?: FrequencyWindow,
  ): Promise<FrequencyResponse> {
    const q = new URLSearchParams({ titleIds: titleIds.join(',') });
    if (window) q.set('window', window);
    return this.#call('GET', `${profilePath(profileId, 'frequency')}?${q}`);
  }

  /** Frequency capping in one call: which of the caps (1–100) the profile has reached. */
  check(profileId: string, caps: readonly FrequencyCap[]): Promise<CheckResponse> {
    return this.#call('POST', profilePath(profileId, 'frequency/check'), { caps });
  }

  /**
   * One ingest request (1–500 events of this profile, ≤ 1 MiB; `ingestAll` splits larger sets). Retried
   * on 429/503 with the same body: the retry is a duplicate by the event contract, never counted twice.
   */
  ingest<E extends EventObject>(profileId: string, events: readonly (E | string)[]): Promise<IngestResponse> {
    return this.#call(
      'POST',
      profilePath(profileId, 'impressions'),
      `{"events":[${events.map(eventText).join(',')}]}`,
    );
  }

  /** Any number of one profile's events, in as many requests as the limits need, stopping at the first refusal. */
  async ingestAll<E extends EventObject>(
    profileId: string,
    events: readonly (E | string)[],
  ): Promise<IngestAllOutcome> {
    let accepted = 0;
    for (const batch of ingestBatches(events.map(eventText))) {
      try {
        await this.ingest(profileId, batch);
      } catch (err) {
        if (err instanceof ApiProblem) return { profileId, accepted, refused: err };
        throw err;
      }
      accepted += batch.length;
    }
    return { profileId, accepted };
  }

  /** One erasure request; `complete: false` means the rest is removed in the background (repeat it). */
  erase(profileId: string): Promise<EraseResponse> {
    return this.#call('DELETE', profilePath(profileId, 'impressions'));
  }

  /** Repeats the DELETE (safe by the contract) until the API reports the erasure complete. */
  async eraseCompletely(
    profileId: string,
    options: EraseCompletelyOptions = {},
  ): Promise<{ profileId: string; deleted: number; requests: number }> {
    const maxRequests = options.maxRequests ?? 20;
    let deleted = 0;
    for (let requests = 1; requests <= maxRequests; requests++) {
      const r = await this.erase(profileId);
      deleted += r.deleted;
      if (r.complete !== false) return { profileId, deleted, requests };
      if (requests < maxRequests) await this.#policy.sleep(options.intervalMs ?? 1000);
    }
    throw new Error(
      `erasing ${profileId}: still incomplete after ${maxRequests} requests (safe to repeat later)`,
    );
  }
}

export const historyClient = (options: HistoryClientOptions) => new HistoryClient(options);
