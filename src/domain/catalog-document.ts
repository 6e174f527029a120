import { createHash } from 'node:crypto';
import { Document, isSeq, parse as parseYaml } from 'yaml';
import type { IsoDate } from './calendar.ts';
import { validateCatalog, type Catalog, type Plan, type PricePoint } from './catalog.ts';
import { InvalidInput } from './errors.ts';
import { isCurrency, parseMajorAmount } from './money.ts';

/*
 * The catalog as a document: what `tally catalog import FILE` reads, `tally catalog export`
 * writes and `PUT /v1/admin/catalog` takes. Pure: text in, a checked catalog out, and the
 * rules a new version must keep towards the version in force. Every error is an
 * InvalidInput naming the field's path (`catalog.plans[2].prices[0].amount`), so a file is
 * fixed from the message alone.
 *
 *     plans:
 *       - id: standard
 *         name: Standard
 *         product: streaming        # streaming | dvd
 *         period: month             # month | year
 *         trialDays: 0              # optional, 0 by default
 *         prices:
 *           - { country: US, currency: USD, amount: 1549 }            # minor units…
 *           - { country: US, currency: USD, price: "16.99", from: 2027-01-01, grandfatherUntil: 2027-04-01 }  # …or major units
 *
 * A price is in force from its `from` (since ever without one) until the next price of the
 * same plan and country starts: a timeline of steps, so two prices cannot overlap except by
 * starting on the same day, which is refused.
 */

export type CatalogFormat = 'yaml' | 'json';

const TOP_FIELDS = ['plans'];
const PLAN_FIELDS = ['id', 'name', 'product', 'period', 'trialDays', 'prices'];
const PRICE_FIELDS = ['country', 'currency', 'amount', 'price', 'from', 'grandfatherUntil'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON for a `.json` file, YAML for anything else (YAML reads JSON too, but JSON's errors are JSON's). */
export function formatOfFile(path: string): CatalogFormat {
  return /\.json$/i.test(path) ? 'json' : 'yaml';
}

/** A catalog document's text, parsed and checked (see readCatalogDocument). */
export function parseCatalogText(text: string, format: CatalogFormat): Catalog {
  let data: unknown;
  try {
    data = format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new InvalidInput('catalog', `is not valid ${format.toUpperCase()}: ${(err as Error).message.split('\n')[0]}`);
  }
  return readCatalogDocument(data);
}

function onlyKnownFields(value: Record<string, unknown>, known: readonly string[], at: string, what: string): void {
  const extra = Object.keys(value).find((k) => !known.includes(k));
  if (extra !== undefined) throw new InvalidInput(`${at}.${extra}`, `is not a field of ${what} (known: ${known.join(', ')})`, value[extra]);
}

/**
 * ICU region codes that name no country a member can live in (the EU, the euro area, the
 * UN, "outlying Oceania", unknown), and "UK", which ICU reads as the United Kingdom but
 * ISO 3166 only reserves: its code is GB. A catalog priced in "UK" would never match a member.
 */
const NOT_COUNTRIES = new Map([['UK', 'the ISO 3166 code of the United Kingdom is "GB"'], ['EU', 'the EU is not a country'], ['EZ', 'the euro area is not a country'], ['UN', 'not a country'], ['QO', 'not a country'], ['ZZ', 'not a country']]);
const regionNames = new Intl.DisplayNames('en', { type: 'region', fallback: 'none' });

function checkCountry(country: string, at: string): void {
  const why = NOT_COUNTRIES.get(country) ?? (regionNames.of(country) === undefined ? 'is not an ISO 3166 country code' : undefined);
  if (why) throw new InvalidInput(at, `"${country}": ${why}`, country);
}

/** A price in major units (`"7.99"` or 7.99 from YAML) in minor units, refused when it has more decimals than its currency. */
function majorToMinor(price: unknown, currency: unknown, at: string): number {
  if (typeof currency !== 'string' || !isCurrency(currency)) {
    throw new InvalidInput(`${at}.currency`, `${JSON.stringify(currency)} is not an ISO 4217 currency code`, currency);
  }
  // A number as YAML or JSON wrote it prints back as the same shortest decimal (7.99 → "7.99"), so no binary fraction creeps in.
  const text = typeof price === 'number' && Number.isFinite(price) && !/e/i.test(String(price)) ? String(price) : price;
  return parseMajorAmount(text as string, currency, `${at}.price`);
}

/**
 * A catalog document from any parsed source, checked: unknown fields refused (a misspelt
 * `grandfatherUntill` must not silently be ignored), `price` in major units turned into
 * `amount` in minor units with the currency's exponent, `trialDays` 0 when left out,
 * countries real ISO 3166 codes, then every rule of validateCatalog (plans, products,
 * periods, ISO 4217 currencies, one currency per country, effective dates). Prices stay in
 * the order given, so that the checks against the version in force name them by the
 * position the author sees; the document as stored, hashed and exported orders them
 * (catalogDocument).
 */
export function readCatalogDocument(data: unknown): Catalog {
  if (!isRecord(data)) throw new InvalidInput('catalog', 'must be a document with a "plans" list', data);
  onlyKnownFields(data, TOP_FIELDS, 'catalog', 'the catalog (tax rules are configured separately)');
  const plans = data.plans;
  const prepared = Array.isArray(plans)
    ? plans.map((rawPlan: unknown, i: number) => {
      const at = `catalog.plans[${i}]`;
      if (!isRecord(rawPlan)) return rawPlan;
      onlyKnownFields(rawPlan, PLAN_FIELDS, at, 'a plan');
      const prices = Array.isArray(rawPlan.prices)
        ? rawPlan.prices.map((rawPrice: unknown, j: number) => {
          const pat = `${at}.prices[${j}]`;
          if (!isRecord(rawPrice)) return rawPrice;
          onlyKnownFields(rawPrice, PRICE_FIELDS, pat, 'a price');
          const { price, ...rest } = rawPrice;
          if (price === undefined) {
            if (rest.amount === undefined) throw new InvalidInput(`${pat}.amount`, 'is required: the price in minor units (799 for 7.99 USD), or give "price" in major units', undefined);
            if (typeof rest.amount === 'number' && !Number.isInteger(rest.amount)) {
              throw new InvalidInput(`${pat}.amount`, `is in minor units and must be a whole number, got ${rest.amount}; write "price: ${rest.amount}" for major units`, rest.amount);
            }
            return rest;
          }
          if (rest.amount !== undefined) throw new InvalidInput(`${pat}.price`, 'give either "amount" (minor units) or "price" (major units), not both', price);
          return { ...rest, amount: majorToMinor(price, rest.currency, pat) };
        })
        : rawPlan.prices;
      return { ...rawPlan, trialDays: rawPlan.trialDays ?? 0, prices };
    })
    : plans;
  const checked = validateCatalog({ plans: prepared } as Catalog);
  checked.plans.forEach((plan, i) => plan.prices.forEach((p, j) => checkCountry(p.country, `catalog.plans[${i}].prices[${j}].country`)));
  return checked;
}

function byCountryThenStart(a: PricePoint, b: PricePoint): number {
  if (a.country !== b.country) return a.country < b.country ? -1 : 1;
  const af = a.from ?? '';
  const bf = b.from ?? '';
  return af < bf ? -1 : af > bf ? 1 : 0;
}

/** A plan and a price with their fields in reading order, for export and hashing alike. */
function planShape(plan: Plan) {
  return {
    id: plan.id,
    ...(plan.name !== undefined ? { name: plan.name } : {}),
    product: plan.product,
    period: plan.period,
    trialDays: plan.trialDays,
    // Ordered by country and start whatever order they came in: the same catalog is the same document.
    prices: [...plan.prices].sort(byCountryThenStart).map((p) => ({
      country: p.country,
      currency: p.currency,
      amount: p.amount,
      ...(p.from !== undefined ? { from: p.from } : {}),
      ...(p.grandfatherUntil !== undefined ? { grandfatherUntil: p.grandfatherUntil } : {}),
    })),
  };
}

/** The document as it is stored and exported: fields in reading order. */
export function catalogDocument(catalog: Catalog): { plans: ReturnType<typeof planShape>[] } {
  return { plans: catalog.plans.map(planShape) };
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The content hash of a normalized catalog: SHA-256 of its JSON with keys sorted. The same
 * plans and prices give the same hash however the file was written (YAML or JSON, key order,
 * price order, major or minor units), which is what makes an import idempotent. Plan order
 * counts: it is the order plans are offered in.
 */
export function catalogHash(catalog: Catalog): string {
  return createHash('sha256').update(canonicalJson(catalogDocument(catalog))).digest('hex');
}

export function priceCount(catalog: Catalog): number {
  return catalog.plans.reduce((n, p) => n + p.prices.length, 0);
}

/** The document as text; YAML with one line per price and `header` lines as a leading comment. */
export function catalogText(catalog: Catalog, format: CatalogFormat, header: string[] = []): string {
  const shape = catalogDocument(catalog);
  if (format === 'json') return `${JSON.stringify(shape, null, 2)}\n`;
  const doc = new Document(shape);
  const plans = doc.get('plans', true);
  if (isSeq(plans)) {
    plans.items.forEach((_, i) => {
      const prices = doc.getIn(['plans', i, 'prices'], true);
      if (isSeq(prices)) for (const p of prices.items) (p as { flow?: boolean }).flow = true;
    });
  }
  if (header.length) doc.commentBefore = header.map((h) => ` ${h}`).join('\n');
  // Strings quoted: a YAML 1.1 reader would take Norway's NO for false, and an unquoted date for a timestamp.
  return doc.toString({ lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
}

/** What a new version changes, by plan id and by price (a price is a plan, a country and a start date). */
export interface CatalogChanges {
  plansAdded: string[];
  plansRemoved: string[];
  pricesAdded: number;
  pricesChanged: number;
  pricesRemoved: number;
}

const priceKey = (plan: string, p: PricePoint) => `${plan}|${p.country}|${p.from ?? ''}`;

function pricesByKey(catalog: Catalog): Map<string, PricePoint> {
  const out = new Map<string, PricePoint>();
  for (const plan of catalog.plans) for (const p of plan.prices) out.set(priceKey(plan.id, p), p);
  return out;
}

const samePrice = (a: PricePoint, b: PricePoint) => a.amount === b.amount && a.currency === b.currency && a.grandfatherUntil === b.grandfatherUntil;

export function catalogChanges(before: Catalog, after: Catalog): CatalogChanges {
  const beforeIds = new Set(before.plans.map((p) => p.id));
  const afterIds = new Set(after.plans.map((p) => p.id));
  const old = pricesByKey(before);
  const next = pricesByKey(after);
  let pricesAdded = 0;
  let pricesChanged = 0;
  for (const [key, p] of next) {
    const was = old.get(key);
    if (!was) pricesAdded++;
    else if (!samePrice(was, p)) pricesChanged++;
  }
  return {
    plansAdded: after.plans.filter((p) => !beforeIds.has(p.id)).map((p) => p.id),
    plansRemoved: before.plans.filter((p) => !afterIds.has(p.id)).map((p) => p.id),
    pricesAdded,
    pricesChanged,
    pricesRemoved: [...old.keys()].filter((k) => !next.has(k)).length,
  };
}

/**
 * Prices already in force stay as they are: a new version may add a price that starts after
 * `today` to a plan and country it already sells in, or change or drop one that has not
 * started yet, but it may not rewrite or drop one that took effect on or before `today` —
 * renewals and prorations may have billed it, and an old invoice must stay explained by the
 * catalog it was billed with as by every later one (a price change is a new effective-dated
 * price, with `grandfatherUntil` to keep members on the old one for a while). A plan or a
 * country dropped whole is the orphan check's business (checkNoOrphans), not this one's.
 */
export function checkKeepsPricesInForce(before: Catalog, after: Catalog, today: IsoDate): void {
  const afterPlans = new Map(after.plans.map((p, i) => [p.id, { plan: p, at: `catalog.plans[${i}]` }]));
  for (const old of before.plans) {
    const found = afterPlans.get(old.id);
    if (!found) continue;
    const { plan, at } = found;
    const countries = new Set(plan.prices.map((p) => p.country));
    const oldKeys = new Set(old.prices.map((p) => priceKey(old.id, p)));
    for (const was of old.prices) {
      if (!countries.has(was.country) || (was.from !== undefined && was.from > today)) continue;
      const j = plan.prices.findIndex((p) => p.country === was.country && p.from === was.from);
      const start = was.from === undefined ? 'with no "from" (in force since ever)' : `from ${was.from}`;
      const rule = `it is in force since on or before ${today}; a price change is a new price with a later "from"`;
      if (j < 0) {
        throw new InvalidInput(`${at}.prices`, `plan "${old.id}" drops its price in "${was.country}" ${start} (${was.amount} ${was.currency}), but ${rule}`, was);
      }
      const now = plan.prices[j]!;
      for (const field of ['amount', 'currency', 'grandfatherUntil'] as const) {
        if (now[field] !== was[field]) {
          throw new InvalidInput(`${at}.prices[${j}].${field}`, `plan "${old.id}" in "${was.country}" ${start} was ${JSON.stringify(was[field] ?? null)}, but ${rule}`, now[field]);
        }
      }
    }
    const oldCountries = new Set(old.prices.map((p) => p.country));
    plan.prices.forEach((p, j) => {
      if (!oldCountries.has(p.country) || oldKeys.has(priceKey(plan.id, p)) || (p.from !== undefined && p.from > today)) return;
      throw new InvalidInput(
        `${at}.prices[${j}].from`,
        `a new price of plan "${plan.id}" in "${p.country}", where it is already sold, must start after ${today} (${p.from === undefined ? 'none given' : `got ${p.from}`}): periods up to then may already be billed at the price in force`,
        p.from,
      );
    });
  }
}

/** Members whose live subscriptions bill a plan (now or from their next period) in a country and currency. */
export interface PlanUsage {
  plan: string;
  country: string;
  currency: string;
  members: number;
}

/**
 * Whether a new version could orphan a member: it drops a plan, drops a country from a
 * plan, or prices a country in another currency. Only then do the members need counting
 * (a scan of the member store), so an ordinary price change stays cheap.
 */
export function mayOrphanMembers(before: Catalog, after: Catalog): boolean {
  const sold = new Set(after.plans.flatMap((p) => p.prices.map((x) => `${p.id}|${x.country}|${x.currency}`)));
  return before.plans.some((p) => p.prices.some((x) => !sold.has(`${p.id}|${x.country}|${x.currency}`)));
}

/**
 * A catalog must never orphan a member: every plan a live subscription is on (or moves to
 * at its next period) stays, still sold in the member's country, in the member's currency
 * (a member's currency is fixed at sign-up; their balances and invoices are in it).
 */
export function checkNoOrphans(after: Catalog, usage: readonly PlanUsage[]): void {
  const plans = new Map(after.plans.map((p, i) => [p.id, { plan: p, at: `catalog.plans[${i}]` }]));
  const byPlan = new Map<string, number>();
  for (const u of usage) if (u.members > 0 && !plans.has(u.plan)) byPlan.set(u.plan, (byPlan.get(u.plan) ?? 0) + u.members);
  if (byPlan.size) {
    const list = [...byPlan].sort(([a], [b]) => (a < b ? -1 : 1)).map(([plan, n]) => `"${plan}" (${n} member${n === 1 ? '' : 's'})`);
    throw new InvalidInput('catalog.plans', `would remove plans members are subscribed to: ${list.join(', ')}; keep them in the catalog`, [...byPlan.keys()]);
  }
  for (const u of [...usage].sort((a, b) => (a.plan + a.country < b.plan + b.country ? -1 : 1))) {
    if (u.members <= 0) continue;
    const { plan, at } = plans.get(u.plan)!;
    const j = plan.prices.findIndex((p) => p.country === u.country);
    const who = `${u.members} member${u.members === 1 ? '' : 's'} in "${u.country}"`;
    if (j < 0) throw new InvalidInput(`${at}.prices`, `plan "${u.plan}" would no longer be sold in "${u.country}", but ${who} are subscribed to it; keep its price there`, u.country);
    if (plan.prices[j]!.currency !== u.currency) {
      throw new InvalidInput(`${at}.prices[${j}].currency`, `plan "${u.plan}" in "${u.country}" would be priced in ${plan.prices[j]!.currency}, but ${who} on it are billed in ${u.currency}`, plan.prices[j]!.currency);
    }
  }
}
