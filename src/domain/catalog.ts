import type { BillingPeriod, IsoDate } from './calendar.ts';
import { parseIsoDate } from './calendar.ts';
import { InvalidInput } from './errors.ts';
import { assertMinorUnits, isCurrency } from './money.ts';

export type Product = 'streaming' | 'dvd';

export interface PricePoint {
  country: string;
  currency: string;
  /** Integer minor units of `currency` (cents, yen, fils…). */
  amount: number;
  /** Effective from this date, inclusive; absent = since forever. */
  from?: IsoDate;
  /** Members who subscribed before `from` keep the previous price until this date (exclusive). */
  grandfatherUntil?: IsoDate;
}

export interface Plan {
  id: string;
  product: Product;
  period: BillingPeriod;
  trialDays: number;
  prices: PricePoint[];
  name?: string;
}

export interface Catalog {
  plans: Plan[];
}

export interface CatalogIndex {
  catalog: Catalog;
  /**
   * The stored catalog version this index was built from (see `tally catalog`), recorded on
   * every invoice billed with it; 0 for a catalog that is not stored: the built-in one (the
   * demo default) or a scenario's own.
   */
  version: number;
  plan(id: string): Plan;
  hasPlan(id: string): boolean;
  /**
   * The price point in force on `on` for `country`: the latest one whose
   * `from` is on or before `on`, unless the member is grandfathered on the
   * previous one (joined before it took effect, and `on` is before its
   * grandfatherUntil).
   */
  price(planId: string, country: string, on: IsoDate, memberSince: IsoDate): { amount: number; currency: string };
  /** Every country the catalog sells in, sorted. */
  countries(): string[];
  currencyOf(country: string): string;
}

const PRODUCTS: readonly string[] = ['streaming', 'dvd'] satisfies Product[];
const PERIODS: readonly string[] = ['month', 'year'] satisfies BillingPeriod[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Checks a catalog from any source (the built-in one, a scenario file, YAML)
 * and returns a normalized copy in which dates given as YAML Date objects
 * have become ISO strings. Errors name the field's path, e.g.
 * `catalog.plans[2].prices[0].amount`, so a catalog file can be fixed from
 * the message alone.
 */
export function validateCatalog(catalog: Catalog): Catalog {
  const input: unknown = catalog;
  if (!isRecord(input) || !Array.isArray(input.plans)) {
    throw new InvalidInput('catalog.plans', 'must be a list of plans', isRecord(input) ? input.plans : input);
  }
  const planPaths = new Map<string, string>();
  // A member's currency is fixed by their country, whatever plan they move to,
  // so a country must be priced in one currency across the whole catalog.
  const countryCurrency = new Map<string, { currency: string; path: string }>();
  const plans: Plan[] = input.plans.map((rawPlan: unknown, i: number): Plan => {
    const at = `catalog.plans[${i}]`;
    if (!isRecord(rawPlan)) throw new InvalidInput(at, 'must be a plan object', rawPlan);
    const { id, product, period, trialDays, name, prices } = rawPlan;
    if (typeof id !== 'string' || id.length === 0 || id.length > 64 || id.trim() !== id) {
      throw new InvalidInput(`${at}.id`, `${show(id)} is not a plan id (1–64 characters, no surrounding spaces)`, id);
    }
    const seen = planPaths.get(id);
    if (seen) throw new InvalidInput(`${at}.id`, `duplicate plan id "${id}" (also ${seen})`, id);
    planPaths.set(id, at);
    if (typeof product !== 'string' || !PRODUCTS.includes(product)) {
      throw new InvalidInput(`${at}.product`, `${show(product)} is not a product (${PRODUCTS.join(' or ')})`, product);
    }
    if (typeof period !== 'string' || !PERIODS.includes(period)) {
      throw new InvalidInput(`${at}.period`, `${show(period)} is not a billing period (${PERIODS.join(' or ')})`, period);
    }
    if (typeof trialDays !== 'number' || !Number.isSafeInteger(trialDays) || trialDays < 0) {
      throw new InvalidInput(`${at}.trialDays`, `${show(trialDays)} is not a whole number of days ≥ 0`, trialDays);
    }
    if (name !== undefined && typeof name !== 'string') {
      throw new InvalidInput(`${at}.name`, `${show(name)} is not a string`, name);
    }
    if (!Array.isArray(prices) || prices.length === 0) {
      throw new InvalidInput(`${at}.prices`, `plan "${id}" needs at least one price`, prices);
    }
    const checked = prices.map((raw: unknown, j: number) => {
      const pat = `${at}.prices[${j}]`;
      const point = validatePricePoint(raw, pat);
      const known = countryCurrency.get(point.country);
      if (!known) {
        countryCurrency.set(point.country, { currency: point.currency, path: `${pat}.currency` });
      } else if (known.currency !== point.currency) {
        throw new InvalidInput(
          `${pat}.currency`,
          `"${point.currency}" but "${point.country}" is priced in "${known.currency}" at ${known.path}; a country has one currency`,
          point.currency,
        );
      }
      return { point, path: pat };
    });
    checkTimelines(id, checked);
    const plan: Plan = {
      id,
      product: product as Product,
      period: period as BillingPeriod,
      trialDays,
      prices: checked.map((c) => c.point),
    };
    if (name !== undefined) plan.name = name;
    return plan;
  });
  return { plans };
}

function validatePricePoint(raw: unknown, at: string): PricePoint {
  if (!isRecord(raw)) throw new InvalidInput(at, 'must be a price object', raw);
  const { country, currency, amount, from, grandfatherUntil } = raw;
  if (typeof country !== 'string' || !/^[A-Z]{2}$/.test(country)) {
    throw new InvalidInput(`${at}.country`, `${show(country)} is not an ISO 3166 country code like "US"`, country);
  }
  if (typeof currency !== 'string' || !isCurrency(currency)) {
    throw new InvalidInput(`${at}.currency`, `${show(currency)} is not an ISO 4217 currency code`, currency);
  }
  const point: PricePoint = {
    country,
    currency,
    amount: assertMinorUnits(amount, `${at}.amount`, { allowZero: true }),
  };
  if (from !== undefined) point.from = parseIsoDate(from, `${at}.from`);
  if (grandfatherUntil !== undefined) {
    const until = parseIsoDate(grandfatherUntil, `${at}.grandfatherUntil`);
    if (point.from === undefined) {
      throw new InvalidInput(`${at}.grandfatherUntil`, 'needs a "from": grandfathering keeps the price before a change', until);
    }
    if (until <= point.from) {
      throw new InvalidInput(`${at}.grandfatherUntil`, `${until} must be after the price's from date ${point.from}`, until);
    }
    point.grandfatherUntil = until;
  }
  return point;
}

/** Per country, effective dates must be unambiguous and grandfathering must have a price to keep. */
function checkTimelines(planId: string, checked: { point: PricePoint; path: string }[]): void {
  const byCountry = new Map<string, { point: PricePoint; path: string }[]>();
  for (const c of checked) {
    const list = byCountry.get(c.point.country);
    if (list) list.push(c);
    else byCountry.set(c.point.country, [c]);
  }
  for (const [country, list] of byCountry) {
    const sorted = [...list].sort((a, b) => byCountryThenFrom(a.point, b.point));
    sorted.forEach((c, k) => {
      const prev = sorted[k - 1];
      if (prev && prev.point.from === c.point.from) {
        const when = c.point.from === undefined ? 'with no "from" date' : `from ${c.point.from}`;
        throw new InvalidInput(`${c.path}.from`, `plan "${planId}" has two prices in "${country}" ${when} (also ${prev.path})`, c.point.from);
      }
      if (c.point.grandfatherUntil !== undefined && !prev) {
        throw new InvalidInput(
          `${c.path}.grandfatherUntil`,
          `plan "${planId}" has no earlier price in "${country}" for members to keep`,
          c.point.grandfatherUntil,
        );
      }
    });
  }
}

function byCountryThenFrom(a: PricePoint, b: PricePoint): number {
  if (a.country !== b.country) return a.country < b.country ? -1 : 1;
  // No `from` means since forever, which sorts before every date.
  const af = a.from ?? '';
  const bf = b.from ?? '';
  return af < bf ? -1 : af > bf ? 1 : 0;
}

interface Step {
  from: IsoDate; // '' when since forever, so string comparison still orders it first
  grandfatherUntil: IsoDate | undefined;
  // Shared, frozen result: price lookups run once per member per renewal and
  // should not allocate.
  price: { amount: number; currency: string };
}

/**
 * Validates the catalog and builds the lookup maps once, so that a price
 * lookup is two map reads and a scan of a handful of steps.
 */
export function catalogIndex(catalog: Catalog, version = 0): CatalogIndex {
  const checked = validateCatalog(catalog);
  const plans = new Map<string, Plan>();
  const timelines = new Map<string, Map<string, Step[]>>();
  const currencies = new Map<string, string>();
  for (const plan of checked.plans) {
    plans.set(plan.id, plan);
    const byCountry = new Map<string, Step[]>();
    for (const p of plan.prices) {
      currencies.set(p.country, p.currency);
      const step: Step = {
        from: p.from ?? '',
        grandfatherUntil: p.grandfatherUntil,
        price: Object.freeze({ amount: p.amount, currency: p.currency }),
      };
      const steps = byCountry.get(p.country);
      if (steps) steps.push(step);
      else byCountry.set(p.country, [step]);
    }
    for (const steps of byCountry.values()) steps.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    timelines.set(plan.id, byCountry);
  }
  const countryList = [...currencies.keys()].sort();

  function plan(id: string): Plan {
    const p = plans.get(id);
    if (!p) throw new InvalidInput('plan', `unknown plan "${id}"`, id);
    return p;
  }

  function price(planId: string, country: string, on: IsoDate, memberSince: IsoDate): { amount: number; currency: string } {
    const byCountry = timelines.get(planId);
    if (!byCountry) throw new InvalidInput('plan', `unknown plan "${planId}"`, planId);
    const steps = byCountry.get(country);
    if (!steps) throw new InvalidInput('country', `plan "${planId}" is not sold in "${country}"`, country);
    let k = steps.length - 1;
    while (k >= 0 && steps[k]!.from > on) k--;
    if (k < 0) {
      throw new InvalidInput('date', `plan "${planId}" has no price in "${country}" on ${on}; its first price there starts ${steps[0]!.from}`, on);
    }
    // Walk back while the member is protected: a second rise inside the first
    // one's grandfather window must not end the first protection early.
    while (k > 0) {
      const step = steps[k]!;
      if (step.grandfatherUntil === undefined || memberSince >= step.from || on >= step.grandfatherUntil) break;
      k--;
    }
    return steps[k]!.price;
  }

  return {
    catalog: checked,
    version,
    plan,
    hasPlan: (id) => plans.has(id),
    price,
    countries: () => [...countryList],
    currencyOf(country) {
      const currency = currencies.get(country);
      if (currency === undefined) throw new InvalidInput('country', `unknown country "${country}"`, country);
      return currency;
    },
  };
}

// Local list prices per country, in minor units of its currency:
// [basic, standard, premium]. Levels follow what the service charges in each
// market rather than a converted US price.
const LOCAL_PRICES: readonly (readonly [country: string, currency: string, basic: number, standard: number, premium: number])[] = [
  ['US', 'USD', 799, 1549, 2299],
  ['CA', 'CAD', 999, 1899, 2399],
  ['GB', 'GBP', 799, 1299, 1899],
  ['IE', 'EUR', 999, 1499, 2099],
  ['DE', 'EUR', 999, 1399, 1999],
  ['FR', 'EUR', 1099, 1449, 2199],
  ['ES', 'EUR', 999, 1399, 1999],
  ['IT', 'EUR', 999, 1399, 1999],
  ['NL', 'EUR', 999, 1399, 1999],
  ['AT', 'EUR', 999, 1399, 1999],
  ['BE', 'EUR', 1099, 1499, 2099],
  ['PT', 'EUR', 799, 1199, 1599],
  ['CH', 'CHF', 1290, 1890, 2490],
  ['NO', 'NOK', 12900, 16900, 22900],
  ['SE', 'SEK', 11900, 15900, 20900],
  ['DK', 'DKK', 8900, 12900, 16900],
  ['PL', 'PLN', 2900, 4300, 6000],
  ['JP', 'JPY', 890, 1490, 1980], // zero-decimal currency: these are whole yen
  ['KR', 'KRW', 5500, 13500, 17000], // zero-decimal currency: whole won
  ['IN', 'INR', 19900, 49900, 64900],
  ['AU', 'AUD', 1099, 1899, 2599],
  ['NZ', 'NZD', 1299, 1999, 2699],
  ['BR', 'BRL', 2590, 4490, 5990],
  ['MX', 'MXN', 14900, 24900, 32900],
  ['KW', 'KWD', 2500, 3250, 4000], // three-decimal currency: 2500 = 2.500 KWD
];

// The US standard price rise: members who joined before it keep the old
// price for one more quarter, new members pay the new price at once.
const US_STANDARD_RISE: PricePoint = { country: 'US', currency: 'USD', amount: 1699, from: '2027-01-01', grandfatherUntil: '2027-04-01' };

function localPrices(pick: (basic: number, standard: number, premium: number) => number): PricePoint[] {
  return LOCAL_PRICES.map(([country, currency, basic, standard, premium]) => ({ country, currency, amount: pick(basic, standard, premium) }));
}

export const builtInCatalog: Catalog = {
  plans: [
    { id: 'basic', name: 'Basic', product: 'streaming', period: 'month', trialDays: 0, prices: localPrices((b) => b) },
    { id: 'standard', name: 'Standard', product: 'streaming', period: 'month', trialDays: 0, prices: [...localPrices((_, s) => s), US_STANDARD_RISE] },
    { id: 'premium', name: 'Premium', product: 'streaming', period: 'month', trialDays: 0, prices: localPrices((_b, _s, p) => p) },
    // Ten months' price for twelve: the usual incentive to commit for a year.
    { id: 'standard-annual', name: 'Standard (annual)', product: 'streaming', period: 'year', trialDays: 0, prices: localPrices((_, s) => s * 10) },
    {
      id: 'standard-trial',
      name: 'Standard with free trial',
      product: 'streaming',
      period: 'month',
      trialDays: 30,
      prices: [...localPrices((_, s) => s), { ...US_STANDARD_RISE }],
    },
    // Discs are shipped from US distribution centres only.
    { id: 'dvd-1', name: 'DVD 1 disc at a time', product: 'dvd', period: 'month', trialDays: 0, prices: [{ country: 'US', currency: 'USD', amount: 999 }] },
    { id: 'dvd-2', name: 'DVD 2 discs at a time', product: 'dvd', period: 'month', trialDays: 0, prices: [{ country: 'US', currency: 'USD', amount: 1499 }] },
  ],
};
