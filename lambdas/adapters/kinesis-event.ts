/** Kinesis event records as the domain sees them. */
import type { KinesisStreamRecord } from 'aws-lambda';
import type { RawRecord } from '../domain/filter-enrich.js';

export function toRawRecord(r: KinesisStreamRecord): RawRecord {
  return {
    sequenceNumber: r.kinesis.sequenceNumber,
    partitionKey: r.kinesis.partitionKey,
    data: Buffer.from(r.kinesis.data, 'base64'),
    arrivalMs: Math.round(r.kinesis.approximateArrivalTimestamp * 1000),
  };
}
