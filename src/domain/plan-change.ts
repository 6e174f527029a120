import { daysBetween, type IsoDate } from './calendar.ts';
import { InvalidInput } from './errors.ts';
import { event } from './events.ts';
import { issueInvoice } from './invoice.ts';
import { withSubscription, type Member } from './member.ts';
import { roundDiv } from './money.ts';
import { planPrice, type BillingContext, type RenewalResult } from './renewal.ts';

/**
 * Prorated charge for an upgrade: (new − old) × remaining days / days in the
 * period, remaining days counting the change date and excluding the period end.
 */
export function prorate(oldPrice: number, newPrice: number, on: IsoDate, periodStart: IsoDate, periodEnd: IsoDate): number {
  const days = daysBetween(periodStart, periodEnd);
  const remaining = daysBetween(on, periodEnd);
  return roundDiv((newPrice - oldPrice) * remaining, days);
}

/**
 * An upgrade (a dearer plan with the same billing period) takes effect at once
 * with a prorated invoice for the rest of the period; anything else takes
 * effect at the next period, so nobody is refunded mid-period.
 */
export function changePlan(member: Member, planId: string, on: IsoDate, ctx: BillingContext): RenewalResult {
  const plan = ctx.catalog.plan(planId);
  const sub = member.subscriptions.find((s) => s.product === plan.product && s.status !== 'cancelled');
  if (!sub) throw new InvalidInput('plan', `member "${member.id}" has no live ${plan.product} subscription to change to "${planId}"`, planId);
  if (sub.status === 'on_hold') throw new InvalidInput('member', `member "${member.id}" is on hold; update the payment method first`);
  if (sub.planId === planId && !sub.pendingPlanId) throw new InvalidInput('plan', `member "${member.id}" is already on "${planId}"`, planId);
  const oldPlan = ctx.catalog.plan(sub.planId);
  const newPrice = ctx.catalog.price(planId, member.country, on, on).amount;
  const changed = event('subscription.plan_changed', member.id, on, `${sub.id}:${on}:${planId}`, { subscription: sub.id, from: sub.planId, to: planId });

  // Before the first paid period (trial, or signed up today and not billed yet) there is nothing to prorate.
  if (sub.status === 'trial' || sub.periodStart === null || sub.periodEnd === null || on >= sub.periodEnd) {
    return { member: withSubscription(member, { ...sub, planId, pendingPlanId: null, since: on, keptPrice: null }), invoices: [], events: [changed] };
  }
  const oldPrice = planPrice(sub, member.country, on, ctx.catalog);
  if (newPrice <= oldPrice || plan.period !== oldPlan.period) {
    const pending = planId === sub.planId ? null : planId;
    return {
      member: withSubscription(member, { ...sub, pendingPlanId: pending }),
      invoices: [],
      events: [event('subscription.plan_change_scheduled', member.id, on, `${sub.id}:${on}:${planId}`, {
        subscription: sub.id, to: planId, effectiveOn: sub.nextBillingDate,
      })],
    };
  }
  const amount = prorate(oldPrice, newPrice, on, sub.periodStart, sub.periodEnd);
  const issued = issueInvoice(
    member,
    {
      subscriptionId: sub.id,
      kind: 'proration',
      key: `proration:${sub.id}:${on}:${planId}`,
      periodStart: on,
      periodEnd: sub.periodEnd,
      issuedOn: on,
      catalogVersion: ctx.catalog.version,
      lines: [{
        kind: 'proration',
        description: `Upgrade ${oldPlan.id} → ${plan.id} ${on} – ${sub.periodEnd}`,
        planId,
        product: plan.product,
        periodStart: on,
        periodEnd: sub.periodEnd,
        amount,
        discount: 0,
      }],
    },
    ctx.tax,
  );
  return {
    member: withSubscription(issued.member, { ...sub, planId, pendingPlanId: null, since: on, keptPrice: null }),
    invoices: [issued.invoice],
    events: [changed, ...issued.events],
  };
}
