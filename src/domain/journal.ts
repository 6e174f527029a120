import type { IsoDate } from './calendar.ts';
import type { Invoice } from './invoice.ts';

export type Account =
  | 'cash'
  | 'receivable'
  | 'revenue'
  | 'tax_payable'
  | 'gift_card_liability'
  | 'credit_liability'
  | 'service_credit_expense'
  | 'refunds'
  | 'chargebacks'
  | 'chargeback_fees'
  | 'bad_debt'
  /** The other side of balances a member brought from the system it was migrated from. */
  | 'opening_balance';

export type JournalKind =
  | 'invoice_issued'
  | 'gift_card_applied'
  | 'credit_applied'
  | 'payment'
  | 'write_off'
  | 'write_off_reversed'
  | 'refund'
  | 'chargeback'
  | 'chargeback_fee'
  | 'gift_card_sold'
  | 'credit_granted'
  | 'migration_opening';

/** One side of a double entry. Every entry's lines balance: Σ debit = Σ credit. */
export interface JournalLine {
  entryKey: string;
  businessDate: IsoDate;
  memberId: string;
  country: string;
  currency: string;
  kind: JournalKind;
  account: Account;
  debit: number;
  credit: number;
}

interface Party {
  memberId: string;
  country: string;
  currency: string;
}

function entry(party: Party, entryKey: string, businessDate: IsoDate, kind: JournalKind, legs: [Account, number, number][]): JournalLine[] {
  const lines: JournalLine[] = [];
  for (const [account, debit, credit] of legs) {
    if (debit === 0 && credit === 0) continue;
    lines.push({ entryKey, businessDate, memberId: party.memberId, country: party.country, currency: party.currency, kind, account, debit, credit });
  }
  return lines;
}

/**
 * Issuing an invoice books the receivable, revenue and tax; balances applied at issue settle part of it at once.
 * Keyed by the invoice's idempotency key, so an invoice issued twice for the same period is booked once.
 */
export function invoiceIssuedEntries(inv: Invoice, businessDate: IsoDate): JournalLine[] {
  return [
    ...entry(inv, `issue:${inv.key}`, businessDate, 'invoice_issued', [
      ['receivable', inv.total, 0],
      ['revenue', 0, inv.total - inv.tax],
      ['tax_payable', 0, inv.tax],
    ]),
    ...entry(inv, `giftcard:${inv.key}`, businessDate, 'gift_card_applied', [
      ['gift_card_liability', inv.giftCardApplied, 0],
      ['receivable', 0, inv.giftCardApplied],
    ]),
    ...entry(inv, `credit:${inv.key}`, businessDate, 'credit_applied', [
      ['credit_liability', inv.creditApplied, 0],
      ['receivable', 0, inv.creditApplied],
    ]),
  ];
}

export function paymentEntries(inv: Invoice, amount: number, businessDate: IsoDate, key: string): JournalLine[] {
  return entry(inv, `payment:${key}`, businessDate, 'payment', [['cash', amount, 0], ['receivable', 0, amount]]);
}

/** An uncollectible invoice is written off as bad debt; a later payment reverses that first. */
export function writeOffEntries(inv: Invoice, businessDate: IsoDate, reversed: boolean): JournalLine[] {
  const amount = inv.amountDue;
  return reversed
    ? entry(inv, `writeoff-reversed:${inv.id}`, businessDate, 'write_off_reversed', [['receivable', amount, 0], ['bad_debt', 0, amount]])
    : entry(inv, `writeoff:${inv.id}`, businessDate, 'write_off', [['bad_debt', amount, 0], ['receivable', 0, amount]]);
}

export function refundEntries(inv: Invoice, amount: number, tax: number, businessDate: IsoDate, refundId: string): JournalLine[] {
  return entry(inv, `refund:${refundId}`, businessDate, 'refund', [
    ['refunds', amount - tax, 0],
    ['tax_payable', tax, 0],
    ['cash', 0, amount],
  ]);
}

export function chargebackEntries(inv: Invoice, amount: number, fee: number, businessDate: IsoDate): JournalLine[] {
  return [
    ...entry(inv, `chargeback:${inv.id}`, businessDate, 'chargeback', [['chargebacks', amount, 0], ['cash', 0, amount]]),
    ...entry(inv, `chargeback-fee:${inv.id}`, businessDate, 'chargeback_fee', [['chargeback_fees', fee, 0], ['cash', 0, fee]]),
  ];
}

export function giftCardSoldEntries(party: Party, code: string, amount: number, businessDate: IsoDate): JournalLine[] {
  return entry(party, `giftcard-sold:${code}`, businessDate, 'gift_card_sold', [['cash', amount, 0], ['gift_card_liability', 0, amount]]);
}

export function creditGrantedEntries(party: Party, creditId: string, amount: number, businessDate: IsoDate): JournalLine[] {
  return entry(party, `credit-granted:${creditId}`, businessDate, 'credit_granted', [
    ['service_credit_expense', amount, 0],
    ['credit_liability', 0, amount],
  ]);
}

/** What a migrated member carries into Tally's books: liabilities owed to it and what it owes. */
export interface OpeningBalances {
  giftCard: number;
  credit: number;
  receivable: number;
}

export const noOpeningBalances: OpeningBalances = { giftCard: 0, credit: 0, receivable: 0 };

/**
 * The entry that brings a migrated member's opening balances from what is booked to
 * `target`: a first migration books them whole, a re-migration of a member changed at the
 * source books the difference, a clear books them back to zero. Never re-books legacy
 * revenue (the legacy's own books hold it): only the liabilities and the receivable Tally
 * carries on, against the opening-balance account, so every later payment, refund or use
 * of a balance books against them as if Tally had billed it.
 */
export function openingBalanceEntries(party: Party, entryKey: string, businessDate: IsoDate, target: OpeningBalances, booked: OpeningBalances): JournalLine[] {
  const gift = target.giftCard - booked.giftCard;
  const credit = target.credit - booked.credit;
  const receivable = target.receivable - booked.receivable;
  const pos = (n: number) => Math.max(0, n);
  // The opening-balance account takes the other side of all three, netted to one line.
  const other = gift + credit - receivable;
  return entry(party, entryKey, businessDate, 'migration_opening', [
    ['gift_card_liability', pos(-gift), pos(gift)],
    ['credit_liability', pos(-credit), pos(credit)],
    ['receivable', pos(receivable), pos(-receivable)],
    ['opening_balance', pos(other), pos(-other)],
  ]);
}

/** The opening balances booked so far, from a member's `migration_opening` lines. */
export function bookedOpeningBalances(lines: readonly Pick<JournalLine, 'account' | 'debit' | 'credit'>[]): OpeningBalances {
  const out = { ...noOpeningBalances };
  for (const l of lines) {
    if (l.account === 'gift_card_liability') out.giftCard += l.credit - l.debit;
    else if (l.account === 'credit_liability') out.credit += l.credit - l.debit;
    else if (l.account === 'receivable') out.receivable += l.debit - l.credit;
  }
  return out;
}
