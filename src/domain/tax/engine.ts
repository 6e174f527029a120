/**
 * Tax sits behind this interface so that an external tax service can replace
 * the built-in table without billing noticing.
 */
import { InvalidInput } from '../errors.ts';
import { mulDiv, percentOf } from '../money.ts';

export type Product = 'streaming' | 'dvd';

/** ISO 3166-1 alpha-2 country; region is the US state or Canadian province code ('WA', 'QC'). */
export interface TaxLocation { country: string; region: string | null }

export interface TaxRule {
  country: string;
  /** A region rule wins over the country rule. */
  region?: string | null;
  /** Parts per million: 19% is 190000. */
  ratePpm: number;
  /** Prices in this place are gross (tax included), as in VAT countries. */
  inclusive: boolean;
  /** 'YYYY-MM-DD', effective from that day on; absent means since forever. */
  from?: string;
  /** Absent means every product; lets a state tax DVD rental but not streaming. */
  products?: Product[];
  name: string;
}

/** Amount after discount, in minor units: gross if the place is tax-inclusive, net otherwise. */
export interface TaxLineInput { amount: number; product: Product }

export interface TaxLineResult { net: number; tax: number; gross: number; ratePpm: number; inclusive: boolean; name: string }

export interface TaxQuoteRequest { location: TaxLocation; date: string; lines: TaxLineInput[] }

/**
 * One result per line, in the same order. An unknown place throws even for no
 * lines, so a sign-up can be refused before anything is written. Synchronous:
 * an adapter for an external engine prefetches and caches.
 */
export interface TaxEngine { quote(request: TaxQuoteRequest): TaxLineResult[] }

const PPM = 1_000_000;

/**
 * Splits one line into net, tax and gross. Tax is rounded once per line, half
 * away from zero; for inclusive prices it is carved out of the gross so the
 * price the customer saw never changes.
 */
export function taxLine(amount: number, ratePpm: number, inclusive: boolean): { net: number; tax: number; gross: number } {
  if (!Number.isSafeInteger(amount)) {
    throw new InvalidInput('amount', `must be a whole number of minor units, got ${String(amount)}`, amount);
  }
  if (!Number.isSafeInteger(ratePpm) || ratePpm < 0) {
    throw new InvalidInput('ratePpm', `must be a non-negative whole number of parts per million, got ${String(ratePpm)}`, ratePpm);
  }
  if (inclusive) {
    const tax = mulDiv(amount, ratePpm, PPM + ratePpm);
    return { net: amount - tax, tax, gross: amount };
  }
  const tax = percentOf(amount, ratePpm);
  return { net: amount, tax, gross: amount + tax };
}
