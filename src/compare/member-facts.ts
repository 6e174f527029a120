import type { Difference } from './report-format.ts';

/**
 * What the comparator checks of one member, the same shape from either side: derived from
 * the source's tables by the source's own path (never by the migration's transform, whose
 * bugs would then be invisible), and read from Tally's store. Amounts are integer minor
 * units of the member's currency (a source amount a currency cannot hold exactly stays a
 * decimal text, and differs); dates are ISO calendar dates.
 */
export interface SubscriptionFacts {
  plan: string;
  status: string;
  /** The date the member has paid or been billed through: the next billing date (null once cancelled). */
  paidThrough: string | null;
  cancelAtPeriodEnd: boolean;
  /** Billing cycles left on a running promotion (null: none). */
  discountCyclesLeft: number | null;
}

export interface MemberFacts {
  member: string;
  email: string | null;
  currency: string;
  timezone: string;
  paymentToken: string | null;
  giftCardBalance: number | string;
  creditBalance: number | string;
  /** Every invoice the member was ever issued, in the window or not: Tally numbers on from it. */
  invoicesAll: number;
  /** Invoices in the migrated window (or still open), and their totals. */
  invoices: number;
  invoicesTotal: number | string;
  invoicesTax: number | string;
  /**
   * Invoices in the window whose detail lines are missing or do not add up to the header (a
   * legacy wart): the migration carries the header's amounts on one line that says so. A detail
   * changed behind the migration's back shows here.
   */
  invoicesRepaired: number;
  /** Of those: voided, and still to be paid (open, in retry, uncollectible). */
  invoicesVoid: number;
  invoicesUnpaid: number;
  /** The day the latest of them was issued, in the member's time zone. */
  lastIssuedOn: string | null;
  payments: number;
  paymentsAmount: number | string;
  declines: number;
  refunds: number;
  refundsAmount: number | string;
  chargebacks: number;
  chargebacksAmount: number | string;
  subscriptions: SubscriptionFacts[];
}

type Scalar = string | number | boolean | null;

/** The fields compared, by the name a report and a rule use. */
export const memberFields: Record<string, (f: MemberFacts) => Scalar> = {
  email: (f) => f.email,
  currency: (f) => f.currency,
  timezone: (f) => f.timezone,
  payment_token: (f) => f.paymentToken,
  gift_card_balance: (f) => f.giftCardBalance,
  credit_balance: (f) => f.creditBalance,
  'invoices.count_all': (f) => f.invoicesAll,
  'invoices.count': (f) => f.invoices,
  'invoices.total': (f) => f.invoicesTotal,
  'invoices.tax': (f) => f.invoicesTax,
  'invoices.repaired': (f) => f.invoicesRepaired,
  'invoices.void': (f) => f.invoicesVoid,
  'invoices.unpaid': (f) => f.invoicesUnpaid,
  'invoices.last_issued_on': (f) => f.lastIssuedOn,
  'payments.count': (f) => f.payments,
  'payments.amount': (f) => f.paymentsAmount,
  'payments.declined': (f) => f.declines,
  'refunds.count': (f) => f.refunds,
  'refunds.amount': (f) => f.refundsAmount,
  'chargebacks.count': (f) => f.chargebacks,
  'chargebacks.amount': (f) => f.chargebacksAmount,
  'subscriptions.count': (f) => f.subscriptions.length,
};

const subscriptionFields: Record<string, (s: SubscriptionFacts) => Scalar> = {
  plan: (s) => s.plan,
  status: (s) => s.status,
  paid_through: (s) => s.paidThrough,
  cancel_at_period_end: (s) => s.cancelAtPeriodEnd,
  discount_cycles_left: (s) => s.discountCyclesLeft,
};

export type FieldDifference = Pick<Difference, 'field' | 'source_value' | 'tally_value'> & { field: string };

/**
 * Field by field, in a fixed order: the member's fields, then each subscription's (in the
 * source's order, `subscriptions.1.plan`, …). Values are given as JSON text so a report keeps
 * their type (`"2026-12-01"` against `null`, `1999` against `"19.995"`).
 */
export function diffMember(source: MemberFacts, tally: MemberFacts): FieldDifference[] {
  const out: FieldDifference[] = [];
  const add = (field: string, a: Scalar, b: Scalar) => {
    if (a !== b) out.push({ field, source_value: JSON.stringify(a), tally_value: JSON.stringify(b) });
  };
  for (const [field, read] of Object.entries(memberFields)) add(field, read(source), read(tally));
  const n = Math.max(source.subscriptions.length, tally.subscriptions.length);
  for (let i = 0; i < n; i++) {
    const a = source.subscriptions[i];
    const b = tally.subscriptions[i];
    for (const [field, read] of Object.entries(subscriptionFields)) add(`subscriptions.${i + 1}.${field}`, a ? read(a) : null, b ? read(b) : null);
  }
  return out;
}
