import { sql, type Kysely, type Transaction } from 'kysely';
import { formatDec4 } from './decimal.ts';
import { Refusal, type SignupInput } from './member-api-http.ts';
import { isDuplicateKey } from './member-api-idempotency.ts';
import {
  addDays, billingAddress, countryOf, currencyDigits, fromMinorUnits, invoiceView, laLocal, memberView, planCodeFor, planName,
  type InvoiceView, type MemberRows, type MemberView, type Reference,
} from './member-api-views.ts';
import type { LegacySchema } from './schema.ts';

/**
 * The member API's reads and writes on the legacy tables, the legacy way: a change is a row
 * updated in place with its subscription_history row, nothing is deleted (a replaced card is
 * marked R), timestamps are the data centre's local time, and the customer's and account's
 * updated_dt move with every change so a migration's high-water mark sees it. Each action is
 * one transaction that starts by touching the customer row, which serializes writers of one
 * member on every engine.
 */
type Db = Kysely<LegacySchema> | Transaction<LegacySchema>;
type Row<T extends keyof LegacySchema> = LegacySchema[T];

/** The card network's test tokens the legacy's nightly run knows (anything else it declines). */
export const knownTokens = ['tok_ok', 'tok_soft_decline', 'tok_hard_decline', 'tok_timeout'] as const;

/** Subscription history codes the member API writes, beside the batch's NEW/CHG/HOLD/RSUM/CNCL; explained in status_code. */
export const memberApiEventCodes: Row<'status_code'>[] = [
  { code_type: 'SUB_EVENT', code: 'CREQ', descr: 'Cancellation requested (at period end)' },
  { code_type: 'SUB_EVENT', code: 'CWDR', descr: 'Cancellation withdrawn' },
];

/** Ensure the code table explains the member API's history codes (a release adding codes, run at start-up). */
export async function addMemberApiCodes(db: Kysely<LegacySchema>): Promise<void> {
  for (const code of memberApiEventCodes) {
    const has = await db.selectFrom('status_code').select('code').where('code_type', '=', code.code_type).where('code', '=', code.code).executeTakeFirst();
    if (!has) await db.insertInto('status_code').values(code).execute().catch((err: unknown) => { if (!isDuplicateKey(err)) throw err; });
  }
}

export async function loadReference(db: Kysely<LegacySchema>, planNames: ReadonlyMap<string, string>): Promise<Reference> {
  const [countries, plans, taxes] = await Promise.all([
    db.selectFrom('country').selectAll().orderBy('country_cd').execute(),
    db.selectFrom('plan_code').selectAll().execute(),
    db.selectFrom('tax_jurisdiction').selectAll().orderBy('tax_jur_id').execute(),
  ]);
  return { countries, plans: new Map(plans.map((p) => [p.plan_cd, p])), taxes, planNames };
}

const unknownMember = (key: string) => new Refusal(404, 'id', `unknown member "${key}"`);

async function customerOf(db: Db, key: string): Promise<Row<'customer'> | undefined> {
  return db.selectFrom('customer').selectAll().where('acct_no', '=', key).where('deleted_flg', '=', 'N').executeTakeFirst();
}

/** Everything a member view is made of, or undefined for an unknown (or soft-deleted, or account-less) customer. */
export async function readMember(db: Db, key: string): Promise<MemberRows | undefined> {
  const customer = await customerOf(db, key);
  if (!customer) return undefined;
  const custId = Number(customer.cust_id);
  const [emails, addresses, accounts] = await Promise.all([
    db.selectFrom('customer_email').selectAll().where('cust_id', '=', custId).orderBy('email_id').execute(),
    db.selectFrom('customer_address').selectAll().where('cust_id', '=', custId).orderBy('addr_id').execute(),
    db.selectFrom('account').selectAll().where('cust_id', '=', custId).orderBy('acct_id').execute(),
  ]);
  if (!accounts.length) return undefined;
  const ids = accounts.map((a) => Number(a.acct_id));
  const [paymentMethods, subscriptions, invoices, invoicePlans, giftCardTxns, creditMemos] = await Promise.all([
    db.selectFrom('payment_method').selectAll().where('acct_id', 'in', ids).orderBy('pm_id').execute(),
    db.selectFrom('subscription').selectAll().where('acct_id', 'in', ids).orderBy('sub_id').execute(),
    db.selectFrom('invoice_header').select(['inv_id', 'status_cd', 'period_from_dt']).where('acct_id', 'in', ids).orderBy('inv_id').execute(),
    db.selectFrom('invoice_detail').innerJoin('invoice_header', 'invoice_header.inv_id', 'invoice_detail.inv_id')
      .select(['invoice_detail.inv_id', 'invoice_detail.plan_cd']).where('invoice_header.acct_id', 'in', ids).orderBy('invoice_detail.inv_det_id').execute(),
    db.selectFrom('gift_card_txn').select(['txn_type', 'amount']).where('acct_id', 'in', ids).orderBy('gc_txn_id').execute(),
    db.selectFrom('credit_memo').select(['amount', 'applied_amt']).where('acct_id', 'in', ids).orderBy('memo_id').execute(),
  ]);
  return { customer, emails, addresses, accounts, paymentMethods, subscriptions, invoices, invoicePlans, giftCardTxns, creditMemos };
}

export async function getMember(db: Db, key: string, ref: Reference): Promise<MemberView> {
  const rows = await readMember(db, key);
  if (!rows) throw unknownMember(key);
  return memberView(rows, ref);
}

/** A page of the member's invoices, newest first; invoice numbers count the member's invoices from 1 in the order they were made. */
export async function invoicePage(db: Db, key: string, before: number | null, limit: number, ref: Reference): Promise<{ invoices: InvoiceView[]; nextCursor: string | null }> {
  const customer = await customerOf(db, key);
  if (!customer) throw unknownMember(key);
  const custId = Number(customer.cust_id);
  const [addresses, accounts] = await Promise.all([
    db.selectFrom('customer_address').selectAll().where('cust_id', '=', custId).orderBy('addr_id').execute(),
    db.selectFrom('account').select('acct_id').where('cust_id', '=', custId).orderBy('acct_id').execute(),
  ]);
  if (!accounts.length) throw unknownMember(key);
  const ids = accounts.map((a) => Number(a.acct_id));
  const [subscriptions, all] = await Promise.all([
    db.selectFrom('subscription').selectAll().where('acct_id', 'in', ids).orderBy('sub_id').execute(),
    db.selectFrom('invoice_header').select('inv_id').where('acct_id', 'in', ids).orderBy('inv_id').execute(),
  ]);
  const numbered = all.map((r, i) => ({ id: Number(r.inv_id), number: i + 1 })).filter((r) => before === null || r.number < before).reverse();
  const page = numbered.slice(0, limit);
  if (!page.length) return { invoices: [], nextCursor: null };
  const pageIds = page.map((p) => p.id);
  const [headers, details, payments] = await Promise.all([
    db.selectFrom('invoice_header').selectAll().where('inv_id', 'in', pageIds).execute(),
    db.selectFrom('invoice_detail').selectAll().where('inv_id', 'in', pageIds).orderBy('inv_det_id').execute(),
    db.selectFrom('payment_txn').selectAll().where('inv_id', 'in', pageIds).orderBy('txn_id').execute(),
  ]);
  const address = billingAddress({ addresses });
  const ctx = {
    key, subscriptions, country: countryOf(customer.country_cd, ref) ?? countryOf(address?.country_cd ?? null, ref),
    region: address?.region_cd ? address.region_cd.trim().toUpperCase() : null,
  };
  const invoices = page.map((p) => invoiceView(p.number, {
    header: headers.find((h) => Number(h.inv_id) === p.id)!,
    details: details.filter((d) => Number(d.inv_id) === p.id),
    payments: payments.filter((t) => Number(t.inv_id) === p.id),
  }, ctx, ref));
  return { invoices, nextCursor: numbered.length > limit ? String(page.at(-1)!.number) : null };
}

type Keyed = 'customer' | 'customer_email' | 'customer_address' | 'account' | 'payment_method' | 'subscription' | 'subscription_history' | 'gift_card' | 'gift_card_txn';
const keyColumn: Record<Keyed, string> = {
  customer: 'cust_id', customer_email: 'email_id', customer_address: 'addr_id', account: 'acct_id', payment_method: 'pm_id',
  subscription: 'sub_id', subscription_history: 'sub_hist_id', gift_card: 'gc_id', gift_card_txn: 'gc_txn_id',
};

/** The legacy's keys: the table's highest plus one (it had no sequences); a race is a duplicate key, and the action is run again. */
async function nextId(db: Db, table: Keyed): Promise<number> {
  const row = await sql<{ m: number | string | null }>`select max(${sql.ref(keyColumn[table])}) as m from ${sql.table(table)}`.execute(db);
  return Number(row.rows[0]?.m ?? 0) + 1;
}

/** What every action is given: the clock and the reference data. */
export interface ActionContext {
  now: number;
  ref: Reference;
}

const stamp = (ctx: ActionContext) => laLocal(ctx.now);
/** The legacy's business day: the data centre's date, the one its nightly run bills by. */
const today = (ctx: ActionContext) => stamp(ctx).slice(0, 10);

/**
 * Run one action in one transaction and answer the member as committed. A duplicate key
 * (another writer took the same max+1 key) or a deadlock rolls the whole action back and runs it again.
 */
export async function inTransaction<T>(db: Kysely<LegacySchema>, work: (trx: Transaction<LegacySchema>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (err) {
      const e = err as { errno?: number; code?: string };
      // A deadlock between two writers (MariaDB 1213, PostgreSQL 40P01) rolls back as wholly as a duplicate key.
      const retryable = isDuplicateKey(err) || e?.errno === 1213 || e?.code === '40P01' || e?.code === '40001';
      if (!retryable || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 20 * attempt)));
    }
  }
}

/** The member's customer row, locked by touching it (the touch is also the high-water mark's signal), and its first account. */
async function lockMember(trx: Transaction<LegacySchema>, key: string, ctx: ActionContext): Promise<{ customer: Row<'customer'>; account: Row<'account'> }> {
  const customer = await customerOf(trx, key);
  if (!customer) throw unknownMember(key);
  await trx.updateTable('customer').set({ updated_dt: stamp(ctx) }).where('cust_id', '=', customer.cust_id).execute();
  const account = await trx.selectFrom('account').selectAll().where('cust_id', '=', customer.cust_id).orderBy('acct_id').executeTakeFirst();
  if (!account) throw unknownMember(key);
  await trx.updateTable('account').set({ updated_dt: stamp(ctx) }).where('acct_id', '=', account.acct_id).execute();
  return { customer, account };
}

async function history(trx: Transaction<LegacySchema>, sub: Pick<Row<'subscription'>, 'sub_id'>, event: string, oldPlan: string | null, newPlan: string | null, ctx: ActionContext): Promise<void> {
  await trx.insertInto('subscription_history').values({
    sub_hist_id: await nextId(trx, 'subscription_history'), sub_id: sub.sub_id, event_cd: event, old_plan_cd: oldPlan, new_plan_cd: newPlan,
    event_dt: stamp(ctx), event_yyyymmdd: today(ctx).replaceAll('-', ''),
  }).execute();
}

async function subscriptionsOf(trx: Transaction<LegacySchema>, customer: Row<'customer'>): Promise<Row<'subscription'>[]> {
  return trx.selectFrom('subscription').innerJoin('account', 'account.acct_id', 'subscription.acct_id').selectAll('subscription')
    .where('account.cust_id', '=', customer.cust_id).orderBy('subscription.sub_id').execute();
}

const isLive = (s: Row<'subscription'>) => Number(s.status_cd) !== 3;
const productOf = (s: Row<'subscription'>, ref: Reference) => (ref.plans.get(s.plan_cd)?.product_type === 'D' ? 'dvd' : 'streaming');

/** A plan the member app may order: known, still sold, not DVD (the DVD partner's business), priced in the currency today. */
async function orderablePlan(trx: Transaction<LegacySchema>, name: string, currency: string, ctx: ActionContext): Promise<Row<'plan_code'>> {
  const plan = planCodeFor(name, ctx.ref);
  if (!plan) throw new Refusal(422, 'plan', `unknown plan "${name}"`);
  if (plan.product_type === 'D') throw new Refusal(422, 'plan', `"${name}" is a DVD plan: DVD plans are added through the DVD partner API`);
  if (plan.obsolete_flg === 'Y') throw new Refusal(422, 'plan', `"${name}" is no longer sold`);
  const day = today(ctx);
  const price = await trx.selectFrom('price_point').select('price_point_id').where('plan_cd', '=', plan.plan_cd).where('currency_cd', '=', currency)
    .where('eff_from_dt', '<=', sql<string>`${`${day} 23:59:59`}`).where((eb) => eb.or([eb('eff_to_dt', 'is', null), eb('eff_to_dt', '>=', sql<string>`${`${day} 00:00:00`}`)]))
    .executeTakeFirst();
  if (!price) throw new Refusal(422, 'plan', `"${name}" is not sold in ${currency}`);
  return plan;
}

function checkToken(token: string): string {
  if (!(knownTokens as readonly string[]).includes(token)) throw new Refusal(422, 'payment', `unknown payment token "${token}"`);
  return token;
}

function isTimeZone(tz: string): boolean {
  // A fixed offset has no daylight-saving rules: not a zone a member lives in.
  if (/^[+\-\u2212\d]/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Sign up for a plan, creating the customer, its account, address, email and card on a first sign-up. */
export async function signup(trx: Transaction<LegacySchema>, b: SignupInput, ctx: ActionContext): Promise<MemberView> {
  const now = stamp(ctx);
  if (!(await customerOf(trx, b.id))) {
    if (b.id.length > 20) throw new Refusal(422, 'id', `"${b.id}" is longer than the legacy's 20-character account numbers`);
    const closed = await trx.selectFrom('customer').select('cust_id').where('acct_no', '=', b.id).executeTakeFirst();
    if (closed) throw new Refusal(422, 'id', `account number "${b.id}" belongs to a deleted customer`);
    const country = ctx.ref.countries.find((c) => c.country_cd === b.country && c.active_flg === 'Y');
    if (!country) throw new Refusal(422, 'country', `the legacy does not sell in ${b.country}`);
    if (b.timezone.length > 40 || !isTimeZone(b.timezone)) throw new Refusal(422, 'timezone', `"${b.timezone}" is not an IANA time zone`);
    checkToken(b.paymentToken);
    await orderablePlan(trx, b.plan, country.currency_cd, ctx);
    const custId = await nextId(trx, 'customer');
    await trx.insertInto('customer').values({ cust_id: custId, acct_no: b.id, first_nm: null, last_nm: null, country_cd: b.country, created_dt: now, updated_dt: now, deleted_flg: 'N', deleted_dt: null }).execute();
    if (b.email) await trx.insertInto('customer_email').values({ email_id: await nextId(trx, 'customer_email'), cust_id: custId, email_addr: b.email, primary_flg: 'Y', created_dt: now, deleted_flg: 'N' }).execute();
    await trx.insertInto('customer_address').values({ addr_id: await nextId(trx, 'customer_address'), cust_id: custId, addr_type: 'B', line1: null, city: null, region_cd: b.region ?? null, postal_cd: null, country_cd: b.country, deleted_flg: 'N' }).execute();
    const acctId = await nextId(trx, 'account');
    await trx.insertInto('account').values({ acct_id: acctId, cust_id: custId, status_cd: 'A', currency_cd: country.currency_cd, tz_nm: b.timezone, opened_dt: now, closed_dt: null, updated_dt: now }).execute();
    await trx.insertInto('payment_method').values({ pm_id: await nextId(trx, 'payment_method'), acct_id: acctId, pm_type: 'CC', token: b.paymentToken, last4: null, exp_mm: null, exp_yyyy: null, status_cd: 'A', created_dt: now, deleted_flg: 'N' }).execute();
  }
  const { customer, account } = await lockMember(trx, b.id, ctx);
  const plan = await orderablePlan(trx, b.plan, account.currency_cd, ctx);
  const product = plan.product_type === 'D' ? 'dvd' : 'streaming';
  if ((await subscriptionsOf(trx, customer)).some((s) => isLive(s) && productOf(s, ctx.ref) === product)) {
    throw new Refusal(422, 'plan', `member "${b.id}" already has a live ${product} subscription`);
  }
  // A returning member's closed account opens again.
  if (account.status_cd === 'C') await trx.updateTable('account').set({ status_cd: 'A', closed_dt: null }).where('acct_id', '=', account.acct_id).execute();
  const trial = Number(plan.trial_days) > 0;
  const subId = await nextId(trx, 'subscription');
  // Billed by the nightly run of the day the period starts: today, or the day the trial ends.
  await trx.insertInto('subscription').values({
    sub_id: subId, acct_id: account.acct_id, plan_cd: plan.plan_cd, status_cd: trial ? 4 : 1, start_dt: now, paid_thru_dt: null,
    next_bill_dt: `${addDays(today(ctx), Number(plan.trial_days))} 00:00:00`, cancel_eop_flg: 'N', price_override_amt: null, updated_dt: now,
  }).execute();
  await history(trx, { sub_id: subId }, 'NEW', null, plan.plan_cd, ctx);
  return getMember(trx, b.id, ctx.ref);
}

/** The legacy changes the plan in place: the new price is billed from the next bill date, nothing is prorated, and a negotiated price ends. */
export async function changePlan(trx: Transaction<LegacySchema>, key: string, name: string, ctx: ActionContext): Promise<MemberView> {
  const { customer, account } = await lockMember(trx, key, ctx);
  const plan = await orderablePlan(trx, name, account.currency_cd, ctx);
  const product = plan.product_type === 'D' ? 'dvd' : 'streaming';
  const sub = (await subscriptionsOf(trx, customer)).find((s) => isLive(s) && productOf(s, ctx.ref) === product);
  if (!sub) throw new Refusal(422, 'plan', `member "${key}" has no live ${product} subscription to change to "${name}"`);
  if (Number(sub.status_cd) === 2) throw new Refusal(422, 'member', `member "${key}" is on hold; update the payment method first`);
  if (planName(sub.plan_cd, ctx.ref) === planName(plan.plan_cd, ctx.ref)) throw new Refusal(422, 'plan', `member "${key}" is already on "${name}"`);
  await trx.updateTable('subscription').set({ plan_cd: plan.plan_cd, price_override_amt: null, updated_dt: stamp(ctx) }).where('sub_id', '=', sub.sub_id).execute();
  await history(trx, sub, 'CHG', sub.plan_cd, plan.plan_cd, ctx);
  return getMember(trx, key, ctx.ref);
}

async function liveSubscription(trx: Transaction<LegacySchema>, customer: Row<'customer'>, product: 'streaming' | 'dvd' | undefined, ctx: ActionContext): Promise<Row<'subscription'>> {
  const sub = (await subscriptionsOf(trx, customer)).find((s) => isLive(s) && (!product || productOf(s, ctx.ref) === product));
  if (!sub) throw new Refusal(422, 'member', `member "${customer.acct_no}" has no live ${product ?? ''} subscription`.replace('  ', ' '));
  return sub;
}

/** Cancel at the end of the paid period: the nightly run cancels it on its next bill date. Asking again changes nothing. */
export async function cancel(trx: Transaction<LegacySchema>, key: string, product: 'streaming' | 'dvd' | undefined, ctx: ActionContext): Promise<MemberView> {
  const { customer } = await lockMember(trx, key, ctx);
  const sub = await liveSubscription(trx, customer, product, ctx);
  if (sub.cancel_eop_flg !== 'Y') {
    await trx.updateTable('subscription').set({ cancel_eop_flg: 'Y', updated_dt: stamp(ctx) }).where('sub_id', '=', sub.sub_id).execute();
    await history(trx, sub, 'CREQ', sub.plan_cd, null, ctx);
  }
  return getMember(trx, key, ctx.ref);
}

export async function reactivate(trx: Transaction<LegacySchema>, key: string, product: 'streaming' | 'dvd' | undefined, ctx: ActionContext): Promise<MemberView> {
  const { customer } = await lockMember(trx, key, ctx);
  const sub = await liveSubscription(trx, customer, product, ctx);
  if (sub.cancel_eop_flg !== 'Y') throw new Refusal(422, 'member', `member "${key}" has no pending cancellation`);
  await trx.updateTable('subscription').set({ cancel_eop_flg: 'N', updated_dt: stamp(ctx) }).where('sub_id', '=', sub.sub_id).execute();
  await history(trx, sub, 'CWDR', null, sub.plan_cd, ctx);
  return getMember(trx, key, ctx.ref);
}

/**
 * A new card replaces the active one (marked R, kept). What is owed is retried by the next
 * nightly run: an uncollectible invoice goes back to failed-in-retry and its held
 * subscription to past due; held with nothing owed, the subscription resumes and the new
 * card is charged on the next run.
 */
export async function replacePaymentMethod(trx: Transaction<LegacySchema>, key: string, token: string, ctx: ActionContext): Promise<MemberView> {
  checkToken(token);
  const { customer, account } = await lockMember(trx, key, ctx);
  const now = stamp(ctx);
  const active = await trx.selectFrom('payment_method').selectAll().where('acct_id', '=', account.acct_id).where('status_cd', '=', 'A').where('deleted_flg', '=', 'N').orderBy('pm_id', 'desc').execute();
  // The same card again (a retried request) is no change.
  if (active[0]?.token === token) return getMember(trx, key, ctx.ref);
  await trx.updateTable('payment_method').set({ status_cd: 'R' }).where('acct_id', '=', account.acct_id).where('status_cd', '=', 'A').execute();
  await trx.insertInto('payment_method').values({ pm_id: await nextId(trx, 'payment_method'), acct_id: account.acct_id, pm_type: 'CC', token, last4: null, exp_mm: null, exp_yyyy: null, status_cd: 'A', created_dt: now, deleted_flg: 'N' }).execute();
  const owed = await trx.selectFrom('invoice_header').select(['inv_id', 'status_cd']).where('acct_id', '=', account.acct_id).where('status_cd', 'in', ['F', 'U']).execute();
  const held = (await subscriptionsOf(trx, customer)).filter((s) => Number(s.status_cd) === 2);
  if (owed.length) {
    await trx.updateTable('invoice_header').set({ status_cd: 'F' }).where('acct_id', '=', account.acct_id).where('status_cd', '=', 'U').execute();
    for (const s of held) await trx.updateTable('subscription').set({ status_cd: 5, updated_dt: now }).where('sub_id', '=', s.sub_id).execute();
  } else {
    for (const s of held) {
      const next = s.next_bill_dt && String(s.next_bill_dt).slice(0, 10) >= today(ctx) ? String(s.next_bill_dt) : `${today(ctx)} 00:00:00`;
      await trx.updateTable('subscription').set({ status_cd: 1, next_bill_dt: next, updated_dt: now }).where('sub_id', '=', s.sub_id).execute();
      await history(trx, s, 'RSUM', null, s.plan_cd, ctx);
    }
  }
  if (account.status_cd === 'H') await trx.updateTable('account').set({ status_cd: 'A' }).where('acct_id', '=', account.acct_id).execute();
  return getMember(trx, key, ctx.ref);
}

/** The legacy's DECIMAL(12,4) holds up to 99,999,999.9999 of a currency. */
const maxDecimal = 10n ** 12n - 1n;

/** A gift card sold and redeemed into the account's balance; its code is claimed in the same commit, so it is redeemed once. */
export async function redeemGiftCard(trx: Transaction<LegacySchema>, key: string, code: string, amount: number, currency: string, ctx: ActionContext): Promise<MemberView> {
  const { account } = await lockMember(trx, key, ctx);
  if (currency !== account.currency_cd) throw new Refusal(422, 'currency', `"${currency}" is not the member's currency (${account.currency_cd})`);
  const value = fromMinorUnits(amount, currencyDigits(currency, ctx.ref));
  if (value > maxDecimal) throw new Refusal(422, 'amount', `${amount} is more than the legacy's amounts hold (99,999,999.9999 ${currency})`);
  const taken = `gift card "${code}" was already redeemed`;
  const sold = await trx.selectFrom('gift_card').select('gc_id').where('gc_code', '=', code).executeTakeFirst();
  const claimed = await trx.selectFrom('gift_card_claim').select('gc_code').where('gc_code', '=', code).executeTakeFirst();
  if (sold || claimed) throw new Refusal(422, 'code', taken);
  const now = stamp(ctx);
  // A racing redemption of the same code fails on this key, and its retry finds the claim above.
  await trx.insertInto('gift_card_claim').values({ gc_code: code, acct_id: account.acct_id, claimed_dt: now }).execute();
  const gcId = await nextId(trx, 'gift_card');
  await trx.insertInto('gift_card').values({ gc_id: gcId, gc_code: code, orig_amt: formatDec4(value), currency_cd: currency, sold_dt: now, redeemed_acct_id: account.acct_id, redeemed_dt: now }).execute();
  await trx.insertInto('gift_card_txn').values({ gc_txn_id: await nextId(trx, 'gift_card_txn'), gc_id: gcId, acct_id: account.acct_id, txn_type: 'RDM', amount: formatDec4(value), inv_id: null, txn_dt: now }).execute();
  return getMember(trx, key, ctx.ref);
}
