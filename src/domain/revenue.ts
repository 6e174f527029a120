import type { IsoDate } from './calendar.ts';
import type { Account, JournalKind } from './journal.ts';

/** Journal totals for one business day, grouped by country, currency, kind and account. */
export interface JournalTotal {
  country: string;
  currency: string;
  kind: JournalKind;
  account: Account;
  debit: number;
  credit: number;
}

export interface RevenueLine {
  country: string;
  currency: string;
  billed: number;
  tax: number;
  collected: number;
  refunded: number;
  chargebacks: number;
  chargebackFees: number;
  giftCardsSold: number;
  giftCardsRedeemed: number;
  creditsGranted: number;
  creditsUsed: number;
  writtenOff: number;
}

export interface CurrencyBalance {
  currency: string;
  debit: number;
  credit: number;
  balanced: boolean;
}

export interface RevenueReport {
  businessDate: IsoDate;
  lines: RevenueLine[];
  balances: CurrencyBalance[];
  balanced: boolean;
}

type Figure = Exclude<keyof RevenueLine, 'country' | 'currency'>;

/** Each report figure is one side of one account for one kind of journal entry; the mapping is the whole definition of the report. */
const figures: [Figure, JournalKind, Account, 'debit' | 'credit', 1 | -1][] = [
  ['billed', 'invoice_issued', 'receivable', 'debit', 1],
  ['tax', 'invoice_issued', 'tax_payable', 'credit', 1],
  ['collected', 'payment', 'cash', 'debit', 1],
  ['refunded', 'refund', 'cash', 'credit', 1],
  ['chargebacks', 'chargeback', 'cash', 'credit', 1],
  ['chargebackFees', 'chargeback_fee', 'cash', 'credit', 1],
  ['giftCardsSold', 'gift_card_sold', 'cash', 'debit', 1],
  ['giftCardsRedeemed', 'gift_card_applied', 'gift_card_liability', 'debit', 1],
  ['creditsGranted', 'credit_granted', 'credit_liability', 'credit', 1],
  ['creditsUsed', 'credit_applied', 'credit_liability', 'debit', 1],
  ['writtenOff', 'write_off', 'bad_debt', 'debit', 1],
  ['writtenOff', 'write_off_reversed', 'bad_debt', 'credit', -1],
];

function emptyLine(country: string, currency: string): RevenueLine {
  return {
    country, currency, billed: 0, tax: 0, collected: 0, refunded: 0, chargebacks: 0, chargebackFees: 0,
    giftCardsSold: 0, giftCardsRedeemed: 0, creditsGranted: 0, creditsUsed: 0, writtenOff: 0,
  };
}

export function revenueReport(businessDate: IsoDate, totals: JournalTotal[]): RevenueReport {
  const lines = new Map<string, RevenueLine>();
  const balances = new Map<string, CurrencyBalance>();
  for (const t of totals) {
    const key = `${t.country}\u0000${t.currency}`;
    let line = lines.get(key);
    if (!line) lines.set(key, (line = emptyLine(t.country, t.currency)));
    for (const [figure, kind, account, side, sign] of figures) {
      if (t.kind === kind && t.account === account) line[figure] += sign * t[side];
    }
    let bal = balances.get(t.currency);
    if (!bal) balances.set(t.currency, (bal = { currency: t.currency, debit: 0, credit: 0, balanced: true }));
    bal.debit += t.debit;
    bal.credit += t.credit;
  }
  const balanceList = [...balances.values()]
    .map((b) => ({ ...b, balanced: b.debit === b.credit }))
    .sort((a, b) => a.currency.localeCompare(b.currency));
  return {
    businessDate,
    lines: [...lines.values()].sort((a, b) => a.country.localeCompare(b.country) || a.currency.localeCompare(b.currency)),
    balances: balanceList,
    balanced: balanceList.every((b) => b.balanced),
  };
}

const csvColumns: (keyof RevenueLine)[] = [
  'country', 'currency', 'billed', 'tax', 'collected', 'refunded', 'chargebacks', 'chargebackFees',
  'giftCardsSold', 'giftCardsRedeemed', 'creditsGranted', 'creditsUsed', 'writtenOff',
];

/** Amounts stay in integer minor units in CSV too, so a spreadsheet never rounds them. */
export function revenueCsv(report: RevenueReport): string {
  const rows = [['businessDate', ...csvColumns].join(',')];
  for (const line of report.lines) rows.push([report.businessDate, ...csvColumns.map((c) => String(line[c]))].join(','));
  return rows.join('\n') + '\n';
}
