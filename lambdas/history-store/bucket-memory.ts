/**
 * What a history store remembers of large bucket items (`B#…`), so that a write it can decide without
 * DynamoDB (a duplicate, a redelivery, a burst past a full window) costs no write at all. DynamoDB charges
 * every write to an item, a failed conditional write included, by the item's size (1 WCU per KB: "DynamoDB
 * read and write operations", developer guide), so without it every duplicate or burst record offered to
 * a bucket near its byte budget would cost that whole item (docs/history-model.md, "Write units per record").
 *
 * Soundness: a remembered state is only ever used to decide that an impression is **present** (with its
 * tag) or that the bucket is **full**; an impression it takes for absent is written with the exact
 * condition on the count, so a state that missed another writer's impressions costs one failed write and is
 * replaced by the state that failure returns. Bucket items only grow until their TTL, except for an erasure
 * (which deletes the profile-day's counter) and `forgetFromRecord` (which sets a new forget token `f` on
 * it): a state is remembered with the counter's generation and forget token as read **before** the state
 * was seen, and used only while the counter, read again at the start of the batch, has the same ones.
 */
import type { BucketState } from './admission-plan.js';

/** Bucket items at least this large are remembered (smaller ones cost at most this many units a write). */
export const REMEMBER_MIN_BYTES = 4 * 1024;
/** Buckets remembered at most (oldest first out): ≤ 1,000 impressions each, ≈ 150 KB of heap. */
export const REMEMBER_MAX_BUCKETS = 256;

export function bucketMemory(maxBuckets = REMEMBER_MAX_BUCKETS) {
  const entries = new Map<string, { token: string; state: BucketState }>();
  const keyOf = (pk: string, sk: string) => `${pk}\u0000${sk}`;
  return {
    /** The remembered state of a bucket, if it was seen under this counter token. */
    recall(pk: string, sk: string, token: string | undefined): BucketState | undefined {
      if (token === undefined) return undefined;
      const k = keyOf(pk, sk);
      const e = entries.get(k);
      if (!e) return undefined;
      if (e.token !== token) {
        entries.delete(k);
        return undefined;
      }
      return e.state;
    },
    /** Remembers a bucket's state, seen after `token` was read from its day's counter. */
    remember(pk: string, sk: string, token: string | undefined, state: BucketState | undefined): void {
      const k = keyOf(pk, sk);
      entries.delete(k);
      if (token === undefined || state === undefined || state.s < REMEMBER_MIN_BYTES) return;
      entries.set(k, { token, state });
      if (entries.size > maxBuckets) entries.delete(entries.keys().next().value as string);
    },
    /** Whether any bucket of this profile is remembered (then the counter is read to check its token). */
    size: () => entries.size,
  };
}

export type BucketMemory = ReturnType<typeof bucketMemory>;
