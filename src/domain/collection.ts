import { addDays, type IsoDate } from './calendar.ts';
import { event, type DomainEvent } from './events.ts';
import { moveInvoice, type Invoice } from './invoice.ts';
import { withSubscription, type Member, type Subscription } from './member.ts';

/** Default dunning: retry 1, 3 and 7 days after the first failed attempt. */
export const defaultRetryOffsets: readonly number[] = [1, 3, 7];

export type ChargeOutcome =
  | { status: 'approved'; reference: string }
  | { status: 'declined'; code: string; hard: boolean };

export interface CollectionResult {
  invoice: Invoice;
  member: Member;
  events: DomainEvent[];
  /** The amount actually taken from the payment method, if any. */
  paid: number;
  /** The invoice left or re-entered the written-off state. */
  writeOff: 'none' | 'written_off' | 'recovered';
}

/**
 * Move an invoice and its subscription after a charge attempt with a known
 * outcome (an unknown outcome must be reconciled by look-up first).
 */
export function applyChargeOutcome(
  invoice: Invoice,
  member: Member,
  outcome: ChargeOutcome,
  on: IsoDate,
  retryOffsets: readonly number[] = defaultRetryOffsets,
): CollectionResult {
  const sub = member.subscriptions.find((s) => s.id === invoice.subscriptionId);
  const attemptCount = invoice.attemptCount + 1;
  if (outcome.status === 'approved') {
    const paid = { ...moveInvoice(invoice, 'paid'), attemptCount, charged: invoice.amountDue, nextAttemptOn: null };
    let updated = member;
    const events = [event('invoice.paid', member.id, on, invoice.key, { invoice: invoice.id, charged: invoice.amountDue, reference: outcome.reference })];
    if (sub && (sub.status === 'past_due' || sub.status === 'on_hold')) {
      updated = withSubscription(member, resume(sub, on));
      events.push(event('subscription.recovered', member.id, on, `${sub.id}:${invoice.key}`, { subscription: sub.id }));
    }
    return { invoice: paid, member: updated, events, paid: invoice.amountDue, writeOff: invoice.status === 'uncollectible' ? 'recovered' : 'none' };
  }

  const firstFailedOn = invoice.firstFailedOn ?? on;
  // Every failed attempt counts, including out-of-schedule retries after a payment-method update, so dunning never restarts from zero.
  const failures = attemptCount;
  const retryAt = outcome.hard ? undefined : retryOffsets[failures - 1];
  const events: DomainEvent[] = [
    event('payment.failed', member.id, on, `${invoice.key}:${attemptCount}`, {
      invoice: invoice.id, code: outcome.code, hard: outcome.hard, attempt: attemptCount,
    }),
  ];
  let status: 'past_due' | 'uncollectible' = invoice.status === 'uncollectible' ? 'uncollectible' : 'past_due';
  let subStatus: 'past_due' | 'on_hold' = 'past_due';
  if (retryAt === undefined) {
    subStatus = 'on_hold';
    if (!outcome.hard) status = 'uncollectible';
  }
  const failed: Invoice = {
    ...(invoice.status === status ? invoice : moveInvoice(invoice, status)),
    attemptCount,
    firstFailedOn,
    nextAttemptOn: retryAt === undefined ? null : maxDate(addDays(firstFailedOn, retryAt), addDays(on, 1)),
  };
  let updated = member;
  if (sub && sub.status !== 'cancelled' && sub.status !== subStatus && sub.status !== 'on_hold') {
    updated = withSubscription(member, { ...sub, status: subStatus });
    if (subStatus === 'on_hold') events.push(event('subscription.on_hold', member.id, on, `${sub.id}:${invoice.key}`, { subscription: sub.id, invoice: invoice.id }));
  }
  const writeOff = status === 'uncollectible' && invoice.status !== 'uncollectible' ? 'written_off' : 'none';
  return { invoice: failed, member: updated, events, paid: 0, writeOff };
}

/**
 * A held or past-due subscription becomes active again. One whose schedule
 * lapsed while on hold starts a fresh period on the day it resumes rather than
 * being billed for the months it had no service.
 */
export function resume(sub: Subscription, on: IsoDate): Subscription {
  const lapsed = sub.status === 'on_hold' && sub.nextBillingDate < on;
  return lapsed ? { ...sub, status: 'active', anchor: on, cycle: 0, nextBillingDate: on } : { ...sub, status: 'active' };
}

/** Updating the payment method retries what is owed in that day's collection run. */
export function retryAfterPaymentUpdate(invoice: Invoice, on: IsoDate): Invoice {
  if (invoice.status !== 'past_due' && invoice.status !== 'uncollectible') return invoice;
  return { ...invoice, nextAttemptOn: on };
}

function maxDate(a: IsoDate, b: IsoDate): IsoDate {
  return a > b ? a : b;
}
