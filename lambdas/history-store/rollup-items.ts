/**
 * A day's rollup as stored (`R#<day>`, parts `R#<day>#<k>`; docs/history-model.md, "Reads"): the rollup
 * item holds the tally `c`, the build token `b`, the invalidation token `d`, the number of items `p` of a
 * split rollup, and a TTL `x`. The writer invalidates it by setting `d` to a new token and removing `c` and
 * `b`; a reader stores a build only on the condition that `d` is still the token it saw before reading the
 * buckets (or that the item still does not exist).
 */
import type { Tally } from '../domain/rollup.js';
import { ATTR, decodeTally, type Item } from './item-codec.js';

/**
 * A day's rollup as one item to judge with `rollupState`: the rollup item with the counts of its parts
 * (`p` items in all, each part carrying the build token `b`) joined to its own. When a part is missing or
 * of another build (two builds raced), the counts are not served: the item is marked for a rebuild on the
 * condition that it is still that build.
 */
export function joinRollupParts(
  head: Readonly<Item> | undefined,
  parts: ReadonlyMap<number, Readonly<Item>>,
): Readonly<Item> | undefined {
  if (!head) return undefined;
  const p = Number(head[ATTR.parts] ?? 1);
  const build = head[ATTR.build];
  const own = head[ATTR.tally];
  if (!(p > 1) || typeof build !== 'string' || !Array.isArray(own)) return head;
  const c: unknown[] = [...own];
  for (let k = 1; k < p; k++) {
    const part = parts.get(k);
    const more = part?.[ATTR.tally];
    if (!part || part[ATTR.build] !== build || !Array.isArray(more)) return { ...head, [ATTR.tally]: {} };
    c.push(...more);
  }
  return { ...head, [ATTR.tally]: c };
}

/** What a stored rollup item says to a reader at `nowMs`. */
export interface RollupState {
  /** Whether the item exists. */
  readonly exists: boolean;
  /** The day's tally when the rollup is valid (built, not invalidated, not expired). */
  readonly counts: Tally | undefined;
  /** Token of the last invalidation, when there was one. */
  readonly dirty: string | undefined;
  /**
   * Build token of a built rollup whose counts cannot be served (parts missing or of another build, see
   * `joinRollupParts`): not served, rebuilt on the condition that it is still that build.
   */
  readonly unservedBuild?: string;
}

export function rollupState(item: Readonly<Item> | undefined, nowMs: number): RollupState {
  if (!item) return { exists: false, counts: undefined, dirty: undefined };
  const d = item[ATTR.dirty];
  const dirty = typeof d === 'string' ? d : undefined;
  const c = item[ATTR.tally];
  const b = item[ATTR.build];
  const x = item[ATTR.ttl];
  const live = typeof x !== 'number' || x * 1000 > nowMs;
  if (typeof b !== 'string' || c === null || typeof c !== 'object' || !live)
    return { exists: true, counts: undefined, dirty };
  const counts = Array.isArray(c) ? decodeTally(c) : undefined;
  if (!counts) return { exists: true, counts: undefined, dirty, unservedBuild: b };
  return { exists: true, counts, dirty };
}
