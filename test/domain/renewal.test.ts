import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withSubscription } from '../../src/domain/member.ts';
import { changePlan, prorate } from '../../src/domain/plan-change.ts';
import { discountFor, renewMember } from '../../src/domain/renewal.ts';
import { ctx, memberOn } from '../support/fixtures.ts';

test('a member is billed on signup and then on each anniversary, clamped at month end', () => {
  let m = memberOn('basic', '2026-01-31', { country: 'DE' });
  const issued: string[] = [];
  for (const day of ['2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30']) {
    const r = renewMember(m, day, ctx);
    assert.equal(r.invoices.length, 1, `one invoice on ${day}`);
    issued.push(`${r.invoices[0]!.periodStart}..${r.invoices[0]!.periodEnd}`);
    m = r.member;
  }
  assert.deepEqual(issued, ['2026-01-31..2026-02-28', '2026-02-28..2026-03-31', '2026-03-31..2026-04-30', '2026-04-30..2026-05-31']);
});

test('re-running renewal on the same date bills nothing new', () => {
  const first = renewMember(memberOn('basic', '2026-01-10'), '2026-01-10', ctx);
  const again = renewMember(first.member, '2026-01-10', ctx);
  assert.equal(again.invoices.length, 0);
});

test('a missed run catches up every started period, one invoice each', () => {
  const r = renewMember(memberOn('basic', '2026-01-10'), '2026-03-10', ctx);
  assert.deepEqual(r.invoices.map((i) => i.number), [1, 2, 3]);
  assert.equal(r.member.subscriptions[0]!.nextBillingDate, '2026-04-10');
});

test('tax-inclusive country: DE 9.99 gross carries 1.60 VAT (999 × 0.19 / 1.19 = 159.50 → 160)', () => {
  const inv = renewMember(memberOn('basic', '2026-01-10', { country: 'DE' }), '2026-01-10', ctx).invoices[0]!;
  assert.deepEqual([inv.subtotal, inv.tax, inv.total, inv.lines[0]!.net], [999, 160, 999, 839]);
});

test('tax-exclusive state: US-WA 10.00 net + 6.5% = 10.65', () => {
  const inv = renewMember(memberOn('basic', '2026-01-10', { region: 'WA' }), '2026-01-10', ctx).invoices[0]!;
  assert.deepEqual([inv.subtotal, inv.tax, inv.total], [1000, 65, 1065]);
});

test('zero-decimal JPY and three-decimal KWD', () => {
  const jp = renewMember(memberOn('basic', '2026-01-10', { country: 'JP' }), '2026-01-10', ctx).invoices[0]!;
  assert.deepEqual([jp.currency, jp.total, jp.tax], ['JPY', 990, 90]); // 990 × 0.1 / 1.1 = 90
  const kw = renewMember(memberOn('basic', '2026-01-10', { country: 'KW' }), '2026-01-10', ctx).invoices[0]!;
  assert.deepEqual([kw.currency, kw.total, kw.tax], ['KWD', 2500, 0]);
});

test('a trial bills nothing until it ends, then anchors the schedule on the trial end', () => {
  const m = memberOn('trial', '2026-01-01');
  assert.equal(renewMember(m, '2026-01-14', ctx).invoices.length, 0);
  const r = renewMember(m, '2026-01-15', ctx);
  assert.equal(r.invoices[0]!.periodStart, '2026-01-15');
  assert.equal(r.member.subscriptions[0]!.status, 'active');
  assert.equal(r.member.subscriptions[0]!.nextBillingDate, '2026-02-15');
});

test('discounts: 25% off 1000 for two cycles, then full price', () => {
  let m = memberOn('basic', '2026-01-10');
  m = withSubscription(m, { ...m.subscriptions[0]!, discount: { kind: 'percent', percentOff: 25, cyclesLeft: 2 } });
  const totals: number[] = [];
  for (const d of ['2026-01-10', '2026-02-10', '2026-03-10']) {
    const r = renewMember(m, d, ctx);
    totals.push(r.invoices[0]!.total);
    m = r.member;
  }
  assert.deepEqual(totals, [750, 750, 1000]);
  assert.deepEqual(discountFor({ kind: 'amount', amountOff: 5000, cyclesLeft: 1 }, 999), { amount: 999, next: null });
  // 33.5% of 999 = 334.665 → 335 (half away from zero applies only at .5; here plain rounding)
  assert.equal(discountFor({ kind: 'percent', percentOff: 33.5, cyclesLeft: 1 }, 999).amount, 335);
});

test('discount in a tax-inclusive country applies to the gross, then tax is extracted', () => {
  let m = memberOn('basic', '2026-01-10', { country: 'DE' });
  m = withSubscription(m, { ...m.subscriptions[0]!, discount: { kind: 'percent', percentOff: 50, cyclesLeft: 1 } });
  const inv = renewMember(m, '2026-01-10', ctx).invoices[0]!;
  // 999 × 50% = 499.5 → 500 off; gross 499; tax 499 × 0.19 / 1.19 = 79.67 → 80
  assert.deepEqual([inv.subtotal, inv.discount, inv.total, inv.tax], [999, 500, 499, 80]);
});

test('gift card balance first, then credits, cover the total before the card is charged', () => {
  const m = { ...memberOn('basic', '2026-01-10', { region: 'WA' }), giftCardBalance: 500, creditBalance: 1000 };
  const r = renewMember(m, '2026-01-10', ctx);
  const inv = r.invoices[0]!;
  assert.deepEqual([inv.total, inv.giftCardApplied, inv.creditApplied, inv.amountDue, inv.status], [1065, 500, 565, 0, 'paid']);
  assert.deepEqual([r.member.giftCardBalance, r.member.creditBalance], [0, 435]);
});

test('proration: (2000 − 1000) × 21 remaining days / 31 = 677.42 → 677', () => {
  // Period Jan 10 – Feb 10 has 31 days; changing on Jan 20 leaves Jan 20..Feb 9 = 21 days.
  assert.equal(prorate(1000, 2000, '2026-01-20', '2026-01-10', '2026-02-10'), 677);
  // A change on the first day of the period charges the whole difference.
  assert.equal(prorate(1000, 2000, '2026-01-10', '2026-01-10', '2026-02-10'), 1000);
});

test('an upgrade takes effect at once with a prorated invoice; a downgrade waits for the next period', () => {
  const billed = renewMember(memberOn('basic', '2026-01-10'), '2026-01-10', ctx).member;
  const up = changePlan(billed, 'premium', '2026-01-20', ctx);
  assert.equal(up.member.subscriptions[0]!.planId, 'premium');
  assert.deepEqual([up.invoices[0]!.kind, up.invoices[0]!.total, up.invoices[0]!.number], ['proration', 677, 2]);
  const down = changePlan(up.member, 'basic', '2026-01-25', ctx);
  assert.equal(down.invoices.length, 0);
  assert.equal(down.member.subscriptions[0]!.planId, 'premium');
  const next = renewMember(down.member, '2026-02-10', ctx);
  assert.equal(next.member.subscriptions[0]!.planId, 'basic');
  assert.equal(next.invoices[0]!.total, 1000);
});

test('cancel ends the subscription at the period end; reactivating before keeps the schedule', () => {
  const billed = renewMember(memberOn('basic', '2026-01-10'), '2026-01-10', ctx).member;
  const cancelled = { ...billed, subscriptions: [{ ...billed.subscriptions[0]!, cancelAtPeriodEnd: true }] };
  const r = renewMember(cancelled, '2026-02-10', ctx);
  assert.equal(r.invoices.length, 0);
  assert.equal(r.member.subscriptions[0]!.status, 'cancelled');
  const kept = renewMember({ ...cancelled, subscriptions: [{ ...cancelled.subscriptions[0]!, cancelAtPeriodEnd: false }] }, '2026-02-10', ctx);
  assert.equal(kept.invoices[0]!.periodStart, '2026-02-10');
});

test('yearly plan from Feb 29 renews on Feb 28, and on Feb 29 in leap years', () => {
  let m = memberOn('annual', '2028-02-29');
  const starts: string[] = [];
  for (const d of ['2028-02-29', '2029-02-28', '2030-02-28', '2031-02-28', '2032-02-29']) {
    const r = renewMember(m, d, ctx);
    starts.push(r.invoices[0]!.periodStart);
    m = r.member;
  }
  assert.deepEqual(starts, ['2028-02-29', '2029-02-28', '2030-02-28', '2031-02-28', '2032-02-29']);
});

test('switching between monthly and yearly at the next period restarts the schedule on the change date', () => {
  let m = renewMember(memberOn('basic', '2026-01-10'), '2026-01-10', ctx).member;
  m = changePlan(m, 'annual', '2026-01-20', ctx).member;
  assert.equal(m.subscriptions[0]!.pendingPlanId, 'annual');
  const r = renewMember(m, '2026-02-10', ctx);
  assert.deepEqual(r.invoices.map((i) => [i.periodStart, i.periodEnd, i.total]), [['2026-02-10', '2027-02-10', 10000]]);
  assert.equal(r.member.subscriptions[0]!.nextBillingDate, '2027-02-10');
  // And back: one monthly invoice when the year is over, not the months the year already paid.
  const back = changePlan(r.member, 'basic', '2026-06-01', ctx).member;
  const later = renewMember(back, '2027-02-10', ctx);
  assert.deepEqual(later.invoices.map((i) => [i.periodStart, i.periodEnd]), [['2027-02-10', '2027-03-10']]);
});

test('a price kept from a migration is billed instead of the catalog price, until the plan changes', () => {
  const keep = (plan: string, kept: number) => {
    const signed = memberOn(plan, '2026-01-10', { country: 'DE' });
    return withSubscription(signed, { ...signed.subscriptions[0]!, keptPrice: kept });
  };
  // 7.99 gross in DE instead of the catalog's 9.99: 799 × 0.19 / 1.19 = 127.57 → 128 VAT.
  const first = renewMember(keep('basic', 799), '2026-01-10', ctx);
  assert.deepEqual([first.invoices[0]!.subtotal, first.invoices[0]!.tax], [799, 128]);
  assert.equal(renewMember(first.member, '2026-02-10', ctx).invoices[0]!.subtotal, 799, 'kept at every renewal');
  // An upgrade prorates from the kept price and drops it.
  const up = changePlan(first.member, 'premium', '2026-01-31', ctx);
  assert.equal(up.member.subscriptions[0]!.keptPrice, null);
  assert.equal(up.invoices[0]!.subtotal, prorate(799, 1799, '2026-01-31', '2026-01-10', '2026-02-10'));
  assert.equal(renewMember(up.member, '2026-02-10', ctx).invoices[0]!.subtotal, 1799);
  // A downgrade waits for the next period; the kept price goes with the old plan then.
  const onPremium = renewMember(keep('premium', 1599), '2026-01-10', ctx).member;
  const down = changePlan(onPremium, 'basic', '2026-01-20', ctx);
  assert.equal(down.member.subscriptions[0]!.keptPrice, 1599);
  assert.equal(renewMember(down.member, '2026-02-10', ctx).invoices[0]!.subtotal, 999);
});
