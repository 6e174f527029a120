import type { Invoice } from '../domain/invoice.ts';
import { memberStatus, primarySubscription, type Member } from '../domain/member.ts';

const money = (amount: number, currency: string) => ({ amount, currency });

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

export function invoiceView(i: Invoice) {
  const c = i.currency;
  return {
    id: i.id, member: i.memberId, number: i.number, subscription: i.subscriptionId, kind: i.kind, status: i.status,
    periodStart: i.periodStart, periodEnd: i.periodEnd, issuedOn: i.issuedOn, subtotal: money(i.subtotal, c),
    discount: money(i.discount, c), tax: money(i.tax, c), total: money(i.total, c),
    balanceApplied: money(i.giftCardApplied + i.creditApplied, c), charged: money(i.charged, c), refunded: money(i.refunded, c),
    nextAttemptOn: i.nextAttemptOn,
    lines: i.lines.map((l) => ({
      line: l.lineNo, kind: l.kind, description: l.description, plan: l.planId, periodStart: l.periodStart, periodEnd: l.periodEnd,
      amount: money(l.amount, c), discount: money(l.discount, c), net: money(l.net, c), tax: money(l.tax, c), total: money(l.total, c),
      taxRatePpm: l.taxRatePpm, taxName: l.taxName,
    })),
  };
}
