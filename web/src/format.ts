/**
 * Money and dates as the console shows them. Pure (Intl only, no DOM): unit-tested in
 * test/console/format-rules.test.ts.
 */

/**
 * ISO 4217 minor units where the browser's Intl (CLDR) rounds differently for display: CLDR
 * shows IDR, HUF, COP… without decimals although their ISO minor unit (the one Tally's amounts
 * are counted in, see src/domain/money.ts) is 2, and IQD with 0 where ISO says 3. Converting
 * minor units with CLDR's digits would misstate those amounts a hundredfold.
 */
const isoDigits: Record<string, number> = {
  AFN: 2, ALL: 2, COP: 2, HUF: 2, IDR: 2, IQD: 3, IRR: 2, KPW: 2, LAK: 2, LBP: 2, MGA: 2,
  MMK: 2, PKR: 2, SOS: 2, SYP: 2, YER: 2,
};

/** The number of decimals of a currency's minor unit (JPY 0, EUR 2, KWD 3). Throws on a code that is not a currency. */
export function currencyDigits(currency: string): number {
  if (!/^[A-Z]{3}$/.test(currency)) throw new RangeError(`not an ISO 4217 currency code: ${JSON.stringify(currency)}`);
  return isoDigits[currency] ?? new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** An integer count of minor units as an exact decimal string: (-12345, 2) → "-123.45". */
export function minorToDecimal(minor: number | bigint, digits: number): string {
  if (typeof minor === 'number' && !Number.isSafeInteger(minor)) throw new RangeError(`an amount in minor units must be a whole number: ${minor}`);
  const n = BigInt(minor);
  const abs = (n < 0n ? -n : n).toString().padStart(digits + 1, '0');
  const whole = abs.slice(0, abs.length - digits);
  const frac = abs.slice(abs.length - digits);
  return `${n < 0n ? '-' : ''}${whole}${digits ? `.${frac}` : ''}`;
}

/**
 * An amount in minor units in its currency, with exactly the currency's decimals:
 * formatMoney(123456, 'JPY') → "¥123,456", formatMoney(1234, 'KWD') → "KWD 1.234".
 * The number is formatted from its exact decimal text, never through a float division.
 */
export function formatMoney(minor: number | bigint, currency: string, locale?: string): string {
  const digits = currencyDigits(currency);
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits });
  // Intl formats a decimal string exactly (ES2023); typed as a number in older lib files.
  return format.format(minorToDecimal(minor, digits) as unknown as number);
}

export type Instant = string | number | Date;

function toDate(value: Instant): Date {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new RangeError(`not a date: ${JSON.stringify(value)}`);
  return d;
}

/**
 * A moment in a named time zone, saying which: "10 Mar 2026, 13:00 (Europe/Berlin)".
 * Pass the member's time zone on member pages and the reporting time zone on finance pages.
 */
export function formatDateTime(value: Instant, timeZone: string, locale?: string): string {
  const text = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(toDate(value));
  return `${text} (${timeZone})`;
}

/**
 * A business day (an ISO date, no time) as reported in a time zone, saying which:
 * "10 Mar 2026 (business day in UTC)". The day is shown as it is, never shifted.
 */
export function formatBusinessDate(isoDate: string, timeZone: string, locale?: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDate)) throw new RangeError(`not an ISO date: ${JSON.stringify(isoDate)}`);
  // Noon UTC formatted in UTC: the calendar day itself, whatever the viewer's own zone.
  const text = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(toDate(`${isoDate}T12:00:00Z`));
  return `${text} (business day in ${timeZone})`;
}
