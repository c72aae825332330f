/**
 * Decoding and classification of one raw record: every record ends as exactly one of
 * rejected (with a reason code of the contract), filtered (with a reason) or a candidate for enrichment.
 * Pure: no I/O, no clock (the arrival time is an argument), never throws on any input.
 */
import {
  type ImpressionEvent,
  malformedStringPath,
  reasonOfSchemaError,
  SCHEMA_REGISTRY,
} from './event-schema.js';

export const MAX_RECORD_BYTES = 16 * 1024;

/** Every reject reason of the contract (the field path, where there is one, follows after a colon). */
export const REJECT_REASONS = [
  'decode.not-json',
  'decode.too-large',
  'decode.not-object',
  'decode.aggregate-too-large',
  'decode.bad-aggregate',
  'schema.missing-field',
  'schema.wrong-type',
  'schema.out-of-range',
  'schema.unknown-field',
  'schema.unsupported-version',
  'time.future',
  'time.too-late',
  'quality.entity-mismatch',
  'quality.profile-burst',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const FILTER_REASONS = [
  'filtered.not-viewable',
  'filtered.duplicate',
  'filtered.test-profile',
  'filtered.erased',
] as const;
export type FilterReason = (typeof FILTER_REASONS)[number];

export interface ClassifierConfig {
  /** Below this visible share an impression is filtered as not viewable. */
  readonly minVisiblePercent: number;
  /** Below this time on screen an impression is filtered as not viewable. */
  readonly minVisibleMs: number;
  /** Profiles whose impressions are test or bot traffic. */
  readonly testProfiles: ReadonlySet<string>;
  /** How far an event may lie after its arrival (`EVENT_TIME_BOUNDS`). */
  readonly maxFutureMs: number;
  /** How far an event may lie before its arrival (`EVENT_TIME_BOUNDS`). */
  readonly maxLatenessMs: number;
}

/** The contract's event-time window (`time.future`, `time.too-late`): rules of the contract, not settings. */
export const EVENT_TIME_BOUNDS = {
  maxFutureMs: 5 * 60 * 1000,
  maxLatenessMs: 7 * 24 * 60 * 60 * 1000,
} as const;

/**
 * A reference configuration for tests and benchmarks only. A deployed function takes every value from its
 * settings (`filter-enrich/settings.ts`), whose defaults live in `infra/config.ts`; a unit test pins the two
 * viewability values here to those defaults.
 */
export const DEFAULT_CLASSIFIER_CONFIG: ClassifierConfig = {
  minVisiblePercent: 50,
  minVisibleMs: 1000,
  testProfiles: new Set(),
  ...EVENT_TIME_BOUNDS,
};

export type Classification =
  | {
      readonly outcome: 'rejected';
      readonly reason: RejectReason;
      readonly code: string;
      readonly detail: string;
    }
  | { readonly outcome: 'filtered'; readonly reason: FilterReason; readonly event: ImpressionEvent }
  | { readonly outcome: 'candidate'; readonly event: ImpressionEvent; readonly eventTimeMs: number };

const utf8 = new TextDecoder('utf-8', { fatal: true });

const reject = (reason: RejectReason, detail: string, path?: string): Classification => ({
  outcome: 'rejected',
  reason,
  code: path ? `${reason}:${path}` : reason,
  detail,
});

/** Decodes a record's bytes to a JSON object, or says why it cannot. */
export function decode(data: Uint8Array): { value: Record<string, unknown> } | { rejection: Classification } {
  if (data.byteLength > MAX_RECORD_BYTES) {
    return {
      rejection: reject('decode.too-large', `record is ${data.byteLength} bytes, limit ${MAX_RECORD_BYTES}`),
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(data));
  } catch (err) {
    return { rejection: reject('decode.not-json', err instanceof Error ? err.message : 'invalid JSON') };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return {
      rejection: reject(
        'decode.not-object',
        `top-level value is ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed}`,
      ),
    };
  }
  return { value: parsed as Record<string, unknown> };
}

/** Classifies one record that arrived at `arrivalMs` (the Kinesis approximate arrival time). */
export function classify(data: Uint8Array, arrivalMs: number, config: ClassifierConfig): Classification {
  const decoded = decode(data);
  if ('rejection' in decoded) return decoded.rejection;
  const obj = decoded.value;

  if (!Object.hasOwn(obj, 'schema')) return reject('schema.missing-field', 'schema is required', 'schema');
  const schemaId = obj.schema;
  if (typeof schemaId !== 'string') return reject('schema.wrong-type', 'schema must be a string', 'schema');
  const version = SCHEMA_REGISTRY.get(schemaId);
  if (!version) {
    return reject(
      'schema.unsupported-version',
      `unknown schema ${JSON.stringify(schemaId.slice(0, 64))}`,
      'schema',
    );
  }
  if (!version.validate(obj)) {
    const first = version.validate.errors?.[0];
    if (!first) return reject('schema.wrong-type', 'invalid record');
    const { kind, path } = reasonOfSchemaError(first, obj);
    return reject(kind, `${path || 'record'} ${first.message ?? 'is invalid'}`, path);
  }
  const malformed = malformedStringPath(obj);
  if (malformed !== undefined) {
    return reject('schema.wrong-type', `${malformed || 'record'} is not well-formed Unicode`, malformed);
  }
  const event = obj as unknown as ImpressionEvent;

  const eventTimeMs = parseEventTime(event.eventTime);
  if (Number.isNaN(eventTimeMs)) {
    return reject('schema.out-of-range', 'eventTime is not a valid date', 'eventTime');
  }
  if (event.entityId !== undefined && event.entityId !== event.titleId) {
    return reject(
      'quality.entity-mismatch',
      `entityId ${event.entityId} differs from titleId ${event.titleId}`,
    );
  }
  if (eventTimeMs - arrivalMs > config.maxFutureMs) {
    return reject('time.future', `eventTime is ${eventTimeMs - arrivalMs} ms after arrival`);
  }
  if (arrivalMs - eventTimeMs > config.maxLatenessMs) {
    return reject('time.too-late', `eventTime is ${arrivalMs - eventTimeMs} ms before arrival`);
  }
  if (config.testProfiles.has(event.profileId))
    return { outcome: 'filtered', reason: 'filtered.test-profile', event };
  if (
    event.visibility.percent < config.minVisiblePercent ||
    event.visibility.durationMs < config.minVisibleMs
  ) {
    return { outcome: 'filtered', reason: 'filtered.not-viewable', event };
  }
  return { outcome: 'candidate', event, eventTimeMs };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digit = (t: string, i: number) => t.charCodeAt(i) - 48;
const two = (t: string, i: number) => digit(t, i) * 10 + digit(t, i + 1);

/**
 * Epoch ms of an eventTime that already matched EVENT_TIME_PATTERN (`YYYY-MM-DDTHH:MM:SS.mmm` and `Z` or
 * `±HH:MM`), or NaN when it is not a real calendar date and time (Date.parse would roll 2026-02-30 over to
 * March). Reads the digits directly: this runs once per record on the hot path.
 */
export function parseEventTime(t: string): number {
  const y = two(t, 0) * 100 + two(t, 2);
  const m = two(t, 5);
  const d = two(t, 8);
  const hh = two(t, 11);
  const mm = two(t, 14);
  const ss = two(t, 17);
  const ms = digit(t, 20) * 100 + two(t, 21);
  if (m < 1 || m > 12 || d < 1 || hh > 23 || mm > 59 || ss > 59) return Number.NaN;
  const utc = Date.UTC(y, m - 1, d, hh, mm, ss, ms);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > (m === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[m - 1]!)) return Number.NaN;
  if (t.length === 24) return utc; // Z
  const sign = t.charCodeAt(23) === 45 /* - */ ? -1 : 1;
  const oh = two(t, 24);
  const om = two(t, 27);
  if (oh > 23 || om > 59) return Number.NaN;
  return utc - sign * (oh * 60 + om) * 60_000;
}
