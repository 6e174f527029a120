import type { Services } from '../jobs/services.ts';
import { memberInvoices } from '../store/ledger.ts';
import { loadMember } from '../store/members.ts';
import { auditTrail } from './audit.ts';
import { invoiceView, memberView } from './views.ts';

/**
 * Everything about one member's billing, as customer service sees it: the member, its
 * invoices with their lines, payment attempts, payments, refunds, chargebacks, credits, gift
 * cards and the audit trail. One shape for `GET /v1/cs/members/{id}` and `tally members show`,
 * so an operator reads the same thing with or without the service running. Undefined when
 * there is no such member.
 */
export async function memberRecord(svc: Pick<Services, 'store' | 'memberStore'>, id: string) {
  const { db } = svc.store;
  const m = await loadMember(svc.memberStore.db, id);
  if (!m) return undefined;
  const [invoices, attempts, payments, refunds, chargebacks, credits, giftCards, audit] = await Promise.all([
    memberInvoices(db, id),
    db.selectFrom('payment_attempts').selectAll().where('member_id', '=', id).orderBy('invoice_id').orderBy('attempt_no').execute(),
    db.selectFrom('payments').selectAll().where('member_id', '=', id).orderBy('paid_on').execute(),
    db.selectFrom('refunds').selectAll().where('member_id', '=', id).orderBy('refunded_on').execute(),
    db.selectFrom('chargebacks').selectAll().where('member_id', '=', id).orderBy('received_on').execute(),
    db.selectFrom('credits').selectAll().where('member_id', '=', id).orderBy('granted_on').execute(),
    db.selectFrom('gift_cards').selectAll().where('member_id', '=', id).orderBy('sold_on').execute(),
    auditTrail(svc.memberStore.db, id),
  ]);
  return { member: memberView(m), invoices: invoices.map(invoiceView), attempts, payments, refunds, chargebacks, credits, giftCards, audit };
}

export type MemberRecord = NonNullable<Awaited<ReturnType<typeof memberRecord>>>;
