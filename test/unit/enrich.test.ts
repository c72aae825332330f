import { describe, expect, it } from 'vitest';
import { enrich, lastIsoFormatter } from '../../lambdas/domain/enrich.js';
import type { ImpressionEvent } from '../../lambdas/domain/event-schema.js';
import { impression, NOW_MS } from '../support/factories.js';

describe('enrich', () => {
  const event: ImpressionEvent = impression();
  const eventTimeMs = Date.parse(event.eventTime);

  it('gives the same record whatever was enriched before (no state of its own)', () => {
    const first = enrich(event, eventTimeMs, NOW_MS, undefined);
    enrich(event, eventTimeMs, NOW_MS + 1234, undefined);
    expect(enrich(event, eventTimeMs, NOW_MS, undefined)).toEqual(first);
    expect(first.received_at).toBe(new Date(NOW_MS).toISOString());
  });

  it("writes the arrival with the caller's formatter, which remembers only its last instant", () => {
    const format = lastIsoFormatter();
    for (const ms of [NOW_MS, NOW_MS, NOW_MS + 1, NOW_MS, 0]) {
      expect(enrich(event, eventTimeMs, ms, undefined, format).received_at).toBe(new Date(ms).toISOString());
    }
  });
});
