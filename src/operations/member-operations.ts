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
import { assertMinorUnits, currencyExponent } from '../domain/money.ts';
import { changePlan } from '../domain/plan-change.ts';
import { chargeback, chargebackFee, refundInvoice, reserveRefund } from '../domain/refund.ts';
import { bookingDate } from '../jobs/booking.ts';
import type { Services } from '../jobs/services.ts';
import { GatewayUnavailable, type GatewayOutcome } from '../payments/gateway.ts';
import { invoiceById, invoiceByNumber, memberInvoices } from '../store/ledger.ts';
import { applyPendingPostings, commitMemberChange, type LedgerPosting } from '../store/ledger-postings.ts';
import { claimForMember, loadMember, retryOnConflict, saveMembers, serializedByMember, type Claim } from '../store/members.ts';

/** Everything one operation on one member writes: the member, what it posts to the ledger, and what it claims. */
interface Change extends LedgerPosting {
  member: Member;
  events: DomainEvent[];
  /** Values unique across members, claimed in the member's commit (see claimForMember); one already held refuses the change. */
  claims?: (Claim & { field: string; taken: string })[];
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
 * commits together or not at all. Operations on one member in this process
 * queue behind each other; a writer elsewhere (another process, a job chunk)
 * is caught by the version check and the operation is redone on a fresh read
 * after a random pause.
 */
async function onMember(svc: Services, memberId: string, decide: (member: Member | undefined, bookOn: IsoDate) => Promise<Change>, on: IsoDate, audit?: AuditedBy): Promise<Member> {
  return serializedByMember(memberId, () => retryOnConflict(async () => {
    const member = await loadMember(svc.memberStore.db, memberId);
    // Decisions read the ledger (was this invoice refunded, how many refunds): a posting committed
    // with the member version just read, but not applied yet (a crash, or a writer still at it), goes first.
    await applyPendingPostings(svc, svc.checkpoint);
    const { member: changed, claims, ...posting } = await decide(member, await bookingDate(svc.store.db, on));
    await commitMemberChange(svc, async (trx) => {
      const taken = await claimForMember(trx, memberId, claims ?? []);
      const refused = claims?.find((c) => taken.some((t) => t.scope === c.scope && t.claim === c.claim));
      if (refused) throw new InvalidInput(refused.field, refused.taken, refused.claim);
      await saveMembers(trx, [changed]);
      if (audit) {
        await trx.insertInto('audit_log').values({
          at: new Date().toISOString(), actor: audit.actor, action: audit.action, member_id: memberId, reason: audit.reason,
          request: JSON.stringify(audit.request), before: JSON.stringify(member ? audit.view(member) : null), after: JSON.stringify(audit.view(changed)),
        }).execute();
      }
    }, posting, svc.checkpoint);
    return { ...changed, version: changed.version + 1 };
  }));
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

/**
 * A gift card sold (cash in, a liability) and redeemed into the member's balance in the
 * member's currency. The code is claimed in the member's commit: two members racing for
 * one code cannot both be credited.
 */
export async function redeemGiftCard(svc: Services, memberId: string, code: string, amount: number, currency: string, on: IsoDate): Promise<Member> {
  const taken = `gift card "${code}" was already redeemed`;
  return onMember(svc, memberId, async (found, bookOn) => {
    const member = existing(found, memberId);
    // Codes redeemed before claims existed live only in the ledger's gift_cards (on split stores).
    const card = await svc.store.db.selectFrom('gift_cards').select('code').where('code', '=', code).executeTakeFirst();
    if (card) throw new InvalidInput('code', taken, code);
    const change = rules.addGiftCardBalance(member, amount, currency, on, code);
    return {
      ...change,
      claims: [{ scope: 'gift-card', claim: code, field: 'code', taken }],
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
 * Refund part or all of what the payment method paid, in three steps:
 * 1. the intent: a `pending` refund row reserving the amount against what is still
 *    refundable, committed with the member's version check (so two racing refunds
 *    cannot both reserve the same money) before any money moves;
 * 2. the gateway call under the intent's id as idempotency key;
 * 3. the outcome: the refund, the invoice, the journal and the events, booked with
 *    the member's version check again.
 * A crash or a lost race after step 1 leaves a pending intent, settled by
 * `settlePendingRefunds` (collection runs it) or by a retry of the same request:
 * both look the key up at the gateway and never move money without the intent.
 *
 * With `requestId` the refund is named after the request that asked for it (see
 * requestScopedId): a retry of that request after its answer was lost finds the
 * refund made and refunds nothing twice. Without it, ids count the invoice's
 * refunds, intents included, which the member's version check keeps unique.
 */
export async function refundMemberInvoice(svc: Services, memberId: string, number: number, amount: number, reason: string, on: IsoDate, audit?: AuditedBy, requestId?: string): Promise<Member> {
  if (!reason.trim()) throw new InvalidInput('reason', 'a reason is required');
  assertMinorUnits(amount, 'amount');
  const { db } = svc.store;
  if (requestId) {
    // A retry of a request whose intent is recorded but whose answer never came back: settle that intent, record nothing again.
    const invoice = await requireInvoice(svc, memberId, number);
    const mine = await db.selectFrom('refunds').select('status').where('id', '=', `refund:${invoice.id}:request:${requestId}`).executeTakeFirst();
    if (mine?.status === 'pending') {
      svc.checkpoint?.('refund.intent-found');
      return settleRefund(svc, `refund:${invoice.id}:request:${requestId}`, on);
    }
  }
  let refundId = '';
  let resumed = false;
  await onMember(svc, memberId, async (found) => {
    const member = existing(found, memberId);
    const invoice = await requireInvoice(svc, memberId, number);
    const made = await db.selectFrom('refunds').select(['id', 'amount', 'status']).where('invoice_id', '=', invoice.id).execute();
    refundId = requestId ? `refund:${invoice.id}:request:${requestId}` : `refund:${invoice.id}:${made.length + 1}`;
    const mine = made.find((r) => r.id === refundId);
    if (mine?.status === 'pending') {
      // Recorded by a twin of this request between the look-up above and here: settle it below, reserve nothing again.
      resumed = true;
      return { member, events: [] };
    }
    if (mine) throw new InvalidInput('Idempotency-Key', `this request's refund of invoice ${number} was already made`, requestId);
    const reserved = made.filter((r) => r.status === 'pending').reduce((sum, r) => sum + Number(r.amount), 0);
    reserveRefund(invoice, amount, reserved);
    return {
      member,
      events: [],
      refunds: [{ id: refundId, invoice_id: invoice.id, member_id: memberId, amount, tax: 0, currency: invoice.currency, reason, refunded_on: on, reference: '', status: 'pending' }],
    };
  }, on, audit);
  svc.checkpoint?.(resumed ? 'refund.intent-found' : 'refund.intent-committed');
  return settleRefund(svc, refundId, on);
}

/**
 * Ask the gateway for a recorded refund intent's outcome (its key looked up first, so a
 * refund already made is found, not made again) and book it. Returns the member as
 * committed; a refund already settled by someone else is left as it is.
 */
async function settleRefund(svc: Services, refundId: string, on: IsoDate): Promise<Member> {
  const { db } = svc.store;
  const intent = await db.selectFrom('refunds').selectAll().where('id', '=', refundId).executeTakeFirstOrThrow();
  if (intent.status !== 'pending') return existing(await loadMember(svc.memberStore.db, intent.member_id), intent.member_id);
  let outcome = (await svc.gateway.lookup([refundId]))[0] ?? null;
  if (!outcome) {
    const payment = await db.selectFrom('payments').select('reference').where('invoice_id', '=', intent.invoice_id).orderBy('paid_on', 'desc').executeTakeFirstOrThrow();
    outcome = await svc.gateway.refund({ key: refundId, chargeReference: payment.reference, amount: Number(intent.amount), currency: intent.currency })
      .catch((): GatewayOutcome => ({ status: 'unknown' }));
  }
  if (outcome.status === 'unknown') {
    throw new GatewayUnavailable(`refund ${refundId} is recorded but the gateway did not answer; it is settled by the next collection run, or retry with the same Idempotency-Key`);
  }
  svc.checkpoint?.('refund.gateway-answered');
  const answer = outcome;
  let declined = false;
  const member = await onMember(svc, intent.member_id, async (found, bookOn) => {
    const m = existing(found, intent.member_id);
    const current = await db.selectFrom('refunds').selectAll().where('id', '=', refundId).executeTakeFirstOrThrow();
    if (current.status !== 'pending') return { member: m, events: [] };
    if (answer.status === 'declined') {
      declined = true;
      return { member: m, events: [], refundUpdates: [{ ...current, status: 'failed', reference: answer.reference }] };
    }
    const invoice = await invoiceById(db, current.invoice_id);
    if (!invoice) throw new NotFound('invoice', `refund ${refundId} names no invoice`, current.invoice_id);
    const amount = Number(current.amount);
    const r = refundInvoice(invoice, amount, on, refundId);
    return {
      member: m,
      events: r.events,
      invoiceUpdates: [r.invoice],
      refundUpdates: [{ ...current, amount, tax: r.tax, status: 'succeeded', reference: answer.reference }],
      journal: refundEntries(invoice, amount, r.tax, bookOn, refundId),
    };
  }, on);
  if (declined) throw new InvalidInput('invoice', `the gateway declined refund ${refundId}`, refundId);
  return member;
}

/** Settle refund intents whose outcome was never booked (a crash, a lost answer): collection runs this first. Returns how many. */
export async function settlePendingRefunds(svc: Services, on: IsoDate): Promise<number> {
  const pending = await svc.store.db.selectFrom('refunds').select('id').where('status', '=', 'pending').orderBy('id').execute();
  let settled = 0;
  for (const { id } of pending) {
    try {
      await settleRefund(svc, id, on);
      settled++;
    } catch (err) {
      // One refund the gateway cannot answer for now must not stop collection; the next run asks again.
      if (!(err instanceof GatewayUnavailable || err instanceof InvalidInput)) throw err;
      svc.log.warn({ refund: id, err: (err as Error).message }, 'refund intent not settled');
    }
  }
  return settled;
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
