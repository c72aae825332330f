/** KPL aggregation for the load generator and the benchmarks, with awslabs' aws-kinesis-agg. */
import agg from 'aws-kinesis-agg';

export interface Aggregated {
  readonly partitionKey: string;
  readonly data: Buffer;
}

/** Packs user records into KPL-aggregated records (each ≤ the library's 1 MB default, split as it decides). */
export function aggregate(
  records: readonly { partitionKey: string; data: Uint8Array }[],
): Promise<Aggregated[]> {
  return new Promise((resolve, reject) => {
    const out: Aggregated[] = [];
    agg.aggregate(
      records.map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data) })),
      (encoded, done) => {
        out.push({ partitionKey: encoded.partitionKey, data: encoded.data });
        done();
      },
      () => resolve(out),
      (err) => reject(err),
    );
  });
}
