import { Temporal } from 'temporal-polyfill';
import { InvalidInput } from './errors.ts';

/** A calendar date 'YYYY-MM-DD'; the fixed width makes string order date order. */
export type IsoDate = string;
export type BillingPeriod = 'month' | 'year';

// Billing runs these functions for every due member, so plain dates are handled
// as epoch-day integers (proleptic Gregorian, days since 1970-01-01) rather
// than as Temporal objects, which allocate and validate far more per call.
// Temporal is kept for what depends on time-zone rules.

const DASH = 45;
const ZERO = 48;

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function digitsAt(s: string, start: number, count: number): number {
  let v = 0;
  for (let i = start; i < start + count; i++) {
    const c = s.charCodeAt(i) - ZERO;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Y-M-D packed as y*10000 + m*100 + d: validated without allocating. */
function packedYmd(value: unknown, field: string): number {
  if (typeof value !== 'string' || value.length !== 10 || value.charCodeAt(4) !== DASH || value.charCodeAt(7) !== DASH) {
    throw new InvalidInput(field, `${show(value)} is not a date in the form YYYY-MM-DD`, value);
  }
  const y = digitsAt(value, 0, 4);
  const m = digitsAt(value, 5, 2);
  const d = digitsAt(value, 8, 2);
  if (y < 0 || m < 0 || d < 0) {
    throw new InvalidInput(field, `${show(value)} is not a date in the form YYYY-MM-DD`, value);
  }
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) {
    throw new InvalidInput(field, `${show(value)} is not a real calendar date`, value);
  }
  return y * 10000 + m * 100 + d;
}

// Howard Hinnant's days_from_civil / civil_from_days: exact integer arithmetic
// over 400-year eras, no lookup tables.
function epochDay(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function epochDayOf(date: IsoDate, field: string): number {
  const p = packedYmd(date, field);
  return epochDay(Math.floor(p / 10000), Math.floor(p / 100) % 100, p % 100);
}

const MONTH_DAY = Array.from({ length: 32 }, (_, n) => (n < 10 ? `-0${n}` : `-${n}`));

function format(y: number, m: number, d: number, field: string): IsoDate {
  if (y < 0 || y > 9999) {
    throw new InvalidInput(field, `the resulting date falls in year ${y}, outside 0000–9999`, y);
  }
  const ys = y >= 1000 ? String(y) : String(y).padStart(4, '0');
  return ys + MONTH_DAY[m]! + MONTH_DAY[d]!;
}

function fromEpochDay(days: number, field: string): IsoDate {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return format(yoe + era * 400 + (m <= 2 ? 1 : 0), m, d, field);
}

function assertWholeNumber(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new InvalidInput(field, `${show(n)} is not a whole number`, n);
  }
  return n;
}

/**
 * A strict 'YYYY-MM-DD' that names a real day. A Date at UTC midnight is
 * accepted too, because YAML parsers turn an unquoted 2026-01-31 into one; a
 * Date with a time of day is refused, since which calendar day it means
 * depends on a time zone the caller has not given.
 */
export function parseIsoDate(value: unknown, field: string): IsoDate {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new InvalidInput(field, 'Invalid Date is not a calendar date', value);
    if (ms % 86_400_000 !== 0) {
      throw new InvalidInput(field, `${show(value)} has a time of day; give a calendar date YYYY-MM-DD`, value);
    }
    return fromEpochDay(ms / 86_400_000, field);
  }
  packedYmd(value, field);
  return value as IsoDate;
}

export function addDays(date: IsoDate, days: number): IsoDate {
  return fromEpochDay(epochDayOf(date, 'date') + assertWholeNumber(days, 'days'), 'days');
}

/** to − from, in days. */
export function daysBetween(from: IsoDate, to: IsoDate): number {
  return epochDayOf(to, 'to') - epochDayOf(from, 'from');
}

/**
 * The date `cycles` periods after the anchor on an anniversary schedule.
 * Always counted from the anchor rather than from the previous billing date:
 * chaining would let one short month drag every later date (Jan 31 → Feb 28 →
 * Mar 28 …), whereas from the anchor a clamped date recovers (→ Mar 31).
 */
export function billingDate(anchor: IsoDate, period: BillingPeriod, cycles: number): IsoDate {
  const p = packedYmd(anchor, 'anchor');
  const n = assertWholeNumber(cycles, 'cycles');
  const ay = Math.floor(p / 10000);
  const am = Math.floor(p / 100) % 100;
  const ad = p % 100;
  let y: number;
  let m: number;
  if (period === 'month') {
    const months = ay * 12 + (am - 1) + n;
    y = Math.floor(months / 12);
    m = months - y * 12 + 1;
  } else if (period === 'year') {
    y = ay + n;
    m = am;
  } else {
    throw new InvalidInput('period', `${show(period)} is not a billing period (month or year)`, period);
  }
  if (y < 0 || y > 9999) {
    throw new InvalidInput('cycles', `${n} ${period}s after ${anchor} falls outside years 0000–9999`, n);
  }
  const dim = daysInMonth(y, m);
  return format(y, m, ad < dim ? ad : dim, 'cycles');
}

/**
 * The billing date that ends the period starting on `periodStart`: the first
 * date on the anchor's schedule strictly after it. The schedule begins at the
 * anchor, so a period starting before the anchor (a trial) ends on the anchor.
 * Works from the anchor, not from periodStart's day of month, so a period that
 * starts on a clamped date (Feb 28 for a Jan 31 anchor) still ends on Mar 31.
 */
export function periodEnd(periodStart: IsoDate, anchor: IsoDate, period: BillingPeriod): IsoDate {
  const s = packedYmd(periodStart, 'periodStart');
  const a = packedYmd(anchor, 'anchor');
  const sy = Math.floor(s / 10000);
  const ay = Math.floor(a / 10000);
  // The cycle whose billing date falls in the same month (or year) as
  // periodStart; earlier cycles all fall in earlier months, so the answer is
  // this one or the next.
  const sameSlot = period === 'month'
    ? (sy * 12 + (Math.floor(s / 100) % 100)) - (ay * 12 + (Math.floor(a / 100) % 100))
    : sy - ay;
  if (sameSlot < 0) return billingDate(anchor, period, 0);
  const candidate = billingDate(anchor, period, sameSlot);
  return candidate > periodStart ? candidate : billingDate(anchor, period, sameSlot + 1);
}

// One formatter per zone: creating an Intl.DateTimeFormat costs far more than
// using one. Zone names are a small set in practice, but the key comes from
// input, so the cache is emptied rather than allowed to grow without bound.
const MAX_CACHED_ZONES = 512;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f) return f;
  f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', era: 'short' });
  if (formatters.size >= MAX_CACHED_ZONES) formatters.clear();
  formatters.set(timeZone, f);
  return f;
}

export function isTimeZone(tz: string): boolean {
  if (typeof tz !== 'string' || tz.length === 0 || tz.length > 64) return false;
  // Newer engines accept fixed offsets such as "+05:00" as a timeZone; an
  // offset has no daylight-saving rules, so it is not a zone a member lives in.
  const first = tz.charCodeAt(0);
  if (tz[0] === '+' || tz[0] === '-' || tz[0] === '\u2212' || (first >= ZERO && first <= ZERO + 9)) return false;
  try {
    formatterFor(tz);
    return true;
  } catch {
    return false;
  }
}

export function assertTimeZone(tz: unknown, field: string): string {
  if (typeof tz !== 'string' || !isTimeZone(tz)) {
    throw new InvalidInput(field, `${show(tz)} is not an IANA time zone`, tz);
  }
  return tz;
}

function epochMs(instant: Date | number, field: string): number {
  const ms = instant instanceof Date ? instant.getTime() : instant;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new InvalidInput(field, `${show(instant)} is not a point in time`, instant);
  }
  return ms;
}

function dateIn(instant: Date | number, timeZone: string, zoneField: string): IsoDate {
  const ms = epochMs(instant, 'instant');
  assertTimeZone(timeZone, zoneField);
  let y = 0;
  let m = 0;
  let d = 0;
  let bc = false;
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    if (part.type === 'year') y = Number(part.value);
    else if (part.type === 'month') m = Number(part.value);
    else if (part.type === 'day') d = Number(part.value);
    else if (part.type === 'era') bc = part.value === 'BC' || part.value === 'B';
  }
  // The Gregorian era calendar has no year 0: 1 BC is ISO year 0.
  return format(bc ? 1 - y : y, m, d, 'instant');
}

/** The calendar date an instant falls on in an IANA time zone. */
export function localDate(instant: Date | number, timeZone: string): IsoDate {
  return dateIn(instant, timeZone, 'timeZone');
}

/**
 * The business day revenue from an instant is booked on. Finance closes days
 * in one configured reporting zone, not in each member's zone, so that a day's
 * figures are final at one moment for every country.
 */
export function businessDate(instant: Date | number, reportingTimeZone: string): IsoDate {
  return dateIn(instant, reportingTimeZone, 'reportingTimeZone');
}

/**
 * Epoch milliseconds of the first instant of `date` in `timeZone`. Usually
 * local midnight; where a daylight-saving jump skips midnight, the first
 * instant that exists (Temporal's start-of-day rule).
 */
export function startOfDay(date: IsoDate, timeZone: string): number {
  packedYmd(date, 'date');
  assertTimeZone(timeZone, 'timeZone');
  return Temporal.PlainDate.from(date).toZonedDateTime(timeZone).epochMilliseconds;
}

/** Every date from `from` to `to`, both included; empty when to < from. */
export function eachDay(from: IsoDate, to: IsoDate): IsoDate[] {
  const start = epochDayOf(from, 'from');
  const end = epochDayOf(to, 'to');
  const days: IsoDate[] = [];
  for (let n = start; n <= end; n++) days.push(fromEpochDay(n, 'to'));
  return days;
}

export function isWeekend(date: IsoDate): boolean {
  // 1970-01-01 was a Thursday; with Sunday as 0 that is weekday 4.
  const weekday = (((epochDayOf(date, 'date') + 4) % 7) + 7) % 7;
  return weekday === 0 || weekday === 6;
}
