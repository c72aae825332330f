/**
 * Vitest setup file: when `IMPRESSIONS_TEST_NOW` is set (an ISO instant), the process clock starts there and
 * runs on at the real rate, for every test file (each file starts at that instant again). CI runs the unit
 * and handler tests this way far ahead of today and across a UTC midnight on a leap day
 * (`.ci/shifted-clock.sh`), so a test that compares a fixed date with the real clock fails there.
 */

/** Moves the global `Date` so that now is `startIso` (then running at the real rate); returns the undo. */
export function shiftClock(startIso: string): () => void {
  const startMs = Date.parse(startIso);
  if (Number.isNaN(startMs)) throw new Error(`IMPRESSIONS_TEST_NOW: ${startIso} is not an ISO instant`);
  const RealDate = Date;
  const offset = startMs - RealDate.now();
  class ShiftedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...(args as ConstructorParameters<DateConstructor>));
    }
    static override now(): number {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
  return () => {
    globalThis.Date = RealDate;
  };
}

const start = process.env.IMPRESSIONS_TEST_NOW;
if (start) shiftClock(start);
