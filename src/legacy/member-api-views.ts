import { dec4, roundBankers, type Dec4 } from './decimal.ts';
import { legacyCountries } from './reference-data.ts';
import type { LegacySchema } from './schema.ts';

/**
 * What the legacy's member API shows: a customer's rows read the way the member app
 * expects a member (the same JSON as the new platform's member API, field for field),
 * as pure functions over the rows. Where the migration derives the same field, the
 * derivation is the same (country spellings, the paid-through date as the next bill, the
 * plan's last invoice as the period start), so a member reads the same on both sides.
 */
type Row<T extends keyof LegacySchema> = LegacySchema[T];

export type Status = 'trial' | 'active' | 'past_due' | 'on_hold' | 'cancelled';
export interface Money { amount: number; currency: string }

export interface SubscriptionView {
  id: string; product: 'streaming' | 'dvd'; plan: string; status: Status; periodStart: string | null; periodEnd: string | null;
  nextBillingDate: string; cancelAtPeriodEnd: boolean; pendingPlan: string | null;
}

export interface MemberView {
  id: string; email: string | null; country: string; region: string | null; timezone: string; currency: string; status: Status;
  plan: string | null; nextBillingDate: string | null; giftCardBalance: Money; creditBalance: Money; subscriptions: SubscriptionView[];
}

export interface InvoiceLineView {
  line: number; kind: string; description: string; plan: string; periodStart: string; periodEnd: string;
  amount: Money; discount: Money; net: Money; tax: Money; total: Money; taxRatePpm: number; taxName: string;
}

export interface InvoiceView {
  id: string; member: string; number: number; subscription: string; kind: string; status: string; periodStart: string; periodEnd: string; issuedOn: string;
  subtotal: Money; discount: Money; tax: Money; total: Money; balanceApplied: Money; charged: Money; refunded: Money; nextAttemptOn: string | null;
  /** The legacy had no catalog versions: always null (unknown), as for a migrated invoice. */
  catalogVersion: null;
  lines: InvoiceLineView[];
}

/** One customer's rows: what a member view is made from. */
export interface MemberRows {
  customer: Row<'customer'>;
  emails: Row<'customer_email'>[];
  addresses: Row<'customer_address'>[];
  accounts: Row<'account'>[];
  paymentMethods: Row<'payment_method'>[];
  /** In sub_id order: a subscription's place in it is its public id. */
  subscriptions: Row<'subscription'>[];
  /** The account's invoices (inv_id order) and which plans their lines bill. */
  invoices: Pick<Row<'invoice_header'>, 'inv_id' | 'status_cd' | 'period_from_dt'>[];
  invoicePlans: Pick<Row<'invoice_detail'>, 'inv_id' | 'plan_cd'>[];
  giftCardTxns: Pick<Row<'gift_card_txn'>, 'txn_type' | 'amount'>[];
  creditMemos: Pick<Row<'credit_memo'>, 'amount' | 'applied_amt'>[];
}

/** The legacy's reference tables, read once: they change with a release, not with a request. */
export interface Reference {
  countries: Row<'country'>[];
  plans: Map<string, Row<'plan_code'>>;
  taxes: Row<'tax_jurisdiction'>[];
  /** legacy plan code → the plan id the API shows and accepts (the migration's plan mapping); a code not in it is shown as is. */
  planNames: ReadonlyMap<string, string>;
}

const legacyStatus: Record<number, Status | undefined> = { 1: 'active', 2: 'on_hold', 3: 'cancelled', 4: 'trial', 5: 'past_due' };
const statusRank: Record<Status, number> = { on_hold: 5, past_due: 4, active: 3, trial: 2, cancelled: 1 };
const zoneOf = new Map(legacyCountries.map((c) => [c.cd, c.tz]));

export const dateOf = (ts: string | null | undefined): string | null => (ts ? String(ts).slice(0, 10) : null);

/** The country a legacy code names, however it was written (lower case, three letters, spaces); null when none. */
export function countryOf(code: string | null, ref: Pick<Reference, 'countries'>): string | null {
  const c = (code ?? '').trim().toUpperCase();
  if (/^[A-Z]{2}$/.test(c)) return c;
  return ref.countries.find((x) => x.country_cd3.toUpperCase() === c)?.country_cd ?? null;
}

/** Decimal places of a currency as the legacy's country table records them (JPY 0, KWD 3). */
export function currencyDigits(currency: string, ref: Pick<Reference, 'countries'>): number {
  const country = ref.countries.find((c) => c.currency_cd === currency);
  if (!country) throw new Error(`the legacy's country table has no currency ${currency}`);
  return Number(country.currency_digits);
}

/**
 * A legacy amount in the currency's minor units. Exact whenever the legacy holds no more
 * digits than the currency has; an amount with sub-unit digits (the x.xx50 subtotals of old
 * rows) is shown as the legacy's own statements showed it, half to even at the currency's digits.
 */
export function minorUnits(amount: Dec4, digits: number): number {
  const rounded = roundBankers(amount, digits);
  return Number(rounded / 10n ** BigInt(4 - digits));
}

/** Minor units back to the legacy's DECIMAL(12,4) ten-thousandths: always exact. */
export function fromMinorUnits(amount: number, digits: number): Dec4 {
  return BigInt(amount) * 10n ** BigInt(4 - digits);
}

export const planName = (code: string, ref: Pick<Reference, 'planNames'>) => ref.planNames.get(code) ?? code;

/**
 * The legacy plan code a requested plan names: a code mapped to it, preferring one still
 * sold (the 2010 launch codes share names with today's plans), or the code itself.
 */
export function planCodeFor(name: string, ref: Pick<Reference, 'planNames' | 'plans'>): Row<'plan_code'> | undefined {
  const mapped = [...ref.planNames].filter(([, n]) => n === name).map(([code]) => ref.plans.get(code)).filter((p) => p !== undefined);
  return mapped.find((p) => p.obsolete_flg !== 'Y') ?? mapped[0] ?? ref.plans.get(name);
}

const product = (plan: Row<'plan_code'> | undefined): 'streaming' | 'dvd' => (plan?.product_type === 'D' ? 'dvd' : 'streaming');

/** The member's address the legacy bills to: the billing one, else any not deleted. */
export function billingAddress(m: Pick<MemberRows, 'addresses'>): Row<'customer_address'> | undefined {
  return m.addresses.find((a) => a.deleted_flg !== 'Y' && a.addr_type === 'B') ?? m.addresses.find((a) => a.deleted_flg !== 'Y');
}

export function subscriptionView(key: string, index: number, s: Row<'subscription'>, m: Pick<MemberRows, 'invoices' | 'invoicePlans'>, ref: Reference): SubscriptionView {
  const status = legacyStatus[Number(s.status_cd)] ?? 'cancelled';
  const paidThru = dateOf(s.paid_thru_dt) ?? dateOf(s.start_dt)!;
  const next = status === 'active' || status === 'trial' || status === 'past_due' ? dateOf(s.next_bill_dt) ?? paidThru : paidThru;
  // Legacy invoices name the account, not the subscription: their lines name the plan.
  const ofPlan = new Set(m.invoicePlans.filter((d) => d.plan_cd === s.plan_cd).map((d) => Number(d.inv_id)));
  const lastInvoice = m.invoices.filter((inv) => inv.status_cd !== 'V' && ofPlan.has(Number(inv.inv_id))).at(-1);
  // Never billed: a trial's period is the trial; a subscription waiting for its first night has none yet (as on the other side).
  const unbilled = s.paid_thru_dt === null;
  const period: [string | null, string | null] = status === 'cancelled' ? [null, null]
    : unbilled ? (status === 'trial' ? [dateOf(s.start_dt), next] : [null, null])
      : [dateOf(lastInvoice?.period_from_dt), paidThru];
  return {
    id: `${key}-s${index + 1}`, product: product(ref.plans.get(s.plan_cd)), plan: planName(s.plan_cd, ref), status,
    periodStart: period[0], periodEnd: period[1], nextBillingDate: next, cancelAtPeriodEnd: s.cancel_eop_flg === 'Y', pendingPlan: null,
  };
}

export function memberView(m: MemberRows, ref: Reference): MemberView {
  const key = m.customer.acct_no;
  const account = m.accounts[0]!;
  const address = billingAddress(m);
  const country = countryOf(m.customer.country_cd, ref) ?? countryOf(address?.country_cd ?? null, ref) ?? '';
  const currency = account.currency_cd;
  const digits = currencyDigits(currency, ref);
  const email = m.emails.find((e) => e.primary_flg === 'Y' && e.deleted_flg !== 'Y')?.email_addr ?? m.emails[0]?.email_addr ?? null;
  // Balances the legacy keeps as transactions: gift cards redeemed less applied, credit memos less applied.
  let gift = 0n;
  for (const t of m.giftCardTxns) gift += t.txn_type === 'RDM' ? dec4(t.amount) : -dec4(t.amount);
  let credit = 0n;
  for (const memo of m.creditMemos) credit += dec4(memo.amount) - dec4(memo.applied_amt);
  const subscriptions = m.subscriptions.map((s, i) => subscriptionView(key, i, s, m, ref));
  let status: Status = 'cancelled';
  for (const s of subscriptions) if (statusRank[s.status] > statusRank[status]) status = s.status;
  const live = subscriptions.filter((s) => s.status !== 'cancelled');
  const primary = live.find((s) => s.product === 'streaming') ?? live[0] ?? subscriptions.at(-1);
  return {
    id: key, email: (email ?? '').trim().toLowerCase() || null, country, region: address?.region_cd ? address.region_cd.trim().toUpperCase() : null,
    timezone: account.tz_nm ?? zoneOf.get(country) ?? '', currency, status, plan: primary?.plan ?? null,
    nextBillingDate: primary && primary.status !== 'cancelled' ? primary.nextBillingDate : null,
    giftCardBalance: { amount: minorUnits(gift, digits), currency }, creditBalance: { amount: minorUnits(credit, digits), currency }, subscriptions,
  };
}

/** One invoice's rows, and what it is shown against. */
export interface InvoiceRows {
  header: Row<'invoice_header'>;
  details: Row<'invoice_detail'>[];
  payments: Row<'payment_txn'>[];
}

export interface InvoiceContext {
  key: string;
  country: string | null;
  region: string | null;
  subscriptions: Row<'subscription'>[];
}

const invoiceStatus: Record<string, string> = { O: 'open', P: 'paid', F: 'past_due', U: 'uncollectible', V: 'void', R: 'refunded' };

/** The rate in force for a plan's product on a date, as the nightly run picks it: the region's when it has one, else the country's. */
function taxRate(ref: Reference, country: string | null, region: string | null, productType: string | null, on: string): { rate: string; regional: boolean } {
  const inForce = ref.taxes.filter((t) => t.country_cd === country && String(t.eff_from_dt).slice(0, 10) <= on && (t.eff_to_dt === null || String(t.eff_to_dt).slice(0, 10) >= on));
  const regional = inForce.find((t) => t.region_cd !== null && t.region_cd === region && (t.product_type === null || t.product_type === productType));
  return { rate: String(regional?.tax_rate ?? inForce.find((t) => t.region_cd === null)?.tax_rate ?? '0'), regional: regional !== undefined };
}

/** A rate of up to five places ('0.06500') in parts per million, exactly. */
export function ratePpm(rate: string): number {
  const [w, f = ''] = rate.trim().split('.');
  return Number(BigInt(w! + f.padEnd(6, '0').slice(0, 6)));
}

export function invoiceView(number: number, inv: InvoiceRows, ctx: InvoiceContext, ref: Reference): InvoiceView {
  const h = inv.header;
  const c = h.currency_cd;
  const digits = currencyDigits(c, ref);
  const money = (v: Dec4): Money => ({ amount: minorUnits(v, digits), currency: c });
  const issuedOn = dateOf(h.inv_dt)!;
  const periodStart = dateOf(h.period_from_dt)!;
  const periodEnd = dateOf(h.period_to_dt)!;
  const ok = inv.payments.filter((p) => p.resp_cd === '00');
  const sum = (type: string) => ok.filter((p) => p.txn_type === type).reduce((s, p) => s + dec4(p.amount), 0n);
  const charged = sum('CAP');
  const refunded = sum('REF');
  let status = invoiceStatus[h.status_cd] ?? 'open';
  if (status === 'paid' && ok.some((p) => p.txn_type === 'CHB')) status = 'disputed';
  else if (status === 'paid' && refunded > 0n) status = 'partially_refunded';
  // The invoice's plan names its subscription: the latest of the member's on a plan of that product started by the invoice date.
  const planCd = inv.details.find((d) => d.plan_cd)?.plan_cd ?? null;
  const productType = planCd ? ref.plans.get(planCd)?.product_type ?? null : null;
  const candidates = ctx.subscriptions.map((s, i) => ({ s, i })).filter(({ s }) => String(s.start_dt).slice(0, 10) <= issuedOn);
  const owner = candidates.filter(({ s }) => s.plan_cd === planCd).at(-1)
    ?? candidates.filter(({ s }) => productType === null || ref.plans.get(s.plan_cd)?.product_type === productType).at(-1) ?? candidates.at(-1);
  const inclusive = ref.countries.find((x) => x.country_cd === ctx.country)?.tax_incl_flg === 'Y';
  const { rate, regional } = taxRate(ref, ctx.country, ctx.region, productType, issuedOn);
  const headerTax = dec4(h.tax_amt);
  // The legacy taxed the invoice total, not each line: the whole tax sits on the first line.
  const lines = [...inv.details].sort((a, b) => Number(a.line_no) - Number(b.line_no)).map((d, i): InvoiceLineView => {
    const amount = dec4(d.amount);
    const discount = dec4(d.discount_amt);
    const tax = i === 0 ? headerTax : 0n;
    const taxable = amount - discount;
    return {
      line: Number(d.line_no), kind: 'plan', description: d.descr ?? '', plan: d.plan_cd ? planName(d.plan_cd, ref) : '', periodStart, periodEnd,
      amount: money(amount), discount: money(discount), net: money(inclusive ? taxable - tax : taxable), tax: money(tax), total: money(inclusive ? taxable : taxable + tax),
      taxRatePpm: ratePpm(rate), taxName: `${ctx.country ?? ''}${regional && ctx.region ? `-${ctx.region}` : ''} ${inclusive ? 'VAT' : 'sales tax'}`.trim(),
    };
  });
  return {
    id: `${ctx.key}#${number}`, member: ctx.key, number, subscription: owner ? `${ctx.key}-s${owner.i + 1}` : '', kind: 'renewal', status,
    periodStart, periodEnd, issuedOn, subtotal: money(dec4(h.subtotal_amt)), discount: money(dec4(h.discount_amt)), tax: money(headerTax), total: money(dec4(h.total_amt)),
    balanceApplied: money(dec4(h.gift_applied_amt) + dec4(h.credit_applied_amt)), charged: money(charged), refunded: money(refunded),
    // The nightly run retries a soft decline once, three days after the invoice.
    nextAttemptOn: h.status_cd === 'F' ? addDays(issuedOn, 3) : null,
    catalogVersion: null,
    lines,
  };
}

export function addDays(date: string, k: number): string {
  const t = new Date(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)) + k));
  return t.toISOString().slice(0, 10);
}

const laParts = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

/** An instant as the legacy writes it: the data centre's local time (America/Los_Angeles), without a zone. */
export function laLocal(ms: number): string {
  const p = Object.fromEntries(laParts.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}
