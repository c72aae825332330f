/**
 * The calendar and the one strict RFC 3339 `date-time` parser of the project: event times (classify), the
 * API's `since`/`until` and the tools' time options all read instants through `parseRfc3339`. Pure.
 */

export const isLeapYear = (year: number): boolean => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1–12) of `year` in the proleptic Gregorian calendar. */
export const daysInMonth = (year: number, month: number): number =>
  month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;

/** The ASCII digit of `t` at `i` (0–9), or -1 when it is not one (or is missing). */
function digit(t: string, i: number): number {
  const d = t.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -1;
}

/** The value of two ASCII digits of `t` from `i`, or -1 when either is not a digit. */
function two(t: string, i: number): number {
  const a = digit(t, i);
  const b = digit(t, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * The instant (ms since the epoch) of an RFC 3339 `date-time` (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`,
 * `T` and `Z` in either case, 1–9 fraction digits), or NaN when the text is not one. Strict: the date must
 * exist in the calendar (no 30 February, no hour 24, no leap second) and the offset is at most ±23:59.
 * Digits past milliseconds are truncated. Callers that need a range (the API's years 0000–9999, the event
 * time's window) check it on the result. (`Date.parse` is not strict: it reads `2024-02-30` as 1 March and
 * accepts `T24:00`.) Reads the characters directly: this runs once per record on filter-enrich's hot path.
 */
export function parseRfc3339(t: string): number {
  if (t.length < 20) return Number.NaN;
  const hi = two(t, 0);
  const lo = two(t, 2);
  const year = hi < 0 || lo < 0 ? -1 : hi * 100 + lo;
  const month = two(t, 5);
  const day = two(t, 8);
  const hour = two(t, 11);
  const minute = two(t, 14);
  const second = two(t, 17);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return Number.NaN;
  const sep = t.charCodeAt(10);
  if (t[4] !== '-' || t[7] !== '-' || (sep !== 84 && sep !== 116) || t[13] !== ':' || t[16] !== ':')
    return Number.NaN;
  let i = 19;
  let ms = 0;
  if (t.charCodeAt(i) === 46 /* . */) {
    const start = ++i;
    while (digit(t, i) >= 0) i++;
    const n = i - start;
    if (n < 1 || n > 9) return Number.NaN;
    for (let k = 0; k < 3; k++) ms = ms * 10 + (k < n ? t.charCodeAt(start + k) - 48 : 0);
  }
  let offsetMinutes = 0;
  const zone = t.charCodeAt(i);
  if (zone === 90 /* Z */ || zone === 122 /* z */) {
    if (i + 1 !== t.length) return Number.NaN;
  } else if (zone === 43 /* + */ || zone === 45 /* - */) {
    if (i + 6 !== t.length || t[i + 3] !== ':') return Number.NaN;
    const oh = two(t, i + 1);
    const om = two(t, i + 4);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return Number.NaN;
    offsetMinutes = (zone === 45 ? -1 : 1) * (oh * 60 + om);
  } else return Number.NaN;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN;
  let utc: number;
  if (year >= 100) utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  else {
    // Date.UTC reads years 0–99 as 1900–1999.
    const d = new Date(0);
    d.setUTCFullYear(year, month - 1, day);
    utc = d.setUTCHours(hour, minute, second, ms);
  }
  return utc - offsetMinutes * 60_000;
}
