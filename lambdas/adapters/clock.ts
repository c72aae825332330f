/**
 * The one clock of the product code. Every function, store and tool that needs "now" takes a `Clock`
 * (milliseconds since the epoch) and defaults to `systemClock`; tests pass their own, so no test depends on
 * the real date (CI also runs the unit and handler tests with the process clock moved: `.ci/shifted-clock.sh`).
 */
export type Clock = () => number;

/** The wall clock. The only place product code reads it. */
export const systemClock: Clock = () => Date.now();
