import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtInCatalog, validateCatalog, type Catalog } from '../../src/domain/catalog.ts';
import {
  catalogChanges, catalogDocument, catalogHash, catalogText, checkKeepsPricesInForce, checkNoOrphans, mayOrphanMembers, parseCatalogText, priceCount, readCatalogDocument,
} from '../../src/domain/catalog-document.ts';
import { isInvalidInput } from '../support/invalid-input.ts';

const yaml = `
plans:
  - id: basic
    name: Basic
    product: streaming
    period: month
    prices:
      - { country: US, currency: USD, price: "7.99" }
      - { country: DE, currency: EUR, amount: 999 }
      - { country: US, currency: USD, price: 8.99, from: 2027-01-01, grandfatherUntil: 2027-04-01 }
      - { country: KW, currency: KWD, price: "2.5" }
      - { country: JP, currency: JPY, price: 890 }
      - { country: "NO", currency: NOK, amount: 12900 }
  - id: dvd
    product: dvd
    period: month
    trialDays: 7
    prices:
      - { country: US, currency: USD, amount: 999 }
`;

test('a YAML catalog: major-unit prices become minor units by the currency\'s exponent, trialDays defaults to 0; its document orders prices by country and start', () => {
  const c = parseCatalogText(yaml, 'yaml');
  assert.deepEqual(c.plans[0]!.prices.map((p) => p.country), ['US', 'DE', 'US', 'KW', 'JP', 'NO'], 'as given, so errors name the position the author sees');
  assert.deepEqual(catalogDocument(c), {
    plans: [
      {
        id: 'basic', name: 'Basic', product: 'streaming', period: 'month', trialDays: 0, prices: [
          { country: 'DE', currency: 'EUR', amount: 999 },
          { country: 'JP', currency: 'JPY', amount: 890 },
          { country: 'KW', currency: 'KWD', amount: 2500 },
          { country: 'NO', currency: 'NOK', amount: 12900 },
          { country: 'US', currency: 'USD', amount: 799 },
          { country: 'US', currency: 'USD', amount: 899, from: '2027-01-01', grandfatherUntil: '2027-04-01' },
        ],
      },
      { id: 'dvd', product: 'dvd', period: 'month', trialDays: 7, prices: [{ country: 'US', currency: 'USD', amount: 999 }] },
    ],
  });
  assert.equal(priceCount(c), 7);
});

test('every error names the field to fix', () => {
  const cases: [string, string, RegExp][] = [
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: JP, currency: JPY, price: "8.9" } ] } ]', 'catalog.plans[0].prices[0].price', /JPY allows at most 0 decimal places/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, price: "7.999" } ] } ]', 'catalog.plans[0].prices[0].price', /USD allows at most 2 decimal places/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, amount: 7.99 } ] } ]', 'catalog.plans[0].prices[0].amount', /minor units.*price: 7.99/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, amount: 799, price: "7.99" } ] } ]', 'catalog.plans[0].prices[0].price', /not both/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD } ] } ]', 'catalog.plans[0].prices[0].amount', /is required/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, amount: -1 } ] } ]', 'catalog.plans[0].prices[0].amount', /negative/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, amount: 799, from: 2027-01-01, grandfatherUntill: 2027-04-01 } ] } ]', 'catalog.plans[0].prices[0].grandfatherUntill', /not a field of a price/],
    ['plans: [ { id: a, product: streaming, period: month, price: [] } ]', 'catalog.plans[0].price', /not a field of a plan/],
    ['plans: []\ntaxes: []', 'catalog.taxes', /tax rules are configured separately/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: UK, currency: GBP, amount: 799 } ] } ]', 'catalog.plans[0].prices[0].country', /"GB"/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: QQ, currency: USD, amount: 799 } ] } ]', 'catalog.plans[0].prices[0].country', /not an ISO 3166 country/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: XAU, amount: 799 } ] } ]', 'catalog.plans[0].prices[0].currency', /ISO 4217/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, price: "7.99", from: 2026-02-30 } ] } ]', 'catalog.plans[0].prices[0].from', /2026-02-30/],
    ['plans: [ { id: a, product: streaming, period: weekly, prices: [ { country: US, currency: USD, amount: 1 } ] } ]', 'catalog.plans[0].period', /billing period/],
    // Two prices that start the same day in the same country: the only way two steps of a timeline can overlap.
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, amount: 1, from: 2027-01-01 }, { country: US, currency: USD, amount: 2, from: 2027-01-01 } ] } ]', 'catalog.plans[0].prices[1].from', /two prices in "US" from 2027-01-01/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, amount: 1, grandfatherUntil: 2027-01-01 } ] } ]', 'catalog.plans[0].prices[0].grandfatherUntil', /needs a "from"/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, amount: 1 } ] }, { id: b, product: streaming, period: month, prices: [ { country: US, currency: CAD, amount: 1 } ] } ]', 'catalog.plans[1].prices[0].currency', /a country has one currency/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, amount: 1 } ] }, { id: a, product: dvd, period: month, prices: [ { country: US, currency: USD, amount: 1 } ] } ]', 'catalog.plans[1].id', /duplicate plan id "a"/],
    ['plans: [ { id: a, product: streaming, period: month, prices: [ { country: US, currency: USD, amount: 1 ] } ]', 'catalog', /not valid YAML/],
    ['- just a list', 'catalog', /must be a document with a "plans" list/],
  ];
  for (const [text, field, message] of cases) assert.throws(() => parseCatalogText(text, 'yaml'), isInvalidInput(field, message), text);
  assert.throws(() => parseCatalogText('{"plans": [', 'json'), isInvalidInput('catalog', /not valid JSON/));
});

test('the content hash is the same however the same catalog is written, and differs when a price does', () => {
  const a = parseCatalogText(yaml, 'yaml');
  const reordered = {
    plans: [
      { period: 'month', product: 'streaming', id: 'basic', trialDays: 0, name: 'Basic', prices: [...a.plans[0]!.prices].reverse() },
      { prices: [{ amount: 999, currency: 'USD', country: 'US' }], trialDays: 7, period: 'month', product: 'dvd', id: 'dvd' },
    ],
  };
  const b = parseCatalogText(JSON.stringify(reordered), 'json');
  assert.equal(catalogHash(b), catalogHash(a));
  assert.match(catalogHash(a), /^[0-9a-f]{64}$/);
  const dearer = structuredClone(a);
  dearer.plans[1]!.prices[0]!.amount = 1099;
  assert.notEqual(catalogHash(dearer), catalogHash(a));
  const plansSwapped = { plans: [a.plans[1]!, a.plans[0]!] };
  assert.notEqual(catalogHash(plansSwapped), catalogHash(a), 'plan order is the order plans are offered in');
});

test('export reads back as the same catalog, in YAML and JSON, the built-in catalog included', () => {
  for (const catalog of [parseCatalogText(yaml, 'yaml'), validateCatalog(builtInCatalog)]) {
    for (const format of ['yaml', 'json'] as const) {
      const text = catalogText(catalog, format, ['a header line']);
      const back = parseCatalogText(text, format);
      assert.equal(catalogHash(back), catalogHash(catalog), format);
      assert.deepEqual(catalogDocument(back), catalogDocument(readCatalogDocument(catalog)), format);
    }
  }
  const text = catalogText(parseCatalogText(yaml, 'yaml'), 'yaml', ['Tally catalog version 3']);
  assert.match(text, /^# Tally catalog version 3\n/);
  // Quoted, so a YAML 1.1 reader does not take Norway for false.
  assert.match(text, /\{ country: "NO", currency: "NOK", amount: 12900 \}/);
});

const before: Catalog = {
  plans: [
    { id: 'basic', product: 'streaming', period: 'month', trialDays: 0, prices: [
      { country: 'DE', currency: 'EUR', amount: 999 },
      { country: 'US', currency: 'USD', amount: 799 },
      { country: 'US', currency: 'USD', amount: 899, from: '2026-06-01' },
    ] },
    { id: 'dvd-2', product: 'dvd', period: 'month', trialDays: 0, prices: [{ country: 'US', currency: 'USD', amount: 1499 }] },
  ],
};
const after = (edit: (c: Catalog) => void): Catalog => {
  const c = structuredClone(before);
  edit(c);
  return c;
};

test('changes between versions, counted by plan and by price (plan, country, start)', () => {
  const next = after((c) => {
    c.plans[0]!.prices[2]!.amount = 949; // the June price, changed before it starts
    c.plans[0]!.prices.push({ country: 'US', currency: 'USD', amount: 999, from: '2027-01-01' });
    c.plans.pop();
    c.plans.push({ id: 'premium', product: 'streaming', period: 'month', trialDays: 0, prices: [{ country: 'US', currency: 'USD', amount: 2299 }] });
  });
  assert.deepEqual(catalogChanges(before, next), { plansAdded: ['premium'], plansRemoved: ['dvd-2'], pricesAdded: 2, pricesChanged: 1, pricesRemoved: 1 });
  assert.deepEqual(catalogChanges(before, before), { plansAdded: [], plansRemoved: [], pricesAdded: 0, pricesChanged: 0, pricesRemoved: 0 });
});

test('a price in force stays as it is; a change is a new price that starts after today', () => {
  const today = '2026-03-10';
  // Allowed: a new price from tomorrow; the not-yet-started June price changed or dropped; a new country; a new plan.
  for (const ok of [
    after((c) => c.plans[0]!.prices.push({ country: 'DE', currency: 'EUR', amount: 1099, from: '2026-03-11' })),
    after((c) => { c.plans[0]!.prices[2]!.amount = 949; }),
    after((c) => { c.plans[0]!.prices.pop(); }),
    after((c) => c.plans[0]!.prices.push({ country: 'FR', currency: 'EUR', amount: 1099 })),
    after((c) => c.plans.push({ id: 'premium', product: 'streaming', period: 'month', trialDays: 0, prices: [{ country: 'US', currency: 'USD', amount: 2299, from: '2020-01-01' }] })),
  ]) assert.doesNotThrow(() => checkKeepsPricesInForce(before, ok, today));
  assert.throws(() => checkKeepsPricesInForce(before, after((c) => { c.plans[0]!.prices[1]!.amount = 849; }), today),
    isInvalidInput('catalog.plans[0].prices[1].amount', /plan "basic" in "US" with no "from".*was 799.*a price change is a new price with a later "from"/));
  assert.throws(() => checkKeepsPricesInForce(before, after((c) => c.plans[0]!.prices.push({ country: 'DE', currency: 'EUR', amount: 1099, from: today })), today),
    isInvalidInput('catalog.plans[0].prices[3].from', /must start after 2026-03-10 \(got 2026-03-10\)/));
  assert.throws(() => checkKeepsPricesInForce(before, after((c) => { c.plans[0]!.prices.splice(1, 1); }), today),
    isInvalidInput('catalog.plans[0].prices', /drops its price in "US" with no "from" \(in force since ever\) \(799 USD\)/));
  // On the day the June price starts it is in force, and kept like any other.
  assert.throws(() => checkKeepsPricesInForce(before, after((c) => { c.plans[0]!.prices[2]!.amount = 949; }), '2026-06-01'),
    isInvalidInput('catalog.plans[0].prices[2].amount', /from 2026-06-01 was 899/));
});

test('a catalog never orphans a member: dropped plans, countries and currencies are refused while members bill in them', () => {
  const usage = [
    { plan: 'basic', country: 'DE', currency: 'EUR', members: 2 },
    { plan: 'basic', country: 'US', currency: 'USD', members: 5 },
    { plan: 'dvd-2', country: 'US', currency: 'USD', members: 3 },
  ];
  const noDvd = after((c) => { c.plans.pop(); });
  assert.equal(mayOrphanMembers(before, noDvd), true);
  assert.throws(() => checkNoOrphans(noDvd, usage), isInvalidInput('catalog.plans', /would remove plans members are subscribed to: "dvd-2" \(3 members\)/));
  const noGermany = after((c) => { c.plans[0]!.prices.shift(); });
  assert.throws(() => checkNoOrphans(noGermany, usage), isInvalidInput('catalog.plans[0].prices', /plan "basic" would no longer be sold in "DE", but 2 members in "DE" are subscribed/));
  const germanyInChf = after((c) => { c.plans[0]!.prices[0]!.currency = 'CHF'; });
  assert.equal(mayOrphanMembers(before, germanyInChf), true);
  assert.throws(() => checkNoOrphans(germanyInChf, usage), isInvalidInput('catalog.plans[0].prices[0].currency', /priced in CHF, but 2 members in "DE" on it are billed in EUR/));
  // Nobody on it any more: a plan may go.
  assert.doesNotThrow(() => checkNoOrphans(noDvd, usage.filter((u) => u.plan !== 'dvd-2')));
  // A price change drops nothing, so the members need not be counted at all.
  assert.equal(mayOrphanMembers(before, after((c) => c.plans[0]!.prices.push({ country: 'US', currency: 'USD', amount: 999, from: '2027-01-01' }))), false);
});
