/**
 * The built-in engine: a lookup over a list of rules, indexed once at
 * construction so a quote costs a couple of map lookups and a short scan.
 */
import { parseIsoDate } from '../calendar.ts';
import { InvalidInput } from '../errors.ts';
import { taxLine, type Product, type TaxEngine, type TaxLineResult, type TaxQuoteRequest, type TaxRule } from './engine.ts';
import { subdivisions } from './subdivisions.ts';

const PRODUCTS: readonly Product[] = ['streaming', 'dvd'];
// Sorts before every real date, so a rule without `from` is the oldest.
const SINCE_EVER = '0000-00-00';
const MAX_RATE_PPM = 10_000_000;

interface Entry {
  from: string;
  products: readonly Product[] | null;
  ratePpm: number;
  inclusive: boolean;
  name: string;
}

function placeKey(country: string, region: string | null | undefined): string {
  return region ? `${country}/${region}` : country;
}

function placeName(country: string, region: string | null | undefined): string {
  return region ? `${country}-${region}` : country;
}

function checkRule(rule: TaxRule, at: string): Entry {
  if (typeof rule.country !== 'string' || !/^[A-Z]{2}$/.test(rule.country)) {
    throw new InvalidInput(`${at}.country`, `must be an ISO 3166-1 alpha-2 code such as "DE", got ${JSON.stringify(rule.country)}`, rule.country);
  }
  const region = rule.region ?? null;
  if (region !== null && (typeof region !== 'string' || !/^[A-Z0-9]{1,3}$/.test(region))) {
    throw new InvalidInput(`${at}.region`, `must be a region code such as "WA", got ${JSON.stringify(region)}`, region);
  }
  if (!Number.isSafeInteger(rule.ratePpm) || rule.ratePpm < 0 || rule.ratePpm >= MAX_RATE_PPM) {
    throw new InvalidInput(`${at}.ratePpm`, `must be a whole number of parts per million below 10000000, got ${String(rule.ratePpm)}`, rule.ratePpm);
  }
  if (typeof rule.inclusive !== 'boolean') {
    throw new InvalidInput(`${at}.inclusive`, `must be true or false, got ${String(rule.inclusive)}`, rule.inclusive);
  }
  if (typeof rule.name !== 'string' || rule.name.trim() === '') {
    throw new InvalidInput(`${at}.name`, `must be a non-empty name, got ${JSON.stringify(rule.name)}`, rule.name);
  }
  const from = rule.from === undefined ? SINCE_EVER : parseIsoDate(rule.from, `${at}.from`);
  let products: readonly Product[] | null = null;
  if (rule.products !== undefined) {
    if (!Array.isArray(rule.products) || rule.products.length === 0) {
      throw new InvalidInput(`${at}.products`, 'must list at least one product, or be left out to mean all', rule.products);
    }
    for (const p of rule.products) {
      if (!PRODUCTS.includes(p)) {
        throw new InvalidInput(`${at}.products`, `unknown product ${JSON.stringify(p)}; expected one of ${PRODUCTS.join(', ')}`, p);
      }
    }
    products = [...rule.products];
  }
  return { from, products, ratePpm: rule.ratePpm, inclusive: rule.inclusive, name: rule.name };
}

function overlaps(a: readonly Product[] | null, b: readonly Product[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.some((p) => b.includes(p));
}

/**
 * Newest first; on the same day a product-specific rule comes before a general
 * one, so "all products 7%, but streaming 0%" reads naturally.
 */
function byPrecedence(a: Entry, b: Entry): number {
  if (a.from !== b.from) return a.from > b.from ? -1 : 1;
  return (a.products === null ? 1 : 0) - (b.products === null ? 1 : 0);
}

function pick(entries: Entry[] | undefined, product: Product, date: string): Entry | undefined {
  if (!entries) return undefined;
  for (const e of entries) {
    if (e.from <= date && (e.products === null || e.products.includes(product))) return e;
  }
  return undefined;
}

/**
 * For each line, the region's rule if one applies to that product and date,
 * else the country's; among several, the one with the latest `from` on or
 * before the date.
 */
export function tableTaxEngine(rules: TaxRule[]): TaxEngine {
  const table = new Map<string, Entry[]>();
  const countries = new Set<string>();
  for (const [i, rule] of rules.entries()) {
    const entry = checkRule(rule, `rules[${i}]`);
    const key = placeKey(rule.country, rule.region);
    const entries = table.get(key) ?? [];
    // Two rules that both claim the same product on the same day would make the answer depend on list order.
    const clash = entries.find((e) => e.from === entry.from && overlaps(e.products, entry.products));
    if (clash) {
      throw new InvalidInput(`rules[${i}]`, `"${entry.name}" clashes with "${clash.name}" for ${placeName(rule.country, rule.region)} from ${entry.from === SINCE_EVER ? 'the start' : entry.from}`, rule);
    }
    entries.push(entry);
    table.set(key, entries);
    countries.add(rule.country);
  }
  for (const entries of table.values()) entries.sort(byPrecedence);

  return {
    quote(request: TaxQuoteRequest): TaxLineResult[] {
      const { country, region } = request.location;
      if (!countries.has(country)) {
        throw new InvalidInput('country', `no tax rule for country ${JSON.stringify(country)}`, country);
      }
      const known = subdivisions[country];
      if (region && known && !known.has(region)) {
        throw new InvalidInput('region', `"${region}" is not a region of ${country} (its tax depends on the region: one of ${[...known].join(', ')})`, region);
      }
      const regional = region ? table.get(placeKey(country, region)) : undefined;
      const national = table.get(country);
      if (!regional && !national) {
        throw new InvalidInput('region', `no tax rule for region ${JSON.stringify(region)} of country "${country}"`, region);
      }
      const date = parseIsoDate(request.date, 'date');
      return request.lines.map((line, i) => {
        const entry = pick(regional, line.product, date) ?? pick(national, line.product, date);
        if (!entry) {
          if (!PRODUCTS.includes(line.product)) {
            throw new InvalidInput(`lines[${i}].product`, `unknown product ${JSON.stringify(line.product)}`, line.product);
          }
          throw new InvalidInput('date', `no tax rule for ${line.product} in ${placeName(country, region)} on ${date}`, date);
        }
        if (!Number.isSafeInteger(line.amount)) {
          throw new InvalidInput(`lines[${i}].amount`, `must be a whole number of minor units, got ${String(line.amount)}`, line.amount);
        }
        const { net, tax, gross } = taxLine(line.amount, entry.ratePpm, entry.inclusive);
        return { net, tax, gross, ratePpm: entry.ratePpm, inclusive: entry.inclusive, name: entry.name };
      });
    },
  };
}

export function knownTaxCountry(rules: TaxRule[], country: string): boolean {
  return rules.some((r) => r.country === country);
}

/** The base rules with every place named in the overrides replaced wholesale by the overrides for it. */
export function overrideRules(base: TaxRule[], overrides: TaxRule[]): TaxRule[] {
  const replaced = new Set(overrides.map((r) => placeKey(r.country, r.region)));
  return [...base.filter((r) => !replaced.has(placeKey(r.country, r.region))), ...overrides];
}
