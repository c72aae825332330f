/** Event factories: valid impression events, raw Kinesis records and Lambda events, with overrides. */

import { randomUUID } from 'node:crypto';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { ImpressionEvent } from '../../lambdas/domain/event-schema.js';
import type { RawRecord } from '../../lambdas/domain/filter-enrich.js';

export const NOW_MS = Date.parse('2026-06-15T12:00:00.000Z');

export type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

export function impression(overrides: Partial<Mutable<ImpressionEvent>> = {}): Mutable<ImpressionEvent> {
  return {
    schema: 'impression/1-0-0',
    eventId: randomUUID(),
    eventTime: new Date(NOW_MS - 2_000).toISOString(),
    profileId: 'profile-1',
    accountId: 'account-1',
    sessionId: 'session-1',
    device: { type: 'tv', os: 'tizen', appVersion: '6.1.0' },
    country: 'US',
    page: 'home',
    row: { index: 2, id: 'trending-now', type: 'trending' },
    position: 4,
    titleId: 'title-1',
    entityId: 'title-1',
    artworkId: 'art-1',
    trackId: 17,
    visibility: { percent: 100, durationMs: 1500 },
    context: { experiment: 'A' },
    ...overrides,
  };
}

let seq = 1000;
export const nextSequence = () => String(++seq).padStart(56, '0');

export function rawRecord(
  body: unknown,
  options: { arrivalMs?: number; sequenceNumber?: string; partitionKey?: string } = {},
): RawRecord {
  const data =
    body instanceof Uint8Array ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    sequenceNumber: options.sequenceNumber ?? nextSequence(),
    partitionKey: options.partitionKey ?? 'profile-1',
    data,
    arrivalMs: options.arrivalMs ?? NOW_MS,
  };
}

export function kinesisRecord(r: RawRecord): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.partitionKey,
      sequenceNumber: r.sequenceNumber,
      data: Buffer.from(r.data).toString('base64'),
      approximateArrivalTimestamp: r.arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${r.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/test',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/raw',
  };
}

export const kinesisEvent = (records: readonly RawRecord[]): KinesisStreamEvent => ({
  Records: records.map(kinesisRecord),
});
