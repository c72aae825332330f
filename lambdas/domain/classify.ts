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
import { DAY_MS } from './history-model.js';
import { parseRfc3339 } from './time.js';

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
  maxLatenessMs: 7 * DAY_MS,
} as const;

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

  const eventTimeMs = parseRfc3339(event.eventTime);
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
