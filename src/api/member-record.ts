import { archivedMemberHistory } from '../archive/archive-answers.ts';
import type { InvoiceLine } from '../domain/invoice.ts';
import type { Services } from '../jobs/services.ts';
import { memberInvoices, rowToInvoice, rowToLine } from '../store/ledger.ts';
import { loadMember } from '../store/members.ts';
import { auditEntry, auditTrail } from './audit.ts';
import { invoiceView, memberView } from './views.ts';

/** Where an item of a member's history was read: the hot store, or the archive's Parquet files. */
export type Source = 'hot' | 'archive';
type Sourced<T> = T & { source?: Source };

export interface MemberRecordOptions {
  /** Also the history the archive holds, each item marked with its `source`. */
  archive?: boolean;
}

/**
 * Everything about one member's billing, as customer service sees it: the member, its
 * invoices with their lines, payment attempts, payments, refunds, chargebacks, credits, gift
 * cards and the audit trail. One shape for `GET /v1/cs/members/{id}` and `tally members show`,
 * so an operator reads the same thing with or without the service running. Undefined when
 * there is no such member.
 *
 * With `archive`, each list is the member's whole history: the hot items and the archived ones
 * the hot store no longer holds, in the same order as the hot list alone, each item marked by
 * its `source`. Without it the record is exactly the hot one, no item marked.
 */
export async function memberRecord(svc: Pick<Services, 'store' | 'memberStore'>, id: string, opts: MemberRecordOptions = {}) {
  const { db } = svc.store;
  const m = await loadMember(svc.memberStore.db, id);
  if (!m) return undefined;
  const [invoices, attempts, payments, refunds, chargebacks, credits, giftCards, audit, archived] = await Promise.all([
    memberInvoices(db, id),
    // By day, as the member lived them (an invoice id sorts "#10" before "#2").
    db.selectFrom('payment_attempts').selectAll().where('member_id', '=', id).orderBy('attempted_on').orderBy('invoice_id').orderBy('attempt_no').execute(),
    db.selectFrom('payments').selectAll().where('member_id', '=', id).orderBy('paid_on').execute(),
    db.selectFrom('refunds').selectAll().where('member_id', '=', id).orderBy('refunded_on').execute(),
    db.selectFrom('chargebacks').selectAll().where('member_id', '=', id).orderBy('received_on').execute(),
    db.selectFrom('credits').selectAll().where('member_id', '=', id).orderBy('granted_on').execute(),
    db.selectFrom('gift_cards').selectAll().where('member_id', '=', id).orderBy('sold_on').execute(),
    auditTrail(svc.memberStore.db, id),
    opts.archive ? archivedMemberHistory(db, m) : undefined,
  ]);
  const record = {
    member: memberView(m),
    invoices: invoices.map(invoiceView) as Sourced<ReturnType<typeof invoiceView>>[],
    attempts: attempts as Sourced<(typeof attempts)[number]>[],
    payments: payments as Sourced<(typeof payments)[number]>[],
    refunds: refunds as Sourced<(typeof refunds)[number]>[],
    chargebacks: chargebacks as Sourced<(typeof chargebacks)[number]>[],
    credits: credits as Sourced<(typeof credits)[number]>[],
    giftCards: giftCards as Sourced<(typeof giftCards)[number]>[],
    audit: audit as Sourced<(typeof audit)[number]>[],
  };
  if (!archived) return record;

  const linesOf = new Map<string, InvoiceLine[]>();
  for (const l of [...archived.lines].sort((a, b) => a.line_no - b.line_no)) {
    const list = linesOf.get(l.invoice_id) ?? linesOf.set(l.invoice_id, []).get(l.invoice_id)!;
    list.push(rowToLine(l));
  }
  const archivedInvoices = archived.invoices.map((r) => invoiceView(rowToInvoice(r, linesOf.get(r.id) ?? [])));
  return {
    ...record,
    invoices: whole(record.invoices, archivedInvoices, (i) => i.id, (a, b) => a.number - b.number),
    attempts: whole(record.attempts, archived.attempts, (a) => a.idem_key, (a, b) => byText(a.attempted_on, b.attempted_on) || byText(a.invoice_id, b.invoice_id) || a.attempt_no - b.attempt_no),
    payments: whole(record.payments, archived.payments, (p) => p.id, (a, b) => byText(a.paid_on, b.paid_on)),
    refunds: whole(record.refunds, archived.refunds, (r) => r.id, (a, b) => byText(a.refunded_on, b.refunded_on)),
    chargebacks: whole(record.chargebacks, archived.chargebacks, (c) => c.id, (a, b) => byText(a.received_on, b.received_on)),
    // Credits and gift cards are never archived: all of them are hot.
    credits: whole(record.credits, [], (c) => c.id, () => 0),
    giftCards: whole(record.giftCards, [], (g) => g.code, () => 0),
    audit: whole(record.audit, archived.audit.map(auditEntry), (e) => String(e.id), (a, b) => a.id - b.id),
  };
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Hot and archived items in one list: an item both hot and archived (its file verified, its hot
 * row not yet deleted, or changed since) is the hot one. The sort is stable and the hot items
 * come first, so hot items keep the store's order among equals.
 */
function whole<T extends object>(hot: readonly T[], archived: readonly T[], key: (item: T) => string, order: (a: T, b: T) => number): Sourced<T>[] {
  const hotKeys = new Set(hot.map(key));
  const fromArchive = archived.filter((x) => !hotKeys.has(key(x))).sort((a, b) => order(a, b) || byText(key(a), key(b)));
  return [
    ...hot.map((x): Sourced<T> => ({ ...x, source: 'hot' })),
    ...fromArchive.map((x): Sourced<T> => ({ ...x, source: 'archive' })),
  ].sort(order);
}

export type MemberRecord = NonNullable<Awaited<ReturnType<typeof memberRecord>>>;
