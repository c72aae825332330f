/**
 * Daily allowances a history store holds in memory: the part of a profile-day's counter (`D#<day>`, the
 * daily cap of `quality.profile-burst`) that this function instance reserved and has not used yet.
 *
 * The counter in DynamoDB is raised in blocks (`dayAllowanceBlock`), and impressions are then counted
 * against the block here, without a write, until it is used up: one counter write per block instead of one
 * per batch. The counter therefore stays ≥ what is stored (the cap can never be passed); what an instance
 * holds when it goes away (recycled, or the entry evicted from this bounded map) stays counted, so that
 * profile-day's cap becomes stricter by at most one block — never looser (docs/history-model.md, "Caps").
 *
 * Records of one partition key (profile) go to one shard, and with a parallelization factor Lambda still
 * processes a partition key's records in order (Lambda developer guide, "Using Lambda with Kinesis Data
 * Streams", parallelization factor), so one lane — usually one warm instance — sees a profile's batches and
 * keeps using its allowance. That is an efficiency, not a correctness, assumption: whichever instance
 * writes, the counter is shared and only ever raised before impressions are stored.
 *
 * An erasure deletes the counter, and with it what every instance reserved: an allowance held across it
 * would be counted against a counter that restarts from zero, and the profile could pass its daily cap by
 * what was held. So a counter carries a generation (`g`, a random token set when the item is created, kept
 * by every later raise), an allowance is held with the generation it was granted from, and before a batch
 * uses a held allowance the counter is read (one consistent GetItem of a small item, cheaper than the write
 * the block saves; the counters of all of a batch's profile-days held here are read together, one
 * consistent BatchGetItem per 100): when the counter is gone or has another generation, the allowance is
 * dropped.
 */
export interface DayAllowanceOptions {
  /**
   * Units reserved beyond a batch's need when a profile-day's counter is raised. Capped at 1 % of the daily
   * cap, so an allowance lost with its instance costs a profile at most 1 % of its cap.
   * @default 200
   */
  readonly block?: number;
  /** Profile-days held at most (least recently used first out). @default 100000 */
  readonly maxEntries?: number;
  /**
   * Whether what a batch reserved and did not store is held for the next batch (`true`), or given back to
   * the counter at once (`false`: one more write, nothing held — for tools that run once and exit).
   * @default true
   */
  readonly hold?: boolean;
}

/** For tools that run once and exit (rebuild, re-drive): reserve exactly, give back what is not stored. */
export const ONE_SHOT_ALLOWANCE: DayAllowanceOptions = { block: 0, hold: false };

const DEFAULT_DAY_ALLOWANCE_BLOCK = 200;
const DEFAULT_MAX_ENTRIES = 100_000;
const KEY_SEPARATOR = '\u0000';
/** The key of a profile-day counter (its item's `pk` and `sk`). */
export const allowanceKey = (pk: string, sk: string) => `${pk}${KEY_SEPARATOR}${sk}`;

/** Units held for one profile-day counter, and the generation (`g`) of the counter they were reserved in. */
export interface HeldAllowance {
  readonly units: number;
  readonly generation: string | undefined;
}

export interface DayAllowances {
  /** See `DayAllowanceOptions.hold`. */
  readonly hold: boolean;
  /** The block to reserve beyond a need, for a daily cap of `perDay`. */
  blockFor(perDay: number): number;
  /**
   * Takes everything held for `key`, with the generation of the counter it was granted from (it is given
   * back, minus what was used, with `keep`).
   */
  take(key: string): HeldAllowance;
  /** Whether anything is held for `key` (nothing is taken). */
  holds(key: string): boolean;
  /**
   * Holds `units` more for `key`, granted from the counter's `generation` (nothing when ≤ 0; what was
   * held from another generation is dropped).
   */
  keep(key: string, units: number, generation: string): void;
  /** What is held, per profile-day counter (`pk`, `sk` of its item). */
  held(): { pk: string; sk: string; units: number; generation: string }[];
}

export function dayAllowances(options: DayAllowanceOptions = {}): DayAllowances {
  const block = Math.max(0, Math.floor(options.block ?? DEFAULT_DAY_ALLOWANCE_BLOCK));
  const maxEntries = Math.max(1, Math.floor(options.maxEntries ?? DEFAULT_MAX_ENTRIES));
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recently used.
  const units = new Map<string, { units: number; generation: string }>();
  return {
    hold: options.hold ?? true,
    blockFor: (perDay) => Math.min(block, Math.floor(perDay / 100)),
    take(key) {
      const held = units.get(key);
      units.delete(key);
      return held ?? { units: 0, generation: undefined };
    },
    holds: (key) => (units.get(key)?.units ?? 0) > 0,
    keep(key, n, generation) {
      if (n <= 0) return;
      // Added to what another call (the same store used concurrently) may have kept meanwhile, if that was
      // granted from the same counter.
      const held = units.get(key);
      units.delete(key);
      const before = held?.generation === generation ? held.units : 0;
      units.set(key, { units: before + n, generation });
      while (units.size > maxEntries) units.delete(units.keys().next().value as string);
    },
    held() {
      return [...units].map(([key, h]) => {
        const [pk, sk] = key.split(KEY_SEPARATOR) as [string, string];
        return { pk, sk, units: h.units, generation: h.generation };
      });
    },
  };
}
