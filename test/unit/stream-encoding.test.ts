/**
 * The wire form of the enriched and rejected stream records, column by column against the rule Amazon Data
 * Firehose's Iceberg destination documents for the column's type (Firehose developer guide, "Understand
 * supported data types", https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-destination-supp.html).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRow,
  encodeRow,
  fromEnrichedWire,
  fromRejectedWire,
  parseEnrichedWire,
  StreamEncodingError,
  toEnrichedWire,
  toRejectedWire,
  WIRE_RULES,
} from '../../lambdas/adapters/stream-encoding.js';
import { enrich } from '../../lambdas/domain/enrich.js';
import type { RejectedRow } from '../../lambdas/domain/filter-enrich.js';
import { IMPRESSIONS_TABLE, REJECTED_TABLE } from '../../lambdas/domain/lake-schema.js';
import { impression, NOW_MS } from '../support/factories.js';

const TITLE = {
  titleId: 'title-1',
  name: 'Stranger Things',
  type: 'show' as const,
  genres: ['drama', 'sci-fi'],
  maturityRating: 'TV-14',
};
const record = (over: Parameters<typeof impression>[0] = {}, title: typeof TITLE | null = TITLE) => {
  const e = impression({ titleId: 'title-1', entityId: 'title-1', ...over });
  return enrich(e, Date.parse(e.eventTime), NOW_MS, title ?? undefined);
};
const rejected: RejectedRow = {
  received_at: '2026-06-15T12:00:00.123Z',
  reason: 'decode.not-json',
  detail: 'not JSON',
  partition_key: 'p1',
  sequence_number: '4959',
  raw: '{broken',
  profile_id: null,
};

describe('enriched stream record: every column in the form Firehose documents for its type', () => {
  const r = record({ eventTime: '2026-06-15T11:59:58.250Z', context: { exp: 'B' } });
  const wire = toEnrichedWire(r);

  it('has exactly the table’s columns, in order', () => {
    expect(Object.keys(wire)).toEqual(IMPRESSIONS_TABLE.columns.map((c) => c.name));
  });

  it('timestamptz (event_time, received_at): integer microseconds since the epoch ("For Timestamp data types, you must always send in microseconds")', () => {
    expect(wire.event_time).toBe(Date.parse('2026-06-15T11:59:58.250Z') * 1000);
    expect(wire.event_time).toBe(1781524798250000);
    expect(wire.received_at).toBe(NOW_MS * 1000);
    for (const c of IMPRESSIONS_TABLE.columns.filter((c) => c.type === 'timestamptz')) {
      const v = wire[c.name];
      expect(Number.isSafeInteger(v), c.name).toBe(true);
      expect(v as number).toBeGreaterThanOrEqual(WIRE_RULES.timestampMicrosMin);
      expect(v as number).toBeLessThan(WIRE_RULES.timestampMicrosMax);
    }
  });

  it('date (event_date): the string yyyy-MM-dd, as the DateType example "2024-09-04"', () => {
    expect(wire.event_date).toBe('2026-06-15');
  });

  it('int and long: JSON integers (IntegerType / LongType examples)', () => {
    for (const c of IMPRESSIONS_TABLE.columns.filter((c) => c.type === 'int' || c.type === 'long')) {
      const v = wire[c.name];
      if (v !== null) expect(Number.isSafeInteger(v), c.name).toBe(true);
    }
    expect(wire.row_index).toBe(r.row_index);
    expect(wire.ingest_lag_ms).toBe(1750);
  });

  it('list<string> (title_genres): a JSON array of strings (ListType example)', () => {
    expect(wire.title_genres).toEqual(['drama', 'sci-fi']);
  });

  it('map<string,string> (context): a JSON object of string values (MapType example)', () => {
    expect(wire.context).toEqual({ exp: 'B' });
  });

  it('optional columns without a value are present as null, never left out', () => {
    const w = toEnrichedWire(record({ context: undefined }, null));
    expect(w).toMatchObject({ title_genres: null, title_name: null, context: null });
    expect(Object.keys(w)).toHaveLength(IMPRESSIONS_TABLE.columns.length);
  });

  it('round-trips: encode, JSON, decode gives the in-memory record back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 7 * 86_400_000 }),
        fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 4 }), { nil: undefined }),
        fc.boolean(),
        async (agoMs, context, known) => {
          const r0 = record(
            { eventTime: new Date(NOW_MS - agoMs).toISOString(), context },
            known ? TITLE : null,
          );
          const back = fromEnrichedWire(JSON.parse(JSON.stringify(toEnrichedWire(r0))));
          expect(back).toEqual(r0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('rejected stream record', () => {
  it('received_at in microseconds, the rest as strings; round-trips', () => {
    const wire = toRejectedWire(rejected);
    expect(Object.keys(wire)).toEqual(REJECTED_TABLE.columns.map((c) => c.name));
    expect(wire.received_at).toBe(Date.parse(rejected.received_at) * 1000);
    expect(fromRejectedWire(JSON.parse(JSON.stringify(wire)))).toEqual(rejected);
  });
});

describe('what the decoder refuses (a stream record not in the wire form)', () => {
  const good = () => JSON.parse(JSON.stringify(toEnrichedWire(record()))) as Record<string, unknown>;
  const refuses = (change: (w: Record<string, unknown>) => void, column: string) => {
    const w = good();
    change(w);
    expect(() => fromEnrichedWire(w)).toThrowError(StreamEncodingError);
    expect(() => fromEnrichedWire(w)).toThrowError(new RegExp(`^${column}:`));
  };

  it('a timestamp as RFC 3339 text, seconds or milliseconds', () => {
    refuses((w) => {
      w.event_time = '2026-06-15T11:59:58.000Z';
    }, 'event_time');
    refuses((w) => {
      w.event_time = Math.floor(NOW_MS / 1000);
    }, 'event_time');
    refuses((w) => {
      w.received_at = NOW_MS;
    }, 'received_at');
    refuses((w) => {
      w.received_at = NOW_MS * 1e6;
    }, 'received_at');
  });

  it('a missing column, a null in a required one, a wrong type, an impossible date', () => {
    refuses((w) => {
      delete w.profile_id;
    }, 'profile_id');
    refuses((w) => {
      w.event_id = null;
    }, 'event_id');
    refuses((w) => {
      w.row_index = '4';
    }, 'row_index');
    refuses((w) => {
      w.position = 2 ** 31;
    }, 'position');
    refuses((w) => {
      w.title_genres = 'drama';
    }, 'title_genres');
    refuses((w) => {
      w.context = { a: 1 };
    }, 'context');
    refuses((w) => {
      w.event_date = '2026-02-30';
    }, 'event_date');
  });

  it('dates: real calendar days only (29 February in leap years)', () => {
    const withDate = (d: string) => ({ ...good(), event_date: d });
    expect(fromEnrichedWire(withDate('2028-02-29')).event_date).toBe('2028-02-29');
    expect(fromEnrichedWire(withDate('2000-02-29')).event_date).toBe('2000-02-29');
    for (const d of ['2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-6-15'])
      expect(() => fromEnrichedWire(withDate(d)), d).toThrowError(/^event_date:/);
  });

  it('ignores keys that are not columns, as Firehose skips them', () => {
    const w = { ...good(), surprise: 1 };
    expect(fromEnrichedWire(w)).not.toHaveProperty('surprise');
  });

  it('parseEnrichedWire never throws: undefined for bytes that are not a record', () => {
    for (const s of ['', 'x', '[]', 'null', '{}', JSON.stringify(record())])
      expect(parseEnrichedWire(new TextEncoder().encode(s))).toBeUndefined();
    const r = record();
    expect(parseEnrichedWire(new TextEncoder().encode(JSON.stringify(toEnrichedWire(r))))).toEqual(r);
  });

  it('the encoder refuses what it cannot put on the stream', () => {
    expect(() => encodeRow(REJECTED_TABLE, { ...rejected, received_at: 'yesterday' })).toThrowError(
      /^received_at:/,
    );
    expect(() => decodeRow(REJECTED_TABLE, [])).toThrowError(/not a JSON object/);
  });
});
