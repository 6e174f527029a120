import { dec4, formatDec4, type LegacySchema } from '../../legacy/index.ts';
import type { LegacyMember } from '../sources/legacy-source.ts';

type Row<T extends keyof LegacySchema> = LegacySchema[T];

/**
 * A legacy member as it was at the start of day D (00:00 on the legacy's Los Angeles clock),
 * before that night's run-day and whatever the member API wrote since: what shadow billing
 * migrates, so Tally bills the same members for D that the legacy billed. A pure function
 * over the member's rows (tested on hand-written rows). Everything the legacy did on or after
 * D is undone, newest first:
 *
 * - an invoice issued on/after D goes, with its lines, payments and gift-card applications;
 *   the credit it took goes back to its memos (newest memo first: only the total each invoice
 *   took is recorded); its subscription gets back its next bill date and paid-through date
 *   (the invoice's period start; none for its first invoice), its status (active; in trial when
 *   no invoice ended where this one begins and it did not start that day), its account off hold (a hard decline put it there), and a promotion cycle
 *   when it was discounted;
 * - a retry of an older invoice on/after D (its payment rows) goes: the invoice is failed in
 *   retry again and its subscription past due;
 * - history on/after D is undone and dropped: the night's cancellation at period end (CNCL:
 *   live again, due on its paid-through date), a plan change (CHG: the old plan), a
 *   cancellation request or its withdrawal (CREQ / CWDR), a resumption (RSUM: on hold);
 * - gift cards redeemed, credit memos issued and subscriptions started on/after D go.
 * A customer created on/after D did not exist: null.
 *
 * Not undone (the legacy keeps no trace of what was before): a price override a plan change
 * ended, a card a replacement marked replaced, the invoice a memo partly used before D went to
 * (its applied_inv_id is cleared; its open amount is exact).
 */
export function rewindLegacyMember(m: LegacyMember, day: string): LegacyMember | null {
  const start = `${day} 00:00:00`;
  const onOrAfter = (ts: unknown) => ts !== null && ts !== undefined && String(ts) >= start;
  if (onOrAfter(m.customer.created_dt)) return null;

  const subs = m.subscriptions.filter((s) => !onOrAfter(s.start_dt)).map((s) => ({ ...s }));
  const accounts = m.accounts.map((a) => ({ ...a }));
  const redemptions = m.redemptions.map((r) => ({ ...r }));
  const memos = m.creditMemos.filter((c) => !onOrAfter(c.issued_dt)).map((c) => ({ ...c }));
  const invoices = m.invoices.map((i) => ({ ...i }));
  const droppedInvoices = new Set(invoices.filter((i) => onOrAfter(i.inv_dt)).map((i) => Number(i.inv_id)));
  const droppedHistory = new Set(m.history.filter((h) => onOrAfter(h.event_dt)).map((h) => Number(h.sub_hist_id)));
  // Payment rows on/after D of invoices issued before D: the night's retries.
  const retried = new Map<number, Row<'payment_txn'>[]>();
  for (const t of m.payments) {
    if (!onOrAfter(t.txn_dt) || droppedInvoices.has(Number(t.inv_id))) continue;
    retried.set(Number(t.inv_id), [...(retried.get(Number(t.inv_id)) ?? []), t]);
  }

  const date = (ts: unknown) => (ts === null || ts === undefined ? null : String(ts).slice(0, 10));
  const subOfInvoice = (inv: Row<'invoice_header'>) => {
    const plans = new Set(m.details.filter((d) => Number(d.inv_id) === Number(inv.inv_id)).map((d) => d.plan_cd));
    const same = subs.filter((s) => Number(s.acct_id) === Number(inv.acct_id) && plans.has(s.plan_cd));
    const byPeriod = same.find((s) => date(s.next_bill_dt) === date(inv.period_to_dt) || date(s.paid_thru_dt) === date(inv.period_to_dt) || [2, 5].includes(Number(s.status_cd)));
    return byPeriod ?? same[0] ?? (subs.filter((s) => Number(s.acct_id) === Number(inv.acct_id)).length === 1 ? subs.find((s) => Number(s.acct_id) === Number(inv.acct_id)) : undefined);
  };

  // Everything to undo, newest first (the night at 03:00 and the member API's writes of the day interleave).
  type Undo = { at: string; order: number; undo: () => void };
  const undos: Undo[] = [];
  for (const inv of invoices.filter((i) => droppedInvoices.has(Number(i.inv_id)))) {
    undos.push({ at: String(inv.inv_dt), order: Number(inv.inv_id), undo: () => undoInvoice(inv) });
  }
  for (const [invId, txns] of retried) {
    const inv = invoices.find((i) => Number(i.inv_id) === invId);
    if (inv) undos.push({ at: txns.map((t) => String(t.txn_dt)).sort()[0]!, order: invId, undo: () => undoRetry(inv, txns) });
  }
  for (const h of m.history.filter((x) => droppedHistory.has(Number(x.sub_hist_id)))) {
    undos.push({ at: String(h.event_dt), order: Number(h.sub_hist_id), undo: () => undoHistory(h) });
  }
  undos.sort((a, b) => (a.at === b.at ? b.order - a.order : a.at < b.at ? 1 : -1));
  for (const u of undos) u.undo();

  function undoInvoice(inv: Row<'invoice_header'>): void {
    const sub = subOfInvoice(inv);
    if (sub) {
      const from = String(inv.period_from_dt);
      // A paying member's period begins where the last invoiced one ended; a subscription's first
      // follows none (it was paid through nothing: a trial ending, or a sign-up without one).
      const followsAPeriod = invoices.some((i) => !droppedInvoices.has(Number(i.inv_id)) && Number(i.acct_id) === Number(inv.acct_id) && date(i.period_to_dt) === date(from));
      if (date(sub.paid_thru_dt) === date(inv.period_to_dt)) sub.paid_thru_dt = followsAPeriod ? from : null;
      sub.next_bill_dt = from;
      sub.status_cd = followsAPeriod || date(sub.start_dt) === date(from) ? 1 : 4;
      if (dec4(inv.discount_amt) > 0n) giveBackPromotionCycle(Number(sub.sub_id));
    }
    if (String(inv.status_cd) === 'U') {
      const account = accounts.find((a) => Number(a.acct_id) === Number(inv.acct_id));
      if (account?.status_cd === 'H') account.status_cd = 'A';
    }
    // The credit it took, back to the memos it was taken from (the newest first).
    let credit = dec4(inv.credit_applied_amt);
    for (const memo of memos.filter((c) => Number(c.applied_inv_id) === Number(inv.inv_id)).sort((a, b) => Number(b.memo_id) - Number(a.memo_id))) {
      const applied = dec4(memo.applied_amt);
      const back = applied < credit ? applied : credit;
      memo.applied_amt = formatDec4(applied - back);
      credit -= back;
      // The invoice a memo's earlier use went to is not recorded: never left pointing at an invoice that goes.
      memo.applied_inv_id = null;
    }
  }

  function undoRetry(inv: Row<'invoice_header'>, txns: Row<'payment_txn'>[]): void {
    if (!txns.some((t) => t.txn_type === 'CAP') || !['P', 'U'].includes(String(inv.status_cd))) return;
    const wasPaid = String(inv.status_cd) === 'P';
    inv.status_cd = 'F';
    const plans = new Set(m.details.filter((d) => Number(d.inv_id) === Number(inv.inv_id)).map((d) => d.plan_cd));
    const candidates = subs.filter((s) => Number(s.acct_id) === Number(inv.acct_id) && (wasPaid ? Number(s.status_cd) === 1 && date(s.next_bill_dt) === date(inv.period_to_dt) : Number(s.status_cd) === 2));
    const sub = candidates.find((s) => plans.has(s.plan_cd)) ?? candidates[0];
    if (sub) {
      sub.status_cd = 5;
      sub.next_bill_dt = null;
      if (date(sub.paid_thru_dt) === date(inv.period_to_dt)) sub.paid_thru_dt = String(inv.period_from_dt);
    }
  }

  function undoHistory(h: Row<'subscription_history'>): void {
    const sub = subs.find((s) => Number(s.sub_id) === Number(h.sub_id));
    if (!sub) return;
    if (h.event_cd === 'CNCL' && Number(sub.status_cd) === 3) {
      sub.status_cd = 1;
      sub.next_bill_dt = sub.paid_thru_dt ?? start;
    } else if (h.event_cd === 'CHG' && h.old_plan_cd) sub.plan_cd = h.old_plan_cd;
    else if (h.event_cd === 'CREQ') sub.cancel_eop_flg = 'N';
    else if (h.event_cd === 'CWDR') sub.cancel_eop_flg = 'Y';
    else if (h.event_cd === 'RSUM' && Number(sub.status_cd) === 1) sub.status_cd = 2;
  }

  /**
   * The night took a cycle from the subscription's first redemption with cycles left: the
   * first with cycles left now, or, when it took the last one, the latest with none (a
   * subscription runs one promotion at a time).
   */
  function giveBackPromotionCycle(subId: number): void {
    const mine = redemptions.filter((r) => Number(r.sub_id) === subId).sort((a, b) => Number(a.redemption_id) - Number(b.redemption_id));
    const running = mine.find((r) => Number(r.cycles_left) > 0);
    const used = running ?? mine.filter((r) => r.redeemed_yyyymmdd <= day.replaceAll('-', '')).at(-1);
    if (used) used.cycles_left = Number(used.cycles_left) + 1;
  }

  const keptInvoice = (id: unknown) => !droppedInvoices.has(Number(id));
  const droppedCards = new Set(m.giftCards.filter((g) => onOrAfter(g.redeemed_dt)).map((g) => Number(g.gc_id)));
  return {
    ...m,
    accounts,
    subscriptions: subs,
    history: m.history.filter((h) => !droppedHistory.has(Number(h.sub_hist_id))),
    redemptions,
    invoices: invoices.filter((i) => keptInvoice(i.inv_id)),
    details: m.details.filter((d) => keptInvoice(d.inv_id)),
    payments: m.payments.filter((t) => keptInvoice(t.inv_id) && !onOrAfter(t.txn_dt)),
    giftCards: m.giftCards.filter((g) => !droppedCards.has(Number(g.gc_id))),
    giftCardTxns: m.giftCardTxns.filter((t) => !onOrAfter(t.txn_dt) && (t.inv_id === null || keptInvoice(t.inv_id)) && !droppedCards.has(Number(t.gc_id))),
    creditMemos: memos,
  };
}
