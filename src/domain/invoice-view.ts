import type { Invoice, InvoiceLine } from './invoice.ts';

/**
 * The public shape of an invoice: what the member, customer-service and DVD
 * APIs show, and what the billing history stores ready to serve. Amounts are
 * integer minor units beside their currency.
 */
export const money = (amount: number, currency: string) => ({ amount, currency });

/** Every field but the lines: the part of an invoice that changes over its life (status, charged, refunded, next attempt). */
export function invoiceHeadView(i: Invoice) {
  const c = i.currency;
  return {
    id: i.id, member: i.memberId, number: i.number, subscription: i.subscriptionId, kind: i.kind, status: i.status,
    periodStart: i.periodStart, periodEnd: i.periodEnd, issuedOn: i.issuedOn, subtotal: money(i.subtotal, c),
    discount: money(i.discount, c), tax: money(i.tax, c), total: money(i.total, c),
    balanceApplied: money(i.giftCardApplied + i.creditApplied, c), charged: money(i.charged, c), refunded: money(i.refunded, c),
    nextAttemptOn: i.nextAttemptOn, catalogVersion: i.catalogVersion ?? null,
  };
}

/** The lines, fixed once the invoice is issued. */
export function invoiceLinesView(lines: readonly InvoiceLine[], c: string) {
  return lines.map((l) => ({
    line: l.lineNo, kind: l.kind, description: l.description, plan: l.planId, periodStart: l.periodStart, periodEnd: l.periodEnd,
    amount: money(l.amount, c), discount: money(l.discount, c), net: money(l.net, c), tax: money(l.tax, c), total: money(l.total, c),
    taxRatePpm: l.taxRatePpm, taxName: l.taxName,
  }));
}

export function invoiceView(i: Invoice) {
  return { ...invoiceHeadView(i), lines: invoiceLinesView(i.lines, i.currency) };
}
