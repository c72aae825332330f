/**
 * Erasure of a profile (`filtered.erased`, history API `DELETE`): the erasure writes the profile's marker
 * (its latest erasure time) before it deletes anything and never deletes it; the write path refuses
 * impressions of the profile with `eventTime ≤` that time, and the read side answers only from impressions
 * after it, so that a profile erased in part (a `DELETE` answered `complete: false`) reads as a new one at
 * once. The marker's item is the history store's (`lambdas/history-store/item-codec.ts`).
 */

/** Whether an impression of event time `eventTimeMs` is one the erasure at `erasedAtMs` covers. */
export const isErased = (eventTimeMs: number, erasedAtMs: number | undefined) =>
  erasedAtMs !== undefined && eventTimeMs <= erasedAtMs;
