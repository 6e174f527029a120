import { billingDate, type IsoDate } from './calendar.ts';
import type { CatalogIndex } from './catalog.ts';
import { event, type DomainEvent } from './events.ts';
import { issueInvoice, type Invoice } from './invoice.ts';
import { withSubscription, type Discount, type Member, type Subscription } from './member.ts';
import { percentOf } from './money.ts';
import type { TaxEngine } from './tax/index.ts';

export interface BillingContext {
  catalog: CatalogIndex;
  tax: TaxEngine;
}

export interface RenewalResult {
  member: Member;
  invoices: Invoice[];
  events: DomainEvent[];
}

/** The discount a line gets this cycle, and what is left of the discount afterwards. */
export function discountFor(discount: Discount | null, price: number): { amount: number; next: Discount | null } {
  if (!discount || discount.cyclesLeft <= 0) return { amount: 0, next: null };
  const amount =
    discount.kind === 'percent'
      ? percentOf(price, Math.round(discount.percentOff * 10_000))
      : Math.min(discount.amountOff, price);
  const cyclesLeft = discount.cyclesLeft - 1;
  return { amount, next: cyclesLeft > 0 ? { ...discount, cyclesLeft } : null };
}

/** What the subscription's current plan costs on a date: the price it kept from a migration, else the catalog's. */
export function planPrice(sub: Subscription, country: string, on: IsoDate, catalog: CatalogIndex): number {
  return sub.keptPrice ?? catalog.price(sub.planId, country, on, sub.since).amount;
}

/**
 * Invoice generation as a function: given a member and a business date, bill
 * every period that has started by that date and is not billed yet. The
 * member's schedule advances with each invoice, so running it again on the
 * same date yields nothing new.
 */
export function renewMember(member: Member, date: IsoDate, ctx: BillingContext): RenewalResult {
  let current = member;
  const invoices: Invoice[] = [];
  const events: DomainEvent[] = [];
  for (const original of member.subscriptions) {
    let sub: Subscription = current.subscriptions.find((s) => s.id === original.id)!;
    while (sub.status !== 'cancelled' && sub.status !== 'on_hold' && sub.nextBillingDate <= date) {
      const periodStart = sub.nextBillingDate;
      if (sub.cancelAtPeriodEnd) {
        sub = { ...sub, status: 'cancelled', cancelAtPeriodEnd: false };
        events.push(event('subscription.cancelled', member.id, periodStart, sub.id, { subscription: sub.id }));
        break;
      }
      if (sub.pendingPlanId) {
        events.push(event('subscription.plan_changed', member.id, periodStart, `${sub.id}:${periodStart}`, {
          subscription: sub.id, from: sub.planId, to: sub.pendingPlanId,
        }));
        const switchesPeriod = ctx.catalog.plan(sub.pendingPlanId).period !== ctx.catalog.plan(sub.planId).period;
        sub = { ...sub, planId: sub.pendingPlanId, pendingPlanId: null, since: periodStart, keptPrice: null };
        // Moving between monthly and yearly restarts the anniversary schedule on the change date;
        // the old anchor counts periods of the old length.
        if (switchesPeriod) sub = { ...sub, anchor: periodStart, cycle: 0 };
      }
      const plan = ctx.catalog.plan(sub.planId);
      const cycle = sub.cycle + 1;
      const periodEnd = billingDate(sub.anchor, plan.period, cycle);
      // A schedule that does not move forward would bill the same months again: stop loudly instead.
      if (periodEnd <= periodStart) throw new Error(`billing schedule of ${sub.id} does not advance past ${periodStart}`);
      const price = planPrice(sub, current.country, periodStart, ctx.catalog);
      const discount = discountFor(sub.discount, price);
      const issued = issueInvoice(
        current,
        {
          subscriptionId: sub.id,
          kind: 'renewal',
          key: `renewal:${sub.id}:${periodStart}`,
          periodStart,
          periodEnd,
          issuedOn: date,
          catalogVersion: ctx.catalog.version,
          lines: [{
            kind: 'plan',
            description: `${plan.name ?? plan.id} ${periodStart} – ${periodEnd}`,
            planId: plan.id,
            product: plan.product,
            periodStart,
            periodEnd,
            amount: price,
            discount: discount.amount,
          }],
        },
        ctx.tax,
      );
      if (sub.status === 'trial') events.push(event('subscription.trial_ended', member.id, periodStart, sub.id, { subscription: sub.id }));
      sub = {
        ...sub,
        status: sub.status === 'trial' ? 'active' : sub.status,
        cycle,
        nextBillingDate: periodEnd,
        periodStart,
        periodEnd,
        discount: discount.next,
      };
      current = issued.member;
      invoices.push(issued.invoice);
      events.push(...issued.events);
    }
    current = withSubscription(current, sub);
  }
  return { member: current, invoices, events };
}
