/** The shifted clock CI runs the unit and handler tests under (test/support/shifted-clock.ts). */
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../lambdas/adapters/clock.js';
import { shiftClock } from '../support/shifted-clock.js';

let undo: (() => void) | undefined;
afterEach(() => {
  undo?.();
  undo = undefined;
});

describe('shifted clock', () => {
  it('moves Date.now, new Date() and the product clock to the instant given, then runs on', async () => {
    const at = Date.parse('2028-02-29T23:59:59.900Z');
    undo = shiftClock('2028-02-29T23:59:59.900Z');
    expect(Math.abs(Date.now() - at)).toBeLessThan(1_000);
    // biome-ignore lint/complexity/useDateNow: this checks the Date constructor itself
    expect(Math.abs(new Date().getTime() - at)).toBeLessThan(1_000);
    expect(Math.abs(systemClock() - at)).toBeLessThan(1_000);
    await new Promise((r) => setTimeout(r, 150));
    expect(new Date().toISOString().slice(0, 10)).toBe('2028-03-01');
    // Dates built from arguments are untouched.
    expect(new Date(0).toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(new Date(2026, 0, 1).getFullYear()).toBe(2026);
  });

  it('refuses an instant it cannot read', () => {
    expect(() => shiftClock('tomorrow')).toThrow(/not an ISO instant/);
  });
});
