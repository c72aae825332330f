/**
 * Kinesis event records as the domain sees them. KPL-aggregated records (a producer packing many user
 * records into one Kinesis record, to pay for fewer PUT units) are de-aggregated with awslabs'
 * aws-kinesis-agg; each user record keeps its parent's sequence number (what a partial batch response names)
 * and gets its sub-sequence number. An aggregate that fails its checksum is kept whole, so it is rejected
 * with a reason rather than lost.
 */

import agg from 'aws-kinesis-agg';
import type { KinesisStreamRecord } from 'aws-lambda';
import type { RawRecord } from '../domain/filter-enrich.js';

const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

export const isAggregated = (data: Uint8Array) =>
  data.byteLength > KPL_MAGIC.length && Buffer.from(data.buffer, data.byteOffset, 4).equals(KPL_MAGIC);

export function toRawRecords(r: KinesisStreamRecord): RawRecord[] {
  const data = Buffer.from(r.kinesis.data, 'base64');
  const arrivalMs = Math.round(r.kinesis.approximateArrivalTimestamp * 1000);
  const whole: RawRecord = {
    sequenceNumber: r.kinesis.sequenceNumber,
    partitionKey: r.kinesis.partitionKey,
    data,
    arrivalMs,
  };
  if (!isAggregated(data)) return [whole];
  let users: RawRecord[] | undefined;
  agg.deaggregateSync(r.kinesis, true, (err, userRecords) => {
    if (err || !userRecords) return;
    users = userRecords.map((u) => ({
      sequenceNumber: r.kinesis.sequenceNumber,
      subSequenceNumber: u.subSequenceNumber,
      partitionKey: u.partitionKey,
      data: Buffer.from(u.data, 'base64'),
      arrivalMs,
    }));
  });
  return users ?? [whole];
}
