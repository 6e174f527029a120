import { Temporal } from 'temporal-polyfill';
import type { IsoDate } from '../../domain/calendar.ts';
import type { Invoice, InvoiceStatus } from '../../domain/invoice.ts';
import type { Discount, Member, Subscription, SubscriptionStatus } from '../../domain/member.ts';
import { currencyExponent } from '../../domain/money.ts';
import { formatDec4, type Dec4, type LegacySchema } from '../../legacy/index.ts';
import type { ChargebackRow, PaymentAttemptRow, RefundRow } from '../../store/schema.ts';
import type { PlanMapping } from '../plan-mapping.ts';
import { legacyClockZone } from '../transform/legacy-time.ts';

/**
 * Tally → legacy: the inverse of the migration's transform (transform/legacy-member.ts,
 * legacy-history.ts), as pure functions from Tally's rows to the legacy's column values,
 * tested on hand-computed values. The writer (legacy-writer.ts) reads both sides, calls
 * these, and writes what they return; keys (the legacy's max+1 ids) are the writer's.
 *
 * Written down once here:
 * - money: integer minor units → DECIMAL(12,4) major units, exactly (never rounded: a
 *   currency with more than four decimals, or an amount the column cannot hold, is refused);
 * - dates: a date-valued column (period bounds, paid-through, next bill, start) is the
 *   calendar date at midnight, as the transform reads it back (legacyDate: no conversion);
 *   an instant (issued, paid, refunded, redeemed, a history row) is noon of Tally's date in
 *   the member's zone, written on the data centre's wall clock (Los Angeles), so the
 *   transform's and the comparator's legacyInstantDate give back exactly Tally's date in
 *   every zone from UTC−12 to UTC+14 (noon is at least ten hours from either midnight);
 * - plans: each Tally plan back to the legacy's current code for it (not an obsolete 2010
 *   code), except that a subscription already on a code of that plan keeps its code (a
 *   member on a 2010 plan is not moved off it by a sync).
 */

/** A Tally change the legacy cannot take as it is: parked in the dead-letter queue with this reason. */
export class LegacyRefusal extends Error {
  override name = 'LegacyRefusal';
}

export type LocalTimestamp = string;

/** The legacy's subscription status numbers and invoice letters (its status_code table). */
export const legacySubscriptionStatus: Record<SubscriptionStatus, number> = { active: 1, on_hold: 2, cancelled: 3, trial: 4, past_due: 5 };
/**
 * The legacy has no partially-refunded or disputed invoice: it keeps such an invoice paid and
 * records the refund or chargeback as a transaction (as the migration reads it back: P with an
 * approved REF is partially refunded, any approved CHB is disputed). A full refund is R.
 */
export const legacyInvoiceStatus: Record<InvoiceStatus, string> = {
  open: 'O', paid: 'P', past_due: 'F', uncollectible: 'U', void: 'V', refunded: 'R', partially_refunded: 'P', disputed: 'P',
};

/** The legacy's DECIMAL(12,4): at most 99,999,999.9999. */
const maxDecimal = 10n ** 12n - 1n;

/** Minor units → the legacy's ten-thousandths of the major unit, exactly. */
export function legacyDec4(minor: number, currency: string): Dec4 {
  const exponent = currencyExponent(currency);
  if (!Number.isSafeInteger(minor)) throw new LegacyRefusal(`${minor} is not a whole number of minor units of ${currency}`);
  if (exponent > 4) throw new LegacyRefusal(`${currency} has ${exponent} decimals; the legacy's amounts hold four`);
  const v = BigInt(minor) * 10n ** BigInt(4 - exponent);
  if (v > maxDecimal || v < -maxDecimal) throw new LegacyRefusal(`${minor} minor units of ${currency} is more than the legacy's DECIMAL(12,4) holds`);
  return v;
}

/** Minor units → the legacy's decimal text, e.g. 1099 EUR → '10.9900', 1200 JPY → '1200.0000', 2500 KWD → '2.5000'. */
export function legacyAmount(minor: number, currency: string): string {
  return formatDec4(legacyDec4(minor, currency));
}

/** A date-valued column: the calendar date at midnight, as the legacy keeps dates. */
export function legacyDay(date: IsoDate): LocalTimestamp {
  return `${date} 00:00:00`;
}

/** Noon of `date` in `zone`, on the Los Angeles wall clock the legacy writes every timestamp in. */
export function legacyStamp(date: IsoDate, zone: string): LocalTimestamp {
  const at = Temporal.PlainDate.from(date).toPlainDateTime({ hour: 12 }).toZonedDateTime(zone).withTimeZone(legacyClockZone).toPlainDateTime();
  return at.toString({ smallestUnit: 'second' }).replace('T', ' ');
}

/** An instant on the Los Angeles wall clock: when a row was last touched (the legacy's updated_dt). */
export function legacyWallClock(ms: number): LocalTimestamp {
  return Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(legacyClockZone).toPlainDateTime().toString({ smallestUnit: 'second' }).replace('T', ' ');
}

/**
 * The plan mapping inverted: Tally plan → legacy plan code. Among the codes mapped to a
 * plan, the current one (not obsolete) wins, the mapping's order breaking ties; a code the
 * legacy does not know is never chosen. `keep` is the subscription's code now: kept when it
 * already means the plan.
 */
export function legacyPlanCodes(mapping: PlanMapping, plans: readonly Pick<LegacySchema['plan_code'], 'plan_cd' | 'obsolete_flg'>[]): (planId: string, keep?: string | null) => string {
  const known = new Map(plans.map((p) => [p.plan_cd, p.obsolete_flg === 'Y']));
  const best = new Map<string, { code: string; obsolete: boolean }>();
  for (const [code, planId] of mapping) {
    const obsolete = known.get(code);
    if (obsolete === undefined) continue;
    const seen = best.get(planId);
    if (!seen || (seen.obsolete && !obsolete)) best.set(planId, { code, obsolete });
  }
  return (planId, keep) => {
    if (keep && mapping.get(keep) === planId) return keep;
    const found = best.get(planId);
    if (!found) throw new LegacyRefusal(`Tally plan "${planId}" has no legacy plan code in the plan mapping`);
    return found.code;
  };
}

export type PlanCodeFor = ReturnType<typeof legacyPlanCodes>;

export interface SubscriptionFields {
  plan_cd: string;
  status_cd: number;
  paid_thru_dt: LocalTimestamp | null;
  next_bill_dt: LocalTimestamp | null;
  cancel_eop_flg: string;
  price_override_amt: LegacySchema['subscription']['price_override_amt'];
}

/**
 * A Tally subscription as the legacy's subscription row, the way the legacy's own jobs leave
 * it: in trial nothing is paid yet (paid-through empty, billed when the trial ends); active
 * and trial bill on their next billing date; past due, on hold and cancelled have no next bill
 * (the legacy's retry and hold take over). Paid-through is Tally's period end: what the
 * comparator reads back as the date billed through. A plan change ends a negotiated price
 * (price_override_amt), as the legacy's own plan change does.
 */
export function subscriptionFields(sub: Subscription, existing: Pick<LegacySchema['subscription'], 'plan_cd' | 'paid_thru_dt' | 'price_override_amt'> | null, codeFor: PlanCodeFor): SubscriptionFields {
  const plan = codeFor(sub.planId, existing?.plan_cd);
  const billing = sub.status === 'active' || sub.status === 'trial';
  return {
    plan_cd: plan,
    status_cd: legacySubscriptionStatus[sub.status],
    paid_thru_dt: sub.status === 'trial' ? null : sub.periodEnd ? legacyDay(sub.periodEnd) : (existing?.paid_thru_dt ?? null),
    next_bill_dt: billing ? legacyDay(sub.nextBillingDate) : null,
    cancel_eop_flg: sub.cancelAtPeriodEnd ? 'Y' : 'N',
    price_override_amt: existing && existing.plan_cd === plan ? existing.price_override_amt : null,
  };
}

/** Which of the legacy's subscription_history codes a Tally event writes (NEW/CHG/CNCL/HOLD/RSUM are its batch's, CREQ/CWDR its member API's). */
export function historyCode(eventType: string): string | null {
  const codes: Record<string, string> = {
    'subscription.created': 'NEW', 'subscription.plan_changed': 'CHG', 'subscription.cancel_requested': 'CREQ', 'subscription.reactivated': 'CWDR',
    'subscription.cancelled': 'CNCL', 'subscription.on_hold': 'HOLD', 'subscription.recovered': 'RSUM',
  };
  return codes[eventType] ?? null;
}

/** A history row's plan columns: the old code for a change, cancellation or hold; the new one for a start, change, withdrawal or resumption. */
export function historyPlans(code: string, oldPlan: string, newPlan: string): { old_plan_cd: string | null; new_plan_cd: string | null } {
  if (code === 'CHG') return { old_plan_cd: oldPlan, new_plan_cd: newPlan };
  if (code === 'CREQ' || code === 'CNCL' || code === 'HOLD') return { old_plan_cd: oldPlan, new_plan_cd: null };
  return { old_plan_cd: null, new_plan_cd: newPlan };
}

export type InvoiceHeaderFields = Omit<LegacySchema['invoice_header'], 'inv_id' | 'acct_id' | 'inv_no'>;

/** A Tally invoice's header: amounts as billed (the legacy's total is Tally's: gross in a tax-inclusive country), issued on Tally's date in the member's zone. */
export function invoiceHeaderFields(inv: Invoice, zone: string): InvoiceHeaderFields {
  const amount = (minor: number) => legacyAmount(minor, inv.currency);
  return {
    inv_dt: legacyStamp(inv.issuedOn, zone), period_from_dt: legacyDay(inv.periodStart), period_to_dt: legacyDay(inv.periodEnd),
    status_cd: legacyInvoiceStatus[inv.status], currency_cd: inv.currency,
    subtotal_amt: amount(inv.subtotal), discount_amt: amount(inv.discount), tax_amt: amount(inv.tax), total_amt: amount(inv.total),
    gift_applied_amt: amount(inv.giftCardApplied), credit_applied_amt: amount(inv.creditApplied),
  };
}

/**
 * The invoice's lines as detail rows: they add up to the header (Tally's subtotal and discount
 * are the sums of its lines), so neither the legacy's screens nor the comparator see a
 * repaired invoice. A line names its plan by the subscription's code when that code means the
 * line's plan, so the legacy finds the subscription's last invoice by plan code, as it does.
 */
export function invoiceDetailRows(inv: Invoice, codeFor: PlanCodeFor, subscriptionCode: string | null): Omit<LegacySchema['invoice_detail'], 'inv_det_id' | 'inv_id'>[] {
  return inv.lines.map((l) => ({
    line_no: l.lineNo, plan_cd: codeFor(l.planId, subscriptionCode), descr: l.description.slice(0, 120),
    amount: legacyAmount(l.amount, inv.currency), discount_amt: legacyAmount(l.discount, inv.currency),
  }));
}

/** A payment transaction to write, named by Tally's key; `parent` names the transaction it follows (an authorization's capture, a capture's refund). */
export interface LegacyTxn {
  key: string;
  txn_type: 'AUT' | 'CAP' | 'REF' | 'CHB';
  amount: string;
  resp_cd: string;
  txn_dt: LocalTimestamp;
  ref_no: string | null;
  parent: string | null;
}

/** Rows Tally carried over from the legacy (legacy-txn:…, legacy-memo:…): already there, never written again. */
export const fromLegacy = (id: string): boolean => id.startsWith('legacy-');

/** The legacy's response codes: 51 insufficient funds (retried once), anything else a hard decline (05). */
export function legacyResponseCode(declineCode: string | null): string {
  return declineCode === 'insufficient_funds' ? '51' : '05';
}

/**
 * The money movements of one invoice, in the order the legacy writes them: each charge
 * attempt as its capture (an approved one after its authorization, as the legacy's capture
 * does), then refunds and chargebacks, each following the last approved capture. An
 * attempt whose outcome Tally does not know yet is not written: the next event of the
 * invoice writes it once known. Rows carried over from the legacy are left out.
 */
export function invoiceTxns(inv: Invoice, attempts: readonly PaymentAttemptRow[], refunds: readonly RefundRow[], chargebacks: readonly ChargebackRow[], zone: string): LegacyTxn[] {
  const out: LegacyTxn[] = [];
  const amount = (minor: number) => legacyAmount(minor, inv.currency);
  let lastCapture: string | null = null;
  for (const a of [...attempts].sort((x, y) => x.attempt_no - y.attempt_no)) {
    if (a.status === 'succeeded') lastCapture = a.idem_key;
    if (fromLegacy(a.idem_key) || (a.status !== 'succeeded' && a.status !== 'declined')) continue;
    const at = legacyStamp(a.attempted_on, zone);
    if (a.status === 'succeeded') {
      out.push({ key: `${a.idem_key}:aut`, txn_type: 'AUT', amount: amount(Number(a.amount)), resp_cd: '00', txn_dt: at, ref_no: a.reference, parent: null });
      out.push({ key: a.idem_key, txn_type: 'CAP', amount: amount(Number(a.amount)), resp_cd: '00', txn_dt: at, ref_no: a.reference, parent: `${a.idem_key}:aut` });
    } else {
      out.push({ key: a.idem_key, txn_type: 'CAP', amount: amount(Number(a.amount)), resp_cd: legacyResponseCode(a.decline_code), txn_dt: at, ref_no: null, parent: null });
    }
  }
  for (const r of refunds) {
    if (r.status !== 'succeeded' || fromLegacy(r.id)) continue;
    out.push({ key: r.id, txn_type: 'REF', amount: amount(Number(r.amount)), resp_cd: '00', txn_dt: legacyStamp(r.refunded_on, zone), ref_no: r.reference || null, parent: lastCapture });
  }
  for (const c of chargebacks) {
    if (fromLegacy(c.id)) continue;
    out.push({ key: c.id, txn_type: 'CHB', amount: amount(Number(c.amount)), resp_cd: '00', txn_dt: legacyStamp(c.received_on, zone), ref_no: null, parent: lastCapture });
  }
  return out;
}

/**
 * How much of each balance pays an invoice, the legacy's way (its nightly run): gift cards in
 * the order they were redeemed, each up to what is left on it; then credit memos in order, each
 * up to what is open on it. Tally decided the total applied; the legacy's balances must cover
 * it, or the two sides have drifted and the write is refused.
 */
export function applyBalance<K>(applied: Dec4, open: readonly { key: K; open: Dec4 }[], what: string): { key: K; amount: Dec4 }[] {
  const out: { key: K; amount: Dec4 }[] = [];
  let left = applied;
  for (const o of open) {
    if (left <= 0n) break;
    const take = o.open < left ? o.open : left;
    if (take <= 0n) continue;
    out.push({ key: o.key, amount: take });
    left -= take;
  }
  if (left > 0n) throw new LegacyRefusal(`Tally applied ${formatDec4(applied)} of ${what} but the legacy's ${what} cover only ${formatDec4(applied - left)}`);
  return out;
}

/** A promotion for a discount granted in Tally (the legacy keeps discounts as a promotion and its redemption). */
export function promotionFields(discount: Discount, currency: string, subscriptionId: string, on: LocalTimestamp): Omit<LegacySchema['promotion'], 'promo_id'> {
  let pct: string | null = null;
  if (discount.kind === 'percent') {
    // DECIMAL(5,2): a percentage with more than two decimals cannot be written as granted.
    const hundredths = discount.percentOff * 100;
    if (!Number.isInteger(Math.round(hundredths * 1e6) / 1e6)) throw new LegacyRefusal(`a ${discount.percentOff}% discount has more decimals than the legacy's promotions hold (two)`);
    pct = (Math.round(hundredths) / 100).toFixed(2);
  }
  return {
    promo_cd: `TALLY-${subscriptionId}`.slice(0, 30), descr: `granted in Tally to ${subscriptionId}`.slice(0, 120),
    pct_off: pct, amt_off: discount.kind === 'amount' ? legacyAmount(discount.amountOff, currency) : null,
    cycles: discount.cyclesLeft, valid_from_dt: on, valid_to_dt: null,
  };
}

/** A member who signed up in Tally, as the legacy's own sign-up creates it: customer, primary email, billing address, open account, active card. */
export function signupRows(member: Member, now: LocalTimestamp): {
  customer: Omit<LegacySchema['customer'], 'cust_id'>;
  email: Omit<LegacySchema['customer_email'], 'email_id' | 'cust_id'> | null;
  address: Omit<LegacySchema['customer_address'], 'addr_id' | 'cust_id'>;
  account: Omit<LegacySchema['account'], 'acct_id' | 'cust_id'>;
  card: Omit<LegacySchema['payment_method'], 'pm_id' | 'acct_id'>;
} {
  if (member.id.length > 20) throw new LegacyRefusal(`member id "${member.id}" is longer than the legacy's 20-character account numbers`);
  return {
    customer: { acct_no: member.id, first_nm: null, last_nm: null, country_cd: member.country, created_dt: now, updated_dt: now, deleted_flg: 'N', deleted_dt: null },
    email: member.email ? { email_addr: member.email, primary_flg: 'Y', created_dt: now, deleted_flg: 'N' } : null,
    address: { addr_type: 'B', line1: null, city: null, region_cd: member.region, postal_cd: null, country_cd: member.country, deleted_flg: 'N' },
    account: { status_cd: 'A', currency_cd: member.currency, tz_nm: member.timezone, opened_dt: now, closed_dt: null, updated_dt: now },
    card: cardRow(member.paymentToken, now),
  };
}

export function cardRow(token: string, now: LocalTimestamp): Omit<LegacySchema['payment_method'], 'pm_id' | 'acct_id'> {
  return { pm_type: 'CC', token, last4: null, exp_mm: null, exp_yyyy: null, status_cd: 'A', created_dt: now, deleted_flg: 'N' };
}
