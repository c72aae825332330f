/**
 * The history API's routes, one function per route of the contract (v1): the handler decides who may
 * call, parses the request and calls one of these.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { systemClock } from '../adapters/clock.js';
import {
  type CursorBinding,
  type CursorKeyring,
  decodeCursor,
  encodeCursor,
  UnknownCursorKeyError,
} from '../domain/cursor.js';
import { InvalidParameterError } from '../domain/errors.js';
import { type FrequencyWindow, type TitleCount, toTitleCount, WINDOWS } from '../domain/frequency.js';
import { decodePosition, encodePosition } from '../domain/history-model.js';
import type { EraseOptions, HistoryStore, IngestLimiter } from '../history-store/index.js';
import type { AuthorizationPolicy } from './authorization.js';
import { type ContinueErasure, type ErasureContinuation, MAX_CONTINUATIONS } from './erase-continuation.js';
import { ServiceUnavailableError, TooManyRequestsError } from './problems.js';
import type { RawStreamWriter } from './raw-stream.js';
import type { CheckQuery, EraseQuery, FrequencyQuery, IngestQuery, ListQuery } from './requests.js';

export interface HistoryApiDeps {
  readonly store: Pick<HistoryStore, 'listHistory' | 'titleCounts' | 'erase'>;
  /** The cursor keys; `refresh` asks for a fresh read (a cursor named a key this instance does not hold). */
  readonly cursorKeys: (request?: { refresh?: boolean }) => Promise<CursorKeyring>;
  /** Who may call what. @default nobody may call anything */
  readonly authorization?: AuthorizationPolicy;
  /** Puts the ingest route's events on the raw stream. @default the ingest route answers 503 */
  readonly ingest?: RawStreamWriter;
  /**
   * The ingest route's per-profile limit, counted before the put (history-store/ingest-limit.ts).
   * @default no limit (tests of other routes)
   */
  readonly ingestLimit?: IngestLimiter;
  /**
   * How an erasure is bounded and kept: the history's retention (the marker's TTL) and the items one
   * request deletes at most. @default the longest retention a stage may set, `ERASE_ITEMS_PER_CALL`
   */
  readonly erasure?: Pick<EraseOptions, 'retentionDays' | 'maxItems'>;
  /**
   * Hands what an erasure request could not remove to the background (erase-continuation.ts).
   * @default none: a repeated DELETE continues
   */
  readonly continueErasure?: ContinueErasure;
  readonly nowMs?: () => number;
}

/** What a 503 asks the client to wait before retrying the same request. */
export const RETRY_AFTER_SECONDS = 1;

const NEVER_SEEN: TitleCount = { count: 0, lastSeenAt: null };

export const json = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode: status,
  headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** What every route works with: the handler's dependencies, its clock and its logger. */
interface Routing {
  readonly deps: HistoryApiDeps;
  readonly now: () => number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

/** One function per route, over the handler's dependencies. */
export function historyRoutes(deps: HistoryApiDeps, logger: Pick<Logger, 'info' | 'warn'>) {
  const r: Routing = { deps, now: deps.nowMs ?? systemClock, logger };
  return {
    list: (q: ListQuery) => list(r, q),
    frequency: (q: FrequencyQuery) => frequency(r, q),
    check: (q: CheckQuery) => check(r, q),
    ingest: (q: IngestQuery) => ingest(r, q),
    erase: (q: EraseQuery, timeLeftMs?: () => number) => erase(r, q, timeLeftMs),
    continueErasure: (c: ErasureContinuation, timeLeftMs?: () => number) => continueErasure(r, c, timeLeftMs),
  };
}

async function list(r: Routing, q: ListQuery) {
  const binding: CursorBinding = {
    profileId: q.profileId,
    since: q.since,
    until: q.until,
    titleId: q.titleId,
  };
  let keys = await r.deps.cursorKeys();
  let after: ReturnType<typeof decodePosition> | null = null;
  if (q.cursor !== null) {
    let sortKey: string;
    try {
      sortKey = decodeCursor(keys, binding, q.cursor, r.now());
    } catch (err) {
      if (!(err instanceof UnknownCursorKeyError)) throw err;
      // Signed by a key newer than this instance's cached keys (the secret was just rotated)?
      keys = await r.deps.cursorKeys({ refresh: true });
      sortKey = decodeCursor(keys, binding, q.cursor, r.now());
    }
    after = decodePosition(sortKey);
  }
  if (after === undefined) throw new InvalidParameterError('cursor', 'invalid cursor');
  const page = await r.deps.store.listHistory({ ...binding, limit: q.limit, after });
  return json(200, {
    profileId: q.profileId,
    items: page.impressions.map((i) => ({
      eventId: i.eventId,
      eventTime: new Date(i.eventTimeMs).toISOString(),
      titleId: i.titleId,
      artworkId: i.artworkId,
      page: i.page,
      rowId: i.rowId,
      rowIndex: i.rowIndex,
      position: i.position,
      deviceType: i.deviceType,
      trackId: i.trackId,
    })),
    nextCursor: page.last === null ? null : encodeCursor(keys, binding, encodePosition(page.last), r.now()),
  });
}

/** Counts for each (title, window): one store call per window requested (rollups and recent buckets). */
async function counts(
  r: Routing,
  profileId: string,
  wanted: readonly { titleId: string; window: FrequencyWindow }[],
  asOfMs: number,
): Promise<TitleCount[]> {
  const byWindow = new Map<FrequencyWindow, Map<string, TitleCount>>();
  await Promise.all(
    [...new Set(wanted.map((x) => x.window))].map(async (w) => {
      const titles = wanted.filter((x) => x.window === w).map((x) => x.titleId);
      const got = await r.deps.store.titleCounts(profileId, asOfMs - WINDOWS[w] + 1, asOfMs, titles);
      byWindow.set(w, new Map([...got].map(([t, c]) => [t, toTitleCount(c)])));
    }),
  );
  // A title the store has no tally for was never seen in the window.
  return wanted.map((x) => byWindow.get(x.window)?.get(x.titleId) ?? NEVER_SEEN);
}

async function frequency(r: Routing, q: FrequencyQuery) {
  const asOfMs = r.now();
  const results = await counts(
    r,
    q.profileId,
    q.titleIds.map((titleId) => ({ titleId, window: q.window })),
    asOfMs,
  );
  return json(200, {
    profileId: q.profileId,
    window: q.window,
    asOf: new Date(asOfMs).toISOString(),
    titles: q.titleIds.map((titleId, i) => ({
      titleId,
      count: results[i]!.count,
      lastSeenAt: results[i]!.lastSeenAt,
    })),
  });
}

async function check(r: Routing, q: CheckQuery) {
  const asOfMs = r.now();
  const results = await counts(r, q.profileId, q.caps, asOfMs);
  const rows = q.caps.map((cap, i) => ({
    titleId: cap.titleId,
    window: cap.window,
    max: cap.max,
    count: results[i]!.count,
    capped: results[i]!.count >= cap.max,
  }));
  return json(200, {
    profileId: q.profileId,
    asOf: new Date(asOfMs).toISOString(),
    results: rows,
    capped: [...new Set(rows.filter((row) => row.capped).map((row) => row.titleId))],
  });
}

async function ingest(r: Routing, q: IngestQuery) {
  const unavailable = () =>
    new ServiceUnavailableError(
      'the events could not all be written now; retry the same request',
      RETRY_AFTER_SECONDS,
    );
  if (!r.deps.ingest) throw unavailable();
  if (r.deps.ingestLimit) {
    let allowance: Awaited<ReturnType<IngestLimiter>>;
    try {
      allowance = await r.deps.ingestLimit(q.profileId, q.records.length);
    } catch (err) {
      r.logger.warn('ingest limit unavailable', { error: err as Error, events: q.records.length });
      throw unavailable();
    }
    if (!allowance.allowed)
      throw new TooManyRequestsError(
        `this profile sent more events than its limit allows in the current 10-second window; nothing of this request was written`,
        allowance.retryAfterSeconds,
      );
  }
  let failed: number;
  try {
    ({ failed } = await r.deps.ingest(q.profileId, q.records));
  } catch (err) {
    r.logger.warn('ingest put failed', { error: err as Error, events: q.records.length });
    throw unavailable();
  }
  if (failed > 0) {
    r.logger.warn('ingest put left records out', { failed, events: q.records.length });
    throw unavailable();
  }
  return json(202, { profileId: q.profileId, accepted: q.records.length });
}

/**
 * Erases the profile (history-store/erase.ts): the marker first, then at most a bounded number of its items
 * within the time the invocation has left. What remains is already invisible to both GET routes; the
 * answer says `complete: false` and a repeated DELETE continues (docs/privacy-erasure.md).
 */
async function erase(r: Routing, q: EraseQuery, timeLeftMs?: () => number) {
  const done = await r.deps.store.erase(q.profileId, {
    ...r.deps.erasure,
    ...(timeLeftMs ? { timeLeftMs } : {}),
  });
  r.logger.info('profile erased', { profileId: q.profileId, deleted: done.deleted, complete: done.complete });
  if (!done.complete && r.deps.continueErasure) {
    // The rest goes to the background; if that hand-off fails, a repeated DELETE still continues.
    await r.deps
      .continueErasure({ profileId: q.profileId, erasedAtMs: done.erasedAtMs, round: 1 })
      .catch((error: Error) =>
        r.logger.warn('erasure continuation not started', { profileId: q.profileId, error }),
      );
  }
  return json(202, { profileId: q.profileId, deleted: done.deleted, complete: done.complete });
}

/** One background round of an erasure: at the original time, then the next round if anything is left. */
async function continueErasure(r: Routing, c: ErasureContinuation, timeLeftMs?: () => number) {
  const done = await r.deps.store.erase(c.profileId, {
    ...r.deps.erasure,
    erasedAtMs: c.erasedAtMs,
    ...(timeLeftMs ? { timeLeftMs } : {}),
  });
  r.logger.info('erasure continued', {
    profileId: c.profileId,
    round: c.round,
    deleted: done.deleted,
    complete: done.complete,
  });
  if (done.complete) return done;
  if (c.round >= MAX_CONTINUATIONS || !r.deps.continueErasure) {
    r.logger.warn('erasure left incomplete in the background', { profileId: c.profileId, round: c.round });
    return done;
  }
  await r.deps.continueErasure({ profileId: c.profileId, erasedAtMs: c.erasedAtMs, round: c.round + 1 });
  return done;
}
