import type { IsoDate } from './calendar.ts';
import type { Product } from './catalog.ts';
import { InvalidInput } from './errors.ts';
import { event, type DomainEvent } from './events.ts';
import type { Member } from './member.ts';
import type { TaxEngine } from './tax/index.ts';

export type InvoiceStatus =
  | 'open'
  | 'paid'
  | 'past_due'
  | 'uncollectible'
  | 'void'
  | 'refunded'
  | 'partially_refunded'
  | 'disputed';

export type InvoiceKind = 'renewal' | 'proration';

export interface InvoiceLine {
  lineNo: number;
  kind: 'plan' | 'proration';
  description: string;
  planId: string;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  /** List price of the line (gross in tax-inclusive countries, net otherwise). */
  amount: number;
  discount: number;
  net: number;
  tax: number;
  total: number;
  taxRatePpm: number;
  taxName: string;
}

export interface Invoice {
  id: string;
  memberId: string;
  number: number;
  subscriptionId: string;
  kind: InvoiceKind;
  /** Idempotency key of the charge this invoice bills: one invoice per subscription per period, whatever re-runs happen. */
  key: string;
  country: string;
  region: string | null;
  currency: string;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  issuedOn: IsoDate;
  subtotal: number;
  discount: number;
  tax: number;
  total: number;
  giftCardApplied: number;
  creditApplied: number;
  /** What the payment method must cover: total less balances. */
  amountDue: number;
  charged: number;
  refunded: number;
  status: InvoiceStatus;
  attemptCount: number;
  firstFailedOn: IsoDate | null;
  nextAttemptOn: IsoDate | null;
  /**
   * The catalog version whose prices billed this invoice (0: the built-in catalog); null or
   * absent when unknown — issued before catalog versions existed, or carried over from
   * another billing system. With it, an invoice is explained by the catalog of its day even
   * after later versions change the prices.
   */
  catalogVersion?: number | null;
  lines: InvoiceLine[];
}

export interface LineInput {
  kind: 'plan' | 'proration';
  description: string;
  planId: string;
  product: Product;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  amount: number;
  discount: number;
}

export interface IssuedInvoice {
  invoice: Invoice;
  member: Member;
  events: DomainEvent[];
}

/**
 * Price the lines (tax per line, discounts before tax), then cover the total
 * from the member's balances — gift card first, then service credits — and
 * leave the rest for the payment method.
 */
export function issueInvoice(
  member: Member,
  args: { subscriptionId: string; kind: InvoiceKind; key: string; periodStart: IsoDate; periodEnd: IsoDate; issuedOn: IsoDate; lines: LineInput[]; catalogVersion?: number },
  tax: TaxEngine,
): IssuedInvoice {
  const quotes = tax.quote({
    location: { country: member.country, region: member.region },
    date: args.issuedOn,
    lines: args.lines.map((l) => ({ amount: l.amount - l.discount, product: l.product })),
  });
  const lines: InvoiceLine[] = args.lines.map((l, i) => {
    const q = quotes[i]!;
    return {
      lineNo: i + 1,
      kind: l.kind,
      description: l.description,
      planId: l.planId,
      periodStart: l.periodStart,
      periodEnd: l.periodEnd,
      amount: l.amount,
      discount: l.discount,
      net: q.net,
      tax: q.tax,
      total: q.gross,
      taxRatePpm: q.ratePpm,
      taxName: q.name,
    };
  });
  let subtotal = 0;
  let discount = 0;
  let taxTotal = 0;
  let total = 0;
  for (const l of lines) {
    subtotal += l.amount;
    discount += l.discount;
    taxTotal += l.tax;
    total += l.total;
  }
  const giftCardApplied = Math.min(member.giftCardBalance, total);
  const creditApplied = Math.min(member.creditBalance, total - giftCardApplied);
  const amountDue = total - giftCardApplied - creditApplied;
  const number = member.invoiceCount + 1;
  const invoice: Invoice = {
    id: `${member.id}#${number}`,
    memberId: member.id,
    number,
    subscriptionId: args.subscriptionId,
    kind: args.kind,
    key: args.key,
    country: member.country,
    region: member.region,
    currency: member.currency,
    periodStart: args.periodStart,
    periodEnd: args.periodEnd,
    issuedOn: args.issuedOn,
    subtotal,
    discount,
    tax: taxTotal,
    total,
    giftCardApplied,
    creditApplied,
    amountDue,
    charged: 0,
    refunded: 0,
    // Nothing left to charge: settled by balances at issue.
    status: amountDue === 0 ? 'paid' : 'open',
    attemptCount: 0,
    firstFailedOn: null,
    nextAttemptOn: amountDue === 0 ? null : args.issuedOn,
    catalogVersion: args.catalogVersion ?? null,
    lines,
  };
  const events = [
    event('invoice.issued', member.id, args.issuedOn, invoice.key, {
      invoice: invoice.id, number, currency: invoice.currency, total, tax: taxTotal, amountDue,
    }),
  ];
  if (amountDue === 0) events.push(event('invoice.paid', member.id, args.issuedOn, invoice.key, { invoice: invoice.id, charged: 0 }));
  return {
    invoice,
    member: {
      ...member,
      invoiceCount: number,
      giftCardBalance: member.giftCardBalance - giftCardApplied,
      creditBalance: member.creditBalance - creditApplied,
    },
    events,
  };
}

/** The invoice lifecycle: which moves are legal from which status. */
const transitions: Record<InvoiceStatus, readonly InvoiceStatus[]> = {
  open: ['paid', 'past_due', 'void'],
  past_due: ['paid', 'past_due', 'uncollectible', 'void'],
  uncollectible: ['paid', 'void'],
  paid: ['refunded', 'partially_refunded', 'disputed'],
  partially_refunded: ['refunded', 'partially_refunded', 'disputed'],
  refunded: [],
  disputed: [],
  void: [],
};

export function canMove(from: InvoiceStatus, to: InvoiceStatus): boolean {
  return transitions[from].includes(to);
}

export function moveInvoice(invoice: Invoice, to: InvoiceStatus): Invoice {
  if (!canMove(invoice.status, to)) {
    throw new InvalidInput('invoice', `invoice ${invoice.number} of member "${invoice.memberId}" cannot go from ${invoice.status} to ${to}`);
  }
  return { ...invoice, status: to };
}

export function balanceApplied(invoice: Pick<Invoice, 'giftCardApplied' | 'creditApplied'>): number {
  return invoice.giftCardApplied + invoice.creditApplied;
}
