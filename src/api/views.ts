import { money } from '../domain/invoice-view.ts';
import { memberStatus, primarySubscription, type Member } from '../domain/member.ts';

export { invoiceView } from '../domain/invoice-view.ts';

export function memberView(m: Member) {
  const sub = primarySubscription(m);
  return {
    id: m.id, email: m.email, country: m.country, region: m.region, timezone: m.timezone, currency: m.currency,
    status: memberStatus(m), plan: sub?.planId ?? null,
    nextBillingDate: sub && sub.status !== 'cancelled' ? sub.nextBillingDate : null,
    giftCardBalance: money(m.giftCardBalance, m.currency), creditBalance: money(m.creditBalance, m.currency),
    subscriptions: m.subscriptions.map((s) => ({
      id: s.id, product: s.product, plan: s.planId, status: s.status, periodStart: s.periodStart, periodEnd: s.periodEnd,
      nextBillingDate: s.nextBillingDate, cancelAtPeriodEnd: s.cancelAtPeriodEnd, pendingPlan: s.pendingPlanId,
    })),
  };
}
