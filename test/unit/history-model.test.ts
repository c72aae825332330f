import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EnrichedRecord, enrich } from '../../lambdas/domain/enrich.js';
import { countWindow, windowDays } from '../../lambdas/domain/frequency.js';
import {
  frequencyMember,
  parseFrequencyMember,
  planHistoryWrites,
} from '../../lambdas/domain/history-model.js';
import { impression, NOW_MS } from '../support/factories.js';

const record = (overrides: Parameters<typeof impression>[0] = {}): EnrichedRecord => {
  const e = impression(overrides);
  return enrich(e, Date.parse(e.eventTime), NOW_MS, undefined);
};

describe('planHistoryWrites', () => {
  it('writes one put per impression and merges a profile-title-day into one set ADD', () => {
    const a = record({ titleId: 'x', entityId: undefined });
    const b = record({ titleId: 'x', entityId: undefined });
    const c = record({ titleId: 'y', entityId: undefined });
    const plan = planHistoryWrites(
      [
        { sequenceNumber: '1', record: a },
        { sequenceNumber: '2', record: b },
        { sequenceNumber: '3', record: c },
      ],
      30,
    );
    expect(plan.puts).toHaveLength(3);
    expect(plan.updates).toHaveLength(2);
    const x = plan.updates.find((u) => u.update.sk.startsWith('F#x#'))!;
    expect(x.update.members).toHaveLength(2);
    expect(x.sources).toEqual(['1', '2']);
    expect(plan.puts[0]!.item).toMatchObject({ pk: 'P#profile-1', e: a.event_id, ti: 'x', tr: 17 });
    expect(plan.puts[0]!.item.x).toBe(Math.floor((Date.parse(a.event_time) + 30 * 86_400_000) / 1000));
  });

  it('writes a record repeated in the batch once, naming both sources', () => {
    const a = record();
    const plan = planHistoryWrites(
      [
        { sequenceNumber: '1', record: a },
        { sequenceNumber: '1', record: a },
      ],
      30,
    );
    expect(plan.puts).toHaveLength(1);
    expect(plan.updates[0]!.update.members).toHaveLength(1);
  });

  it('keeps frequency items past the longest window', () => {
    const a = record();
    const plan = planHistoryWrites([{ sequenceNumber: '1', record: a }], 7);
    const dayStart = Date.parse(`${a.event_date}T00:00:00.000Z`);
    expect(plan.updates[0]!.update.x * 1000).toBeGreaterThan(dayStart + 31 * 86_400_000);
  });
});

describe('frequency windows', () => {
  const asOf = Date.parse('2026-06-15T12:00:00.000Z');
  it('counts (asOf - window, asOf], exactly at both boundaries', () => {
    const members = [
      frequencyMember(asOf - 3_600_000, 'excluded-lower'),
      frequencyMember(asOf - 3_600_000 + 1, 'included-lower'),
      frequencyMember(asOf, 'included-upper'),
      frequencyMember(asOf + 1, 'excluded-upper'),
    ];
    expect(countWindow(members, asOf, '1h')).toEqual({ count: 2, lastSeenAt: new Date(asOf).toISOString() });
  });

  it('counts distinct event ids and returns null lastSeenAt when empty', () => {
    const m = frequencyMember(asOf - 10, 'a');
    expect(countWindow([m, m], asOf, '1d').count).toBe(1);
    expect(countWindow([], asOf, '7d')).toEqual({ count: 0, lastSeenAt: null });
  });

  it('windowDays covers every day that can hold a member of the window', () => {
    expect(windowDays(asOf, '1d')).toEqual({ first: '2026-06-14', last: '2026-06-15' });
    expect(windowDays(Date.parse('2026-06-15T00:00:00.000Z'), '1d')).toEqual({
      first: '2026-06-14',
      last: '2026-06-15',
    });
    expect(windowDays(asOf, '30d').first).toBe('2026-05-16');
  });

  it('member encoding round-trips and rejects garbage', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.uuid(), (t, id) => {
        expect(parseFrequencyMember(frequencyMember(t, id))).toEqual({ timeMs: t, eventId: id });
      }),
    );
    expect(parseFrequencyMember('garbage')).toBeUndefined();
  });
});
