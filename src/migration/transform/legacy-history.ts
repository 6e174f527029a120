import { Temporal } from 'temporal-polyfill';
import type { IsoDate } from '../../domain/calendar.ts';
import type { CatalogIndex } from '../../domain/catalog.ts';
import type { Invoice, InvoiceLine, InvoiceStatus } from '../../domain/invoice.ts';
import type { Member } from '../../domain/member.ts';
import { allocate } from '../../domain/money.ts';
import { dec4, type Dec4, type LegacySchema } from '../../legacy/index.ts';
import type { ChargebackRow, CreditRow, GiftCardRow, PaymentAttemptRow, PaymentRow, RefundRow } from '../../store/schema.ts';
import type { PlanMapping } from '../plan-mapping.ts';
import type { LegacyMember } from '../sources/legacy-source.ts';
import { distinctReasons, minorUnits, type QuarantineReason } from './legacy-member.ts';
import { legacyDate, legacyInstantDate } from './legacy-time.ts';

/**
 * One legacy member's billing history → Tally's ledger rows: a pure function, tested on
 * hand-written rows.
 *
 * What is carried over, and how the books are kept (decided here, written down once):
 * - Every legacy invoice is numbered 1..n in the order it was issued, so a member's
 *   numbers never change when older invoices come back from the archive; Tally's next
 *   invoice is n+1. Invoices issued before the horizon (default 24 months) stay out of the
 *   hot store, counted, unless an open process still needs them (open, past due or
 *   uncollectible). The extract may leave them unread (`invoicesBefore`): then the loaded
 *   ones are numbered after them.
 * - The header is what the member was billed and paid. Detail lines that add up to it are
 *   kept; where they are missing or do not add up (a legacy wart) the invoice keeps its
 *   header amounts on one line that says so, counted as repaired: the money is exact, the
 *   presentation is what could be recovered.
 * - Captures become payments and attempts (declines too, with their response codes);
 *   refunds and chargebacks become Tally's, tax in proportion as Tally's refunds reverse it.
 *   Authorizations move no money and are not carried.
 * - The journal never re-books legacy revenue: the legacy's own books hold it. Migration
 *   books only what Tally must carry on from the migration day — gift-card and credit
 *   liabilities and open receivables — against an opening-balance account (see
 *   openingBalanceEntries), so Tally's ledger balances and every later payment, refund or
 *   use of a balance books against them as if Tally had billed it.
 * - What cannot be carried exactly (a payment on a voided invoice, a payment on an invoice
 *   that does not exist, a header that does not add up, an amount a currency cannot hold)
 *   quarantines the member.
 */
export interface MigratedHistory {
  invoices: Invoice[];
  payments: PaymentRow[];
  attempts: PaymentAttemptRow[];
  refunds: RefundRow[];
  chargebacks: ChargebackRow[];
  credits: CreditRow[];
  giftCards: GiftCardRow[];
  /** Every legacy invoice, loaded or left out: the member's invoice count in Tally. */
  invoiceCount: number;
  /** Invoices left out of the hot store by the horizon. */
  leftOut: number;
  /** Invoices whose lines were rebuilt from the header. */
  repaired: number;
  /** What the member owes on open and past-due invoices: the opening receivable. */
  openReceivable: number;
}

export interface HistoryContext {
  catalog: CatalogIndex;
  plans: PlanMapping;
  /** The migration day: the horizon counts back from it. */
  asOf: IsoDate;
  /** Months of history kept hot (default 24). */
  horizonMonths: number;
}

export type HistoryTransform = { history: MigratedHistory; quarantine?: undefined } | { history?: undefined; quarantine: QuarantineReason[] };

const invoiceStatus: Record<string, InvoiceStatus | undefined> = { O: 'open', P: 'paid', F: 'past_due', U: 'uncollectible', V: 'void', R: 'refunded' };
/** Invoices an open process still needs: kept whatever their age. */
const stillOpen = new Set<InvoiceStatus>(['open', 'past_due', 'uncollectible']);

/** a × b / c rounded half away from zero, exact for any amounts (money × money exceeds 2^53). */
function proportion(a: number, b: number, c: number): number {
  if (c === 0) return 0;
  const n = BigInt(a) * BigInt(b);
  const d = BigInt(c);
  return Number((2n * n + d) / (2n * d));
}

/** The legacy id of a transaction as Tally keeps it: stable across re-runs, never colliding with Tally's own ids. */
export const legacyTxnId = (txnId: number | string) => `legacy-txn:${txnId}`;

export function transformLegacyHistory(m: LegacyMember, member: Member, ctx: HistoryContext): HistoryTransform {
  const problems: QuarantineReason[] = [];
  const { currency, timezone } = member;
  const money = (amount: Dec4, table: string, key: number | string): number => {
    const units = minorUnits(amount, currency);
    if (units === null) {
      problems.push({ reason: 'amount-does-not-fit', detail: `${table} ${key}: ${amount} ten-thousandths of ${currency} is not a whole number of minor units within the bound`, source: [{ table, key }] });
      return 0;
    }
    return units;
  };
  const horizon = Temporal.PlainDate.from(ctx.asOf).subtract({ months: ctx.horizonMonths }).toString();
  const invoiceIds = new Set(m.invoices.map((i) => Number(i.inv_id)));
  for (const t of m.payments) {
    if (!invoiceIds.has(Number(t.inv_id)) && t.resp_cd === '00') {
      problems.push({ reason: 'orphan-payment', detail: `payment ${t.txn_id} of ${t.amount} names invoice ${t.inv_id}, which does not exist`, source: [{ table: 'payment_txn', key: Number(t.txn_id) }] });
    }
  }
  // A legacy invoice names the account; its lines name the plan, and so the subscription.
  const subOfPlan = new Map<string, string>();
  m.subscriptions.forEach((s, i) => subOfPlan.set(s.plan_cd, `${m.key}-s${i + 1}`));
  const fallbackSub = member.subscriptions[0]?.id ?? `${m.key}-s1`;
  const txnsOf = new Map<number, LegacySchema['payment_txn'][]>();
  for (const t of m.payments) {
    const list = txnsOf.get(Number(t.inv_id)) ?? [];
    list.push(t);
    txnsOf.set(Number(t.inv_id), list);
  }
  const detailsOf = new Map<number, LegacySchema['invoice_detail'][]>();
  for (const d of m.details) {
    const list = detailsOf.get(Number(d.inv_id)) ?? [];
    list.push(d);
    detailsOf.set(Number(d.inv_id), list);
  }

  const ordered = [...m.invoices].sort((a, b) => (String(a.inv_dt) < String(b.inv_dt) ? -1 : String(a.inv_dt) > String(b.inv_dt) ? 1 : Number(a.inv_id) - Number(b.inv_id)));
  const out: MigratedHistory = { invoices: [], payments: [], attempts: [], refunds: [], chargebacks: [], credits: [], giftCards: [], invoiceCount: (m.invoicesBefore ?? 0) + ordered.length, leftOut: m.invoicesBefore ?? 0, repaired: 0, openReceivable: 0 };
  ordered.forEach((h, index) => {
    const invId = Number(h.inv_id);
    const source = [{ table: 'invoice_header', key: invId }];
    const txns = txnsOf.get(invId) ?? [];
    const approved = (type: string) => txns.filter((t) => t.txn_type === type && t.resp_cd === '00');
    const captures = txns.filter((t) => t.txn_type === 'CAP');
    let status = invoiceStatus[String(h.status_cd)];
    if (!status) {
      problems.push({ reason: 'unknown-status', detail: `invoice ${h.inv_no} has status code ${JSON.stringify(h.status_cd)}`, source });
      return;
    }
    if (approved('CHB').length) status = 'disputed';
    const issuedOn = legacyInstantDate(h.inv_dt, timezone);
    const number = (m.invoicesBefore ?? 0) + index + 1;
    // Decided before any amount is read: history left out is the archive's, warts and all, and quarantines nobody.
    if (issuedOn < horizon && !stillOpen.has(status)) {
      out.leftOut++;
      return;
    }
    const problemsBefore = problems.length;
    const subtotal = money(dec4(h.subtotal_amt), 'invoice_header', invId);
    const discount = money(dec4(h.discount_amt), 'invoice_header', invId);
    const tax = money(dec4(h.tax_amt), 'invoice_header', invId);
    const total = money(dec4(h.total_amt), 'invoice_header', invId);
    const giftCardApplied = money(dec4(h.gift_applied_amt), 'invoice_header', invId);
    const creditApplied = money(dec4(h.credit_applied_amt), 'invoice_header', invId);
    const charged = approved('CAP').reduce((sum, t) => sum + money(dec4(t.amount), 'payment_txn', Number(t.txn_id)), 0);
    const refunded = approved('REF').reduce((sum, t) => sum + money(dec4(t.amount), 'payment_txn', Number(t.txn_id)), 0);
    const inclusive = total === subtotal - discount;
    // An amount that did not convert is the reason already; its zero would only make the sums look wrong too.
    const converted = problems.length === problemsBefore;
    if (converted && !inclusive && total !== subtotal - discount + tax) {
      problems.push({ reason: 'invoice-does-not-add-up', detail: `invoice ${h.inv_no}: total ${h.total_amt} is neither subtotal − discount nor that plus tax`, source });
    }
    const amountDue = total - giftCardApplied - creditApplied;
    if (converted && amountDue < 0) problems.push({ reason: 'invoice-does-not-add-up', detail: `invoice ${h.inv_no}: balances applied exceed its total`, source });
    if (status === 'void' && charged > 0) {
      problems.push({ reason: 'payment-on-void-invoice', detail: `invoice ${h.inv_no} is void but ${charged} was captured on it`, source: [...source, ...approved('CAP').map((t) => ({ table: 'payment_txn', key: Number(t.txn_id) }))] });
    }
    if (status === 'paid' && refunded > 0) status = refunded >= charged ? 'refunded' : 'partially_refunded';

    const details = detailsOf.get(invId) ?? [];
    const planOf = (code: string | null): string | undefined => (code ? ctx.plans.get(code) : undefined);
    const detailAmounts = details.map((d) => [money(dec4(d.amount), 'invoice_detail', Number(d.inv_det_id)), money(dec4(d.discount_amt), 'invoice_detail', Number(d.inv_det_id))] as const);
    const addsUp = details.length > 0 && detailAmounts.reduce((s, [a]) => s + a, 0) === subtotal && detailAmounts.reduce((s, [, d]) => s + d, 0) === discount;
    const mainPlanCode = details.find((d) => d.plan_cd)?.plan_cd ?? m.subscriptions[0]?.plan_cd ?? null;
    const subscriptionId = (mainPlanCode && subOfPlan.get(mainPlanCode)) || fallbackSub;
    const periodStart = legacyDate(h.period_from_dt)!;
    const periodEnd = legacyDate(h.period_to_dt)!;
    const ratePpm = subtotal - discount - (inclusive ? tax : 0) > 0 ? proportion(tax, 1_000_000, subtotal - discount - (inclusive ? tax : 0)) : 0;
    const line = (lineNo: number, description: string, planCode: string | null, amount: number, lineDiscount: number, lineTax: number): InvoiceLine | null => {
      const planId = planOf(planCode) ?? planOf(mainPlanCode);
      if (!planId) {
        problems.push({ reason: 'unmapped-plan', detail: `invoice ${h.inv_no} bills plan code ${planCode ?? '(none)'}, which has no mapping`, source });
        return null;
      }
      const afterDiscount = amount - lineDiscount;
      return {
        lineNo, kind: 'plan', description: description.slice(0, 200), planId, periodStart, periodEnd, amount, discount: lineDiscount,
        net: inclusive ? afterDiscount - lineTax : afterDiscount, tax: lineTax, total: inclusive ? afterDiscount : afterDiscount + lineTax,
        taxRatePpm: ratePpm, taxName: 'tax as billed by the legacy',
      };
    };
    let lines: (InvoiceLine | null)[];
    if (addsUp) {
      // The legacy taxed the invoice total: its tax is spread over the lines in proportion, so the lines add up to the header.
      const taxes = allocate(tax, detailAmounts.map(([a, d]) => Math.max(0, a - d)));
      lines = details.map((d, i) => line(i + 1, d.descr ?? `${d.plan_cd ?? 'plan'} ${periodStart} to ${periodEnd}`, d.plan_cd, detailAmounts[i]![0], detailAmounts[i]![1], taxes[i]!));
    } else {
      out.repaired++;
      const why = details.length ? 'its detail lines do not add up to it' : 'it has no detail lines';
      lines = [line(1, `as billed by the legacy (invoice ${h.inv_no}; ${why})`, mainPlanCode, subtotal, discount, tax)];
    }
    const declined = captures.filter((t) => t.resp_cd !== '00');
    const open = status === 'open' || status === 'past_due';
    const invoice: Invoice = {
      id: `${member.id}#${number}`, memberId: member.id, number, subscriptionId, kind: 'renewal', key: `legacy-inv:${invId}`,
      country: member.country, region: member.region, currency, periodStart, periodEnd, issuedOn,
      subtotal, discount, tax, total, giftCardApplied, creditApplied, amountDue, charged, refunded, status,
      attemptCount: captures.length, firstFailedOn: declined[0] ? legacyInstantDate(declined[0].txn_dt, timezone) : null,
      // Tally's collection takes over the dunning of what is still open, from the migration day.
      nextAttemptOn: open ? ctx.asOf : null,
      lines: lines.filter((l): l is InvoiceLine => l !== null),
    };
    out.invoices.push(invoice);
    if (open) out.openReceivable += Math.max(0, amountDue - charged);
    captures.forEach((t, i) => {
      const ok = t.resp_cd === '00';
      const on = legacyInstantDate(t.txn_dt, timezone);
      const amount = money(dec4(t.amount), 'payment_txn', Number(t.txn_id));
      const reference = t.ref_no ?? legacyTxnId(t.txn_id);
      out.attempts.push({ idem_key: legacyTxnId(t.txn_id), invoice_id: invoice.id, member_id: member.id, attempt_no: i + 1, amount, currency, status: ok ? 'succeeded' : 'declined', decline_code: ok ? null : String(t.resp_cd), attempted_on: on, reference: ok ? reference : null });
      if (ok) out.payments.push({ id: legacyTxnId(t.txn_id), invoice_id: invoice.id, member_id: member.id, amount, currency, reference, paid_on: on });
    });
    for (const t of approved('REF')) {
      const amount = money(dec4(t.amount), 'payment_txn', Number(t.txn_id));
      out.refunds.push({ id: legacyTxnId(t.txn_id), invoice_id: invoice.id, member_id: member.id, amount, tax: proportion(amount, tax, total), currency, reason: 'refunded in the legacy system', refunded_on: legacyInstantDate(t.txn_dt, timezone), reference: t.ref_no ?? legacyTxnId(t.txn_id), status: 'succeeded' });
    }
    for (const t of approved('CHB')) {
      out.chargebacks.push({ id: legacyTxnId(t.txn_id), invoice_id: invoice.id, member_id: member.id, amount: money(dec4(t.amount), 'payment_txn', Number(t.txn_id)), fee: 0, currency, received_on: legacyInstantDate(t.txn_dt, timezone) });
    }
  });

  for (const g of m.giftCards) {
    if (g.currency_cd !== currency) {
      problems.push({ reason: 'currency-mismatch', detail: `gift card ${g.gc_code} is in ${g.currency_cd}, the member is billed in ${currency}`, source: [{ table: 'gift_card', key: Number(g.gc_id) }] });
      continue;
    }
    out.giftCards.push({
      code: g.gc_code, amount: money(dec4(g.orig_amt), 'gift_card', Number(g.gc_id)), currency, sold_on: legacyInstantDate(g.sold_dt, timezone),
      member_id: member.id, redeemed_on: g.redeemed_dt ? legacyInstantDate(g.redeemed_dt, timezone) : null,
    });
  }
  for (const memo of m.creditMemos) {
    out.credits.push({ id: `legacy-memo:${memo.memo_id}`, member_id: member.id, amount: money(dec4(memo.amount), 'credit_memo', Number(memo.memo_id)), currency, reason: memo.reason_txt ?? 'credit memo from the legacy system', granted_on: legacyInstantDate(memo.issued_dt, timezone) });
  }
  return problems.length ? { quarantine: distinctReasons(problems) } : { history: out };
}
