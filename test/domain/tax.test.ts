import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidInput } from '../../src/domain/errors.ts';
import { isInvalidInput } from '../support/invalid-input.ts';
import {
  builtInTaxEngine, builtInTaxRules, knownTaxCountry, overrideRules, tableTaxEngine, taxLine,
  type Product, type TaxLineResult, type TaxRule,
} from '../../src/domain/tax/index.ts';

function quoteOne(country: string, region: string | null, amount: number, product: Product = 'streaming', date = '2026-03-01'): TaxLineResult {
  const [result] = builtInTaxEngine.quote({ location: { country, region }, date, lines: [{ amount, product }] });
  assert.ok(result);
  return result;
}

const EU = ['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE'];

test('DE: 9.99 EUR gross at 19% carries 1.60 VAT', () => {
  // 999 × 0.19 / 1.19 = 159.504 → 160
  assert.deepEqual(quoteOne('DE', null, 999), { net: 839, tax: 160, gross: 999, ratePpm: 190_000, inclusive: true, name: 'DE VAT' });
});

test('JP: 1490 JPY at 10% inclusive', () => {
  // 1490 × 0.1 / 1.1 = 135.4545 → 135
  assert.deepEqual(quoteOne('JP', null, 1490), { net: 1355, tax: 135, gross: 1490, ratePpm: 100_000, inclusive: true, name: 'JP consumption tax' });
});

test('US-WA: 15.49 USD net at 6.5% is 16.50', () => {
  // 1549 × 0.065 = 100.685 → 101
  assert.deepEqual(quoteOne('US', 'WA', 1549), { net: 1549, tax: 101, gross: 1650, ratePpm: 65_000, inclusive: false, name: 'US-WA sales tax' });
});

test('CA-QC: GST + QST at 14.975% on top of the price', () => {
  // 1699 × 0.14975 = 254.42525 → 254
  assert.deepEqual(quoteOne('CA', 'QC', 1699), { net: 1699, tax: 254, gross: 1953, ratePpm: 149_750, inclusive: false, name: 'CA-QC GST+QST' });
});

test('KW: a three-decimal currency with no VAT', () => {
  assert.deepEqual(quoteOne('KW', null, 2500), { net: 2500, tax: 0, gross: 2500, ratePpm: 0, inclusive: true, name: 'KW no VAT' });
});

test('half a minor unit rounds away from zero', () => {
  assert.deepEqual(taxLine(50, 10_000, false), { net: 50, tax: 1, gross: 51 }); // 0.5 → 1
  assert.deepEqual(taxLine(-50, 10_000, false), { net: -50, tax: -1, gross: -51 }); // -0.5 → -1
  assert.deepEqual(taxLine(149, 10_000, false), { net: 149, tax: 1, gross: 150 }); // 1.49 → 1
  assert.deepEqual(taxLine(3, 200_000, true), { net: 2, tax: 1, gross: 3 }); // 3 × 0.2 / 1.2 = 0.5 → 1
  assert.deepEqual(taxLine(0, 190_000, true), { net: 0, tax: 0, gross: 0 });
  assert.throws(() => taxLine(9.99, 190_000, true), isInvalidInput('amount', /9\.99/));
  assert.throws(() => taxLine(999, 0.19, true), isInvalidInput('ratePpm', /0\.19/));
});

test('effective dates pick the rate in force on the invoice date', () => {
  const de = (date: string) => quoteOne('DE', null, 999, 'streaming', date);
  assert.equal(de('2019-01-01').ratePpm, 190_000);
  assert.equal(de('2020-06-30').ratePpm, 190_000);
  assert.equal(de('2020-07-01').ratePpm, 160_000);
  assert.equal(de('2020-07-01').tax, 138); // 999 × 0.16 / 1.16 = 137.79
  assert.equal(de('2020-12-31').ratePpm, 160_000);
  assert.equal(de('2021-01-01').ratePpm, 190_000);
  assert.equal(quoteOne('FI', null, 1000, 'streaming', '2024-08-31').ratePpm, 240_000);
  assert.equal(quoteOne('FI', null, 1000, 'streaming', '2024-09-01').ratePpm, 255_000);
  assert.equal(quoteOne('EE', null, 1000, 'streaming', '2025-06-30').ratePpm, 220_000);
  assert.equal(quoteOne('EE', null, 1000, 'streaming', '2025-07-01').ratePpm, 240_000);
  assert.equal(quoteOne('CH', null, 1000, 'streaming', '2023-12-31').ratePpm, 77_000);
  assert.equal(quoteOne('CH', null, 1000, 'streaming', '2024-01-01').ratePpm, 81_000);
  // A region's own history, not the country's.
  assert.equal(quoteOne('CA', 'NS', 1000, 'streaming', '2025-03-31').ratePpm, 150_000);
  assert.equal(quoteOne('CA', 'NS', 1000, 'streaming', '2025-04-01').ratePpm, 140_000);
});

test('a region rule beats the country rule; a real region without one falls back; an unknown region is refused', () => {
  assert.equal(quoteOne('CA', 'ON', 1000).name, 'CA-ON HST');
  assert.equal(quoteOne('CA', 'ON', 1000).tax, 130);
  assert.equal(quoteOne('CA', null, 1000).name, 'CA GST');
  // "ZZ" is no province: taxing it at the federal 5% alone would be a silent mistake.
  assert.throws(() => quoteOne('CA', 'ZZ', 1000), (err: InvalidInput) => err.field === 'region' && /not a region of CA/.test(err.message));
  assert.throws(() => quoteOne('US', 'ZZ', 1000), (err: InvalidInput) => err.field === 'region');
  // Delaware has no rule of its own: the national rule.
  assert.deepEqual(quoteOne('US', 'DE', 1000), { net: 1000, tax: 0, gross: 1000, ratePpm: 0, inclusive: false, name: 'US no sales tax' });
  assert.equal(quoteOne('US', null, 1000).tax, 0);
});

test('product-specific rules: California taxes a DVD rental but not streaming', () => {
  assert.equal(quoteOne('US', 'CA', 1000, 'streaming').tax, 0);
  // 799 × 0.0725 = 57.9275 → 58
  assert.deepEqual(quoteOne('US', 'CA', 799, 'dvd'), { net: 799, tax: 58, gross: 857, ratePpm: 72_500, inclusive: false, name: 'US-CA sales tax' });
  for (const state of ['NY', 'FL', 'MA', 'VA']) {
    assert.equal(quoteOne('US', state, 1000, 'streaming').tax, 0, state);
    assert.ok(quoteOne('US', state, 1000, 'dvd').tax > 0, state);
  }
  for (const state of ['WA', 'TX', 'PA', 'UT', 'NJ', 'TN', 'OH']) {
    assert.ok(quoteOne('US', state, 1000, 'streaming').tax > 0, state);
  }
  assert.equal(quoteOne('US', 'CT', 1000, 'streaming').tax, 10);
  assert.equal(quoteOne('US', 'CT', 1000, 'dvd').tax, 64); // 63.5 → 64
});

test('one quote prices several lines, in order', () => {
  const results = builtInTaxEngine.quote({
    location: { country: 'US', region: 'CA' },
    date: '2026-01-15',
    lines: [{ amount: 1000, product: 'streaming' }, { amount: 799, product: 'dvd' }, { amount: 0, product: 'dvd' }],
  });
  assert.deepEqual(results.map((r) => [r.net, r.tax, r.gross]), [[1000, 0, 1000], [799, 58, 857], [0, 0, 0]]);
});

test('an unknown country is refused, even with no lines', () => {
  const noLines = () => builtInTaxEngine.quote({ location: { country: 'XX', region: null }, date: '2026-01-01', lines: [] });
  assert.throws(noLines, isInvalidInput('country', /no tax rule for country "XX"/));
  assert.throws(() => quoteOne('de', null, 999), isInvalidInput('country', /"de"/));
});

test('other refusals name the field and value', () => {
  const onlyWa = tableTaxEngine([{ country: 'US', region: 'WA', ratePpm: 65_000, inclusive: false, name: 'US-WA' }]);
  assert.throws(
    () => onlyWa.quote({ location: { country: 'US', region: 'OR' }, date: '2026-01-01', lines: [] }),
    isInvalidInput('region', /region "OR" of country "US"/),
  );
  const late = tableTaxEngine([{ country: 'DE', ratePpm: 190_000, inclusive: true, from: '2021-01-01', name: 'DE VAT' }]);
  assert.throws(
    () => late.quote({ location: { country: 'DE', region: null }, date: '2020-12-31', lines: [{ amount: 999, product: 'dvd' }] }),
    isInvalidInput('date', /DE on 2020-12-31/),
  );
  assert.throws(
    () => builtInTaxEngine.quote({ location: { country: 'DE', region: null }, date: '2026-02-30', lines: [] }),
    (e: unknown) => e instanceof InvalidInput && e.field === 'date',
  );
  assert.throws(
    () => builtInTaxEngine.quote({ location: { country: 'DE', region: null }, date: '2026-01-01', lines: [{ amount: 9.99, product: 'dvd' }] }),
    isInvalidInput('lines[0].amount', /9\.99/),
  );
});

test('rules are checked when the engine is built', () => {
  const base: TaxRule = { country: 'DE', ratePpm: 190_000, inclusive: true, name: 'DE VAT' };
  assert.throws(() => tableTaxEngine([{ ...base, country: 'Germany' }]), isInvalidInput('rules[0].country', /"Germany"/));
  assert.throws(() => tableTaxEngine([{ ...base, ratePpm: 0.19 }]), isInvalidInput('rules[0].ratePpm', /0\.19/));
  assert.throws(() => tableTaxEngine([{ ...base, ratePpm: -1 }]), isInvalidInput('rules[0].ratePpm', /-1/));
  assert.throws(() => tableTaxEngine([{ ...base, from: '2026-13-01' }]), (e: unknown) => e instanceof InvalidInput && e.field === 'rules[0].from');
  assert.throws(() => tableTaxEngine([{ ...base, products: [] }]), isInvalidInput('rules[0].products', /at least one/));
  assert.throws(() => tableTaxEngine([{ ...base, products: ['vinyl' as Product] }]), isInvalidInput('rules[0].products', /"vinyl"/));
  assert.throws(() => tableTaxEngine([{ ...base, name: '' }]), isInvalidInput('rules[0].name', /""/));
  assert.throws(() => tableTaxEngine([base, { ...base, ratePpm: 70_000 }]), isInvalidInput('rules[1]', /clashes with "DE VAT" for DE from the start/));
  // A general rule and a product-specific one on the same day are not a clash: the specific one wins.
  const engine = tableTaxEngine([base, { ...base, ratePpm: 70_000, products: ['dvd'], name: 'DE reduced' }]);
  const [streaming, dvd] = engine.quote({ location: { country: 'DE', region: null }, date: '2026-01-01', lines: [{ amount: 107, product: 'streaming' }, { amount: 107, product: 'dvd' }] });
  assert.equal(streaming?.name, 'DE VAT');
  assert.deepEqual(dvd, { net: 100, tax: 7, gross: 107, ratePpm: 70_000, inclusive: true, name: 'DE reduced' });
});

test('overrideRules replaces a place wholesale and leaves the rest', () => {
  const rules = overrideRules(builtInTaxRules, [
    { country: 'DE', ratePpm: 200_000, inclusive: true, name: 'DE test VAT' },
    { country: 'US', region: 'WA', ratePpm: 100_000, inclusive: false, name: 'US-WA test' },
    { country: 'XK', ratePpm: 180_000, inclusive: true, name: 'XK VAT' },
  ]);
  assert.equal(rules.filter((r) => r.country === 'DE').length, 1, 'DE history replaced too');
  const engine = tableTaxEngine(rules);
  const q = (country: string, region: string | null, date = '2020-08-01') =>
    engine.quote({ location: { country, region }, date, lines: [{ amount: 1200, product: 'streaming' }] })[0]!;
  assert.equal(q('DE', null).tax, 200);
  assert.equal(q('US', 'WA').tax, 120);
  assert.equal(q('US', 'TX').name, 'US-TX sales tax');
  assert.equal(q('US', null).name, 'US no sales tax');
  assert.equal(q('XK', null).ratePpm, 180_000);
  assert.equal(q('FR', null).name, 'FR VAT');
  assert.ok(knownTaxCountry(rules, 'XK'));
  assert.ok(!knownTaxCountry(builtInTaxRules, 'XK'));
  assert.equal(builtInTaxRules.filter((r) => r.country === 'DE').length, 3, 'base list untouched');
});

test('built-in rules cover the EU, Canada, the US and at least 30 countries', () => {
  const countries = new Set(builtInTaxRules.map((r) => r.country));
  assert.ok(countries.size >= 30, `${countries.size} countries`);
  for (const c of [...EU, 'GB', 'NO', 'CH', 'JP', 'KR', 'AU', 'NZ', 'IN', 'BR', 'MX', 'KW', 'CA', 'US', 'SG', 'ZA', 'AR', 'CL', 'CO', 'TR']) {
    assert.ok(knownTaxCountry(builtInTaxRules, c), c);
  }
  for (const c of EU) {
    const rate = quoteOne(c, null, 10_000);
    assert.ok(rate.inclusive && rate.ratePpm >= 170_000 && rate.ratePpm <= 270_000, `${c} ${rate.ratePpm}`);
  }
  for (const r of builtInTaxRules.filter((x) => x.country === 'US' || x.country === 'CA')) assert.equal(r.inclusive, false, r.name);
});

test('property: inclusive lines split the gross exactly; exclusive lines add tax on top', () => {
  const amount = fc.integer({ min: -1_000_000_000_000, max: 1_000_000_000_000 });
  const ppm = fc.integer({ min: 0, max: 9_999_999 });
  fc.assert(fc.property(amount, ppm, (gross, rate) => {
    const line = taxLine(gross, rate, true);
    assert.equal(line.gross, gross);
    assert.equal(line.net + line.tax, gross);
    assert.ok(Math.abs(line.tax) <= Math.abs(gross));
    if (gross >= 0) assert.ok(line.tax >= 0 && line.net >= 0);
    // 0 − x rather than −x: a negated zero is -0, which is not the 0 the rule returns.
    assert.deepEqual(taxLine(0 - gross, rate, true), { net: 0 - line.net, tax: 0 - line.tax, gross: 0 - gross });
  }));
  fc.assert(fc.property(amount, ppm, (net, rate) => {
    const line = taxLine(net, rate, false);
    assert.equal(line.net, net);
    assert.equal(line.gross, line.net + line.tax);
    // Within half a unit of the exact tax: |tax·10⁶ − net·rate| ≤ 10⁶/2
    const diff = BigInt(line.tax) * 1_000_000n - BigInt(net) * BigInt(rate);
    assert.ok((diff < 0n ? -diff : diff) <= 500_000n);
  }));
});

test('property: the built-in engine prices every known place on any date', () => {
  const places = [...new Map(builtInTaxRules.map((r) => [`${r.country}/${r.region ?? ''}`, r])).values()];
  const dates = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2035-12-31T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10));
  fc.assert(fc.property(fc.constantFrom(...places), dates, fc.constantFrom<Product>('streaming', 'dvd'), fc.nat(1_000_000), (rule, date, product, amount) => {
    const [r] = builtInTaxEngine.quote({ location: { country: rule.country, region: rule.region ?? null }, date, lines: [{ amount, product }] });
    assert.ok(r);
    assert.equal(r.net + r.tax, r.gross);
    assert.equal(r.inclusive ? r.gross : r.net, amount);
    assert.deepEqual({ net: r.net, tax: r.tax, gross: r.gross }, taxLine(amount, r.ratePpm, r.inclusive));
  }));
});
