import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dec4, formatDec4, generateMember, includedTax, legacyWartRates, roundBankers, timesRate, type MemberRows } from '../../src/legacy/index.ts';

/** The legacy's own money rules, computed by hand. */
test('legacy decimals: DECIMAL(12,4) text in, exact ten-thousandths, back out', () => {
  assert.equal(dec4('8.99'), 89_900n);
  assert.equal(dec4('0.0050'), 50n);
  assert.equal(dec4(8.99), 89_900n, 'SQLite hands DECIMAL back as a REAL; four places recover it exactly');
  assert.equal(dec4('1500'), 15_000_000n);
  assert.equal(formatDec4(-1_234_567n), '-123.4567');
  assert.throws(() => dec4('8,99'));
});

test('legacy rounding is half to even (banker\'s), to the currency\'s digits', () => {
  assert.equal(formatDec4(roundBankers(dec4('0.125'), 2)), '0.1200');
  assert.equal(formatDec4(roundBankers(dec4('0.135'), 2)), '0.1400');
  assert.equal(formatDec4(roundBankers(dec4('2.5'), 0)), '2.0000');
  assert.equal(formatDec4(roundBankers(dec4('3.5'), 0)), '4.0000');
  assert.equal(formatDec4(roundBankers(dec4('1.2345'), 3)), '1.2340');
  // Tax on a tax-exclusive total: 2.50 × 5% = 0.125 → 0.12 (half to even; Tally would say 0.13).
  assert.equal(formatDec4(timesRate(dec4('2.50'), '0.05000', 2)), '0.1200');
  // 17.99 × 6.5% = 1.16935 → 1.17.
  assert.equal(formatDec4(timesRate(dec4('17.99'), '0.06500', 2)), '1.1700');
  // Tax inside a tax-inclusive price: 8.99 × 0.19 / 1.19 = 1.43537… → 1.44; 8.99 × 0.20 / 1.20 = 1.49833… → 1.50.
  assert.equal(formatDec4(includedTax(dec4('8.99'), '0.19000', 2)), '1.4400');
  assert.equal(formatDec4(includedTax(dec4('8.99'), '0.20000', 2)), '1.5000');
  // 990 JPY × 0.10 / 1.10 = 90 exactly; 1490 → 135.45… → 135.
  assert.equal(formatDec4(includedTax(dec4('990'), '0.10000', 0)), '90.0000');
  assert.equal(formatDec4(includedTax(dec4('1490'), '0.10000', 0)), '135.0000');
  // An exact half inside: 0.55 × 0.10 / 1.10 = 0.05 exactly; 1.65 × 0.1 / 1.1 = 0.15 exactly (no rounding).
  assert.equal(formatDec4(includedTax(dec4('1.65'), '0.10000', 2)), '0.1500');
});

const asOf = '2026-11-28';
const population = (members: number, seed = 3) => Array.from({ length: members }, (_, n) => generateMember(n, { members, seed, asOf }));
const all = <T extends keyof MemberRows>(rows: MemberRows[], table: T) => rows.flatMap((r) => (r[table] ?? []) as NonNullable<MemberRows[T]>);

test('the generator is deterministic: member n depends only on the seed and n', () => {
  const a = generateMember(41, { members: 100, seed: 9, asOf });
  const b = generateMember(41, { members: 5, seed: 9, asOf });
  assert.deepEqual(a, b);
  assert.notDeepEqual(generateMember(41, { members: 100, seed: 10, asOf }), a);
});

test('a population\'s invoices add up by the legacy\'s rules, and nothing is dated after the as-of date', () => {
  const rows = population(1500);
  const invoices = all(rows, 'invoice_header');
  assert.ok(invoices.length > 1500 * 5, `${invoices.length} invoices`);
  for (const i of invoices) {
    const [sub, disc, tax, total] = [i.subtotal_amt, i.discount_amt, i.tax_amt, i.total_amt].map((v) => dec4(v));
    assert.ok(total === sub! - disc! || total === sub! - disc! + tax!, `invoice ${i.inv_id}: ${i.subtotal_amt} - ${i.discount_amt} (+ ${i.tax_amt}) ≠ ${i.total_amt}`);
    assert.ok(dec4(i.gift_applied_amt) + dec4(i.credit_applied_amt) <= total!, `invoice ${i.inv_id} applies more balance than its total`);
    assert.ok(i.inv_dt.slice(0, 10) <= asOf, `invoice ${i.inv_id} on ${i.inv_dt}`);
  }
  for (const t of all(rows, 'payment_txn')) assert.ok(t.txn_dt.slice(0, 10) <= '2027-01-31', `${t.txn_id} on ${t.txn_dt}`);
  const starts = all(rows, 'subscription').map((s) => s.start_dt).sort();
  assert.ok(starts[0]! < '2011-01-01', `history back to 2010 (earliest ${starts[0]})`);
  const statuses = new Set(all(rows, 'subscription').map((s) => s.status_cd));
  for (const s of [1, 2, 3]) assert.ok(statuses.has(s), `subscription status ${s}`);
  const txns = new Set(all(rows, 'payment_txn').map((t) => `${t.txn_type}/${t.resp_cd}`));
  for (const k of ['AUT/00', 'CAP/00', 'CAP/51', 'REF/00', 'CHB/00']) assert.ok(txns.has(k), k);
  assert.ok(all(rows, 'subscription').some((s) => s.plan_cd.startsWith('DVD')), 'DVD members');
  const dvdAccounts = new Set(all(rows, 'subscription').filter((s) => s.plan_cd.startsWith('DVD')).map((s) => s.acct_id));
  for (const a of all(rows, 'account').filter((x) => dvdAccounts.has(x.acct_id))) assert.equal(a.currency_cd, 'USD', 'DVD in the US only');
  assert.ok(all(rows, 'gift_card').length > 0 && all(rows, 'credit_memo').length > 0 && all(rows, 'promotion_redemption').length > 0);
});

test('warts occur at their stated rates', () => {
  const members = 5000;
  const rows = population(members, 5);
  const invoices = all(rows, 'invoice_header');
  const invoiceIds = new Set(invoices.map((i) => i.inv_id));
  const detailed = new Set(all(rows, 'invoice_detail').map((d) => d.inv_id));
  const early = all(rows, 'customer').filter((c) => c.cust_id < 2_000_000_000 && c.created_dt < '2013-01-01').length;
  const near = (name: string, seen: number, rate: number, base: number) => {
    const expected = rate * base;
    // Within five standard deviations of a binomial count (and present at all).
    assert.ok(seen > 0 && Math.abs(seen - expected) <= 5 * Math.sqrt(expected) + 2, `${name}: ${seen} seen, ${expected.toFixed(1)} expected of ${base}`);
  };
  near('orphan rows', all(rows, 'payment_txn').filter((t) => !invoiceIds.has(t.inv_id)).length, legacyWartRates.orphanRows, members);
  near('duplicate customers', all(rows, 'customer').filter((c) => c.cust_id >= 2_000_000_000).length, legacyWartRates.duplicateCustomer, members);
  near('headers without details', invoices.filter((i) => !detailed.has(i.inv_id)).length, legacyWartRates.headerWithoutDetails, invoices.length);
  const details = new Map(all(rows, 'invoice_detail').map((d) => [d.inv_id, d]));
  near('details not adding up', invoices.filter((i) => details.has(i.inv_id) && dec4(details.get(i.inv_id)!.amount) !== dec4(i.subtotal_amt)).length, legacyWartRates.detailsNotAddingUp, invoices.length);
  const captured = new Set(all(rows, 'payment_txn').filter((t) => t.txn_type === 'CAP' && t.resp_cd === '00').map((t) => t.inv_id));
  near('payments on voided invoices', invoices.filter((i) => i.status_cd === 'V' && captured.has(i.inv_id)).length, legacyWartRates.paymentOnVoidedInvoice, invoices.length);
  near('sub-cent amounts', invoices.filter((i) => dec4(i.subtotal_amt) % 100n !== 0n).length, legacyWartRates.subCentAmount, invoices.length);
  near('messy emails', all(rows, 'customer_email').filter((e) => e.email_addr !== e.email_addr?.trim()).length, legacyWartRates.messyEmail, members);
  near('odd country codes', all(rows, 'customer').filter((c) => c.country_cd && !/^[A-Z]{2}$/.test(c.country_cd)).length, legacyWartRates.oddCountryCode, members);
  near('expired cards', all(rows, 'payment_method').filter((p) => p.status_cd === 'A' && p.exp_yyyy! < 2026).length, legacyWartRates.expiredPaymentMethod, members);
  near('obsolete plan codes', all(rows, 'subscription').filter((s) => s.plan_cd.endsWith('_2010')).length, legacyWartRates.obsoletePlanCode, early);
  near('impossible dates', all(rows, 'subscription_history').filter((h) => h.event_yyyymmdd?.endsWith('0231')).length, legacyWartRates.impossibleDate, early);
});

test('the legacy imports nothing of Tally: it is the other side', () => {
  const dir = join(import.meta.dirname, '../../src/legacy');
  for (const file of readdirSync(dir)) {
    for (const [, from] of readFileSync(join(dir, file), 'utf8').matchAll(/from '([^']+)'/g)) {
      assert.ok(!from!.startsWith('..'), `${file} imports ${from}`);
    }
  }
});
