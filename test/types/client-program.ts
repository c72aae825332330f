/**
 * A small program against the history API client, as an app developer writes it; it is never run, only
 * type-checked with the project (`tsc --noEmit`), so a change to the client's public types that breaks a
 * caller fails the build. The `@ts-expect-error` lines are misuses the types must keep refusing.
 */
import {
  type ApiProblem,
  BadRequestProblem,
  type CheckResponse,
  type FrequencyResponse,
  type HistoryItem,
  historyClient,
  type RawResponse,
  TooManyRequestsProblem,
} from '../../client/index.js';

export async function program(apiUrl: string): Promise<void> {
  const api = historyClient({ baseUrl: apiUrl, region: 'eu-west-1', retry: { attempts: 3 } });

  const recent: HistoryItem[] = [];
  for await (const page of api.history('p-123', { limit: 100, since: new Date(0) })) {
    recent.push(...page.items);
    const next: string | null = page.nextCursor;
    if (next === null) break;
  }
  for await (const item of api.impressions('p-123', { titleId: 't1' })) {
    const position: number = item.position;
    const trackId: number | null = item.trackId;
    void [position, trackId];
  }

  const freq: FrequencyResponse = await api.frequency('p-123', ['t1', 't2'], '30d');
  const seen: number = freq.titles[0]?.count ?? 0;
  const check: CheckResponse = await api.check('p-123', [{ titleId: 't1', max: 3, window: '7d' }]);
  const capped: readonly string[] = check.capped;

  interface MyEvent {
    readonly profileId: string;
    readonly eventId: string;
    readonly trackId?: number;
  }
  const mine: MyEvent[] = [{ profileId: 'p-123', eventId: 'e1' }];
  const accepted: number = (await api.ingest('p-123', mine)).accepted;
  const outcome = await api.ingestAll('p-123', ['{"profileId":"p-123"}', { profileId: 'p-123', extra: 1 }]);
  const refused: ApiProblem | undefined = outcome.refused;

  const erased = await api.erase('p-123');
  const complete: boolean = erased.complete;
  const all: number = (await api.eraseCompletely('p-123', { maxRequests: 5 })).deleted;

  const raw: RawResponse = await api.request('GET', '/v1/profiles/p-123/impressions?limit=1');
  const status: number = raw.status;

  try {
    await api.historyPage('p-123', { limit: 0 });
  } catch (err) {
    if (err instanceof TooManyRequestsProblem) console.log(err.retryAfterSeconds);
    else if (err instanceof BadRequestProblem) console.log(err.type, err.title, err.status, err.detail);
  }

  // @ts-expect-error a window the API does not know
  await api.frequency('p-123', ['t1'], '2d');
  // @ts-expect-error an event without its profile
  await api.ingest('p-123', [{ eventId: 'e1' }]);
  // @ts-expect-error a cap's max is a number
  await api.check('p-123', [{ titleId: 't1', max: '3' }]);

  void [recent, seen, capped, accepted, refused, complete, all, status];
}
