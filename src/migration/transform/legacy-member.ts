import { assertTimeZone, type IsoDate } from '../../domain/calendar.ts';
import type { CatalogIndex } from '../../domain/catalog.ts';
import type { Discount, Member, Subscription, SubscriptionStatus } from '../../domain/member.ts';
import { currencyExponent, MAX_MINOR_UNITS } from '../../domain/money.ts';
import { dec4, legacyCountries, type Dec4, type LegacySchema } from '../../legacy/index.ts';
import type { PlanMapping } from '../plan-mapping.ts';
import type { LegacyMember } from '../sources/legacy-source.ts';
import { legacyDate } from './legacy-time.ts';

/**
 * One legacy member's rows → Tally's member aggregate: a pure function, tested on
 * hand-written rows. (The member's ledger history — invoices, payments, refunds,
 * chargebacks, gift cards, credits and their journal — is the next step of the transform.)
 *
 * A member is transformed whole or not at all: anything that cannot be carried over
 * exactly sends the member to quarantine with the reason and the source keys, and nothing
 * of it is loaded. Nothing is rounded or guessed silently.
 */
export interface QuarantineReason {
  reason:
    | 'no-account' | 'several-accounts' | 'unknown-country' | 'currency-mismatch' | 'no-payment-method' | 'unmapped-plan' | 'amount-does-not-fit' | 'bad-timezone'
    // the history's
    | 'orphan-payment' | 'invoice-does-not-add-up' | 'unknown-status' | 'payment-on-void-invoice'
    // the load's: the member id or a gift-card code is already another member's in Tally
    | 'member-id-taken' | 'gift-card-code-taken';
  detail: string;
  /** The legacy rows at fault: table and key. */
  source: { table: string; key: number | string }[];
}

/** Each reason once: a header with several amounts a currency cannot hold says so once, not once per amount. */
export function distinctReasons(reasons: QuarantineReason[]): QuarantineReason[] {
  const seen = new Set<string>();
  return reasons.filter((r) => {
    const key = JSON.stringify(r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export type MemberTransform = { member: Member; quarantine?: undefined } | { member?: undefined; quarantine: QuarantineReason[] };

export interface TransformContext {
  catalog: CatalogIndex;
  plans: PlanMapping;
  /** The legacy's promotions by id and its price points (reference data, read once per run). */
  promotions: ReadonlyMap<number, LegacySchema['promotion']>;
  pricePoints: readonly LegacySchema['price_point'][];
}

/** What the legacy charges for a plan in a currency on a date: its price point in force then. */
function legacyPrice(points: readonly LegacySchema['price_point'][], plan: string, currency: string, on: IsoDate): Dec4 | null {
  const inForce = points.filter((p) => p.plan_cd === plan && p.currency_cd === currency && String(p.eff_from_dt).slice(0, 10) <= on && (p.eff_to_dt === null || String(p.eff_to_dt).slice(0, 10) >= on));
  inForce.sort((a, b) => (String(a.eff_from_dt) < String(b.eff_from_dt) ? 1 : -1));
  return inForce[0] ? dec4(inForce[0].amount) : null;
}

/** Where the legacy keeps no time zone for an account, the country's (one zone per country the legacy sells in). */
const zoneOf = new Map(legacyCountries.map((c) => [c.cd, c.tz]));

const legacyStatus: Record<number, SubscriptionStatus | undefined> = { 1: 'active', 2: 'on_hold', 3: 'cancelled', 4: 'trial', 5: 'past_due' };

/** The country a legacy code names, however it was written (lower case, three letters, spaces); null when none. */
export function legacyCountry(code: string | null): string | null {
  const c = (code ?? '').trim().toUpperCase();
  if (/^[A-Z]{2}$/.test(c)) return c;
  return legacyCountries.find((x) => x.cd3 === c)?.cd ?? null;
}

/** An email as Tally keeps it: trimmed and in lower case (the legacy kept whatever was typed). */
export function normalizedEmail(email: string | null): string | null {
  const e = (email ?? '').trim().toLowerCase();
  return e || null;
}

/** Exact minor units of a legacy decimal in a currency, or null when it has digits the currency has not (never rounded). */
export function minorUnits(amount: Dec4, currency: string): number | null {
  const factor = 10n ** BigInt(4 - currencyExponent(currency));
  if (amount % factor !== 0n) return null;
  const units = amount / factor;
  return units < 0n || units > BigInt(MAX_MINOR_UNITS) ? null : Number(units);
}

const date = legacyDate;

export function transformLegacyMember(m: LegacyMember, ctx: TransformContext): MemberTransform {
  const problems: QuarantineReason[] = [];
  const customer = { table: 'customer', key: m.custId };
  const account = m.accounts[0];
  if (!account) return { quarantine: [{ reason: 'no-account', detail: `customer ${m.key} has no account`, source: [customer] }] };
  if (m.accounts.length > 1) problems.push({ reason: 'several-accounts', detail: `customer ${m.key} has ${m.accounts.length} accounts`, source: m.accounts.map((a) => ({ table: 'account', key: a.acct_id })) });
  const address = m.addresses.find((a) => a.deleted_flg !== 'Y' && a.addr_type === 'B') ?? m.addresses.find((a) => a.deleted_flg !== 'Y');
  let country = legacyCountry(m.customer.country_cd) ?? legacyCountry(address?.country_cd ?? null);
  let currency = account.currency_cd;
  if (!country) {
    problems.push({ reason: 'unknown-country', detail: `country code ${JSON.stringify(m.customer.country_cd)} names no country`, source: [customer] });
  } else {
    try {
      const expected = ctx.catalog.currencyOf(country);
      if (expected !== account.currency_cd) problems.push({ reason: 'currency-mismatch', detail: `account in ${account.currency_cd}, Tally bills ${country} in ${expected}`, source: [{ table: 'account', key: account.acct_id }] });
      currency = expected;
    } catch {
      problems.push({ reason: 'unknown-country', detail: `Tally does not sell in ${country}`, source: [customer] });
      country = null;
    }
  }
  const timezone = account.tz_nm ?? (country ? zoneOf.get(country) : undefined) ?? null;
  // Without a zone of its own and without a country there is nothing to check: the country is the reason.
  if (timezone !== null || country) {
    try {
      assertTimeZone(timezone, 'timezone');
    } catch {
      problems.push({ reason: 'bad-timezone', detail: `time zone ${JSON.stringify(timezone)} is not an IANA zone`, source: [{ table: 'account', key: account.acct_id }] });
    }
  }
  const live = m.paymentMethods.filter((p) => p.deleted_flg !== 'Y' && p.status_cd === 'A');
  const card = live.at(-1) ?? m.paymentMethods.at(-1);
  if (!card) problems.push({ reason: 'no-payment-method', detail: `account ${account.acct_id} has no payment method`, source: [{ table: 'account', key: account.acct_id }] });

  const money = (amount: Dec4, table: string, key: number): number => {
    const units = minorUnits(amount, currency);
    if (units === null) {
      problems.push({ reason: 'amount-does-not-fit', detail: `${table} ${key}: ${amount} ten-thousandths of ${currency} is not a whole number of minor units within the bound`, source: [{ table, key }] });
      return 0;
    }
    return units;
  };

  // Balances the legacy keeps as transactions: gift cards redeemed less applied; credit memos less applied.
  let gift = 0n;
  for (const t of m.giftCardTxns) gift += t.txn_type === 'RDM' ? dec4(t.amount) : -dec4(t.amount);
  let credit = 0n;
  for (const memo of m.creditMemos) credit += dec4(memo.amount) - dec4(memo.applied_amt);

  const subscriptions: Subscription[] = [];
  m.subscriptions.forEach((s, i) => {
    const planId = ctx.plans.get(s.plan_cd);
    if (!planId) {
      problems.push({ reason: 'unmapped-plan', detail: `plan code ${s.plan_cd} has no mapping`, source: [{ table: 'subscription', key: s.sub_id }] });
      return;
    }
    const plan = ctx.catalog.plan(planId);
    const status = legacyStatus[s.status_cd] ?? 'cancelled';
    // The next billing date is the legacy's paid-through date; the schedule is anchored there.
    const paidThru = date(s.paid_thru_dt) ?? date(s.start_dt)!;
    // Legacy invoices name the account, not the subscription: its lines name the plan.
    // (An invoice without lines, a legacy wart, is the subscription's when it is the member's only one.)
    const ofPlan = new Set(m.details.filter((d) => d.plan_cd === s.plan_cd).map((d) => d.inv_id));
    const withLines = new Set(m.details.map((d) => d.inv_id));
    const lastInvoice = m.invoices.filter((inv) => inv.status_cd !== 'V' && (ofPlan.has(inv.inv_id) || (!withLines.has(inv.inv_id) && m.subscriptions.length === 1))).at(-1);
    // A period the legacy has invoiced but not collected (its retry keeps the bill date where it was)
    // is billed: Tally dunns that invoice and bills the next period at its end, never the same period twice.
    const billedTo = date(lastInvoice?.period_to_dt ?? null);
    let next = status === 'active' || status === 'trial' || status === 'past_due' ? date(s.next_bill_dt) ?? paidThru : paidThru;
    if (status !== 'cancelled' && billedTo && billedTo > next) next = billedTo;
    const redemption = m.redemptions.find((r) => r.sub_id === s.sub_id && r.cycles_left > 0);
    const promo = redemption && ctx.promotions.get(Number(redemption.promo_id));
    let discount: Discount | null = null;
    if (redemption && promo?.pct_off != null) discount = { kind: 'percent', percentOff: Number(dec4(promo.pct_off)) / 10_000, cyclesLeft: redemption.cycles_left };
    else if (redemption && promo?.amt_off != null) discount = { kind: 'amount', amountOff: money(dec4(promo.amt_off), 'promotion', promo.promo_id), cyclesLeft: redemption.cycles_left };
    // The member keeps paying what the legacy charges (its override, else its price point) where Tally's catalog differs.
    const legacyAmount = s.price_override_amt !== null ? dec4(s.price_override_amt) : legacyPrice(ctx.pricePoints, s.plan_cd, account.currency_cd, next);
    let keptPrice: number | undefined;
    if (legacyAmount !== null && country && status !== 'cancelled') {
      const kept = money(legacyAmount, s.price_override_amt !== null ? 'subscription' : 'price_point', Number(s.sub_id));
      let catalogPrice: number | null = null;
      try {
        catalogPrice = ctx.catalog.price(planId, country, next, date(s.start_dt)!).amount;
      } catch {
        // Not sold in the country by Tally's catalog: the kept price is what the member pays.
      }
      if (kept !== catalogPrice) keptPrice = kept;
    }
    subscriptions.push({
      id: `${m.key}-s${i + 1}`, product: plan.product, planId, status, anchor: next, cycle: 0, nextBillingDate: next,
      periodStart: status === 'cancelled' ? null : date(lastInvoice?.period_from_dt ?? null), periodEnd: status === 'cancelled' ? null : next > paidThru ? next : paidThru,
      since: date(s.start_dt)!, cancelAtPeriodEnd: s.cancel_eop_flg === 'Y', pendingPlanId: null, discount,
      ...(keptPrice !== undefined ? { keptPrice } : {}),
    });
  });

  const member: Member = {
    id: m.key,
    version: 0,
    email: normalizedEmail(m.emails.find((e) => e.primary_flg === 'Y' && e.deleted_flg !== 'Y')?.email_addr ?? m.emails[0]?.email_addr ?? null),
    country: country ?? '',
    region: address?.region_cd ? address.region_cd.trim().toUpperCase() : null,
    timezone: timezone ?? '',
    currency,
    paymentToken: card?.token ?? '',
    giftCardBalance: money(gift, 'gift_card_txn', account.acct_id),
    creditBalance: money(credit, 'credit_memo', account.acct_id),
    invoiceCount: 0,
    subscriptions,
  };
  return problems.length ? { quarantine: distinctReasons(problems) } : { member };
}
