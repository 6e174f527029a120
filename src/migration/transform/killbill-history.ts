import { Temporal } from 'temporal-polyfill';
import type { Invoice, InvoiceLine, InvoiceStatus } from '../../domain/invoice.ts';
import type { Member } from '../../domain/member.ts';
import { allocate } from '../../domain/money.ts';
import type { TransformOutcome } from '../load.ts';
import type { KillBillMember } from '../sources/killbill-member.ts';
import type { HistoryTransform, MigratedHistory } from './legacy-history.ts';
import { distinctReasons, type QuarantineReason } from './legacy-member.ts';
import { killBillLocalDate, killBillMinorUnits, subscriptionIds, transformKillBillMember, type KillBillContext } from './killbill-member.ts';

/**
 * One Kill Bill account's billing history → Tally's ledger rows: a pure function.
 *
 * Decided here (Kill Bill's model → Tally's):
 * - Only COMMITTED invoices exist for the member (DRAFT is not issued, VOID never was);
 *   they are numbered 1..n by invoice_date, ties by record_id (Kill Bill's invoice number),
 *   which is kept as the invoice key `killbill-inv:<record_id>`.
 * - Charges (RECURRING, FIXED, EXTERNAL_CHARGE, USAGE) are lines; TAX goes onto the line it
 *   is linked to (else spread over the lines); an ITEM_ADJ or REPAIR_ADJ on the same invoice
 *   as its linked item lowers that line (its tax, when the item it adjusts is a TAX item). One on another invoice (a repair after a
 *   cancellation) is paired there with a CBA_ADJ: it is credit granted, not a charge.
 * - Credit: a positive CBA_ADJ is credit generated (a Tally credit row, kept whatever the
 *   horizon: the balance it makes is carried), a negative one is credit applied to its
 *   invoice. CREDIT_ADJ only explains the grant. So an invoice's total is charges + tax,
 *   its amount due total − credit applied, and the member's balance the CBA_ADJ sum.
 * - Money: a transaction is on the invoice its invoice_payments row names (matched by
 *   payment_cookie_id = transaction_external_key, else the payment's ATTEMPT row).
 *   payment_transactions amounts are positive; invoice_payments' REFUND and CHARGED_BACK
 *   rows are negative: the amount is read from the transaction, the row only places it.
 *   PENDING transactions have moved nothing yet and are not carried; UNKNOWN outcomes are
 *   failed attempts (Kill Bill retries them as such). A SUCCESS PURCHASE, CAPTURE, REFUND or
 *   CHARGEBACK on no invoice, or on one not COMMITTED, cannot be placed: quarantine.
 * - Status from the money: a chargeback not reversed → disputed; a refund → refunded or
 *   partially refunded; covered → paid; else past due after a failed attempt, open before.
 */
const charges = new Set(['RECURRING', 'FIXED', 'EXTERNAL_CHARGE', 'USAGE']);
const adjustments = new Set(['ITEM_ADJ', 'REPAIR_ADJ']);
const known = new Set([...charges, ...adjustments, 'TAX', 'CREDIT_ADJ', 'CBA_ADJ', 'PARENT_SUMMARY']);
const failed = new Set(['PAYMENT_FAILURE', 'PLUGIN_FAILURE', 'UNKNOWN', 'PAYMENT_SYSTEM_OFF']);
const stillOpen = new Set<InvoiceStatus>(['open', 'past_due', 'uncollectible']);

/** A Kill Bill transaction's id as Tally keeps it: stable across re-runs, never colliding with Tally's. */
export const killBillTxnId = (id: string) => `killbill-txn:${id}`;

function proportion(a: number, b: number, c: number): number {
  if (c === 0) return 0;
  const n = BigInt(a) * BigInt(b);
  const d = BigInt(c);
  return Number((2n * n + d) / (2n * d));
}

export function transformKillBillHistory(m: KillBillMember, member: Member, ctx: KillBillContext): HistoryTransform {
  const problems: QuarantineReason[] = [];
  const { currency, timezone } = member;
  const local = (utc: string) => killBillLocalDate(utc, timezone);
  const money = (amount: string | null, table: string, key: number): number => {
    const units = amount === null ? null : killBillMinorUnits(amount, currency);
    if (units === null) {
      problems.push({ reason: 'amount-does-not-fit', detail: `${table} ${key}: ${amount} ${currency} is not a whole number of minor units within the bound`, source: [{ table, key }] });
      return 0;
    }
    return units;
  };
  const horizon = Temporal.PlainDate.from(ctx.asOf).subtract({ months: ctx.horizonMonths }).toString();
  for (const inv of m.invoices) {
    if (!['COMMITTED', 'DRAFT', 'VOID'].includes(inv.status)) problems.push({ reason: 'unknown-status', detail: `invoice ${inv.record_id} has status ${JSON.stringify(inv.status)}`, source: [{ table: 'invoices', key: inv.record_id }] });
  }
  const ordered = m.invoices.filter((i) => i.status === 'COMMITTED').sort((a, b) => (a.invoice_date < b.invoice_date ? -1 : a.invoice_date > b.invoice_date ? 1 : a.record_id - b.record_id));
  const committed = new Set(ordered.map((i) => i.id));
  const itemsOf = new Map<string, KillBillMember['invoiceItems']>();
  for (const it of [...m.invoiceItems].sort((a, b) => a.record_id - b.record_id)) itemsOf.set(it.invoice_id, [...(itemsOf.get(it.invoice_id) ?? []), it]);
  const subIds = subscriptionIds(m);
  const fallbackSub = member.subscriptions[0]?.id ?? `${member.id}-s1`;
  const fallbackPlan = member.subscriptions[0]?.planId;

  // Where each transaction's money lands: the invoice its invoice_payments row names.
  const rowsOfPayment = new Map<string, KillBillMember['invoicePayments']>();
  for (const r of m.invoicePayments) if (r.payment_id) rowsOfPayment.set(r.payment_id, [...(rowsOfPayment.get(r.payment_id) ?? []), r]);
  const invoiceOfTxn = (t: KillBillMember['transactions'][number]): string | null => {
    const rows = rowsOfPayment.get(t.payment_id) ?? [];
    return (rows.find((r) => r.payment_cookie_id === t.transaction_external_key) ?? rows.find((r) => r.type === 'ATTEMPT') ?? rows[0])?.invoice_id ?? null;
  };
  const txnsOf = new Map<string, KillBillMember['transactions']>();
  const moneyTypes = new Set(['PURCHASE', 'CAPTURE', 'REFUND', 'CHARGEBACK']);
  for (const t of [...m.transactions].sort((a, b) => (a.effective_date < b.effective_date ? -1 : a.effective_date > b.effective_date ? 1 : a.record_id - b.record_id))) {
    // AUTHORIZE holds, VOID releases a hold, CREDIT pays out to a card without an invoice: none is money on an invoice.
    if (!moneyTypes.has(t.transaction_type) || t.transaction_status === 'PENDING') continue;
    const invoiceId = invoiceOfTxn(t);
    const source = [{ table: 'payment_transactions', key: t.record_id }];
    if (!invoiceId) {
      if (t.transaction_status === 'SUCCESS') problems.push({ reason: 'orphan-payment', detail: `${t.transaction_type} ${t.transaction_external_key} of ${t.amount} is on no invoice`, source });
      continue;
    }
    if (!committed.has(invoiceId)) {
      if (t.transaction_status === 'SUCCESS') problems.push({ reason: 'payment-on-void-invoice', detail: `${t.transaction_type} ${t.transaction_external_key} of ${t.amount} is on an invoice that is not COMMITTED`, source });
      continue;
    }
    txnsOf.set(invoiceId, [...(txnsOf.get(invoiceId) ?? []), t]);
  }

  const out: MigratedHistory = { invoices: [], payments: [], attempts: [], refunds: [], chargebacks: [], credits: [], giftCards: [], invoiceCount: ordered.length, leftOut: 0, repaired: 0, openReceivable: 0 };
  ordered.forEach((h, index) => {
    const number = index + 1;
    const source = [{ table: 'invoices', key: h.record_id }];
    const items = itemsOf.get(h.id) ?? [];
    const issuedOn = h.invoice_date;
    const problemsBefore = problems.length;
    if (h.currency !== currency) problems.push({ reason: 'currency-mismatch', detail: `invoice ${h.record_id} is in ${h.currency}, the member is billed in ${currency}`, source });
    for (const it of items) if (!known.has(it.type)) problems.push({ reason: 'unknown-status', detail: `invoice item ${it.record_id} has type ${JSON.stringify(it.type)}`, source: [{ table: 'invoice_items', key: it.record_id }] });
    // Credit generated stays the member's whatever the horizon: the balance it makes is carried.
    for (const it of items.filter((i) => i.type === 'CBA_ADJ')) {
      const amount = money(it.amount, 'invoice_items', it.record_id);
      if (amount > 0) {
        const why = items.find((i) => i.type === 'CREDIT_ADJ' || (adjustments.has(i.type) && !items.some((x) => x.id === i.linked_item_id)));
        out.credits.push({ id: `killbill-item:${it.id}`, member_id: member.id, amount, currency, reason: (why?.description ?? `credit from Kill Bill invoice ${h.record_id}`).slice(0, 200), granted_on: local(it.created_date) });
      }
    }
    const txns = txnsOf.get(h.id) ?? [];
    const ok = (type: string) => txns.filter((t) => t.transaction_type === type && t.transaction_status === 'SUCCESS');
    const pays = txns.filter((t) => (t.transaction_type === 'PURCHASE' || t.transaction_type === 'CAPTURE') && (t.transaction_status === 'SUCCESS' || failed.has(t.transaction_status)));
    const sum = (list: typeof txns) => list.reduce((s, t) => s + money(t.amount, 'payment_transactions', t.record_id), 0);
    const charged = sum(ok('PURCHASE')) + sum(ok('CAPTURE'));
    const refunded = sum(ok('REFUND'));
    // A chargeback the merchant won is reversed by a later failed CHARGEBACK transaction on the same payment.
    const reversed = (t: (typeof txns)[number]) => txns.some((x) => x.payment_id === t.payment_id && x.transaction_type === 'CHARGEBACK' && failed.has(x.transaction_status) && x.effective_date >= t.effective_date && x.record_id > t.record_id);
    const chargebacks = ok('CHARGEBACK').filter((t) => !reversed(t));
    const chargedBack = sum(chargebacks);

    const chargeItems = items.filter((i) => charges.has(i.type));
    const amounts = chargeItems.map((i) => money(i.amount, 'invoice_items', i.record_id));
    const index_ = new Map(chargeItems.map((i, n) => [i.id, n]));
    const taxItems = items.filter((i) => i.type === 'TAX');
    const taxLine = new Map(taxItems.map((t) => [t.id, t.linked_item_id ? index_.get(t.linked_item_id) : undefined]));
    const taxes = amounts.map(() => 0);
    let unlinkedTax = 0;
    const addTax = (n: number | undefined, amount: number) => {
      if (n !== undefined) taxes[n]! += amount;
      else unlinkedTax += amount;
    };
    for (const t of taxItems) addTax(taxLine.get(t.id), money(t.amount, 'invoice_items', t.record_id));
    for (const adj of items.filter((i) => adjustments.has(i.type) && i.linked_item_id)) {
      const n = index_.get(adj.linked_item_id!);
      if (n !== undefined) amounts[n]! += money(adj.amount, 'invoice_items', adj.record_id);
      // An adjustment of a TAX item takes back tax (Kill Bill lowers the invoice by it): off the tax of the line it taxed.
      else if (taxLine.has(adj.linked_item_id!)) addTax(taxLine.get(adj.linked_item_id!), money(adj.amount, 'invoice_items', adj.record_id));
    }
    if (unlinkedTax) allocate(unlinkedTax, amounts.map((a) => Math.max(0, a))).forEach((t, n) => (taxes[n]! += t));
    const creditApplied = items.filter((i) => i.type === 'CBA_ADJ').map((i) => money(i.amount, 'invoice_items', i.record_id)).filter((a) => a < 0).reduce((s, a) => s - a, 0);
    const subtotal = amounts.reduce((s, a) => s + a, 0);
    const tax = taxes.reduce((s, a) => s + a, 0) + (amounts.length ? 0 : unlinkedTax);
    const total = subtotal + tax;
    const amountDue = total - creditApplied;
    const converted = problems.length === problemsBefore;
    if (converted && (amounts.some((a) => a < 0) || amountDue < 0)) problems.push({ reason: 'invoice-does-not-add-up', detail: `invoice ${h.record_id}: adjustments or credit exceed what it charges`, source });

    const declined = pays.filter((t) => t.transaction_status !== 'SUCCESS');
    let status: InvoiceStatus;
    if (chargedBack > 0) status = 'disputed';
    else if (refunded > 0) status = refunded >= charged ? 'refunded' : 'partially_refunded';
    else if (charged >= amountDue) status = 'paid';
    else status = declined.length ? 'past_due' : 'open';
    // Decided before anything is emitted: history before the horizon is the archive's, counted.
    if (issuedOn < horizon && !stillOpen.has(status)) {
      out.leftOut++;
      return;
    }

    const firstSub = chargeItems.find((i) => i.subscription_id && subIds.has(i.subscription_id))?.subscription_id;
    const subscriptionId = (firstSub && subIds.get(firstSub)) || fallbackSub;
    const periodStart = chargeItems.map((i) => i.start_date ?? issuedOn).sort()[0] ?? issuedOn;
    const periodEnd = chargeItems.map((i) => i.end_date ?? i.start_date ?? issuedOn).sort().at(-1) ?? issuedOn;
    const lines: InvoiceLine[] = [];
    chargeItems.forEach((it, n) => {
      // An EXTERNAL_CHARGE names no plan: it is billed under the member's subscription.
      const planId = it.plan_name ? ctx.plans.get(it.plan_name) : fallbackPlan;
      if (!planId) {
        problems.push({ reason: 'unmapped-plan', detail: `invoice ${h.record_id} bills Kill Bill plan ${it.plan_name ?? '(none)'}, which has no mapping`, source: [{ table: 'invoice_items', key: it.record_id }] });
        return;
      }
      const amount = amounts[n]!;
      const start = it.start_date ?? issuedOn;
      lines.push({
        lineNo: lines.length + 1, kind: 'plan', description: (it.description ?? `${it.type} ${it.plan_name ?? ''}`.trim()).slice(0, 200), planId, periodStart: start, periodEnd: it.end_date ?? start,
        amount, discount: 0, net: amount, tax: taxes[n]!, total: amount + taxes[n]!, taxRatePpm: amount > 0 ? proportion(taxes[n]!, 1_000_000, amount) : 0, taxName: 'tax as billed by Kill Bill',
      });
    });
    const open = status === 'open' || status === 'past_due';
    const invoice: Invoice = {
      id: `${member.id}#${number}`, memberId: member.id, number, subscriptionId, kind: 'renewal', key: `killbill-inv:${h.record_id}`,
      country: member.country, region: member.region, currency, periodStart, periodEnd, issuedOn,
      subtotal, discount: 0, tax, total, giftCardApplied: 0, creditApplied, amountDue, charged, refunded, status,
      attemptCount: pays.length, firstFailedOn: declined[0] ? local(declined[0].effective_date) : null,
      // Tally's collection takes over the dunning of what is still open, from the migration day.
      nextAttemptOn: open ? ctx.asOf : null,
      lines,
    };
    out.invoices.push(invoice);
    if (open) out.openReceivable += Math.max(0, amountDue - charged);
    pays.forEach((t, i) => {
      const succeeded = t.transaction_status === 'SUCCESS';
      const amount = money(t.amount, 'payment_transactions', t.record_id);
      const on = local(t.effective_date);
      out.attempts.push({
        idem_key: killBillTxnId(t.id), invoice_id: invoice.id, member_id: member.id, attempt_no: i + 1, amount, currency, status: succeeded ? 'succeeded' : 'declined',
        decline_code: succeeded ? null : (t.gateway_error_code ?? t.transaction_status), attempted_on: on, reference: succeeded ? t.transaction_external_key : null,
      });
      if (succeeded) out.payments.push({ id: killBillTxnId(t.id), invoice_id: invoice.id, member_id: member.id, amount, currency, reference: t.transaction_external_key, paid_on: on });
    });
    for (const t of ok('REFUND')) {
      const amount = money(t.amount, 'payment_transactions', t.record_id);
      out.refunds.push({ id: killBillTxnId(t.id), invoice_id: invoice.id, member_id: member.id, amount, tax: proportion(amount, tax, total), currency, reason: 'refunded in Kill Bill', refunded_on: local(t.effective_date), reference: t.transaction_external_key, status: 'succeeded' });
    }
    for (const t of chargebacks) {
      out.chargebacks.push({ id: killBillTxnId(t.id), invoice_id: invoice.id, member_id: member.id, amount: money(t.amount, 'payment_transactions', t.record_id), fee: 0, currency, received_on: local(t.effective_date) });
    }
  });
  return problems.length ? { quarantine: distinctReasons(problems) } : { history: out };
}

/**
 * The latest change among an account's rows, as Kill Bill's UTC text (which compares in
 * time order): rows with an update stamp give it, insert-only rows their creation time.
 */
export function killBillMark(m: KillBillMember): string {
  let mark = String(m.account.updated_date ?? m.account.created_date);
  const later = (ts: string | null | undefined) => {
    if (ts && String(ts) > mark) mark = String(ts);
  };
  for (const list of [m.bundles, m.subscriptions, m.events, m.blockingStates, m.payments, m.transactions, m.paymentMethods]) for (const r of list) later(r.updated_date ?? r.created_date);
  for (const list of [m.invoices, m.invoiceItems, m.invoicePayments]) for (const r of list) later(r.created_date);
  return mark;
}

/** One Kill Bill account whole: its aggregate, then its history, or every reason it cannot be carried over. */
export function transformKillBill(m: KillBillMember, ctx: KillBillContext): TransformOutcome {
  const who = { sourceKey: String(m.account.record_id), memberId: m.account.external_key, mark: killBillMark(m) };
  const aggregate = transformKillBillMember(m, ctx);
  if (aggregate.quarantine) return { ...who, reasons: aggregate.quarantine };
  const history = transformKillBillHistory(m, aggregate.member, ctx);
  if (history.quarantine) return { ...who, reasons: history.quarantine };
  return { ...who, member: { ...aggregate.member, invoiceCount: history.history.invoiceCount }, history: history.history };
}
