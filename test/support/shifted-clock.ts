/**
 * Vitest setup file: when `IMPRESSIONS_TEST_NOW` is set (an ISO instant), the process clock starts there and
 * runs on at the real rate, for every test file (each file starts at that instant again). CI runs the unit
 * and handler tests this way far ahead of today and across a UTC midnight on a leap day
 * (`.ci/shifted-clock.sh`), so a test that compares a fixed date with the real clock fails there.
 */

/**
 * The process's own `Date`, kept across files: the unit project runs several files in one worker
 * (isolate: false), so a second file's shift starts from the real clock, not from the first file's shift.
 */
const REAL_DATE = Symbol.for('impressions.test.realDate');
type WithRealDate = typeof globalThis & { [REAL_DATE]?: DateConstructor };

/** Moves the global `Date` so that now is `startIso` (then running at the real rate); returns the undo. */
export function shiftClock(startIso: string): () => void {
  const startMs = Date.parse(startIso);
  if (Number.isNaN(startMs)) throw new Error(`IMPRESSIONS_TEST_NOW: ${startIso} is not an ISO instant`);
  const scope = globalThis as WithRealDate;
  scope[REAL_DATE] ??= Date;
  const RealDate = scope[REAL_DATE];
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
