/**
 * A Kinesis event source mapping, in the test process: the emulator ignores partial batch responses, bisect,
 * retry limits and on-failure destinations, so this driver applies AWS's documented checkpoint rules to the
 * real handlers, one shard at a time:
 * - batches of up to `batchSize` records from the checkpoint, in sequence order;
 * - a partial batch response moves the checkpoint to just before the lowest failed sequence number, and the
 *   rest of the batch is retried;
 * - a function error (throw) retries the batch, split in two when `bisectOnError` is set;
 * - after `maxRetries` retries of a batch it goes to the on-failure destination and the checkpoint moves past it;
 * - `duplicateDelivery` delivers every batch twice (at-least-once delivery in its plainest form).
 */
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { RawRecord } from '../../lambdas/domain/filter-enrich.js';
import { kinesisEvent } from './factories.js';

export interface MappingSettings {
  readonly batchSize: number;
  readonly maxRetries: number;
  readonly bisectOnError: boolean;
  readonly duplicateDelivery?: boolean;
}

export interface DriverReport {
  readonly invocations: number;
  readonly functionErrors: number;
  readonly partialFailures: number;
  /** Batches handed to the on-failure destination after their retries ran out. */
  readonly onFailure: readonly RawRecord[][];
}

type Handler = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | undefined>;

const bySeq = (a: RawRecord, b: RawRecord) => (BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ? -1 : 1);

export async function drive(
  records: readonly RawRecord[],
  handler: Handler,
  settings: MappingSettings,
): Promise<DriverReport> {
  const shard = [...records].sort(bySeq);
  let invocations = 0;
  let functionErrors = 0;
  let partialFailures = 0;
  const onFailure: RawRecord[][] = [];

  const invoke = async (batch: RawRecord[]) => {
    invocations++;
    return handler(kinesisEvent(batch));
  };

  /** Processes one batch to completion (done, or sent to the on-failure destination). */
  const process = async (initial: RawRecord[]): Promise<void> => {
    const queue: { batch: RawRecord[]; retries: number }[] = [{ batch: initial, retries: 0 }];
    while (queue.length) {
      const { batch, retries } = queue.shift()!;
      let failedFrom: number | undefined;
      try {
        const res = await invoke(batch);
        if (settings.duplicateDelivery) await invoke(batch);
        const failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        if (failed.size) {
          partialFailures++;
          const idx = batch.findIndex((r) => failed.has(r.sequenceNumber));
          // An identifier outside the batch fails the whole batch, as Lambda treats it.
          failedFrom = idx === -1 ? 0 : idx;
        }
      } catch {
        functionErrors++;
        if (retries >= settings.maxRetries) {
          onFailure.push(batch);
          continue;
        }
        if (settings.bisectOnError && batch.length > 1) {
          const mid = Math.ceil(batch.length / 2);
          queue.unshift({ batch: batch.slice(mid), retries: retries + 1 });
          queue.unshift({ batch: batch.slice(0, mid), retries: retries + 1 });
        } else {
          queue.unshift({ batch, retries: retries + 1 });
        }
        continue;
      }
      if (failedFrom === undefined) continue;
      const rest = batch.slice(failedFrom);
      if (retries >= settings.maxRetries) onFailure.push(rest);
      else queue.unshift({ batch: rest, retries: retries + 1 });
    }
  };

  for (let i = 0; i < shard.length; i += settings.batchSize) {
    await process(shard.slice(i, i + settings.batchSize));
    // The in-memory services answer in microtasks: give the event loop a turn between batches, so a long
    // campaign never starves the test runner's worker RPC.
    await new Promise<void>((r) => setImmediate(r));
  }
  return { invocations, functionErrors, partialFailures, onFailure };
}
