import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtInCatalog, catalogIndex, validateCatalog, type Catalog, type Plan } from '../../src/domain/catalog.ts';
import { isInvalidInput } from '../support/invalid-input.ts';

function plan(overrides: Partial<Plan> = {}): Plan {
  return {
    id: 'standard',
    product: 'streaming',
    period: 'month',
    trialDays: 0,
    prices: [{ country: 'US', currency: 'USD', amount: 1549 }],
    ...overrides,
  };
}

/** A catalog built as a YAML file would arrive: any shape at all. */
function raw(value: unknown): Catalog {
  return value as Catalog;
}

const catalog = catalogIndex(builtInCatalog);

test('the built-in catalog validates', () => {
  assert.doesNotThrow(() => validateCatalog(builtInCatalog));
  assert.deepEqual(validateCatalog(builtInCatalog), builtInCatalog);
});

test('the built-in catalog sells every streaming plan in 24+ countries, in one currency per country', () => {
  const countries = catalog.countries();
  assert.ok(countries.length >= 24, `${countries.length} countries`);
  for (const c of ['US', 'CA', 'DE', 'FR', 'ES', 'IT', 'NL', 'IE', 'AT', 'BE', 'GB', 'CH', 'NO', 'SE', 'JP', 'KR', 'BR', 'MX', 'IN', 'AU', 'NZ', 'KW', 'PL']) {
    assert.ok(countries.includes(c), c);
  }
  assert.deepEqual(countries, [...countries].sort());
  for (const p of builtInCatalog.plans) {
    for (const point of p.prices) {
      assert.equal(point.currency, catalog.currencyOf(point.country), `${p.id} in ${point.country}`);
      assert.ok(Number.isSafeInteger(point.amount) && point.amount > 0, `${p.id} in ${point.country}: ${point.amount}`);
    }
  }
  for (const id of ['basic', 'standard', 'premium', 'standard-annual', 'standard-trial']) {
    assert.equal(catalog.plan(id).product, 'streaming');
    for (const country of countries) {
      assert.doesNotThrow(() => catalog.price(id, country, '2026-06-01', '2026-06-01'), `${id} in ${country}`);
    }
  }
  const euro = ['DE', 'FR', 'ES', 'IT', 'NL', 'IE', 'AT', 'BE'];
  for (const c of euro) assert.equal(catalog.currencyOf(c), 'EUR');
  assert.equal(catalog.currencyOf('JP'), 'JPY');
  assert.equal(catalog.currencyOf('KR'), 'KRW');
  assert.equal(catalog.currencyOf('KW'), 'KWD');
  assert.equal(catalog.currencyOf('GB'), 'GBP');
});

test('the built-in plans: tiers rise in price, annual costs less than twelve months, trial and DVD plans', () => {
  for (const country of catalog.countries()) {
    const [basic, standard, premium] = ['basic', 'standard', 'premium'].map((id) => catalog.price(id, country, '2026-06-01', '2026-06-01').amount) as [number, number, number];
    assert.ok(basic < standard && standard < premium, country);
    const annual = catalog.price('standard-annual', country, '2026-06-01', '2026-06-01').amount;
    assert.ok(annual < 12 * standard && annual > 6 * standard, country);
  }
  assert.equal(catalog.plan('standard-annual').period, 'year');
  assert.equal(catalog.plan('standard-trial').trialDays, 30);
  assert.equal(catalog.plan('basic').trialDays, 0);
  for (const id of ['dvd-1', 'dvd-2']) {
    const p = catalog.plan(id);
    assert.equal(p.product, 'dvd');
    assert.equal(p.period, 'month');
    assert.deepEqual(p.prices.map((x) => x.country), ['US']);
    assert.throws(() => catalog.price(id, 'GB', '2026-06-01', '2026-06-01'), isInvalidInput('country', new RegExp(`plan "${id}" is not sold in "GB"`)));
  }
});

test('prices are in each country\'s own currency and minor units', () => {
  const on = '2026-06-01';
  assert.deepEqual(catalog.price('basic', 'US', on, on), { amount: 799, currency: 'USD' });
  assert.deepEqual(catalog.price('standard', 'US', on, on), { amount: 1549, currency: 'USD' });
  assert.deepEqual(catalog.price('premium', 'US', on, on), { amount: 2299, currency: 'USD' });
  // Zero-decimal currencies: whole yen and won.
  assert.deepEqual(catalog.price('basic', 'JP', on, on), { amount: 890, currency: 'JPY' });
  assert.deepEqual(catalog.price('standard', 'JP', on, on), { amount: 1490, currency: 'JPY' });
  assert.deepEqual(catalog.price('premium', 'JP', on, on), { amount: 1980, currency: 'JPY' });
  assert.deepEqual(catalog.price('standard', 'KR', on, on), { amount: 13500, currency: 'KRW' });
  // Three-decimal currency: 2.500 KWD.
  assert.deepEqual(catalog.price('basic', 'KW', on, on), { amount: 2500, currency: 'KWD' });
  assert.equal(catalog.price('standard', 'DE', on, on).currency, 'EUR');
  assert.equal(catalog.price('standard', 'CH', on, on).currency, 'CHF');
});

test('a price rise takes effect on its from date', () => {
  const newMember = '2026-12-31';
  assert.equal(catalog.price('standard', 'US', '2026-12-31', newMember).amount, 1549);
  assert.equal(catalog.price('standard', 'US', '2027-01-01', '2027-01-01').amount, 1699);
  // Other countries and plans are untouched.
  assert.equal(catalog.price('premium', 'US', '2027-01-01', '2027-01-01').amount, 2299);
  assert.equal(catalog.price('standard', 'CA', '2027-01-01', '2027-01-01').amount, 1899);
});

test('a member who joined before the rise keeps the old price until grandfatherUntil, then pays the new one', () => {
  const since = '2025-05-17';
  assert.equal(catalog.price('standard', 'US', '2027-01-01', since).amount, 1549);
  assert.equal(catalog.price('standard', 'US', '2027-03-31', since).amount, 1549);
  assert.equal(catalog.price('standard', 'US', '2027-04-01', since).amount, 1699);
  assert.equal(catalog.price('standard', 'US', '2027-09-01', since).amount, 1699);
  // The trial plan follows the same rise.
  assert.equal(catalog.price('standard-trial', 'US', '2027-02-01', since).amount, 1549);
  assert.equal(catalog.price('standard-trial', 'US', '2027-02-01', '2027-01-15').amount, 1699);
});

test('a member who joins on or after the rise pays the new price at once', () => {
  assert.equal(catalog.price('standard', 'US', '2027-01-01', '2027-01-01').amount, 1699);
  assert.equal(catalog.price('standard', 'US', '2027-02-01', '2027-01-20').amount, 1699);
  assert.equal(catalog.price('standard', 'US', '2027-03-31', '2027-03-31').amount, 1699);
});

test('two rises in quick succession: the first protection lasts its full term', () => {
  const index = catalogIndex({
    plans: [plan({
      prices: [
        { country: 'GB', currency: 'GBP', amount: 1199, from: '2027-01-01', grandfatherUntil: '2027-06-01' },
        { country: 'GB', currency: 'GBP', amount: 999 },
        { country: 'GB', currency: 'GBP', amount: 1299, from: '2027-03-01', grandfatherUntil: '2027-04-01' },
      ],
    })],
  });
  const old = '2026-01-01';
  assert.equal(index.price('standard', 'GB', '2027-03-15', old).amount, 999);
  assert.equal(index.price('standard', 'GB', '2027-04-15', old).amount, 1299);
  assert.equal(index.price('standard', 'GB', '2027-03-15', '2027-02-01').amount, 1199);
  assert.equal(index.price('standard', 'GB', '2027-04-01', '2027-02-01').amount, 1299);
  assert.equal(index.price('standard', 'GB', '2027-03-15', '2027-03-01').amount, 1299);
});

test('a plan not yet priced on a date is refused, naming the date', () => {
  const index = catalogIndex({ plans: [plan({ prices: [{ country: 'US', currency: 'USD', amount: 999, from: '2026-03-01' }] })] });
  assert.equal(index.price('standard', 'US', '2026-03-01', '2026-03-01').amount, 999);
  assert.throws(() => index.price('standard', 'US', '2026-02-28', '2026-02-28'), isInvalidInput('date', /2026-02-28/));
});

test('unknown plans and countries are refused by name', () => {
  assert.throws(() => catalog.plan('platinum'), isInvalidInput('plan', /^plan: unknown plan "platinum"$/));
  assert.throws(() => catalog.price('platinum', 'US', '2026-06-01', '2026-06-01'), isInvalidInput('plan', /unknown plan "platinum"/));
  assert.throws(() => catalog.price('standard', 'ZZ', '2026-06-01', '2026-06-01'), isInvalidInput('country', /^country: plan "standard" is not sold in "ZZ"$/));
  assert.throws(() => catalog.currencyOf('ZZ'), isInvalidInput('country', /^country: unknown country "ZZ"$/));
  assert.equal(catalog.hasPlan('basic'), true);
  assert.equal(catalog.hasPlan('platinum'), false);
});

test('countries() hands out a copy', () => {
  catalog.countries().push('ZZ');
  assert.ok(!catalog.countries().includes('ZZ'));
});

test('validateCatalog names the field path of the first problem', () => {
  const cases: [Catalog, string, RegExp][] = [
    [raw({}), 'catalog.plans', /list of plans/],
    [raw({ plans: [plan(), 'x'] }), 'catalog.plans[1]', /plan object/],
    [{ plans: [plan(), plan({ id: 'basic' }), plan()] }, 'catalog.plans[2].id', /duplicate plan id "standard" \(also catalog\.plans\[0\]\)/],
    [{ plans: [plan({ id: '' })] }, 'catalog.plans[0].id', /""/],
    [raw({ plans: [plan({ product: 'vhs' as never })] }), 'catalog.plans[0].product', /"vhs"/],
    [raw({ plans: [plan({ period: 'week' as never })] }), 'catalog.plans[0].period', /"week"/],
    [{ plans: [plan({ trialDays: -1 })] }, 'catalog.plans[0].trialDays', /-1/],
    [{ plans: [plan({ trialDays: 1.5 })] }, 'catalog.plans[0].trialDays', /1\.5/],
    [{ plans: [plan({ prices: [] })] }, 'catalog.plans[0].prices', /at least one price/],
    [{ plans: [plan({ prices: [{ country: 'US', currency: 'USD', amount: 15.49 }] })] }, 'catalog.plans[0].prices[0].amount', /15\.49/],
    [{ plans: [plan({ prices: [{ country: 'US', currency: 'USD', amount: -1 }] })] }, 'catalog.plans[0].prices[0].amount', /-1/],
    [{ plans: [plan({ prices: [{ country: 'US', currency: 'XYZ', amount: 1 }] })] }, 'catalog.plans[0].prices[0].currency', /"XYZ" is not an ISO 4217 currency code/],
    [{ plans: [plan({ prices: [{ country: 'usa', currency: 'USD', amount: 1 }] })] }, 'catalog.plans[0].prices[0].country', /"usa"/],
    [{ plans: [plan({ prices: [{ country: 'US', currency: 'USD', amount: 1, from: '2026-02-30' }] })] }, 'catalog.plans[0].prices[0].from', /"2026-02-30" is not a real calendar date/],
    [
      { plans: [plan({ prices: [{ country: 'US', currency: 'USD', amount: 1 }, { country: 'US', currency: 'USD', amount: 2, grandfatherUntil: '2027-01-01' }] })] },
      'catalog.plans[0].prices[1].grandfatherUntil',
      /needs a "from"/,
    ],
    [
      { plans: [plan({ prices: [{ country: 'US', currency: 'USD', amount: 1 }, { country: 'US', currency: 'USD', amount: 2, from: '2027-01-01', grandfatherUntil: '2027-01-01' }] })] },
      'catalog.plans[0].prices[1].grandfatherUntil',
      /must be after/,
    ],
    [
      { plans: [plan({ prices: [{ country: 'US', currency: 'USD', amount: 2, from: '2027-01-01', grandfatherUntil: '2027-04-01' }] })] },
      'catalog.plans[0].prices[0].grandfatherUntil',
      /no earlier price in "US"/,
    ],
    [
      { plans: [plan({ prices: [{ country: 'US', currency: 'USD', amount: 1, from: '2027-01-01' }, { country: 'US', currency: 'USD', amount: 2, from: '2027-01-01' }] })] },
      'catalog.plans[0].prices[1].from',
      /two prices in "US" from 2027-01-01 \(also catalog\.plans\[0\]\.prices\[0\]\)/,
    ],
    [
      { plans: [plan({ prices: [{ country: 'US', currency: 'USD', amount: 1 }, { country: 'US', currency: 'USD', amount: 2 }] })] },
      'catalog.plans[0].prices[1].from',
      /two prices in "US" with no "from" date/,
    ],
    [
      { plans: [plan(), plan({ id: 'premium', prices: [{ country: 'CH', currency: 'CHF', amount: 1 }, { country: 'US', currency: 'CAD', amount: 2299 }] })] },
      'catalog.plans[1].prices[1].currency',
      /"CAD" but "US" is priced in "USD" at catalog\.plans\[0\]\.prices\[0\]\.currency/,
    ],
  ];
  for (const [bad, field, message] of cases) {
    assert.throws(() => validateCatalog(bad), isInvalidInput(field, message), field);
    assert.throws(() => catalogIndex(bad), isInvalidInput(field, message), field);
  }
});

test('validateCatalog accepts a zero price and dates that YAML turned into Date objects', () => {
  const checked = validateCatalog(raw({
    plans: [{
      ...plan(),
      prices: [
        { country: 'US', currency: 'USD', amount: 0 },
        { country: 'US', currency: 'USD', amount: 1699, from: new Date('2027-01-01'), grandfatherUntil: new Date('2027-04-01') },
      ],
    }],
  }));
  assert.deepEqual(checked.plans[0]?.prices[1], { country: 'US', currency: 'USD', amount: 1699, from: '2027-01-01', grandfatherUntil: '2027-04-01' });
  assert.throws(
    () => validateCatalog(raw({ plans: [{ ...plan(), prices: [{ country: 'US', currency: 'USD', amount: 1, from: new Date('2027-01-01T10:00:00Z') }] }] })),
    isInvalidInput('catalog.plans[0].prices[0].from'),
  );
});

test('the index does not depend on the order prices are listed in', () => {
  const index = catalogIndex({
    plans: [plan({
      prices: [
        { country: 'US', currency: 'USD', amount: 1699, from: '2027-01-01' },
        { country: 'US', currency: 'USD', amount: 1549 },
      ],
    })],
  });
  assert.equal(index.price('standard', 'US', '2026-12-31', '2026-01-01').amount, 1549);
  assert.equal(index.price('standard', 'US', '2027-01-01', '2026-01-01').amount, 1699);
  assert.deepEqual(index.countries(), ['US']);
});
