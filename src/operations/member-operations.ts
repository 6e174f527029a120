import { assertTimeZone, type IsoDate } from '../domain/calendar.ts';
import type { Product } from '../domain/catalog.ts';
import { resume, retryAfterPaymentUpdate } from '../domain/collection.ts';
import { InvalidInput, NotFound } from '../domain/errors.ts';
import type { DomainEvent } from '../domain/events.ts';
import type { Invoice } from '../domain/invoice.ts';
import {
  chargebackEntries, creditGrantedEntries, giftCardSoldEntries, invoiceIssuedEntries, refundEntries,
} from '../domain/journal.ts';
import * as rules from '../domain/member.ts';
import type { Discount, Member, NewMember } from '../domain/member.ts';
import { currencyExponent } from '../domain/money.ts';
import { changePlan } from '../domain/plan-change.ts';
import { chargeback, chargebackFee, refundInvoice } from '../domain/refund.ts';
import { bookingDate } from '../jobs/booking.ts';
import type { Services } from '../jobs/services.ts';
import { invoiceByNumber, memberInvoices } from '../store/ledger.ts';
import { applyPendingPostings, commitMemberChange, type LedgerPosting } from '../store/ledger-postings.ts';
import { loadMember, retryOnConflict, saveMembers } from '../store/members.ts';

/** Everything one operation on one member writes: the member, and what it posts to the ledger. */
interface Change extends LedgerPosting {
  member: Member;
  events: DomainEvent[];
}

/**
 * Who did an operation for a member and why. Given, the audit row (with the
 * member before and after, as `view` shows it) commits in the same
 * transaction as the change: no audited action can happen unrecorded.
 */
export interface AuditedBy {
  actor: string;
  action: string;
  reason: string;
  request: unknown;
  view: (member: Member) => unknown;
}

/**
 * Read the member once, decide in memory, write once: the whole operation
 * commits together or not at all, and is redone on a fresh read if someone
 * else wrote the member in between.
 */
async function onMember(svc: Services, memberId: string, decide: (member: Member | undefined, bookOn: IsoDate) => Promise<Change>, on: IsoDate, audit?: AuditedBy): Promise<Member> {
  // Decisions read the ledger (was this gift card redeemed, how many refunds): a posting a crash left behind must be there first.
  await applyPendingPostings(svc, svc.checkpoint);
  return retryOnConflict(async () => {
    const member = await loadMember(svc.memberStore.db, memberId);
    const { member: changed, ...posting } = await decide(member, await bookingDate(svc.store.db, on));
    await commitMemberChange(svc, async (trx) => {
      await saveMembers(trx, [changed]);
      if (audit) {
        await trx.insertInto('audit_log').values({
          at: new Date().toISOString(), actor: audit.actor, action: audit.action, member_id: memberId, reason: audit.reason,
          request: JSON.stringify(audit.request), before: JSON.stringify(member ? audit.view(member) : null), after: JSON.stringify(audit.view(changed)),
        }).execute();
      }
    }, posting, svc.checkpoint);
    return { ...changed, version: changed.version + 1 };
  });
}

function existing(member: Member | undefined, memberId: string): Member {
  if (!member) throw new NotFound('member', `unknown member "${memberId}"`, memberId);
  return member;
}

export function checkToken(svc: Services, token: unknown): string {
  if (typeof token !== 'string' || !svc.gateway.knowsToken(token)) {
    throw new InvalidInput('payment', `unknown payment token "${String(token)}"`, token);
  }
  return token;
}

/** Sign a member up for a plan, creating the member on first sign-up. */
export async function signupMember(svc: Services, input: NewMember & { plan: string }, on: IsoDate): Promise<Member> {
  return onMember(svc, input.id, async (found) => {
    let member = found;
    if (!member) {
      assertTimeZone(input.timezone, 'timezone');
      checkToken(svc, input.paymentToken);
      member = rules.newMember(input, svc.billing.catalog);
      // A country the tax engine cannot tax is refused before anything is written.
      svc.billing.tax.quote({ location: { country: member.country, region: member.region }, date: on, lines: [] });
    }
    const change = rules.signup(member, input.plan, on, svc.billing.catalog);
    return { member: change.member, events: change.events };
  }, on);
}

export async function changeMemberPlan(svc: Services, memberId: string, planId: string, on: IsoDate): Promise<Member> {
  return onMember(svc, memberId, async (found, bookOn) => {
    const r = changePlan(existing(found, memberId), planId, on, svc.billing);
    return { member: r.member, events: r.events, newInvoices: r.invoices, journal: r.invoices.flatMap((i) => invoiceIssuedEntries(i, bookOn)) };
  }, on);
}

export async function cancelMembership(svc: Services, memberId: string, on: IsoDate, product?: Product): Promise<Member> {
  return onMember(svc, memberId, async (found) => rules.cancel(existing(found, memberId), on, product), on);
}

export async function reactivateMembership(svc: Services, memberId: string, on: IsoDate, product?: Product): Promise<Member> {
  return onMember(svc, memberId, async (found) => rules.reactivate(existing(found, memberId), on, product), on);
}

/** A new payment method also schedules what is owed for that day's collection run. */
export async function updatePaymentMethod(svc: Services, memberId: string, token: string, on: IsoDate): Promise<Member> {
  checkToken(svc, token);
  return onMember(svc, memberId, async (found) => {
    const member = existing(found, memberId);
    const change = rules.updatePaymentMethod(member, token, on);
    const owed = (await memberInvoices(svc.store.db, memberId)).filter((i) => i.status === 'past_due' || i.status === 'uncollectible');
    if (owed.length) return { ...change, invoiceUpdates: owed.map((i) => retryAfterPaymentUpdate(i, on)) };
    // Held with nothing owed (after a chargeback): the new method is charged at the next renewal.
    let resumed = change.member;
    for (const sub of resumed.subscriptions) if (sub.status === 'on_hold') resumed = rules.withSubscription(resumed, resume(sub, on));
    return { ...change, member: resumed };
  }, on);
}

/** A gift card sold (cash in, a liability) and redeemed into the member's balance in the member's currency. */
export async function redeemGiftCard(svc: Services, memberId: string, code: string, amount: number, currency: string, on: IsoDate): Promise<Member> {
  return onMember(svc, memberId, async (found, bookOn) => {
    const member = existing(found, memberId);
    const card = await svc.store.db.selectFrom('gift_cards').select('code').where('code', '=', code).executeTakeFirst();
    if (card) throw new InvalidInput('code', `gift card "${code}" was already redeemed`, code);
    const change = rules.addGiftCardBalance(member, amount, currency, on, code);
    return {
      ...change,
      giftCards: [{ code, amount, currency, sold_on: on, member_id: memberId, redeemed_on: on }],
      journal: giftCardSoldEntries({ memberId, country: member.country, currency }, code, amount, bookOn),
    };
  }, on);
}

export async function grantCredit(svc: Services, memberId: string, creditId: string, amount: number, reason: string, on: IsoDate, audit?: AuditedBy): Promise<Member> {
  return onMember(svc, memberId, async (found, bookOn) => {
    const member = existing(found, memberId);
    const granted = await svc.store.db.selectFrom('credits').select('id').where('id', '=', creditId).executeTakeFirst();
    if (granted) throw new InvalidInput('credit', `credit "${creditId}" was already granted`, creditId);
    const change = rules.grantCredit(member, amount, reason, on, creditId);
    return {
      ...change,
      credits: [{ id: creditId, member_id: memberId, amount, currency: member.currency, reason, granted_on: on }],
      journal: creditGrantedEntries({ memberId, country: member.country, currency: member.currency }, creditId, amount, bookOn),
    };
  }, on, audit);
}

export async function applyMemberDiscount(svc: Services, memberId: string, discount: Discount, on: IsoDate): Promise<Member> {
  return onMember(svc, memberId, async (found) => {
    const member = existing(found, memberId);
    if (discount.kind === 'amount') rules.assertSameCurrency(member, member.currency);
    return rules.applyDiscount(member, discount, on);
  }, on);
}

async function requireInvoice(svc: Services, memberId: string, number: number): Promise<Invoice> {
  if (!Number.isSafeInteger(number) || number < 1) throw new InvalidInput('invoice', `invoice number must be a whole number ≥ 1, got ${number}`, number);
  const invoice = await invoiceByNumber(svc.store.db, memberId, number);
  if (!invoice) throw new NotFound('invoice', `member "${memberId}" has no invoice ${number}`, number);
  return invoice;
}

/**
 * Refund part or all of what the payment method paid. The gateway key counts
 * the invoice's committed refunds, so a crash after the gateway call and
 * before our commit re-asks for the same refund instead of paying twice.
 * With `requestId` the refund is named after the request that asked for it
 * (see requestScopedId) instead: a retry of that request after its answer was
 * lost finds the refund made and refunds nothing twice.
 */
export async function refundMemberInvoice(svc: Services, memberId: string, number: number, amount: number, reason: string, on: IsoDate, audit?: AuditedBy, requestId?: string): Promise<Member> {
  if (!reason.trim()) throw new InvalidInput('reason', 'a reason is required');
  return onMember(svc, memberId, async (found, bookOn) => {
    const member = existing(found, memberId);
    const invoice = await requireInvoice(svc, memberId, number);
    const { db } = svc.store;
    let refundId: string;
    if (requestId) {
      refundId = `refund:${invoice.id}:request:${requestId}`;
      const made = await db.selectFrom('refunds').select('id').where('id', '=', refundId).executeTakeFirst();
      if (made) throw new InvalidInput('Idempotency-Key', `this request's refund of invoice ${number} was already made`, requestId);
    } else {
      const done = await db.selectFrom('refunds').select((eb) => eb.fn.countAll<number>().as('n')).where('invoice_id', '=', invoice.id).executeTakeFirstOrThrow();
      refundId = `refund:${invoice.id}:${Number(done.n) + 1}`;
    }
    const r = refundInvoice(invoice, amount, on, refundId);
    const payment = await db.selectFrom('payments').select('reference').where('invoice_id', '=', invoice.id).orderBy('paid_on', 'desc').executeTakeFirstOrThrow();
    const outcome = await svc.gateway.refund({ key: refundId, chargeReference: payment.reference, amount, currency: invoice.currency });
    if (outcome.status !== 'approved') throw new Error(`the gateway did not confirm refund ${refundId}; retry the refund`);
    return {
      member,
      events: r.events,
      invoiceUpdates: [r.invoice],
      refunds: [{ id: refundId, invoice_id: invoice.id, member_id: memberId, amount, tax: r.tax, currency: invoice.currency, reason, refunded_on: on, reference: outcome.reference }],
      journal: refundEntries(invoice, amount, r.tax, bookOn, refundId),
    };
  }, on, audit);
}

/** A chargeback reported by the card network: reverse the payment, book the fee, hold the subscription. */
export async function chargebackMemberInvoice(svc: Services, memberId: string, number: number, on: IsoDate): Promise<Member> {
  return onMember(svc, memberId, async (found, bookOn) => {
    const member = existing(found, memberId);
    const invoice = await requireInvoice(svc, memberId, number);
    const r = chargeback(invoice, member, on);
    const fee = chargebackFee(invoice.currency, currencyExponent(invoice.currency));
    return {
      member: r.member,
      events: r.events,
      invoiceUpdates: [r.invoice],
      chargebacks: [{ id: `chargeback:${invoice.id}`, invoice_id: invoice.id, member_id: memberId, amount: r.amount, fee, currency: invoice.currency, received_on: on }],
      journal: chargebackEntries(invoice, r.amount, fee, bookOn),
    };
  }, on);
}
