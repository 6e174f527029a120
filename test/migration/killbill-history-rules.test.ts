import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KillBillMember } from '../../src/migration/sources/killbill-member.ts';
import { killBillMark, transformKillBill, transformKillBillHistory } from '../../src/migration/transform/killbill-history.ts';
import { transformKillBillMember } from '../../src/migration/transform/killbill-member.ts';
import { ctx, killBillAccount } from '../support/killbill-member.ts';

function historyOf(m: KillBillMember, over: Partial<typeof ctx> = {}) {
  const member = transformKillBillMember(m, { ...ctx, ...over }).member!;
  assert.ok(member, 'the member transforms');
  return transformKillBillHistory(m, member, { ...ctx, ...over });
}

function usd() {
  const a = killBillAccount('kb-usd', 'USD', 'America/New_York', 'US');
  a.subscribe('basic-monthly', '2026-07-10 13:00:00', '2026-12-09 14:00:00');
  return a;
}

test('a plain month in USD: RECURRING + TAX on one line, paid by a PURCHASE; Kill Bill\'s invoice number is the key', () => {
  const a = usd();
  const inv = a.invoice('2026-11-09', [{ type: 'RECURRING', amount: '7.990000000', plan: 'basic-monthly', start: '2026-11-09', end: '2026-12-09' }]);
  a.m.invoiceItems.push({ ...a.m.invoiceItems.at(-1)!, record_id: 500, id: 'tax-1', type: 'TAX', amount: '0.640000000', rate: null, plan_name: null, phase_name: null, subscription_id: null, bundle_id: null, description: 'Sales tax 8%', linked_item_id: inv.items[0]!, end_date: null });
  const [txn] = a.pay(inv.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '8.630000000', at: '2026-11-09 14:00:00' }]);
  const { history, quarantine } = historyOf(a.m);
  assert.equal(quarantine, undefined);
  assert.equal(history!.invoiceCount, 1);
  const i = history!.invoices[0]!;
  assert.deepEqual(
    { id: i.id, number: i.number, key: i.key, subscriptionId: i.subscriptionId, issuedOn: i.issuedOn, periodStart: i.periodStart, periodEnd: i.periodEnd, subtotal: i.subtotal, tax: i.tax, total: i.total, amountDue: i.amountDue, charged: i.charged, status: i.status, attemptCount: i.attemptCount },
    { id: 'kb-usd#1', number: 1, key: `killbill-inv:${inv.recordId}`, subscriptionId: 'kb-usd-s1', issuedOn: '2026-11-09', periodStart: '2026-11-09', periodEnd: '2026-12-09', subtotal: 799, tax: 64, total: 863, amountDue: 863, charged: 863, status: 'paid', attemptCount: 1 },
  );
  assert.deepEqual(i.lines.map((l) => [l.planId, l.amount, l.net, l.tax, l.total, l.taxRatePpm]), [['basic', 799, 799, 64, 863, 80100]]);
  assert.deepEqual(history!.payments, [{ id: `killbill-txn:${txn}`, invoice_id: 'kb-usd#1', member_id: 'kb-usd', amount: 863, currency: 'USD', reference: `${txn}-key`, paid_on: '2026-11-09' }]);
  assert.deepEqual(history!.attempts.map((x) => [x.idem_key, x.status, x.amount, x.attempt_no]), [[`killbill-txn:${txn}`, 'succeeded', 863, 1]]);
  assert.equal(history!.openReceivable, 0);
});

test('an ITEM_ADJ of a TAX item takes the tax back off the line it taxed: the invoice is settled by what was paid', () => {
  const a = usd();
  const inv = a.invoice('2026-11-09', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly', start: '2026-11-09', end: '2026-12-09' }]);
  a.m.invoiceItems.push({ ...a.m.invoiceItems.at(-1)!, record_id: 500, id: 'tax-1', type: 'TAX', amount: '0.64', rate: null, plan_name: null, phase_name: null, subscription_id: null, bundle_id: null, description: 'Sales tax 8%', linked_item_id: inv.items[0]!, end_date: null });
  // The tax was charged by mistake (an exempt member): 0.64 taken back, so 7.99 settles it.
  a.m.invoiceItems.push({ ...a.m.invoiceItems.at(-1)!, record_id: 501, id: 'tax-adj-1', type: 'ITEM_ADJ', amount: '-0.64', description: 'Tax exempt', linked_item_id: 'tax-1' });
  a.pay(inv.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '7.99', at: '2026-11-09 14:00:00' }]);
  const i = historyOf(a.m).history!.invoices[0]!;
  assert.deepEqual([i.subtotal, i.tax, i.total, i.amountDue, i.charged, i.status], [799, 0, 799, 799, 799, 'paid']);
  assert.deepEqual(i.lines.map((l) => [l.amount, l.tax, l.total]), [[799, 0, 799]]);
});

test('DRAFT and VOID invoices are skipped; COMMITTED ones are numbered by invoice date, ties by record_id', () => {
  const a = usd();
  a.invoice('2026-10-15', [{ type: 'EXTERNAL_CHARGE', amount: '3.00' }], 'VOID');
  const late = a.invoice('2026-11-09', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  const early = a.invoice('2026-10-09', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  const tie = a.invoice('2026-11-09', [{ type: 'EXTERNAL_CHARGE', amount: '2.00', description: 'Gift wrap' }]);
  a.invoice('2026-11-20', [{ type: 'EXTERNAL_CHARGE', amount: '5.00' }], 'DRAFT');
  for (const inv of [late, early, tie]) a.pay(inv.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: inv === tie ? '2.00' : '7.99', at: '2026-11-09 14:00:00' }]);
  const { history } = historyOf(a.m);
  assert.equal(history!.invoiceCount, 3);
  assert.deepEqual(history!.invoices.map((i) => [i.number, i.key]), [[1, `killbill-inv:${early.recordId}`], [2, `killbill-inv:${late.recordId}`], [3, `killbill-inv:${tie.recordId}`]]);
  // An EXTERNAL_CHARGE names no plan: it is billed under the member's subscription.
  assert.deepEqual(history!.invoices[2]!.lines.map((l) => [l.planId, l.description, l.amount]), [['basic', 'Gift wrap', 200]]);
});

test('KWD credit: positive CBA_ADJ is credit granted, negative CBA_ADJ credit applied to its invoice', () => {
  const a = killBillAccount('kb-kwd', 'KWD', 'Asia/Kuwait', 'KW');
  a.subscribe('basic-monthly', '2026-08-01 05:00:00', '2026-12-01 05:00:00');
  a.invoice('2026-08-20', [{ type: 'CREDIT_ADJ', amount: '-6.000', description: 'Service outage goodwill' }, { type: 'CBA_ADJ', amount: '6.000' }]);
  a.invoice('2026-09-01', [{ type: 'RECURRING', amount: '3.500', plan: 'basic-monthly' }, { type: 'CBA_ADJ', amount: '-3.500' }]);
  const oct = a.invoice('2026-10-01', [{ type: 'RECURRING', amount: '3.500', plan: 'basic-monthly' }, { type: 'CBA_ADJ', amount: '-2.500' }]);
  a.pay(oct.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '1.000', at: '2026-10-01 05:00:00' }]);
  const { history } = historyOf(a.m);
  assert.deepEqual(history!.credits.map((c) => [c.amount, c.reason, c.granted_on]), [[6000, 'Service outage goodwill', '2026-08-20']]);
  assert.deepEqual(history!.invoices.map((i) => [i.total, i.creditApplied, i.amountDue, i.charged, i.status]), [[0, 0, 0, 0, 'paid'], [3500, 3500, 0, 0, 'paid'], [3500, 2500, 1000, 1000, 'paid']]);
  assert.deepEqual(history!.invoices[0]!.lines, []);
});

test('a REPAIR_ADJ after a past cancellation, linked to an item of an earlier invoice, is credit granted with its CBA_ADJ', () => {
  const a = usd();
  const aug = a.invoice('2026-08-12', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  a.pay(aug.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '7.99', at: '2026-08-12 14:00:00' }]);
  a.invoice('2026-08-27', [{ type: 'REPAIR_ADJ', amount: '-4.12', linked: aug.items[0]!, description: 'Unused days' }, { type: 'CBA_ADJ', amount: '4.12' }]);
  const { history } = historyOf(a.m);
  assert.deepEqual(history!.invoices.map((i) => [i.total, i.charged, i.status]), [[799, 799, 'paid'], [0, 0, 'paid']]);
  assert.deepEqual(history!.credits.map((c) => [c.amount, c.reason]), [[412, 'Unused days']]);
  assert.equal(transformKillBillMember(a.m, ctx).member!.creditBalance, 412);
});

test('a partial refund: positive in payment_transactions, negative in invoice_payments; the ITEM_ADJ lowers its line', () => {
  const a = killBillAccount('kb-eur', 'EUR', 'Europe/Paris', 'FR');
  a.subscribe('standard-monthly', '2026-07-03 10:00:00', '2026-12-03 11:00:00');
  const sep = a.invoice('2026-09-03', [{ type: 'RECURRING', amount: '8.99', plan: 'standard-monthly' }, { type: 'USAGE', amount: '1.50', plan: 'basic-monthly', description: '3 extra streams' }]);
  const [purchase, refund] = a.pay(sep.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '10.49', at: '2026-09-03 10:00:00' }, { type: 'REFUND', status: 'SUCCESS', amount: '1.50', at: '2026-09-10 10:00:00' }]);
  assert.equal(a.m.invoicePayments.find((r) => r.type === 'REFUND')!.amount, '-1.50');
  a.invoice('2026-09-10', [], 'COMMITTED');
  a.m.invoiceItems.push({ ...a.m.invoiceItems[1]!, record_id: 600, id: 'adj-1', type: 'ITEM_ADJ', amount: '-1.50', plan_name: null, linked_item_id: sep.items[1]! });
  const { history } = historyOf(a.m);
  const i = history!.invoices[0]!;
  assert.deepEqual([i.subtotal, i.total, i.charged, i.refunded, i.status], [899, 899, 1049, 150, 'partially_refunded']);
  assert.deepEqual(i.lines.map((l) => [l.planId, l.amount]), [['standard', 899], ['basic', 0]]);
  assert.deepEqual(history!.payments.map((p) => [p.id, p.amount]), [[`killbill-txn:${purchase}`, 1049]]);
  assert.deepEqual(history!.refunds.map((r) => [r.id, r.amount, r.tax, r.refunded_on, r.status]), [[`killbill-txn:${refund}`, 150, 0, '2026-09-10', 'succeeded']]);
});

test('a chargeback disputes the invoice; AUTHORIZE, VOID and CREDIT move no money on an invoice, CAPTURE pays', () => {
  const a = usd();
  const aug = a.invoice('2026-08-15', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  const [, capture] = a.pay(aug.id, [{ type: 'AUTHORIZE', status: 'SUCCESS', amount: '7.99', at: '2026-08-15 20:00:00' }, { type: 'CAPTURE', status: 'SUCCESS', amount: '7.99', at: '2026-08-16 20:00:00' }]);
  const sep = a.invoice('2026-09-15', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  const [, chargeback] = a.pay(sep.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '7.99', at: '2026-09-15 20:00:00' }, { type: 'CHARGEBACK', status: 'SUCCESS', amount: '7.99', at: '2026-10-02 20:00:00' }]);
  a.pay(null, [{ type: 'AUTHORIZE', status: 'SUCCESS', amount: '1.00', at: '2026-08-15 20:00:00' }, { type: 'VOID', status: 'SUCCESS', amount: '1.00', at: '2026-08-15 20:00:00' }]);
  a.pay(null, [{ type: 'CREDIT', status: 'PENDING', amount: '5.00', at: '2026-11-25 20:00:00' }]);
  assert.equal(a.m.invoicePayments.find((r) => r.type === 'CHARGED_BACK')!.amount, '-7.99');
  const { history, quarantine } = historyOf(a.m);
  assert.equal(quarantine, undefined);
  assert.deepEqual(history!.invoices.map((i) => [i.charged, i.status, i.attemptCount]), [[799, 'paid', 1], [799, 'disputed', 1]]);
  assert.deepEqual(history!.payments.map((p) => [p.id, p.paid_on]), [[`killbill-txn:${capture}`, '2026-08-16'], [history!.payments[1]!.id, '2026-09-15']]);
  assert.deepEqual(history!.chargebacks.map((c) => [c.id, c.invoice_id, c.amount, c.fee, c.received_on]), [[`killbill-txn:${chargeback}`, 'kb-usd#2', 799, 0, '2026-10-02']]);
});

test('failed attempts are kept as declined attempts; an unpaid invoice with one is past due and Tally dunns it from the migration day', () => {
  const a = killBillAccount('kb-eur', 'EUR', 'Europe/Berlin', 'DE');
  a.subscribe('standard-monthly', '2026-09-05 05:00:00', '2026-11-05 06:00:00');
  const oct = a.invoice('2026-10-05', [{ type: 'RECURRING', amount: '13.99', plan: 'standard-monthly' }]);
  a.pay(oct.id, [{ type: 'PURCHASE', status: 'PAYMENT_FAILURE', amount: '13.99', at: '2026-10-04 22:30:00' }, { type: 'PURCHASE', status: 'PLUGIN_FAILURE', amount: '13.99', at: '2026-10-13 05:00:00', error: 'gateway_timeout' }]);
  a.pay(oct.id, [{ type: 'PURCHASE', status: 'PENDING', amount: '13.99', at: '2026-10-21 05:00:00' }]);
  const { history } = historyOf(a.m);
  const i = history!.invoices[0]!;
  assert.deepEqual([i.status, i.charged, i.attemptCount, i.firstFailedOn, i.nextAttemptOn], ['past_due', 0, 2, '2026-10-05', '2026-11-28']);
  assert.deepEqual(history!.attempts.map((x) => [x.attempt_no, x.status, x.decline_code, x.reference]), [[1, 'declined', 'card_declined', null], [2, 'declined', 'gateway_timeout', null]]);
  assert.deepEqual(history!.payments, []);
  assert.equal(history!.openReceivable, 1399);
  // Without any attempt it is only open.
  const b = killBillAccount('kb-eur', 'EUR', 'Europe/Berlin', 'DE');
  b.subscribe('standard-monthly', '2026-09-05 05:00:00', '2026-11-05 06:00:00');
  b.invoice('2026-11-05', [{ type: 'RECURRING', amount: '13.99', plan: 'standard-monthly' }]);
  assert.equal(historyOf(b.m).history!.invoices[0]!.status, 'open');
});

test('an amount with more precision than the currency quarantines the member, naming the row', () => {
  const a = killBillAccount('kb-jpy', 'JPY', 'Asia/Tokyo', 'JP');
  a.subscribe('basic-monthly', '2026-10-20 00:00:00', '2026-12-20 00:00:00');
  const inv = a.invoice('2026-11-20', [{ type: 'RECURRING', amount: '890.000000000', plan: 'basic-monthly' }, { type: 'EXTERNAL_CHARGE', amount: '150.500000000', description: 'Rental, half-yen rate' }]);
  const outcome = transformKillBill(a.m, ctx);
  assert.equal(outcome.reasons?.length, 1);
  assert.equal(outcome.reasons![0]!.reason, 'amount-does-not-fit');
  assert.deepEqual(outcome.reasons![0]!.source, [{ table: 'invoice_items', key: a.m.invoiceItems.find((i) => i.invoice_id === inv.id && i.type === 'EXTERNAL_CHARGE')!.record_id }]);
});

test('an invoice billing a plan without a mapping quarantines the member', () => {
  const a = usd();
  a.invoice('2026-11-09', [{ type: 'RECURRING', amount: '7.99', plan: 'gold-monthly' }]);
  assert.deepEqual(historyOf(a.m).quarantine?.map((r) => r.reason), ['unmapped-plan']);
});

test('the horizon leaves old settled invoices out, counted, and keeps old unpaid ones', () => {
  const a = usd();
  const old = a.invoice('2024-10-09', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  a.pay(old.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '7.99', at: '2024-10-09 13:00:00' }]);
  a.invoice('2024-11-09', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  a.invoice('2026-11-09', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  const { history } = historyOf(a.m);
  assert.equal(history!.invoiceCount, 3);
  assert.equal(history!.leftOut, 1);
  assert.deepEqual(history!.invoices.map((i) => [i.number, i.status]), [[2, 'open'], [3, 'open']]);
  assert.deepEqual(history!.payments, []);
});

test('transformKillBill: the member with its invoice count, keyed by record_id, marked by the latest change', () => {
  const a = usd();
  const inv = a.invoice('2026-11-09', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  a.pay(inv.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '7.99', at: '2026-11-09 14:00:00' }]);
  const outcome = transformKillBill(a.m, ctx);
  assert.equal(outcome.reasons, undefined);
  assert.deepEqual([outcome.sourceKey, outcome.memberId, outcome.member!.invoiceCount], ['1', 'kb-usd', 1]);
  assert.equal(outcome.mark, '2026-11-09 14:00:00');
  a.event('sub-1', 'API_USER', 'CANCEL', '2026-12-09 14:00:00', null, null);
  assert.equal(killBillMark(a.m), '2026-12-09 14:00:00');
});

test('a chargeback reversed (a later failed CHARGEBACK on the payment) leaves the invoice paid', () => {
  const a = usd();
  const inv = a.invoice('2026-09-15', [{ type: 'RECURRING', amount: '7.99', plan: 'basic-monthly' }]);
  a.pay(inv.id, [
    { type: 'PURCHASE', status: 'SUCCESS', amount: '7.99', at: '2026-09-15 20:00:00' },
    { type: 'CHARGEBACK', status: 'SUCCESS', amount: '7.99', at: '2026-10-02 20:00:00' },
    { type: 'CHARGEBACK', status: 'PAYMENT_FAILURE', amount: '7.99', at: '2026-10-20 20:00:00' },
  ]);
  const { history } = historyOf(a.m);
  assert.deepEqual(history!.invoices.map((i) => [i.status, i.attemptCount]), [['paid', 1]]);
  assert.deepEqual(history!.chargebacks, []);
});
