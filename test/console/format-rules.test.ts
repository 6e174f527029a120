import assert from 'node:assert/strict';
import { test } from 'node:test';
import cc from 'currency-codes';
import * as format from '../../web/src/format.ts';

const { currencyDigits, minorToDecimal } = format;
// Intl separates a currency code from its number with a no-break space: compared as plain spaces here.
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
const formatMoney = (...a: Parameters<typeof format.formatMoney>) => plain(format.formatMoney(...a));
const formatDateTime = (...a: Parameters<typeof format.formatDateTime>) => plain(format.formatDateTime(...a));
const formatBusinessDate = (...a: Parameters<typeof format.formatBusinessDate>) => plain(format.formatBusinessDate(...a));

test('amounts show the decimals of their currency: JPY 0, USD 2, KWD 3', () => {
  assert.equal(formatMoney(123456, 'JPY', 'en-US'), '¥123,456');
  assert.equal(formatMoney(123456, 'USD', 'en-US'), '$1,234.56');
  assert.equal(formatMoney(1234, 'KWD', 'en-US'), 'KWD 1.234');
  assert.equal(formatMoney(5, 'EUR', 'de-DE'), '0,05 €');
  assert.equal(formatMoney(-1999, 'USD', 'en-US'), '-$19.99');
  assert.equal(formatMoney(0, 'BHD', 'en-US'), 'BHD 0.000');
});

test('minor units are the ISO 4217 ones even where the browser shows fewer decimals (IDR, HUF, IQD)', () => {
  assert.equal(currencyDigits('IDR'), 2);
  assert.equal(formatMoney(12345, 'IDR', 'en-US'), 'IDR 123.45');
  assert.equal(currencyDigits('IQD'), 3);
  // Every currency Tally bills in (src/domain/money.ts takes ISO 4217 from currency-codes) converts with the same digits.
  const notMoney = new Set(['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX']);
  for (const r of cc.data) {
    if (typeof r.digits !== 'number' || notMoney.has(r.code)) continue;
    assert.equal(currencyDigits(r.code), r.digits, r.code);
  }
});

test('conversion is exact, without float division', () => {
  assert.equal(minorToDecimal(1, 2), '0.01');
  assert.equal(minorToDecimal(-5, 3), '-0.005');
  assert.equal(minorToDecimal(9007199254740991, 2), '90071992547409.91');
  assert.equal(minorToDecimal(42, 0), '42');
  assert.equal(formatMoney(9007199254740991, 'USD', 'en-US'), '$90,071,992,547,409.91');
  assert.throws(() => formatMoney(1.5, 'USD'), RangeError);
  assert.throws(() => formatMoney(1, 'usd'), RangeError);
});

test('dates say which time zone they are shown in', () => {
  const instant = '2026-03-10T12:00:00Z';
  assert.equal(formatDateTime(instant, 'Europe/Berlin', 'en-GB'), '10 Mar 2026, 13:00 (Europe/Berlin)');
  assert.equal(formatDateTime(instant, 'Asia/Tokyo', 'en-GB'), '10 Mar 2026, 21:00 (Asia/Tokyo)');
  assert.equal(formatDateTime(Date.parse(instant), 'America/Los_Angeles', 'en-GB'), '10 Mar 2026, 05:00 (America/Los_Angeles)');
  assert.throws(() => formatDateTime('yesterday', 'UTC'), RangeError);
});

test('a business day is shown as the day itself, with the reporting zone named', () => {
  assert.equal(formatBusinessDate('2026-03-10', 'Pacific/Kiritimati', 'en-GB'), '10 Mar 2026 (business day in Pacific/Kiritimati)');
  assert.equal(formatBusinessDate('2026-01-01', 'America/Los_Angeles', 'en-US'), 'Jan 1, 2026 (business day in America/Los_Angeles)');
  assert.throws(() => formatBusinessDate('2026-3-1', 'UTC'), RangeError);
});
