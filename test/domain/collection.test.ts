import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyChargeOutcome, resume, retryAfterPaymentUpdate } from '../../src/domain/collection.ts';
import { canMove } from '../../src/domain/invoice.ts';
import { chargeback, refundInvoice } from '../../src/domain/refund.ts';
import { renewMember } from '../../src/domain/renewal.ts';
import { ctx, memberOn } from '../support/fixtures.ts';

const soft = { status: 'declined', code: 'insufficient_funds', hard: false } as const;
const hard = { status: 'declined', code: 'do_not_honor', hard: true } as const;
const ok = { status: 'approved', reference: 'ch_1' } as const;

function issued() {
  const r = renewMember(memberOn('basic', '2026-01-10'), '2026-01-10', ctx);
  return { invoice: r.invoices[0]!, member: r.member };
}

test('dunning retries 1, 3 and 7 days after the first failure, then uncollectible and on hold', () => {
  let { invoice, member } = issued();
  const schedule: (string | null)[] = [];
  for (const day of ['2026-01-10', '2026-01-11', '2026-01-13', '2026-01-17']) {
    const r = applyChargeOutcome(invoice, member, soft, day);
    invoice = r.invoice;
    member = r.member;
    schedule.push(invoice.nextAttemptOn);
    if (day === '2026-01-10') assert.equal(member.subscriptions[0]!.status, 'past_due');
  }
  assert.deepEqual(schedule, ['2026-01-11', '2026-01-13', '2026-01-17', null]);
  assert.equal(invoice.status, 'uncollectible');
  assert.equal(invoice.attemptCount, 4);
  assert.equal(member.subscriptions[0]!.status, 'on_hold');
});

test('a hard decline holds at once with no retry; a new payment method retries that day and recovers', () => {
  const { invoice, member } = issued();
  const failed = applyChargeOutcome(invoice, member, hard, '2026-01-10');
  assert.deepEqual([failed.invoice.status, failed.invoice.nextAttemptOn, failed.member.subscriptions[0]!.status], ['past_due', null, 'on_hold']);
  const retry = retryAfterPaymentUpdate(failed.invoice, '2026-01-20');
  assert.equal(retry.nextAttemptOn, '2026-01-20');
  const paid = applyChargeOutcome(retry, failed.member, ok, '2026-01-20');
  assert.equal(paid.invoice.status, 'paid');
  assert.equal(paid.invoice.charged, 1000);
  assert.equal(paid.member.subscriptions[0]!.status, 'active');
});

test('paying an uncollectible invoice reverses the write-off', () => {
  let { invoice, member } = issued();
  for (const day of ['2026-01-10', '2026-01-11', '2026-01-13', '2026-01-17']) ({ invoice, member } = applyChargeOutcome(invoice, member, soft, day));
  const early = applyChargeOutcome(retryAfterPaymentUpdate(invoice, '2026-02-01'), member, ok, '2026-02-01');
  assert.equal(early.writeOff, 'recovered');
  // Back from hold before the next anniversary: the schedule is kept.
  assert.equal(early.member.subscriptions[0]!.nextBillingDate, '2026-02-10');
  // Back after the schedule lapsed: a fresh period starts on the recovery day, not months of arrears.
  const late = applyChargeOutcome(retryAfterPaymentUpdate(invoice, '2026-02-15'), member, ok, '2026-02-15');
  assert.equal(late.member.subscriptions[0]!.nextBillingDate, '2026-02-15');
});

test('refunds: partial then full; never more than was paid', () => {
  const { invoice, member } = issued();
  const paid = applyChargeOutcome(invoice, member, ok, '2026-01-10').invoice;
  const part = refundInvoice(paid, 400, '2026-01-12', 'r1');
  assert.deepEqual([part.invoice.status, part.invoice.refunded], ['partially_refunded', 400]);
  assert.throws(() => refundInvoice(part.invoice, 601, '2026-01-12', 'r2'), /exceeds the 600 refundable/);
  assert.throws(() => refundInvoice(part.invoice, -1, '2026-01-12', 'r2'), /amount/);
  assert.throws(() => refundInvoice(part.invoice, 1.5, '2026-01-12', 'r2'), /amount/);
  assert.equal(refundInvoice(part.invoice, 600, '2026-01-12', 'r2').invoice.status, 'refunded');
});

test('a refund in a tax-inclusive country reverses tax in proportion: 500 of 999 with 160 tax → 80', () => {
  const r = renewMember(memberOn('basic', '2026-01-10', { country: 'DE' }), '2026-01-10', ctx);
  const paid = applyChargeOutcome(r.invoices[0]!, r.member, ok, '2026-01-10').invoice;
  assert.equal(refundInvoice(paid, 500, '2026-01-11', 'r').tax, 80); // 500 × 160 / 999 = 80.08
});

test('a chargeback disputes the invoice and holds the subscription', () => {
  const { invoice, member } = issued();
  const paid = applyChargeOutcome(invoice, member, ok, '2026-01-10');
  const cb = chargeback(paid.invoice, paid.member, '2026-01-15');
  assert.deepEqual([cb.invoice.status, cb.amount, cb.member.subscriptions[0]!.status], ['disputed', 1000, 'on_hold']);
  assert.throws(() => chargeback(cb.invoice, cb.member, '2026-01-16'), /no payment to dispute/);
});

test('the invoice state machine refuses illegal moves', () => {
  assert.equal(canMove('open', 'paid'), true);
  assert.equal(canMove('paid', 'past_due'), false);
  assert.equal(canMove('refunded', 'paid'), false);
  assert.equal(canMove('uncollectible', 'paid'), true);
});

test('resuming a held subscription keeps a live schedule and restarts a lapsed one', () => {
  const { member } = issued();
  const held = { ...member.subscriptions[0]!, status: 'on_hold' as const };
  assert.equal(resume(held, '2026-01-20').nextBillingDate, '2026-02-10');
  assert.deepEqual(
    (({ status, anchor, cycle, nextBillingDate }) => ({ status, anchor, cycle, nextBillingDate }))(resume(held, '2026-03-01')),
    { status: 'active', anchor: '2026-03-01', cycle: 0, nextBillingDate: '2026-03-01' },
  );
});
