import { dec4, formatDec4, includedTax, timesRate, type Dec4 } from './decimal.ts';
import { dvdPrices, legacyCountries, monthlyTiers, type LegacyCountry } from './reference-data.ts';
import type { LegacySchema, LegacyTable } from './schema.ts';

/**
 * A deterministic legacy population: member n's rows depend only on (seed, n, countries,
 * as-of date), so a population can be made in any batch size, in any order, and again.
 * Tenures run back to 2010; members sign up, take trials and promotions, redeem gift cards,
 * get service credits, change plans, fail payments and recover, get refunds and
 * chargebacks, cancel and come back; US members may rent DVDs.
 *
 * And the warts such a system collects, each at a stated rate (legacyWartRates), so the
 * migration's quarantine and the comparator have real work.
 */
export interface PopulationOptions {
  members: number;
  /** Country codes to spread members over (default: all twelve the legacy sells in). */
  countries?: string[];
  seed?: number;
  /** The legacy's "today": no row is later than this date. */
  asOf: string;
  /** false: a legacy without its warts (every member migrates), for a cut-over rehearsal. The random stream is the same either way. */
  warts?: boolean;
}

/** How often each wart occurs: per member, per invoice, or per member who joined before 2013. */
export const legacyWartRates = {
  /** per member: a payment and an invoice line pointing at an invoice that does not exist */
  orphanRows: 0.002,
  /** per member: a second customer with the same email in another case, with an account and no subscription */
  duplicateCustomer: 0.01,
  /** per invoice: a header with no detail lines */
  headerWithoutDetails: 0.003,
  /** per invoice: detail lines one cent off the header */
  detailsNotAddingUp: 0.003,
  /** per invoice: voided, with a captured payment */
  paymentOnVoidedInvoice: 0.002,
  /** per member who joined before 2013: still on a 2010 launch plan code */
  obsoletePlanCode: 0.3,
  /** per member: the active card expired before the as-of date */
  expiredPaymentMethod: 0.02,
  /** per invoice: a subtotal with sub-cent digits (x.xx50) */
  subCentAmount: 0.01,
  /** per member: the email in mixed case with surrounding spaces */
  messyEmail: 0.03,
  /** per member: the country code in lower case (2%) or as three letters (1%) */
  oddCountryCode: 0.03,
  /** per member who joined before 2013: a history row with an impossible YYYYMMDD date */
  impossibleDate: 0.1,
} as const;

export type MemberRows = { [T in LegacyTable]?: LegacySchema[T][] };

type WartRates = Record<keyof typeof legacyWartRates, number>;
const noWarts = Object.fromEntries(Object.keys(legacyWartRates).map((k) => [k, 0])) as WartRates;

type Rng = () => number;

/** mulberry32, seeded per member. (Tally's demo has its own copy: the legacy imports nothing of Tally.) */
function rngFor(seed: number, n: number): Rng {
  let a = (seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A civil date as [year, month (1-12), day]; the legacy billed anchor days above 28 on the 28th (its quirk). */
type Ymd = [number, number, number];
const ymd = (s: string): Ymd => [Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8, 10))];
const iso = ([y, m, d]: Ymd) => `${y}-${pad(m)}-${pad(d)}`;
function addMonths([y, m, d]: Ymd, k: number): Ymd {
  const t = y * 12 + (m - 1) + k;
  return [Math.floor(t / 12), (t % 12) + 1, Math.min(d, 28)];
}
function addDays(date: Ymd, k: number): Ymd {
  const t = new Date(Date.UTC(date[0], date[1] - 1, date[2] + k));
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()];
}
const monthsBetween = (a: Ymd, b: Ymd) => (b[0] - a[0]) * 12 + (b[1] - a[1]);
const before = (a: Ymd, b: Ymd) => iso(a) < iso(b);
/** A local timestamp at a batch hour of the night (the legacy's jobs ran 01:00–05:59 Pacific). */
const at = (r: Rng, d: Ymd) => `${iso(d)} ${pad(1 + Math.floor(r() * 5))}:${pad(Math.floor(r() * 60))}:${pad(Math.floor(r() * 60))}`;
const daytime = (r: Rng, d: Ymd) => `${iso(d)} ${pad(8 + Math.floor(r() * 14))}:${pad(Math.floor(r() * 60))}:${pad(Math.floor(r() * 60))}`;

const firstNames = ['Ana', 'Ben', 'Chloé', 'Dmitri', 'Emi', 'Farah', 'Gustavo', 'Hana', 'Ivan', 'Jun', 'Kai', 'Lena', 'Marta', 'Noor', 'Owen', 'Priya', 'Quinn', 'Rafael', 'Sofia', 'Tomás'];
const lastNames = ['Almeida', 'Brown', 'Chen', 'Dubois', 'Evans', 'Fischer', 'García', 'Hughes', 'Ito', 'Jensen', 'Kim', 'López', 'Müller', 'Nakamura', 'Olsen', 'Patel', 'Rossi', 'Silva', 'Tanaka', 'Weber'];

function priceOn(country: LegacyCountry, plan: string, on: Ymd): string {
  const newEra = on[0] >= 2020;
  if (plan in dvdPrices) return dvdPrices[plan]!;
  const tier = plan === 'STRM_BAS_M' || plan === 'STRM_1S_2010' ? 0 : plan === 'STRM_PRE_M' ? 2 : 1;
  const monthly = country.prices[tier + (newEra && !plan.endsWith('_2010') ? 3 : 0)]!;
  return plan === 'STRM_STD_Y' ? formatDec4(dec4(monthly) * 10n) : monthly;
}

/** The rows of member n (1-based ids), and of its duplicate customer when it has one. */
export function generateMember(n: number, opts: PopulationOptions): MemberRows {
  const w: WartRates = opts.warts === false ? noWarts : legacyWartRates;
  const r = rngFor(opts.seed ?? 1, n);
  const countries = opts.countries?.length ? legacyCountries.filter((c) => opts.countries!.includes(c.cd)) : legacyCountries;
  const c = pick(r, countries);
  const id = n + 1;
  const asOf = ymd(opts.asOf);
  const lastMoment = `${opts.asOf} 23:59:59`;
  const counters = new Map<string, number>();
  const seq = (table: string) => {
    const k = (counters.get(table) ?? 0) + 1;
    counters.set(table, k);
    return id * 10_000 + k;
  };
  const rows: Required<MemberRows> = {
    country: [], status_code: [], tax_jurisdiction: [], plan_code: [], price_point: [], dvd_rental_plan: [], promotion: [],
    customer: [], customer_email: [], customer_address: [], account: [], payment_method: [], subscription: [], subscription_history: [],
    promotion_redemption: [], invoice_header: [], invoice_detail: [], payment_txn: [], gift_card: [], gift_card_txn: [], credit_memo: [],
  };

  // Tenure: most members joined in the last few years; a quarter at any time since 2010.
  const available = monthsBetween([2010, 1, 1], asOf);
  const tenure = Math.min(available, r() < 0.25 ? Math.floor(r() * available) : Math.floor(-Math.log(1 - r()) * 24));
  const start: Ymd = addDays(addMonths([asOf[0], asOf[1], 1 + Math.floor(r() * 28)], -tenure), 0);
  const joined = before(start, asOf) ? start : addMonths(start, -1);
  const early = joined[0] < 2013;
  const region = c.regions && r() < 0.7 ? pick(r, c.regions).cd : null;
  const first = r() < 0.05 ? null : pick(r, firstNames);
  const last = pick(r, lastNames);
  const odd = r();
  const countryCd = odd < w.oddCountryCode * (2 / 3) ? c.cd.toLowerCase() : odd < w.oddCountryCode ? c.cd3 : c.cd;
  const created = daytime(r, joined);
  const outcome = r();
  const status = outcome < 0.68 ? 'active' : outcome < 0.86 ? 'cancelled' : outcome < 0.91 ? 'held' : 'returning';
  const deleted = status === 'cancelled' && r() < 0.05;
  rows.customer.push({
    cust_id: id, acct_no: `A${pad(id, 9)}`, first_nm: first, last_nm: last, country_cd: countryCd, created_dt: created, updated_dt: created,
    deleted_flg: deleted ? 'Y' : 'N', deleted_dt: deleted ? daytime(r, asOf) : null,
  });
  const emailBase = `${(first ?? 'member').toLowerCase()}.${last.toLowerCase()}${id}@example.com`;
  const email = r() < w.messyEmail ? `  ${emailBase.replace(/^./, (ch) => ch.toUpperCase()).replace('example.com', 'Example.COM')} ` : emailBase;
  rows.customer_email.push({ email_id: seq('email'), cust_id: id, email_addr: email, primary_flg: 'Y', created_dt: created, deleted_flg: 'N' });
  rows.customer_address.push({ addr_id: seq('addr'), cust_id: id, addr_type: 'B', line1: `${1 + Math.floor(r() * 999)} Main St`, city: 'Springfield', region_cd: region, postal_cd: pad(Math.floor(r() * 99999), 5), country_cd: countryCd, deleted_flg: 'N' });
  const acctStatus = status === 'held' ? 'H' : status === 'cancelled' ? 'C' : 'A';
  rows.account.push({ acct_id: id, cust_id: id, status_cd: acctStatus, currency_cd: c.currency, tz_nm: r() < 0.1 ? null : c.tz, opened_dt: created, closed_dt: status === 'cancelled' ? daytime(r, asOf) : null, updated_dt: created });

  const token = r() < 0.9 ? 'tok_ok' : status === 'held' ? 'tok_hard_decline' : 'tok_soft_decline';
  const expired = r() < w.expiredPaymentMethod;
  const expYear = expired ? asOf[0] - 1 : asOf[0] + 1 + Math.floor(r() * 4);
  const pm = seq('pm');
  rows.payment_method.push({ pm_id: pm, acct_id: id, pm_type: 'CC', token: status === 'held' ? 'tok_hard_decline' : token, last4: pad(Math.floor(r() * 9999), 4), exp_mm: 1 + Math.floor(r() * 12), exp_yyyy: expYear, status_cd: 'A', created_dt: created, deleted_flg: 'N' });
  if (r() < 0.15) {
    // An earlier card, replaced.
    rows.payment_method.push({ pm_id: seq('pm'), acct_id: id, pm_type: 'CC', token: 'tok_ok', last4: pad(Math.floor(r() * 9999), 4), exp_mm: 1 + Math.floor(r() * 12), exp_yyyy: Math.max(2010, joined[0] + 1), status_cd: 'R', created_dt: created, deleted_flg: r() < 0.5 ? 'Y' : 'N' });
  }

  // Money the member holds: a gift card and a service credit, applied to invoices in order.
  let gift = 0n;
  let credit = 0n;
  const basic = dec4(c.prices[3]!);
  const giftMonth = r() < 0.04 ? Math.floor(r() * Math.max(1, tenure)) : -1;
  const creditMonth = r() < 0.03 ? Math.floor(r() * Math.max(1, tenure)) : -1;
  let giftCard: number | null = null;
  const digits = c.digits;
  const toCurrency = (v: Dec4) => v - (v % 10n ** BigInt(4 - digits));

  const subscriptions: { plan: string; from: Ymd; to: Ymd | null; state: 'active' | 'cancelled' | 'held'; trial: boolean }[] = [];
  const tierPlan = early && r() < w.obsoletePlanCode ? pick(r, ['STRM_1S_2010', 'STRM_2S_2010']) : r() < 0.06 ? 'STRM_STD_Y' : r() < 0.1 ? 'STRM_TRL_M' : pick(r, monthlyTiers);
  if (status === 'returning' && tenure >= 6) {
    const stop = addMonths(joined, 1 + Math.floor(r() * (tenure / 2)));
    subscriptions.push({ plan: tierPlan, from: joined, to: stop, state: 'cancelled', trial: tierPlan === 'STRM_TRL_M' });
    subscriptions.push({ plan: pick(r, monthlyTiers), from: addMonths(stop, 1 + Math.floor(r() * 3)), to: null, state: 'active', trial: false });
  } else {
    const stop = status === 'cancelled' && tenure >= 1 ? addMonths(joined, 1 + Math.floor(r() * tenure)) : null;
    subscriptions.push({ plan: tierPlan, from: joined, to: stop, state: status === 'cancelled' ? 'cancelled' : status === 'held' ? 'held' : 'active', trial: tierPlan === 'STRM_TRL_M' });
  }
  if (c.cd === 'US' && r() < 0.1) subscriptions.push({ plan: pick(r, ['DVD_1', 'DVD_2']), from: joined, to: null, state: status === 'cancelled' ? 'cancelled' : 'active', trial: false });
  const promo = !early && r() < 0.08 ? 1 : r() < 0.03 ? 2 : 0;

  for (const [si, s] of subscriptions.entries()) {
    const subId = seq('sub');
    const period = s.plan === 'STRM_STD_Y' ? 12 : 1;
    const product = s.plan.startsWith('DVD') ? 'D' : 'S';
    const rate = (c.regions ?? []).find((x) => x.cd === region && (x.product ?? product) === product)?.rate ?? c.rate;
    const override = r() < 0.03 ? formatDec4(dec4(priceOn(c, s.plan, [2015, 1, 1]))) : null;
    rows.subscription_history.push({ sub_hist_id: seq('hist'), sub_id: subId, event_cd: 'NEW', old_plan_cd: null, new_plan_cd: s.plan, event_dt: daytime(r, s.from), event_yyyymmdd: iso(s.from).replaceAll('-', '') });
    if (early && si === 0 && r() < w.impossibleDate) {
      rows.subscription_history.push({ sub_hist_id: seq('hist'), sub_id: subId, event_cd: 'CHG', old_plan_cd: s.plan, new_plan_cd: s.plan, event_dt: daytime(r, s.from), event_yyyymmdd: `${s.from[0]}0231` });
    }
    let cyclesLeft = 0;
    if (promo && si === 0 && product === 'S') {
      cyclesLeft = promo === 1 ? 3 : 6;
      rows.promotion_redemption.push({ redemption_id: seq('promo'), promo_id: promo, sub_id: subId, redeemed_yyyymmdd: iso(s.from).replaceAll('-', ''), cycles_left: 0 });
    }
    const firstBill = s.trial ? addDays(s.from, 30) : s.from;
    const end = s.to ?? asOf;
    let paidThru: Ymd | null = null;
    let next: Ymd | null;
    for (let k = 0; ; k++) {
      const from = addMonths(firstBill, k * period);
      if (!before(from, end) && !(k === 0 && iso(from) === iso(end))) {
        next = s.to ? null : from;
        break;
      }
      const to = addMonths(firstBill, (k + 1) * period);
      const monthIndex = monthsBetween(joined, from);
      if (monthIndex === giftMonth && giftCard === null) {
        const amount = basic * 3n;
        giftCard = seq('gc');
        rows.gift_card.push({ gc_id: giftCard, gc_code: `GC${pad(id, 9)}X${k}`, orig_amt: formatDec4(amount), currency_cd: c.currency, sold_dt: daytime(r, from), redeemed_acct_id: id, redeemed_dt: daytime(r, from) });
        rows.gift_card_txn.push({ gc_txn_id: seq('gctxn'), gc_id: giftCard, acct_id: id, txn_type: 'RDM', amount: formatDec4(amount), inv_id: null, txn_dt: daytime(r, from) });
        gift += amount;
      }
      const invId = seq('inv');
      if (monthIndex === creditMonth && credit === 0n) {
        credit = basic;
        rows.credit_memo.push({ memo_id: seq('memo'), acct_id: id, amount: formatDec4(basic), reason_txt: r() < 0.2 ? null : 'Service outage goodwill', issued_dt: daytime(r, from), applied_inv_id: invId, applied_amt: '0.0000' });
      }
      const price = override ?? priceOn(c, s.plan, from);
      let subtotal = dec4(price);
      if (r() < w.subCentAmount) subtotal += 50n;
      let discount = 0n;
      if (cyclesLeft > 0) {
        discount = promo === 1 ? toCurrency(subtotal / 2n) : 20_000n;
        if (discount > subtotal) discount = subtotal;
        cyclesLeft--;
      }
      const taxable = subtotal - discount;
      // The legacy taxed the invoice total, not each line, rounding half to even: its documented quirk.
      const tax = c.inclusive ? includedTax(taxable, rate, digits) : timesRate(taxable, rate, digits);
      const total = c.inclusive ? taxable : taxable + tax;
      const giftApplied = gift < total ? gift : total;
      gift -= giftApplied;
      const creditApplied = credit < total - giftApplied ? credit : total - giftApplied;
      credit -= creditApplied;
      if (creditApplied > 0n) {
        const memo = rows.credit_memo.at(-1)!;
        memo.applied_amt = formatDec4(dec4(memo.applied_amt) + creditApplied);
      }
      if (giftApplied > 0n) rows.gift_card_txn.push({ gc_txn_id: seq('gctxn'), gc_id: giftCard!, acct_id: id, txn_type: 'APL', amount: formatDec4(giftApplied), inv_id: invId, txn_dt: at(r, from) });
      const due = total - giftApplied - creditApplied;
      const lastOfHeld = s.state === 'held' && !before(addMonths(from, period), end);
      const voided = r() < w.paymentOnVoidedInvoice;
      let invStatus = lastOfHeld ? 'U' : voided ? 'V' : 'P';
      const invDt = at(r, from);
      const txn = (type: string, amount: Dec4, resp: string, when: string, parent: number | null = null) => {
        const txnId = seq('txn');
        // A refund or chargeback drawn after the legacy's "today" happened today: no row is later than asOf (a later one would
        // hold the member's change mark in the future, hiding every real change from a --since-last).
        const at = when > lastMoment ? lastMoment : when;
        rows.payment_txn.push({ txn_id: txnId, inv_id: invId, pm_id: pm, txn_type: type, amount: formatDec4(amount), resp_cd: resp, txn_dt: at, ref_no: resp === '00' ? `R${txnId}` : null, parent_txn_id: parent });
        return txnId;
      };
      if (due > 0n) {
        if (lastOfHeld) {
          txn('CAP', due, token === 'tok_hard_decline' ? '05' : '51', invDt);
        } else {
          if (r() < 0.06) txn('CAP', due, '51', invDt);
          const auth = txn('AUT', due, '00', invDt);
          const cap = txn('CAP', due, '00', voided ? invDt : at(r, addDays(from, r() < 0.06 ? 3 : 0)), auth);
          const u = r();
          if (u < 0.015 && !voided) {
            const full = r() < 0.5;
            txn('REF', full ? due : toCurrency(due / 2n), '00', daytime(r, addDays(from, 1 + Math.floor(r() * 20))), cap);
            if (full) invStatus = 'R';
          } else if (u < 0.018 && !voided) {
            txn('CHB', due, '00', daytime(r, addDays(from, 30 + Math.floor(r() * 30))), cap);
          }
        }
      }
      rows.invoice_header.push({
        inv_id: invId, acct_id: id, inv_no: `INV${invId}`, inv_dt: invDt, period_from_dt: `${iso(from)} 00:00:00`, period_to_dt: `${iso(to)} 00:00:00`, status_cd: invStatus,
        currency_cd: c.currency, subtotal_amt: formatDec4(subtotal), discount_amt: formatDec4(discount), tax_amt: formatDec4(tax), total_amt: formatDec4(total),
        gift_applied_amt: formatDec4(giftApplied), credit_applied_amt: formatDec4(creditApplied),
      });
      if (r() >= w.headerWithoutDetails) {
        const off = r() < w.detailsNotAddingUp ? 100n : 0n;
        rows.invoice_detail.push({ inv_det_id: seq('det'), inv_id: invId, line_no: 1, plan_cd: s.plan, descr: `${s.plan} ${iso(from)} to ${iso(to)}`, amount: formatDec4(subtotal + off), discount_amt: formatDec4(discount) });
      }
      if (!lastOfHeld) paidThru = to;
    }
    const subStatus = s.state === 'cancelled' ? 3 : s.state === 'held' ? 2 : s.trial && !before(addDays(s.from, 30), asOf) ? 4 : 1;
    if (s.state === 'cancelled') rows.subscription_history.push({ sub_hist_id: seq('hist'), sub_id: subId, event_cd: 'CNCL', old_plan_cd: s.plan, new_plan_cd: null, event_dt: daytime(r, s.to ?? asOf), event_yyyymmdd: iso(s.to ?? asOf).replaceAll('-', '') });
    if (s.state === 'held') rows.subscription_history.push({ sub_hist_id: seq('hist'), sub_id: subId, event_cd: 'HOLD', old_plan_cd: s.plan, new_plan_cd: null, event_dt: daytime(r, asOf), event_yyyymmdd: null });
    rows.subscription.push({
      sub_id: subId, acct_id: id, plan_cd: s.plan, status_cd: subStatus, start_dt: daytime(r, s.from), paid_thru_dt: paidThru ? `${iso(paidThru)} 00:00:00` : null,
      next_bill_dt: subStatus === 1 || subStatus === 4 ? (next ? `${iso(next)} 00:00:00` : null) : null, cancel_eop_flg: subStatus === 1 && r() < 0.04 ? 'Y' : 'N',
      price_override_amt: override, updated_dt: daytime(r, asOf),
    });
  }

  if (r() < w.orphanRows) {
    const ghost = id * 10_000 + 9_999;
    rows.invoice_detail.push({ inv_det_id: seq('det'), inv_id: ghost, line_no: 1, plan_cd: 'STRM_STD_M', descr: 'orphan line', amount: '9.9900', discount_amt: '0.0000' });
    rows.payment_txn.push({ txn_id: seq('txn'), inv_id: ghost, pm_id: pm, txn_type: 'CAP', amount: '9.9900', resp_cd: '00', txn_dt: daytime(r, asOf), ref_no: null, parent_txn_id: null });
  }
  if (r() < w.duplicateCustomer) {
    // Signed up again with the same email in another case: a second customer and account, no subscription.
    const dup = 2_000_000_000 + id;
    rows.customer.push({ cust_id: dup, acct_no: `A${pad(dup, 10)}`, first_nm: first, last_nm: last, country_cd: c.cd, created_dt: daytime(r, asOf), updated_dt: daytime(r, asOf), deleted_flg: 'N', deleted_dt: null });
    rows.customer_email.push({ email_id: dup * 10, cust_id: dup, email_addr: emailBase.toUpperCase(), primary_flg: 'Y', created_dt: daytime(r, asOf), deleted_flg: 'N' });
    rows.account.push({ acct_id: dup, cust_id: dup, status_cd: 'A', currency_cd: c.currency, tz_nm: c.tz, opened_dt: daytime(r, asOf), closed_dt: null, updated_dt: daytime(r, asOf) });
  }
  return rows;
}
