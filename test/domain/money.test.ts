import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isInvalidInput } from '../support/invalid-input.ts';
import {
  allocate, assertMinorUnits, currencyExponent, formatMinor, isCurrency, mulDiv, parseMajorAmount, parseRatePpm, percentOf, roundDiv,
} from '../../src/domain/money.ts';

/** Reference: round half away from zero in BigInt. */
function refRoundDiv(n: bigint, d: bigint): bigint {
  const m = n < 0n ? -n : n;
  const q = m / d + ((m % d) * 2n >= d ? 1n : 0n);
  return n < 0n ? -q : q;
}

test('currency exponents come from ISO 4217', () => {
  assert.equal(currencyExponent('JPY'), 0);
  assert.equal(currencyExponent('KRW'), 0);
  assert.equal(currencyExponent('EUR'), 2);
  assert.equal(currencyExponent('USD'), 2);
  assert.equal(currencyExponent('KWD'), 3);
  assert.equal(currencyExponent('BHD'), 3);
  assert.equal(currencyExponent('CLF'), 4);
  assert.equal(isCurrency('EUR'), true);
  assert.equal(isCurrency('eur'), false);
  assert.equal(isCurrency('XYZ'), false);
});

test('metals and other codes without minor units are not money', () => {
  for (const code of ['XAU', 'XAG', 'XDR', 'XTS', 'XXX']) assert.equal(isCurrency(code), false, code);
  // The CFA francs are real currencies with no minor unit.
  assert.equal(currencyExponent('XOF'), 0);
  assert.throws(() => currencyExponent('XAU'), isInvalidInput('currency', /unknown currency "XAU"/));
  assert.throws(() => currencyExponent('XYZ'), isInvalidInput('currency', /unknown currency "XYZ"/));
});

test('roundDiv rounds half away from zero', () => {
  assert.equal(roundDiv(5, 2), 3);
  assert.equal(roundDiv(-5, 2), -3);
  assert.equal(roundDiv(7, 3), 2);
  assert.equal(roundDiv(-7, 3), -2);
  assert.equal(roundDiv(8, 3), 3);
  assert.equal(roundDiv(-8, 3), -3);
  assert.equal(roundDiv(1, 2), 1);
  assert.equal(roundDiv(-1, 2), -1);
  assert.equal(roundDiv(1, 3), 0);
  assert.ok(Object.is(roundDiv(-1, 3), 0), 'no negative zero');
  assert.equal(roundDiv(0, 7), 0);
  assert.equal(roundDiv(6, 1), 6);
});

test('roundDiv is exact next to and beyond 2^53', () => {
  const max = Number.MAX_SAFE_INTEGER; // 9007199254740991 = 2^53 - 1
  assert.equal(roundDiv(max, 2), 4503599627370496); // 4503599627370495.5 → up
  assert.equal(roundDiv(-max, 2), -4503599627370496);
  assert.equal(roundDiv(max, 1), max);
  // 2^60 is exact as a double; 2^60 / 3 = 384307168202282325.33… is too large to return exactly.
  assert.throws(() => roundDiv(2 ** 60, 3), isInvalidInput('amount', /too large/));
  // 2^60 / 2^10 = 2^50, via the BigInt path.
  assert.equal(roundDiv(2 ** 60, 1024), 2 ** 50);
  assert.equal(roundDiv(-(2 ** 60) - 2 ** 9 * 3, 1024 * 3), -375299968947542);
  assert.throws(() => roundDiv(1.5, 2), isInvalidInput('numerator', /1\.5/));
  assert.throws(() => roundDiv(1, 0), isInvalidInput('denominator', /0/));
  assert.throws(() => roundDiv(1, -2), isInvalidInput('denominator', /-2/));
});

test('mulDiv and percentOf keep every digit of the product', () => {
  // 9e15 × 190000 is far past 2^53; the exact answer is 9e15 × 0.19.
  assert.equal(percentOf(9_000_000_000_000_000, 190_000), 1_710_000_000_000_000);
  assert.equal(percentOf(999, 190_000), 190); // 189.81
  assert.equal(percentOf(50, 10_000), 1); // 0.5 → 1
  assert.equal(percentOf(-50, 10_000), -1);
  assert.equal(percentOf(1549, 65_000), 101); // 100.685
  assert.equal(mulDiv(999, 190_000, 1_190_000), 160); // 159.504
  assert.equal(mulDiv(4_000_000_000_000_001, 3, 4), 3_000_000_000_000_001); // 3000000000000000.75 → up
});

test('parseRatePpm reads the decimal text exactly', () => {
  assert.equal(parseRatePpm(0.19), 190_000);
  assert.equal(parseRatePpm('0.065'), 65_000);
  assert.equal(parseRatePpm(0.07375), 73_750); // 0.07375 * 1e6 = 73749.99999999999 in floating point
  assert.equal(parseRatePpm('0.0825'), 82_500);
  assert.equal(parseRatePpm(0.14975), 149_750);
  assert.equal(parseRatePpm(0.000001), 1);
  assert.equal(parseRatePpm(0), 0);
  assert.equal(parseRatePpm('0'), 0);
  assert.equal(parseRatePpm(1), 1_000_000);
  assert.equal(parseRatePpm('9.999999'), 9_999_999);
  assert.equal(parseRatePpm('00.5'), 500_000);
});

test('parseRatePpm refuses what it cannot represent', () => {
  assert.throws(() => parseRatePpm('0.1234567', 'taxes[0].rate'), isInvalidInput('taxes[0].rate', /more than 6 decimal places: "0\.1234567"/));
  assert.throws(() => parseRatePpm(1e-7), isInvalidInput('rate', /more than 6 decimal places: 1e-7/));
  assert.throws(() => parseRatePpm(0.1 + 0.2), isInvalidInput('rate', /more than 6 decimal places/));
  assert.throws(() => parseRatePpm(-0.1), isInvalidInput('rate', /must not be negative, got -0\.1/));
  assert.throws(() => parseRatePpm(10), isInvalidInput('rate', /below 10.*got 10/));
  assert.throws(() => parseRatePpm(19), isInvalidInput('rate', /got 19/));
  assert.throws(() => parseRatePpm('19%'), isInvalidInput('rate', /"19%"/));
  assert.throws(() => parseRatePpm(''), isInvalidInput('rate', /""/));
  assert.throws(() => parseRatePpm(Number.NaN), isInvalidInput('rate', /NaN/));
  assert.throws(() => parseRatePpm(Infinity), isInvalidInput('rate', /Infinity/));
});

test('allocate splits by largest remainder, ties to the earlier part', () => {
  assert.deepEqual(allocate(100, [1, 1, 1]), [34, 33, 33]);
  assert.deepEqual(allocate(-100, [1, 1, 1]), [-34, -33, -33]);
  assert.deepEqual(allocate(10, [3, 7]), [3, 7]);
  assert.deepEqual(allocate(5, [1, 2]), [2, 3]); // 1.67 / 3.33: the larger remainder gets the unit
  assert.deepEqual(allocate(1, [1, 1]), [1, 0]);
  assert.deepEqual(allocate(7, [0, 2, 0]), [0, 7, 0]);
  assert.deepEqual(allocate(0, [1, 2]), [0, 0]);
  assert.deepEqual(allocate(10, [0, 0, 0]), [4, 3, 3], 'all-zero weights split evenly');
  assert.deepEqual(allocate(Number.MAX_SAFE_INTEGER, [1, 1]), [4503599627370496, 4503599627370495]);
  assert.throws(() => allocate(10, []), isInvalidInput('weights', /empty/));
  assert.throws(() => allocate(10, [1, -1]), isInvalidInput('weights[1]', /got -1/));
  assert.throws(() => allocate(10.5, [1]), isInvalidInput('amount', /10\.5/));
});

test('assertMinorUnits', () => {
  assert.equal(assertMinorUnits(999, 'amount'), 999);
  assert.equal(assertMinorUnits(0, 'amount', { allowZero: true }), 0);
  assert.throws(() => assertMinorUnits(0, 'amount'), isInvalidInput('amount', /greater than zero, got 0/));
  assert.throws(() => assertMinorUnits(-1, 'amount'), isInvalidInput('amount', /must not be negative, got -1/));
  assert.throws(() => assertMinorUnits(9.99, 'price'), isInvalidInput('price', /must be a whole number of minor units, got 9\.99/));
  assert.throws(() => assertMinorUnits('999', 'price'), isInvalidInput('price', /got "999"/));
  assert.throws(() => assertMinorUnits(2 ** 53, 'price'), isInvalidInput('price', /9007199254740992/));
  assert.throws(() => assertMinorUnits(Number.NaN, 'price'), isInvalidInput('price', /NaN/));
});

test('parseMajorAmount and formatMinor by currency exponent', () => {
  assert.equal(parseMajorAmount('9.99', 'EUR', 'price'), 999);
  assert.equal(parseMajorAmount('9.9', 'EUR', 'price'), 990);
  assert.equal(parseMajorAmount('9', 'EUR', 'price'), 900);
  assert.equal(parseMajorAmount('1500', 'JPY', 'price'), 1500);
  assert.equal(parseMajorAmount('12.345', 'KWD', 'price'), 12345);
  assert.equal(parseMajorAmount('0.005', 'BHD', 'price'), 5);
  assert.equal(parseMajorAmount('-9.99', 'EUR', 'price'), -999);
  assert.equal(parseMajorAmount('9.99 EUR', 'EUR', 'price'), 999);
  assert.throws(() => parseMajorAmount('1.5', 'JPY', 'price'), isInvalidInput('price', /JPY allows at most 0 decimal places, got "1\.5"/));
  assert.throws(() => parseMajorAmount('9.999', 'EUR', 'price'), isInvalidInput('price', /"9\.999"/));
  assert.throws(() => parseMajorAmount('9.99 USD', 'EUR', 'price'), isInvalidInput('price', /USD/));
  assert.throws(() => parseMajorAmount('9,99', 'EUR', 'price'), isInvalidInput('price', /"9,99"/));
  assert.throws(() => parseMajorAmount('', 'EUR', 'price'), isInvalidInput('price', /""/));
  assert.throws(() => parseMajorAmount('1e3', 'EUR', 'price'), isInvalidInput('price', /"1e3"/));
  assert.throws(() => parseMajorAmount('99999999999999999', 'EUR', 'price'), isInvalidInput('price', /too large/));
  assert.throws(() => parseMajorAmount('1', 'XYZ', 'price'), isInvalidInput('currency', /"XYZ"/));

  assert.equal(formatMinor(999, 'EUR'), '9.99 EUR');
  assert.equal(formatMinor(5, 'EUR'), '0.05 EUR');
  assert.equal(formatMinor(0, 'EUR'), '0.00 EUR');
  assert.equal(formatMinor(-999, 'EUR'), '-9.99 EUR');
  assert.equal(formatMinor(-5, 'EUR'), '-0.05 EUR');
  assert.equal(formatMinor(1500, 'JPY'), '1500 JPY');
  assert.equal(formatMinor(-1500, 'JPY'), '-1500 JPY');
  assert.equal(formatMinor(12345, 'KWD'), '12.345 KWD');
  assert.equal(formatMinor(1, 'CLF'), '0.0001 CLF');
  assert.throws(() => formatMinor(9.5, 'EUR'), isInvalidInput('amount', /9\.5/));
});

const currencies = fc.constantFrom('EUR', 'USD', 'JPY', 'KRW', 'KWD', 'BHD', 'CLF');
const amounts = fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });

test('property: allocate never creates or loses a unit, and each part is within 1 of its share', () => {
  fc.assert(fc.property(
    fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000 }), amounts),
    fc.array(fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 2 ** 40 })), { minLength: 1, maxLength: 12 }),
    (amount, weights) => {
      const parts = allocate(amount, weights);
      assert.equal(parts.length, weights.length);
      assert.equal(parts.reduce((a, b) => a + BigInt(b), 0n), BigInt(amount));
      const total = weights.reduce((a, b) => a + BigInt(b), 0n);
      const shareWeights = total === 0n ? weights.map(() => 1n) : weights.map(BigInt);
      const divisor = total === 0n ? BigInt(weights.length) : total;
      for (const [i, part] of parts.entries()) {
        assert.ok(Number.isSafeInteger(part));
        // |part − amount·w/total| < 1  ⇔  |part·total − amount·w| < total
        const diff = BigInt(part) * divisor - BigInt(amount) * shareWeights[i]!;
        assert.ok((diff < 0n ? -diff : diff) < divisor, `part ${i} = ${part} strays from its share`);
      }
      assert.deepEqual(allocate(-amount, weights), parts.map((p) => (p === 0 ? 0 : -p)));
    },
  ));
});

test('property: roundDiv and percentOf match a BigInt reference', () => {
  fc.assert(fc.property(amounts, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n, d) => {
    assert.equal(roundDiv(n, d), Number(refRoundDiv(BigInt(n), BigInt(d))));
  }));
  fc.assert(fc.property(fc.integer({ min: -(2 ** 49), max: 2 ** 49 }), fc.integer({ min: 0, max: 9_999_999 }), (amount, ppm) => {
    assert.equal(percentOf(amount, ppm), Number(refRoundDiv(BigInt(amount) * BigInt(ppm), 1_000_000n)));
  }));
});

test('property: parseRatePpm agrees with the decimal text', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 9_999_999 }), (ppm) => {
    const text = `${Math.floor(ppm / 1_000_000)}.${String(ppm % 1_000_000).padStart(6, '0')}`;
    assert.equal(parseRatePpm(text), ppm);
    assert.equal(parseRatePpm(Number(text)), ppm);
  }));
});

test('property: parseMajorAmount reads back what formatMinor writes', () => {
  fc.assert(fc.property(amounts, currencies, (amount, currency) => {
    const text = formatMinor(amount, currency);
    assert.equal(parseMajorAmount(text, currency, 'amount'), amount);
    assert.equal(parseMajorAmount(text.split(' ')[0]!, currency, 'amount'), amount);
  }));
});
