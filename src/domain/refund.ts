import type { IsoDate } from './calendar.ts';
import { InvalidInput } from './errors.ts';
import { event, type DomainEvent } from './events.ts';
import { moveInvoice, type Invoice } from './invoice.ts';
import { withSubscription, type Member } from './member.ts';
import { assertMinorUnits, roundDiv } from './money.ts';

export interface RefundResult {
  invoice: Invoice;
  /** The part of the refund that reverses tax, in proportion to the invoice's tax. */
  tax: number;
  events: DomainEvent[];
}

/** What can still be refunded: what the payment method paid, less refunds already made. */
export function refundable(invoice: Invoice): number {
  return invoice.status === 'paid' || invoice.status === 'partially_refunded' ? invoice.charged - invoice.refunded : 0;
}

/**
 * Check a refund intent against what is still refundable once the intents already
 * reserved (recorded, not yet answered by the gateway) are set aside.
 */
export function reserveRefund(invoice: Invoice, amount: number, reserved: number): void {
  assertMinorUnits(amount, 'amount');
  const max = refundable(invoice) - reserved;
  if (amount > max) {
    const pending = reserved ? ` (${reserved} more is reserved by refunds in progress)` : '';
    throw new InvalidInput('amount', `refund of ${amount} exceeds the ${Math.max(0, max)} refundable on invoice ${invoice.number} of member "${invoice.memberId}"${pending}`, amount);
  }
}

export function refundInvoice(invoice: Invoice, amount: number, on: IsoDate, refundId: string): RefundResult {
  assertMinorUnits(amount, 'amount');
  const max = refundable(invoice);
  if (amount > max) {
    throw new InvalidInput('amount', `refund of ${amount} exceeds the ${max} refundable on invoice ${invoice.number} of member "${invoice.memberId}"`, amount);
  }
  const refunded = invoice.refunded + amount;
  const moved = moveInvoice(invoice, refunded === invoice.charged ? 'refunded' : 'partially_refunded');
  return {
    invoice: { ...moved, refunded },
    tax: invoice.total === 0 ? 0 : roundDiv(amount * invoice.tax, invoice.total),
    events: [event('invoice.refunded', invoice.memberId, on, refundId, { invoice: invoice.id, amount, currency: invoice.currency })],
  };
}

export interface ChargebackResult {
  invoice: Invoice;
  member: Member;
  /** The disputed amount taken back by the card network. */
  amount: number;
  events: DomainEvent[];
}

/**
 * A chargeback reverses what is left of the payment and puts the subscription
 * on hold until the member pays again with another method.
 */
export function chargeback(invoice: Invoice, member: Member, on: IsoDate): ChargebackResult {
  const amount = refundable(invoice);
  if (amount === 0) throw new InvalidInput('invoice', `invoice ${invoice.number} of member "${invoice.memberId}" has no payment to dispute`);
  const disputed = moveInvoice(invoice, 'disputed');
  const sub = member.subscriptions.find((s) => s.id === invoice.subscriptionId);
  const events = [event('invoice.disputed', member.id, on, invoice.key, { invoice: invoice.id, amount, currency: invoice.currency })];
  let updated = member;
  if (sub && sub.status !== 'cancelled' && sub.status !== 'on_hold') {
    updated = withSubscription(member, { ...sub, status: 'on_hold' });
    events.push(event('subscription.on_hold', member.id, on, `${sub.id}:${invoice.key}:chargeback`, { subscription: sub.id, invoice: invoice.id }));
  }
  return { invoice: disputed, member: updated, amount, events };
}

/** Chargeback fee per currency, in minor units; a flat 15 major units where no local figure is set. */
const chargebackFees: Record<string, number> = { JPY: 2000, KRW: 20000, INR: 1500_00, KWD: 5_000, BRL: 75_00, MXN: 300_00 };

export function chargebackFee(currency: string, exponent: number): number {
  return chargebackFees[currency] ?? 15 * 10 ** exponent;
}
