/**
 * Exact money: amounts are integers in the currency's minor unit (cents, yen,
 * fils), and every division rounds explicitly, half away from zero.
 */
import cc from 'currency-codes';
import { InvalidInput } from './errors.ts';

// ISO 4217 gives these "N.A." minor units (precious metals, bond-market units,
// SDR, test and no-currency codes); the package reports them as 0, which would
// let an invoice be priced in gold by accident.
const NOT_MONEY = new Set(['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX']);

const exponents = new Map<string, number>();
for (const record of cc.data) {
  const digits = record.digits as unknown;
  if (typeof digits === 'number' && Number.isInteger(digits) && digits >= 0 && !NOT_MONEY.has(record.code)) {
    exponents.set(record.code, digits);
  }
}

const PPM = 1_000_000;

/** Quotes strings so that `"12"` and `12` read differently in an error message. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/** The number of decimal places of an ISO 4217 currency (JPY 0, EUR 2, KWD 3). */
export function currencyExponent(code: string): number {
  const exponent = exponents.get(code);
  if (exponent === undefined) throw new InvalidInput('currency', `unknown currency ${show(code)}`, code);
  return exponent;
}

export function isCurrency(code: string): boolean {
  return exponents.has(code);
}

function assertInteger(value: number, field: string): void {
  if (!Number.isInteger(value)) throw new InvalidInput(field, `must be an integer, got ${show(value)}`, value);
}

function assertDenominator(denominator: number): void {
  if (!Number.isSafeInteger(denominator) || denominator <= 0) {
    throw new InvalidInput('denominator', `must be a positive whole number, got ${show(denominator)}`, denominator);
  }
}

function bigRoundDiv(numerator: bigint, denominator: bigint): number {
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  let quotient = magnitude / denominator;
  if ((magnitude % denominator) * 2n >= denominator) quotient += 1n;
  const exact = negative ? -quotient : quotient;
  const result = Number(exact);
  // A result past 2^53 would silently lose units when turned back into a Number.
  if (!Number.isSafeInteger(result)) throw new InvalidInput('amount', `result ${exact} is too large to represent exactly`, exact);
  return result;
}

/** `numerator / denominator` rounded half away from zero, exact for any integer numerator. */
export function roundDiv(numerator: number, denominator: number): number {
  assertInteger(numerator, 'numerator');
  assertDenominator(denominator);
  if (Math.abs(numerator) > Number.MAX_SAFE_INTEGER) return bigRoundDiv(BigInt(numerator), BigInt(denominator));
  // `%` and the division of an exact multiple are both exact in doubles, unlike
  // Math.round(n / d), which double-rounds near 2^53.
  const remainder = numerator % denominator;
  let quotient = (numerator - remainder) / denominator;
  if (Math.abs(remainder) * 2 >= denominator) quotient += numerator < 0 ? -1 : 1;
  return quotient === 0 ? 0 : quotient;
}

/** `a × b / denominator` rounded half away from zero, without losing digits of the product. */
export function mulDiv(a: number, b: number, denominator: number): number {
  assertInteger(a, 'amount');
  assertInteger(b, 'factor');
  const product = a * b;
  if (Math.abs(product) <= Number.MAX_SAFE_INTEGER) return roundDiv(product, denominator);
  assertDenominator(denominator);
  return bigRoundDiv(BigInt(a) * BigInt(b), BigInt(denominator));
}

/** `amount × ppm / 1,000,000`, rounded half away from zero. */
export function percentOf(amount: number, ppm: number): number {
  return mulDiv(amount, ppm, PPM);
}

/**
 * A decimal rate (0.19, "0.0825") as whole parts per million. It goes through
 * the decimal text rather than `rate * 1e6`, because 0.07375 * 1e6 is
 * 73749.99999999999 in binary floating point.
 */
export function parseRatePpm(rate: number | string, field = 'rate'): number {
  if (typeof rate === 'number' ? !Number.isFinite(rate) : typeof rate !== 'string') {
    throw new InvalidInput(field, `must be a decimal rate, got ${show(rate)}`, rate);
  }
  const text = typeof rate === 'number' ? String(rate) : rate;
  if (text.startsWith('-')) throw new InvalidInput(field, `must not be negative, got ${show(rate)}`, rate);
  // Numbers below 1e-6 print in exponent form, so they are refused here as too precise.
  if (/^\d+(?:\.\d+)?e-\d+$/i.test(text)) throw new InvalidInput(field, `has more than 6 decimal places: ${show(rate)}`, rate);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new InvalidInput(field, `must be a decimal rate such as 0.19, got ${show(rate)}`, rate);
  const whole = match[1]!.replace(/^0+(?=\d)/, '');
  const fraction = match[2] ?? '';
  if (fraction.length > 6) throw new InvalidInput(field, `has more than 6 decimal places: ${show(rate)}`, rate);
  if (whole.length > 1) throw new InvalidInput(field, `must be below 10 (a rate, not a percentage), got ${show(rate)}`, rate);
  return Number(whole) * PPM + Number(fraction.padEnd(6, '0'));
}

/**
 * Splits an integer amount in proportion to non-negative integer weights; the
 * parts always add up to the amount. Each part is its exact share rounded down,
 * and the units left over go one each to the largest remainders (earlier index
 * first on a tie). When every weight is zero the amount is split evenly, so
 * nothing is dumped on one line just because of its position.
 */
export function allocate(amount: number, weights: number[]): number[] {
  if (!Number.isSafeInteger(amount)) {
    throw new InvalidInput('amount', `must be a whole number of minor units, got ${show(amount)}`, amount);
  }
  if (weights.length === 0) throw new InvalidInput('weights', 'must not be empty', weights);
  let total = 0;
  for (const [i, w] of weights.entries()) {
    if (!Number.isSafeInteger(w) || w < 0) {
      throw new InvalidInput(`weights[${i}]`, `must be a non-negative whole number, got ${show(w)}`, w);
    }
    total += w;
  }
  if (!Number.isSafeInteger(total)) throw new InvalidInput('weights', `sum ${total} is too large`, weights);
  const effective = total === 0 ? weights.map(() => 1) : weights;
  const divisor = total === 0 ? weights.length : total;
  // Negative amounts mirror positive ones, so a refund splits like the charge it reverses.
  const magnitude = Math.abs(amount);
  const parts: number[] = [];
  // Each remainder is below the divisor, itself a safe integer, so it fits a Number.
  const remainders: number[] = [];
  let given = 0;
  const small = magnitude * divisor <= Number.MAX_SAFE_INTEGER;
  for (const w of effective) {
    let part: number;
    let remainder: number;
    if (small) {
      const product = magnitude * w;
      remainder = product % divisor;
      part = (product - remainder) / divisor;
    } else {
      const product = BigInt(magnitude) * BigInt(w);
      part = Number(product / BigInt(divisor));
      remainder = Number(product % BigInt(divisor));
    }
    parts.push(part);
    remainders.push(remainder);
    given += part;
  }
  const order = parts.map((_, i) => i).sort((a, b) => remainders[b]! - remainders[a]! || a - b);
  for (let left = magnitude - given, k = 0; left > 0; left--, k++) {
    const i = order[k]!;
    parts[i]! += 1;
  }
  return amount < 0 ? parts.map((p) => (p === 0 ? 0 : -p)) : parts;
}

/** Checks that a value is a usable amount and returns it typed. */
/**
 * The largest amount or balance Tally stores: 10^12 minor units (10 billion dollars or
 * euros, a trillion yen, a billion dinars). Far below 2^53, so any sum of a few thousand
 * of them is still exact in a JavaScript number, and far inside every engine's bigint.
 */
export const MAX_MINOR_UNITS = 1_000_000_000_000;

export function assertMinorUnits(amount: unknown, field: string, opts: { allowZero?: boolean } = {}): number {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount)) {
    throw new InvalidInput(field, `must be a whole number of minor units, got ${show(amount)}`, amount);
  }
  if (amount < 0) throw new InvalidInput(field, `must not be negative, got ${show(amount)}`, amount);
  if (amount === 0 && !opts.allowZero) throw new InvalidInput(field, `must be greater than zero, got ${show(amount)}`, amount);
  if (amount > MAX_MINOR_UNITS) throw new InvalidInput(field, `must be at most ${MAX_MINOR_UNITS} minor units, got ${show(amount)}`, amount);
  return amount;
}

/** `balance + amount`, refused when the balance would pass MAX_MINOR_UNITS. */
export function addToBalance(balance: number, amount: number, field: string, what: string): number {
  const total = balance + assertMinorUnits(amount, field);
  if (total > MAX_MINOR_UNITS) {
    throw new InvalidInput(field, `would take the ${what} to ${total}, past the maximum of ${MAX_MINOR_UNITS} minor units`, amount);
  }
  return total;
}

/**
 * Reads an amount typed in major units ("9.99", "1500", "12.345", optionally
 * followed by the same currency code, as formatMinor writes it) into minor
 * units, from the text so that no binary fraction creeps in. A minus sign is
 * accepted; whether a negative amount makes sense is the caller's rule.
 */
export function parseMajorAmount(text: string, currency: string, field: string): number {
  if (typeof text !== 'string') throw new InvalidInput(field, `must be an amount such as 9.99, got ${show(text)}`, text);
  const exponent = currencyExponent(currency);
  const match = /^(-?)(\d+)(?:\.(\d+))?(?: ([A-Z]{3}))?$/.exec(text.trim());
  if (!match) throw new InvalidInput(field, `must be an amount such as 9.99, got ${show(text)}`, text);
  const [, sign, whole, fraction = '', code] = match;
  if (code !== undefined && code !== currency) {
    throw new InvalidInput(field, `is in ${code}, expected ${currency}: ${show(text)}`, text);
  }
  if (fraction.length > exponent) {
    throw new InvalidInput(field, `${currency} allows at most ${exponent} decimal places, got ${show(text)}`, text);
  }
  const minor = Number(`${whole}${fraction.padEnd(exponent, '0')}`);
  if (!Number.isSafeInteger(minor)) throw new InvalidInput(field, `is too large: ${show(text)}`, text);
  return sign === '-' && minor !== 0 ? -minor : minor;
}

/** 999 EUR → "9.99 EUR", 1500 JPY → "1500 JPY", -5 EUR → "-0.05 EUR". */
export function formatMinor(amount: number, currency: string): string {
  const exponent = currencyExponent(currency);
  if (!Number.isSafeInteger(amount)) {
    throw new InvalidInput('amount', `must be a whole number of minor units, got ${show(amount)}`, amount);
  }
  const sign = amount < 0 ? '-' : '';
  const digits = String(Math.abs(amount));
  if (exponent === 0) return `${sign}${digits} ${currency}`;
  const padded = digits.padStart(exponent + 1, '0');
  return `${sign}${padded.slice(0, -exponent)}.${padded.slice(-exponent)} ${currency}`;
}
