/**
 * The default local load looks like many members browsing: hundreds of profiles in a short run, a page
 * never shows a title twice, and no profile goes past the event contract's per-profile caps
 * (`quality.profile-burst`: 1,000 per 10 s of eventTime, 20,000 per UTC day).
 */
import { describe, expect, it } from 'vitest';
import type { ImpressionEvent } from '../../lambdas/domain/event-schema.js';
import { sampleCatalog } from '../../ops/seed.js';
import { type GeneratedRecord, PROFILE_CAPS, traffic } from '../../scripts/traffic.js';

const titles = sampleCatalog().map((t) => t.titleId);
const decode = (r: GeneratedRecord) => JSON.parse(Buffer.from(r.data).toString()) as ImpressionEvent;
const accepted = (r: GeneratedRecord) => r.expected === 'enriched' || r.expected === 'filtered.not-viewable';

function take(n: number, nowMs: () => number, seed = 11): GeneratedRecord[] {
  const gen = traffic({ seed, titleIds: titles, testProfile: 'bot', nowMs });
  return Array.from({ length: n }, () => gen.next().value as GeneratedRecord);
}

/** Largest number of a profile's impressions within any `windowMs` of eventTime (sliding). */
function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < t.length; j++) {
    while (t[j]! - t[i]! >= windowMs) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

describe('default traffic variety', () => {
  it('reaches hundreds of profiles in 3,000 events, none with more than a few percent of them', () => {
    const records = take(3000, Date.now);
    const perProfile = new Map<string, number>();
    for (const r of records) perProfile.set(r.partitionKey, (perProfile.get(r.partitionKey) ?? 0) + 1);
    expect(perProfile.size).toBeGreaterThan(150);
    expect(Math.max(...perProfile.values())).toBeLessThan(100);
  });

  it('never shows a title twice on one page view', () => {
    const pages = new Map<string, { lastRow: number; titles: Set<string> }>();
    let checked = 0;
    for (const r of take(20_000, Date.now).filter(accepted)) {
      const e = decode(r);
      let page = pages.get(e.sessionId);
      // Row indexes grow within a page; a smaller one starts the session's next page.
      if (!page || e.row.index < page.lastRow) {
        page = { lastRow: 0, titles: new Set() };
        pages.set(e.sessionId, page);
      }
      page.lastRow = e.row.index;
      expect(page.titles.has(e.titleId), `${e.sessionId} ${e.titleId}`).toBe(false);
      page.titles.add(e.titleId);
      checked++;
    }
    expect(checked).toBeGreaterThan(15_000);
  });

  it('keeps every profile under the contract caps, even when every event has the same time', async () => {
    // The worst case for the 10-s cap: the clock does not move (a burst faster than any real member).
    const fixed = Date.parse('2026-11-26T12:00:00.000Z');
    const perProfile = new Map<string, number[]>();
    const gen = traffic({ seed: 5, titleIds: titles, testProfile: 'bot', nowMs: () => fixed });
    for (let i = 0; i < 100_000; i++) {
      const r = gen.next().value as GeneratedRecord;
      if (!accepted(r) && r.expected !== 'filtered.duplicate') continue;
      const e = decode(r);
      const list = perProfile.get(e.profileId) ?? [];
      list.push(Date.parse(e.eventTime));
      perProfile.set(e.profileId, list);
      if (i % 10_000 === 0) await new Promise((res) => setImmediate(res));
    }
    expect(perProfile.size).toBeGreaterThan(300);
    for (const [profile, times] of perProfile)
      expect(maxInWindow(times, 10_000), profile).toBeLessThanOrEqual(1000);
    expect(3 * PROFILE_CAPS.per5s).toBeLessThanOrEqual(1000);
  });

  it('keeps one profile under the daily cap over a day of non-stop browsing', async () => {
    // One member browsing every 3 s of eventTime all day: the daily cap binds, the 10-s one never does.
    let t = Date.parse('2026-11-26T00:00:00.000Z');
    const gen = traffic({
      seed: 9,
      titleIds: titles,
      testProfile: 'bot',
      nowMs: () => (t += 3000),
      profiles: 1,
      sessions: 1,
    });
    const perDay = new Map<string, number>();
    for (let i = 0; i < 25_000; i++) {
      const r = gen.next().value as GeneratedRecord;
      if (
        r.expected === 'enriched' ||
        r.expected === 'filtered.not-viewable' ||
        r.expected === 'filtered.duplicate'
      ) {
        const day = decode(r).eventTime.slice(0, 10);
        perDay.set(day, (perDay.get(day) ?? 0) + 1);
      }
      if (i % 5_000 === 0) await new Promise((res) => setImmediate(res));
    }
    expect(perDay.get('2026-11-26')).toBeGreaterThan(15_000);
    expect(Math.max(...perDay.values())).toBeLessThanOrEqual(20_000);
    expect(perDay.get('2026-11-27')).toBeGreaterThan(0);
  });

  it('a population too small for the clock is a clear error, not a hang', () => {
    const gen = traffic({
      seed: 1,
      titleIds: titles,
      testProfile: 'bot',
      nowMs: () => 1_002_500, // every event time in one 5-s bucket
      profiles: 2,
      sessions: 2,
    });
    expect(() => {
      for (let i = 0; i < 10_000; i++) gen.next();
    }).toThrow(/all 2 profiles are at their per-profile caps/);
  });
});
