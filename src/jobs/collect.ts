import { applyChargeOutcome, type ChargeOutcome } from '../domain/collection.ts';
import type { DomainEvent } from '../domain/events.ts';
import type { Invoice } from '../domain/invoice.ts';
import { paymentEntries, writeOffEntries, type JournalLine } from '../domain/journal.ts';
import type { Member } from '../domain/member.ts';
import type { ChargeRequest, GatewayOutcome } from '../payments/gateway.ts';
import { invoicesDue, type InvoiceCursor } from '../store/ledger.ts';
import { settlePendingRefunds } from '../operations/member-operations.ts';
import { applyPendingPostings, commitMemberChange, forgetAppliedPostings } from '../store/ledger-postings.ts';
import { loadMembers, saveMembers } from '../store/members.ts';
import { billedBySource } from '../migration/billing-side.ts';
import { inChunkOrOneByOne } from './chunk-commit.ts';
import type { PaymentAttemptRow, PaymentRow } from '../store/schema.ts';
import { bookingDate } from './booking.ts';
import { recordRun } from './run-record.ts';
import { chunkCommitted, type JobOptions, type JobResult, type Services } from './services.ts';

/** The gateway key of an invoice's n-th charge attempt: derived from committed state, so a re-run after a crash asks for the same charge. */
export function chargeKey(invoice: Invoice): string {
  return `charge:${invoice.id}:${invoice.attemptCount + 1}`;
}

/**
 * Order & Payment Processor for a business date: charge every invoice whose
 * attempt is due, reconcile lost answers by looking their keys up, and move
 * invoices and subscriptions through their lifecycle.
 *
 * No "pending" row is written before charging: the key is a function of the
 * invoice's committed state and the gateway answers a repeated key with the
 * original result, so a crash between charge and commit re-asks, and never
 * re-charges.
 */
export async function runCollection(svc: Services, date: string, opts: JobOptions = {}): Promise<JobResult> {
  const { db } = svc.store;
  return recordRun(db, 'collect', date, async () => {
    await applyPendingPostings(svc, opts.checkpoint);
    await forgetAppliedPostings(svc);
    // Refund intents whose answer was never booked (a crash, a lost answer) are settled by looking their keys up.
    const refundsSettled = await settlePendingRefunds(svc, date);
    const chunkSize = opts.chunkSize ?? 1000;
    const businessDate = await bookingDate(db, date);
    const counts = { invoices: 0, paid: 0, failed: 0, unknown: 0, refundsSettled };
    let leftToSource = 0;
    const sourceBills = await billedBySource(svc);
    let cursor: InvoiceCursor | null = null;
    for (;;) {
      const page = await invoicesDue(db, date, cursor, chunkSize);
      if (!page.cursor) break;
      cursor = page.cursor;
      if (!page.invoices.length) continue;
      // A migrated invoice of a member the source still bills is the source's to collect (its dunning goes on there).
      const theirs = await sourceBills(page.invoices.map((i) => ({ id: i.memberId, country: i.country })));
      const invoices = theirs.size ? page.invoices.filter((i) => !theirs.has(i.memberId)) : page.invoices;
      leftToSource += page.invoices.length - invoices.length;
      if (!invoices.length) continue;
      const ids = [...new Set(invoices.map((i) => i.memberId))];
      const members = await loadMembers(svc.memberStore.db, ids);
      const outcomes = await chargeAll(svc, invoices, members, opts);
      // Outcomes are known; on a version conflict only the members are read again.
      const done = await inChunkOrOneByOne(ids, async (some, attempt) => {
        const mine = new Set(some);
        const picked = invoices.flatMap((inv, i) => (mine.has(inv.memberId) ? [i] : []));
        const fresh = attempt === 1 && some.length === ids.length ? members : await loadMembers(svc.memberStore.db, some);
        return settleChunk(svc, picked.map((i) => invoices[i]!), fresh, picked.map((i) => outcomes[i]!), date, businessDate, opts);
      }, (a, b) => ({ paid: a.paid + b.paid, failed: a.failed + b.failed, unknown: a.unknown + b.unknown }));
      counts.invoices += invoices.length;
      counts.paid += done.paid;
      counts.failed += done.failed;
      counts.unknown += done.unknown;
      await chunkCommitted(opts, 'collect.chunk-committed', counts.invoices);
    }
    svc.log.info({ job: 'collect', date, ...counts, leftToSource }, 'collection finished');
    return { counts: leftToSource ? { ...counts, leftToSource } : counts, errors: [] };
  });
}

async function chargeAll(svc: Services, invoices: Invoice[], members: Map<string, Member>, opts: JobOptions): Promise<(GatewayOutcome | null)[]> {
  const requests: ChargeRequest[] = invoices.map((i) => ({
    key: chargeKey(i), token: members.get(i.memberId)!.paymentToken, amount: i.amountDue, currency: i.currency,
  }));
  const outcomes: (GatewayOutcome | null)[] = await svc.gateway.charge(requests);
  opts.checkpoint?.('collect.charged');
  const lost = outcomes.flatMap((o, i) => (o?.status === 'unknown' ? [i] : []));
  if (lost.length) {
    // The answer was lost in transit: ask what happened to those keys before deciding anything.
    const found = await svc.gateway.lookup(lost.map((i) => requests[i]!.key));
    lost.forEach((idx, n) => { outcomes[idx] = found[n] ?? null; });
    const neverArrived = lost.filter((idx) => outcomes[idx] === null);
    if (neverArrived.length) {
      const again = await svc.gateway.charge(neverArrived.map((i) => requests[i]!));
      neverArrived.forEach((idx, n) => { outcomes[idx] = again[n]!.status === 'unknown' ? null : again[n]!; });
    }
  }
  return outcomes;
}

async function settleChunk(
  svc: Services,
  invoices: Invoice[],
  members: Map<string, Member>,
  outcomes: (GatewayOutcome | null)[],
  date: string,
  businessDate: string,
  opts: JobOptions,
) {
  const current = new Map(members);
  const changedMembers = new Set<string>();
  const settled: Invoice[] = [];
  const attempts: PaymentAttemptRow[] = [];
  const payments: PaymentRow[] = [];
  const journal: JournalLine[] = [];
  const events: DomainEvent[] = [];
  let paid = 0;
  let failed = 0;
  let unknown = 0;
  invoices.forEach((invoice, idx) => {
    const outcome = outcomes[idx];
    const key = chargeKey(invoice);
    const attempt = { idem_key: key, invoice_id: invoice.id, member_id: invoice.memberId, attempt_no: invoice.attemptCount + 1, amount: invoice.amountDue, currency: invoice.currency, attempted_on: date };
    if (!outcome || outcome.status === 'unknown') {
      // Still unknown after look-up: leave the invoice as it is; the next run asks the gateway again with the same key.
      unknown++;
      attempts.push({ ...attempt, status: 'unknown', decline_code: null, reference: null });
      return;
    }
    const member = current.get(invoice.memberId)!;
    const known: ChargeOutcome = outcome.status === 'approved'
      ? { status: 'approved', reference: outcome.reference }
      : { status: 'declined', code: outcome.code, hard: outcome.hard };
    const r = applyChargeOutcome(invoice, member, known, date);
    if (r.member !== member) {
      current.set(member.id, r.member);
      changedMembers.add(member.id);
    }
    settled.push(r.invoice);
    events.push(...r.events);
    if (outcome.status === 'approved') {
      paid++;
      attempts.push({ ...attempt, status: 'succeeded', decline_code: null, reference: outcome.reference });
      payments.push({ id: key, invoice_id: invoice.id, member_id: invoice.memberId, amount: r.paid, currency: invoice.currency, reference: outcome.reference, paid_on: date });
      journal.push(...paymentEntries(invoice, r.paid, businessDate, key));
    } else {
      failed++;
      attempts.push({ ...attempt, status: 'declined', decline_code: outcome.code, reference: outcome.reference });
    }
    if (r.writeOff !== 'none') journal.push(...writeOffEntries(invoice, businessDate, r.writeOff === 'recovered'));
  });
  await commitMemberChange(svc, (trx) => saveMembers(trx, [...changedMembers].map((id) => current.get(id)!)), {
    invoiceUpdates: settled, attempts, payments, journal, events,
  }, opts.checkpoint);
  return { paid, failed, unknown };
}
