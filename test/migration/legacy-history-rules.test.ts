import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bookedOpeningBalances, openingBalanceEntries } from '../../src/domain/journal.ts';
import type { LegacySchema } from '../../src/legacy/index.ts';
import type { LegacyMember } from '../../src/migration/sources/legacy-source.ts';
import { transformLegacy } from '../../src/migration/sources/legacy-adapter.ts';
import { transformLegacyHistory } from '../../src/migration/transform/legacy-history.ts';
import { transformLegacyMember } from '../../src/migration/transform/legacy-member.ts';
import { legacyInstantDate } from '../../src/migration/transform/legacy-time.ts';
import { ctx, germanMember } from '../support/legacy-member.ts';

const history = { ...ctx, asOf: '2026-11-28', horizonMonths: 24 };

type Header = LegacySchema['invoice_header'];
const header = (inv_id: number, inv_dt: string, status_cd: string, over: Partial<Header> = {}): Header => ({
  inv_id, acct_id: 42, inv_no: `INV${inv_id}`, inv_dt, period_from_dt: `${inv_dt.slice(0, 10)} 00:00:00`, period_to_dt: `${inv_dt.slice(0, 10)} 00:00:00`, status_cd,
  currency_cd: 'EUR', subtotal_amt: '13.9900', discount_amt: '0.0000', tax_amt: '2.2300', total_amt: '13.9900', gift_applied_amt: '0.0000', credit_applied_amt: '0.0000', ...over,
});
const txn = (txn_id: number, inv_id: number, txn_type: string, amount: string, resp_cd: string, txn_dt: string): LegacySchema['payment_txn'] => ({
  txn_id, inv_id, pm_id: 2, txn_type, amount, resp_cd, txn_dt, ref_no: resp_cd === '00' ? `R${txn_id}` : null, parent_txn_id: null,
});
const detail = (inv_det_id: number, inv_id: number, amount: string): LegacySchema['invoice_detail'] => ({ inv_det_id, inv_id, line_no: 1, plan_cd: 'STRM_STD_M', descr: null, amount, discount_amt: '0.0000' });

/** Lena's billing history in the legacy: an old write-off, a history-old paid invoice, a refunded one, one in dunning, a void one. */
function lena(over: Partial<LegacyMember> = {}): LegacyMember {
  return germanMember({
    invoices: [
      header(4, '2022-01-10 03:00:00', 'U', { subtotal_amt: '12.9900', tax_amt: '2.0700', total_amt: '12.9900', period_from_dt: '2022-01-10 00:00:00', period_to_dt: '2022-02-10 00:00:00' }),
      header(5, '2023-05-10 03:00:00', 'P', { subtotal_amt: '13.9950' }),
      header(8, '2026-10-09 22:30:00', 'P', { period_from_dt: '2026-10-10 00:00:00', period_to_dt: '2026-11-10 00:00:00' }),
      header(9, '2026-11-10 03:00:00', 'F', { gift_applied_amt: '5.0000', period_from_dt: '2026-11-10 00:00:00', period_to_dt: '2026-12-10 00:00:00' }),
      header(10, '2026-11-15 03:00:00', 'V'),
    ],
    details: [detail(1, 4, '12.9900'), detail(2, 5, '13.9950'), detail(3, 8, '13.9900'), detail(4, 10, '13.9900')],
    payments: [
      txn(81, 8, 'CAP', '13.9900', '51', '2026-10-09 22:30:00'),
      txn(82, 8, 'AUT', '13.9900', '00', '2026-10-12 10:00:00'),
      txn(83, 8, 'CAP', '13.9900', '00', '2026-10-12 10:00:00'),
      txn(84, 8, 'REF', '5.0000', '00', '2026-10-20 09:00:00'),
      txn(91, 9, 'CAP', '8.9900', '51', '2026-11-10 03:00:00'),
    ],
    ...over,
  });
}

function historyOf(m: LegacyMember) {
  const member = transformLegacyMember(m, ctx).member!;
  return transformLegacyHistory(m, member, history);
}

test('a legacy timestamp is a Los Angeles wall-clock time: the member\'s date is the date there and then in its own zone', () => {
  // 22:30 PDT on 9 March 2026 is 05:30 UTC on the 10th: the 10th in Berlin, Tokyo and New York.
  assert.equal(legacyInstantDate('2026-03-09 22:30:00', 'Europe/Berlin'), '2026-03-10');
  assert.equal(legacyInstantDate('2026-03-09 22:30:00', 'Asia/Tokyo'), '2026-03-10');
  assert.equal(legacyInstantDate('2026-03-09 20:59:00', 'America/New_York'), '2026-03-09');
  assert.equal(legacyInstantDate('2026-03-09 21:00:00', 'America/New_York'), '2026-03-10');
  assert.equal(legacyInstantDate('2026-03-09 23:59:59', 'America/Los_Angeles'), '2026-03-09');
  // 15:00 PST in January is 23:00 UTC: midnight in Berlin (UTC+1), still the 15th in London.
  assert.equal(legacyInstantDate('2026-01-15 15:00:00', 'Europe/Berlin'), '2026-01-16');
  assert.equal(legacyInstantDate('2026-01-15 15:00:00', 'Europe/London'), '2026-01-15');
});

test('the history: numbered in issue order, the old paid invoice left out and counted, the old write-off kept, amounts exact', () => {
  const r = historyOf(lena());
  assert.equal(r.quarantine, undefined, JSON.stringify(r.quarantine));
  const h = r.history!;
  assert.equal(h.invoiceCount, 5);
  assert.equal(h.leftOut, 1, 'INV5 (2023, paid) is older than 24 months; its sub-cent subtotal quarantines nobody');
  assert.deepEqual(h.invoices.map((i) => [i.number, i.key, i.status, i.issuedOn]), [
    [1, 'legacy-inv:4', 'uncollectible', '2022-01-10'],
    // 22:30 PDT on 9 October is 07:30 on the 10th in Berlin.
    [3, 'legacy-inv:8', 'partially_refunded', '2026-10-10'],
    [4, 'legacy-inv:9', 'past_due', '2026-11-10'],
    [5, 'legacy-inv:10', 'void', '2026-11-15'],
  ]);
  const [old, refunded, dunning] = h.invoices;
  assert.deepEqual(old!.nextAttemptOn, null, 'written off in the legacy: no retry');
  assert.deepEqual(
    { id: refunded!.id, subscriptionId: refunded!.subscriptionId, total: refunded!.total, tax: refunded!.tax, amountDue: refunded!.amountDue, charged: refunded!.charged, refunded: refunded!.refunded, attemptCount: refunded!.attemptCount, firstFailedOn: refunded!.firstFailedOn, nextAttemptOn: refunded!.nextAttemptOn },
    { id: 'A000000042#3', subscriptionId: 'A000000042-s1', total: 1399, tax: 223, amountDue: 1399, charged: 1399, refunded: 500, attemptCount: 2, firstFailedOn: '2026-10-10', nextAttemptOn: null },
  );
  // Tax-inclusive Germany: 13.99 gross holds 2.23 tax, 11.76 net; the effective rate 223/1176 = 18.9626 %.
  assert.deepEqual(refunded!.lines, [{
    lineNo: 1, kind: 'plan', description: 'STRM_STD_M 2026-10-10 to 2026-11-10', planId: 'standard', periodStart: '2026-10-10', periodEnd: '2026-11-10',
    amount: 1399, discount: 0, net: 1176, tax: 223, total: 1399, taxRatePpm: 189626, taxName: 'tax as billed by the legacy',
  }]);
  // 13.99 less 5.00 of gift card: 8.99 due, still owed, and Tally's dunning takes over on the migration day.
  assert.deepEqual([dunning!.amountDue, dunning!.charged, dunning!.nextAttemptOn, dunning!.attemptCount, dunning!.firstFailedOn], [899, 0, '2026-11-28', 1, '2026-11-10']);
  assert.equal(dunning!.lines.length, 1);
  assert.match(dunning!.lines[0]!.description, /as billed by the legacy \(invoice INV9; it has no detail lines\)/);
  assert.equal(h.repaired, 1);
  assert.equal(h.openReceivable, 899);
  // Captures are payments and attempts (the authorization moves no money); the refund reverses tax in proportion: 500 × 223 / 1399 = 79.7 → 80.
  assert.deepEqual(h.attempts.map((a) => [a.idem_key, a.invoice_id, a.attempt_no, a.status, a.decline_code, a.attempted_on]), [
    ['legacy-txn:81', 'A000000042#3', 1, 'declined', '51', '2026-10-10'],
    ['legacy-txn:83', 'A000000042#3', 2, 'succeeded', null, '2026-10-12'],
    ['legacy-txn:91', 'A000000042#4', 1, 'declined', '51', '2026-11-10'],
  ]);
  assert.deepEqual(h.payments, [{ id: 'legacy-txn:83', invoice_id: 'A000000042#3', member_id: 'A000000042', amount: 1399, currency: 'EUR', reference: 'R83', paid_on: '2026-10-12' }]);
  assert.deepEqual(h.refunds.map((x) => [x.id, x.amount, x.tax, x.refunded_on, x.reference, x.status]), [['legacy-txn:84', 500, 80, '2026-10-20', 'R84', 'succeeded']]);
  assert.deepEqual(h.giftCards, [{ code: 'GC3', amount: 3000, currency: 'EUR', sold_on: '2024-05-10', member_id: 'A000000042', redeemed_on: '2024-05-10' }]);
  assert.deepEqual(h.credits, [{ id: 'legacy-memo:5', member_id: 'A000000042', amount: 999, currency: 'EUR', reason: 'credit memo from the legacy system', granted_on: '2024-05-10' }]);
});

test('a chargeback disputes its invoice; an extract that left old invoices unread numbers the rest after them', () => {
  const h = historyOf(lena({
    invoicesBefore: 30,
    invoices: [header(8, '2026-10-09 22:30:00', 'P')],
    details: [detail(3, 8, '13.9900')],
    payments: [txn(83, 8, 'CAP', '13.9900', '00', '2026-10-12 10:00:00'), txn(85, 8, 'CHB', '13.9900', '00', '2026-11-20 10:00:00')],
  })).history!;
  assert.deepEqual([h.invoiceCount, h.leftOut, h.invoices[0]!.number, h.invoices[0]!.status], [31, 30, 31, 'disputed']);
  assert.deepEqual(h.chargebacks, [{ id: 'legacy-txn:85', invoice_id: 'A000000042#31', member_id: 'A000000042', amount: 1399, fee: 0, currency: 'EUR', received_on: '2026-11-20' }]);
});

test('details one cent off the header: the header\'s amounts on one line that says so', () => {
  const h = historyOf(lena({ invoices: [header(8, '2026-10-09 22:30:00', 'P')], details: [detail(3, 8, '14.0000')], payments: [] })).history!;
  assert.deepEqual([h.repaired, h.invoices[0]!.lines.length, h.invoices[0]!.lines[0]!.amount, h.invoices[0]!.total], [1, 1, 1399, 1399]);
  assert.match(h.invoices[0]!.lines[0]!.description, /its detail lines do not add up to it/);
});

test('what cannot be carried over exactly quarantines the member, with the rows at fault', () => {
  const reasons = (over: Partial<LegacyMember>) => (historyOf(lena(over)).quarantine ?? []).map((q) => [q.reason, q.source]);
  assert.deepEqual(reasons({ invoices: [header(10, '2026-11-15 03:00:00', 'V')], details: [], payments: [txn(101, 10, 'CAP', '13.9900', '00', '2026-11-15 03:00:00')] }),
    [['payment-on-void-invoice', [{ table: 'invoice_header', key: 10 }, { table: 'payment_txn', key: 101 }]]]);
  assert.deepEqual(reasons({ invoices: [], details: [], payments: [txn(102, 999, 'CAP', '9.9900', '00', '2026-11-15 03:00:00')] }), [['orphan-payment', [{ table: 'payment_txn', key: 102 }]]]);
  assert.deepEqual(reasons({ invoices: [header(8, '2026-10-09 22:30:00', 'P', { subtotal_amt: '13.9950' })], details: [], payments: [] }), [['amount-does-not-fit', [{ table: 'invoice_header', key: 8 }]]]);
  // The same amount in two columns of one header is one reason, not two.
  assert.deepEqual(reasons({ invoices: [header(8, '2026-10-09 22:30:00', 'P', { subtotal_amt: '13.9950', total_amt: '13.9950' })], details: [], payments: [] }), [['amount-does-not-fit', [{ table: 'invoice_header', key: 8 }]]]);
  assert.deepEqual(reasons({ invoices: [header(8, '2026-10-09 22:30:00', 'P', { total_amt: '15.0000' })], details: [], payments: [] }), [['invoice-does-not-add-up', [{ table: 'invoice_header', key: 8 }]]]);
  assert.deepEqual(reasons({ invoices: [header(8, '2026-10-09 22:30:00', 'X')], details: [], payments: [] }), [['unknown-status', [{ table: 'invoice_header', key: 8 }]]]);
});

test('the whole member: aggregate and history together, its invoice count continuing the legacy numbering, its high-water mark the latest row', () => {
  const r = transformLegacy(lena(), history);
  assert.equal(r.reasons, undefined);
  assert.equal(r.member!.invoiceCount, 5);
  assert.deepEqual([r.sourceKey, r.memberId, r.mark], ['42', 'A000000042', '2026-11-15 03:00:00']);
  const bad = transformLegacy(lena({ paymentMethods: [], payments: [txn(102, 999, 'CAP', '9.9900', '00', '2026-11-15 03:00:00')] }), history);
  assert.deepEqual(bad.reasons?.map((q) => q.reason), ['no-payment-method'], 'the aggregate\'s reasons come first; the history is not read for a member already quarantined');
});

test('opening balances: booked whole, then by difference, then back to zero; every entry balances', () => {
  const party = { memberId: 'A000000042', country: 'DE', currency: 'EUR' };
  const first = openingBalanceEntries(party, 'k1', '2026-11-28', { giftCard: 1750, credit: 500, receivable: 899 }, { giftCard: 0, credit: 0, receivable: 0 });
  assert.deepEqual(first.map((l) => [l.account, l.debit, l.credit]), [['gift_card_liability', 0, 1750], ['credit_liability', 0, 500], ['receivable', 899, 0], ['opening_balance', 1351, 0]]);
  const booked = bookedOpeningBalances(first);
  assert.deepEqual(booked, { giftCard: 1750, credit: 500, receivable: 899 });
  const second = openingBalanceEntries(party, 'k2', '2026-11-29', { giftCard: 1000, credit: 500, receivable: 0 }, booked);
  assert.deepEqual(second.map((l) => [l.account, l.debit, l.credit]), [['gift_card_liability', 750, 0], ['receivable', 0, 899], ['opening_balance', 149, 0]]);
  const cleared = openingBalanceEntries(party, 'k3', '2026-11-30', { giftCard: 0, credit: 0, receivable: 0 }, bookedOpeningBalances([...first, ...second]));
  assert.deepEqual(bookedOpeningBalances([...first, ...second, ...cleared]), { giftCard: 0, credit: 0, receivable: 0 });
  for (const entry of [first, second, cleared]) assert.equal(entry.reduce((s, l) => s + l.debit - l.credit, 0), 0);
});
