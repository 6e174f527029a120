import { sql, type Kysely, type Transaction } from 'kysely';
import type { Invoice } from '../../domain/invoice.ts';
import type { Member } from '../../domain/member.ts';
import { dec4, ensureMemberBillingStopTable, formatDec4, legacyEngineOf, memberBillingStopRow, type LegacySchema } from '../../legacy/index.ts';
import { inTransaction } from '../../legacy/member-api-store.ts';
import type { Services } from '../../jobs/services.ts';
import type { Message } from '../../messaging/index.ts';
import { rowToInvoice } from '../../store/ledger.ts';
import { loadMember } from '../../store/members.ts';
import type { Schema } from '../../store/schema.ts';
import {
  applyBalance, cardRow, historyCode, historyPlans, invoiceDetailRows, invoiceHeaderFields, invoiceTxns, LegacyRefusal,
  legacyAmount, legacyDec4, legacyStamp, legacyWallClock, promotionFields, signupRows, subscriptionFields, type PlanCodeFor,
} from './legacy-rows.ts';

/**
 * The legacy writer: one Tally event → the legacy's rows, in one legacy transaction together
 * with the record that the event was applied, so a redelivered or replayed event finds its
 * record and writes nothing twice. It reads Tally's state as it is now (the event names what
 * changed; Tally's rows say what it is) and writes what differs, so applying a member's events
 * in order converges on Tally's member whatever was read in between.
 *
 * The writer's own tables live in the legacy database beside the legacy's (created if missing):
 * - tally_backsync_applied: every event applied (or found to be another country's), by event id;
 * - tally_backsync_keys: which legacy row a Tally invoice or payment transaction became (the
 *   legacy numbers its rows max+1, so the link is recorded, not derived). Rows the migration
 *   carried over are named by their legacy key already (legacy-inv:N, legacy-txn:N).
 */
export interface BacksyncTables {
  tally_backsync_applied: { event_id: string; member_id: string; country: string; seq: number; event_type: string; occurred_on: string; applied_at: string };
  tally_backsync_keys: { kind: string; tally_id: string; legacy_id: number };
}

type LegacyDb = Kysely<LegacySchema & BacksyncTables>;
type Trx = Transaction<LegacySchema & BacksyncTables>;

/** Create the writer's tables in the legacy database unless they are there. */
export async function ensureBacksyncTables(db: Kysely<LegacySchema>): Promise<void> {
  const engine = legacyEngineOf(db);
  const v = (n: number) => sql.raw(`varchar(${n})`);
  await db.schema.createTable('tally_backsync_applied').ifNotExists().addColumn('event_id', v(240), (c) => c.primaryKey())
    .addColumn('member_id', v(64), (c) => c.notNull()).addColumn('country', sql.raw('char(2)'), (c) => c.notNull()).addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('event_type', v(64), (c) => c.notNull()).addColumn('occurred_on', sql.raw('char(10)'), (c) => c.notNull()).addColumn('applied_at', v(30), (c) => c.notNull()).execute();
  await db.schema.createTable('tally_backsync_keys').ifNotExists().addColumn('kind', v(16), (c) => c.notNull()).addColumn('tally_id', v(240), (c) => c.notNull())
    .addColumn('legacy_id', 'bigint', (c) => c.notNull()).addPrimaryKeyConstraint('tally_backsync_keys_pk', ['kind', 'tally_id']).execute();
  await ensureMemberBillingStopTable(db);
  // Status reads the last applied event per country.
  const index = db.schema.createIndex('tally_backsync_applied_country').on('tally_backsync_applied').columns(['country', 'applied_at']);
  if (engine === 'mysql') await index.execute().catch((err: { errno?: number }) => { if (err.errno !== 1061) throw err; });
  else await index.ifNotExists().execute();
}

/** Has the legacy taken this event? */
export async function appliedInLegacy(db: Kysely<LegacySchema>, eventId: string): Promise<boolean> {
  const row = await (db as LegacyDb).selectFrom('tally_backsync_applied').select('event_id').where('event_id', '=', eventId).executeTakeFirst();
  return row !== undefined;
}

export interface WriterContext {
  legacy: Kysely<LegacySchema>;
  tally: Pick<Services, 'store' | 'memberStore'>;
  codeFor: PlanCodeFor;
  now?: () => number;
}

type Keyed = 'customer' | 'customer_email' | 'customer_address' | 'account' | 'payment_method' | 'subscription' | 'subscription_history' | 'promotion'
  | 'promotion_redemption' | 'invoice_header' | 'invoice_detail' | 'payment_txn' | 'gift_card' | 'gift_card_txn' | 'credit_memo';
const keyColumn: Record<Keyed, string> = {
  customer: 'cust_id', customer_email: 'email_id', customer_address: 'addr_id', account: 'acct_id', payment_method: 'pm_id', subscription: 'sub_id',
  subscription_history: 'sub_hist_id', promotion: 'promo_id', promotion_redemption: 'redemption_id', invoice_header: 'inv_id', invoice_detail: 'inv_det_id',
  payment_txn: 'txn_id', gift_card: 'gc_id', gift_card_txn: 'gc_txn_id', credit_memo: 'memo_id',
};

/** The legacy's keys: the table's highest plus one, as its own code numbers them (a race is a duplicate key: the transaction runs again). */
async function nextId(trx: Trx, table: Keyed): Promise<number> {
  const row = await sql<{ m: number | string | null }>`select max(${sql.ref(keyColumn[table])}) as m from ${sql.table(table)}`.execute(trx);
  return Number(row.rows[0]?.m ?? 0) + 1;
}

async function keyOf(trx: Trx, kind: 'invoice' | 'txn', tallyId: string): Promise<number | undefined> {
  const legacyKey = /^legacy-(?:inv|txn):(\d+)$/.exec(tallyId);
  if (legacyKey) return Number(legacyKey[1]);
  const row = await trx.selectFrom('tally_backsync_keys').select('legacy_id').where('kind', '=', kind).where('tally_id', '=', tallyId).executeTakeFirst();
  return row ? Number(row.legacy_id) : undefined;
}

async function recordKey(trx: Trx, kind: 'invoice' | 'txn', tallyId: string, legacyId: number): Promise<void> {
  await trx.insertInto('tally_backsync_keys').values({ kind, tally_id: tallyId, legacy_id: legacyId }).execute();
}

/** What one event needs from Tally, read before the legacy transaction opens (nothing of Tally is read while it holds locks). */
interface TallyView {
  member: Member;
  invoice?: { invoice: Invoice; attempts: Schema['payment_attempts'][]; refunds: Schema['refunds'][]; chargebacks: Schema['chargebacks'][] };
  credit?: Schema['credits'];
}

async function readTally(tally: WriterContext['tally'], m: Message, member: Member): Promise<TallyView> {
  const view: TallyView = { member };
  const ledger = tally.store.db;
  const invoiceId = typeof m.data.invoice === 'string' ? m.data.invoice : null;
  if (invoiceId) {
    const row = await ledger.selectFrom('invoices').selectAll().where('id', '=', invoiceId).executeTakeFirst();
    if (!row) throw new LegacyRefusal(`event ${m.id} names invoice ${invoiceId}, which Tally does not have`);
    const [lines, attempts, refunds, chargebacks] = await Promise.all([
      ledger.selectFrom('invoice_lines').selectAll().where('invoice_id', '=', invoiceId).orderBy('line_no').execute(),
      ledger.selectFrom('payment_attempts').selectAll().where('invoice_id', '=', invoiceId).execute(),
      ledger.selectFrom('refunds').selectAll().where('invoice_id', '=', invoiceId).orderBy('id').execute(),
      ledger.selectFrom('chargebacks').selectAll().where('invoice_id', '=', invoiceId).orderBy('id').execute(),
    ]);
    const invoice = rowToInvoice(row, lines.map((l) => ({
      lineNo: Number(l.line_no), kind: l.kind as 'plan' | 'proration', description: l.description, planId: l.plan_id, periodStart: l.period_start, periodEnd: l.period_end,
      amount: Number(l.amount), discount: Number(l.discount), net: Number(l.net), tax: Number(l.tax), total: Number(l.total), taxRatePpm: Number(l.tax_rate_ppm), taxName: l.tax_name,
    })));
    view.invoice = { invoice, attempts, refunds, chargebacks };
  }
  if (m.type === 'credit.granted') {
    const creditId = m.id.slice('credit.granted:'.length);
    view.credit = await ledger.selectFrom('credits').selectAll().where('id', '=', creditId).executeTakeFirst();
    if (!view.credit) throw new LegacyRefusal(`event ${m.id} names credit ${creditId}, which Tally does not have`);
  }
  return view;
}

export interface ApplyOutcome {
  outcome: 'applied' | 'duplicate';
}

/**
 * Apply one event of a member of a country Tally serves. Throws LegacyRefusal (or the
 * database's own error, a constraint) when the legacy cannot take it: the consumer's retries
 * and then its dead-letter queue take over, and nothing of the event is written.
 */
export async function applyToLegacy(ctx: WriterContext, m: Message, seq: number): Promise<ApplyOutcome> {
  const legacy = ctx.legacy as LegacyDb;
  if (await appliedInLegacy(legacy, m.id)) return { outcome: 'duplicate' };
  const member = await loadMember(ctx.tally.memberStore.db, m.memberId);
  if (!member) throw new LegacyRefusal(`Tally has no member "${m.memberId}" (event ${m.id})`);
  const tally = await readTally(ctx.tally, m, member);
  const now = legacyWallClock((ctx.now ?? Date.now)());
  return inTransaction(ctx.legacy, async (t) => {
    const trx = t as unknown as Trx;
    // Inside the transaction again: a twin delivery that committed meanwhile wins, and this one writes nothing.
    if (await trx.selectFrom('tally_backsync_applied').select('event_id').where('event_id', '=', m.id).executeTakeFirst()) return { outcome: 'duplicate' as const };
    await writeEvent(trx, ctx, m, tally, now);
    await trx.insertInto('tally_backsync_applied').values({
      event_id: m.id, member_id: m.memberId, country: member.country, seq, event_type: m.type, occurred_on: m.occurredOn, applied_at: new Date((ctx.now ?? Date.now)()).toISOString(),
    }).execute();
    return { outcome: 'applied' as const };
  });
}

async function writeEvent(trx: Trx, ctx: WriterContext, m: Message, t: TallyView, now: string): Promise<void> {
  const { member } = t;
  const zone = member.timezone;
  const on = legacyStamp(m.occurredOn, zone);
  let customer = await trx.selectFrom('customer').selectAll().where('acct_no', '=', member.id).where('deleted_flg', '=', 'N').executeTakeFirst();
  if (!customer) {
    // Only a sign-up creates a customer; any other event of a member the legacy does not know is refused.
    if (m.type !== 'subscription.created') throw new LegacyRefusal(`the legacy has no customer with account number "${member.id}" (event ${m.id})`);
    customer = await createCustomer(trx, member, now, (ctx.now ?? Date.now)());
  }
  // Touching the customer and account first serializes writers of one member, as the legacy's own actions do, and moves their change marks.
  await trx.updateTable('customer').set({ updated_dt: now }).where('cust_id', '=', customer.cust_id).execute();
  const account = await trx.selectFrom('account').selectAll().where('cust_id', '=', customer.cust_id).orderBy('acct_id').executeTakeFirst();
  if (!account) throw new LegacyRefusal(`legacy customer ${member.id} has no account (event ${m.id})`);
  const acctId = Number(account.acct_id);
  await trx.updateTable('account').set({ updated_dt: now }).where('acct_id', '=', acctId).execute();
  if (account.currency_cd !== member.currency) throw new LegacyRefusal(`legacy account ${acctId} is in ${account.currency_cd}, Tally bills ${member.id} in ${member.currency}`);

  const card = await syncCard(trx, acctId, member.paymentToken, now);
  if (m.type === 'gift_card.redeemed') await redeemGiftCard(trx, acctId, m, member.currency, on);
  if (m.type === 'credit.granted' && t.credit) {
    await trx.insertInto('credit_memo').values({
      memo_id: await nextId(trx, 'credit_memo'), acct_id: acctId, amount: legacyAmount(Number(t.credit.amount), member.currency),
      reason_txt: t.credit.reason.slice(0, 200), issued_dt: legacyStamp(t.credit.granted_on, zone), applied_inv_id: null, applied_amt: '0.0000',
    }).execute();
  }
  const subs = await syncSubscriptions(trx, ctx, m, member, acctId, on, now);
  if (t.invoice) await syncInvoice(trx, ctx, t.invoice, member, acctId, card, subs);
  // The legacy holds the account while a subscription is on hold (its nightly run does the same on a hard decline).
  const held = member.subscriptions.some((s) => s.status === 'on_hold');
  const status = held ? 'H' : account.status_cd === 'H' ? 'A' : account.status_cd;
  if (status !== account.status_cd) await trx.updateTable('account').set({ status_cd: status }).where('acct_id', '=', acctId).execute();
}

/**
 * A member who signed up on Tally, in the legacy: its rows, and its billing switch off. Tally
 * bills it from its first day; a canary cohort's legacy-stop has long been taken by then and
 * would not see it, so without the switch the legacy's nightly run would bill it too. An abort
 * that gives its country or cohort back to the legacy turns the switch on again with the rest.
 */
async function createCustomer(trx: Trx, member: Member, now: string, nowMs: number): Promise<LegacySchema['customer']> {
  const rows = signupRows(member, now);
  const taken = await trx.selectFrom('customer').select('cust_id').where('acct_no', '=', member.id).executeTakeFirst();
  if (taken) throw new LegacyRefusal(`account number "${member.id}" belongs to a deleted legacy customer`);
  const custId = await nextId(trx, 'customer');
  const customer = { cust_id: custId, ...rows.customer };
  await trx.insertInto('customer').values(customer).execute();
  if (rows.email) await trx.insertInto('customer_email').values({ email_id: await nextId(trx, 'customer_email'), cust_id: custId, ...rows.email }).execute();
  await trx.insertInto('customer_address').values({ addr_id: await nextId(trx, 'customer_address'), cust_id: custId, ...rows.address }).execute();
  const acctId = await nextId(trx, 'account');
  await trx.insertInto('account').values({ acct_id: acctId, cust_id: custId, ...rows.account }).execute();
  await trx.insertInto('payment_method').values({ pm_id: await nextId(trx, 'payment_method'), acct_id: acctId, ...rows.card }).execute();
  await trx.insertInto('customer_billing_stop').values(memberBillingStopRow(member.id, 'tally back-sync', 'signed up on Tally, which bills this member', nowMs)).execute();
  return customer;
}

/** The card Tally charges is the legacy's active one: a new token replaces the active card (marked R, kept), as the legacy's own card change does. */
async function syncCard(trx: Trx, acctId: number, token: string, now: string): Promise<number | null> {
  const active = await trx.selectFrom('payment_method').select(['pm_id', 'token']).where('acct_id', '=', acctId).where('status_cd', '=', 'A').where('deleted_flg', '=', 'N')
    .orderBy('pm_id', 'desc').executeTakeFirst();
  if (!token || active?.token === token) return active ? Number(active.pm_id) : null;
  await trx.updateTable('payment_method').set({ status_cd: 'R' }).where('acct_id', '=', acctId).where('status_cd', '=', 'A').execute();
  const pmId = await nextId(trx, 'payment_method');
  await trx.insertInto('payment_method').values({ pm_id: pmId, acct_id: acctId, ...cardRow(token, now) }).execute();
  return pmId;
}

async function redeemGiftCard(trx: Trx, acctId: number, m: Message, currency: string, on: string): Promise<void> {
  const code = String(m.data.code);
  const value = legacyAmount(Number(m.data.amount), currency);
  const sold = await trx.selectFrom('gift_card').select(['gc_id', 'redeemed_acct_id']).where('gc_code', '=', code).executeTakeFirst();
  if (sold) throw new LegacyRefusal(`gift card "${code}" is already in the legacy${sold.redeemed_acct_id !== null ? `, redeemed by account ${sold.redeemed_acct_id}` : ''}`);
  // Claimed in the same commit, as the legacy's own redemption does: its member API then refuses the code too.
  const claim = await trx.selectFrom('gift_card_claim').select('acct_id').where('gc_code', '=', code).executeTakeFirst();
  if (claim && Number(claim.acct_id) !== acctId) throw new LegacyRefusal(`gift card "${code}" is claimed in the legacy by account ${claim.acct_id}`);
  if (!claim) await trx.insertInto('gift_card_claim').values({ gc_code: code, acct_id: acctId, claimed_dt: on }).execute();
  const gcId = await nextId(trx, 'gift_card');
  await trx.insertInto('gift_card').values({ gc_id: gcId, gc_code: code, orig_amt: value, currency_cd: currency, sold_dt: on, redeemed_acct_id: acctId, redeemed_dt: on }).execute();
  await trx.insertInto('gift_card_txn').values({ gc_txn_id: await nextId(trx, 'gift_card_txn'), gc_id: gcId, acct_id: acctId, txn_type: 'RDM', amount: value, inv_id: null, txn_dt: on }).execute();
}

/**
 * Tally's subscriptions onto the account's, position by position (the migration made Tally's
 * n-th subscription from the legacy's n-th by key; a new one in Tally is the next in both):
 * each row written where it differs, a new one inserted, the running promotion's cycles set to
 * Tally's, and the event's history row written. Returns each subscription's legacy key and code.
 */
async function syncSubscriptions(trx: Trx, ctx: WriterContext, m: Message, member: Member, acctId: number, on: string, now: string): Promise<Map<string, { subId: number; code: string }>> {
  const rows = await trx.selectFrom('subscription').selectAll().where('acct_id', '=', acctId).orderBy('sub_id').execute();
  const out = new Map<string, { subId: number; code: string }>();
  const eventSub = typeof m.data.subscription === 'string' ? m.data.subscription : null;
  for (const [i, sub] of member.subscriptions.entries()) {
    const existing = rows[i] ?? null;
    const fields = subscriptionFields(sub, existing, ctx.codeFor);
    let subId: number;
    if (!existing) {
      subId = await nextId(trx, 'subscription');
      await trx.insertInto('subscription').values({ sub_id: subId, acct_id: acctId, start_dt: `${sub.since} 00:00:00`, ...fields, updated_dt: now }).execute();
    } else {
      subId = Number(existing.sub_id);
      const changed = (Object.keys(fields) as (keyof typeof fields)[]).some((k) => String(existing[k] ?? '') !== String(fields[k] ?? '') && !(k === 'price_override_amt' && sameDecimal(existing[k], fields[k])));
      if (changed) await trx.updateTable('subscription').set({ ...fields, updated_dt: now }).where('sub_id', '=', subId).execute();
    }
    out.set(sub.id, { subId, code: fields.plan_cd });
    await syncPromotion(trx, sub, member.currency, subId, on);
    const code = eventSub === sub.id ? historyCode(m.type) : null;
    if (code) {
      // A change's old plan is the subscription's code before this write; the event's own `from` is Tally's id of it.
      const oldCode = existing?.plan_cd ?? fields.plan_cd;
      await trx.insertInto('subscription_history').values({
        sub_hist_id: await nextId(trx, 'subscription_history'), sub_id: subId, event_cd: code, ...historyPlans(code, oldCode, fields.plan_cd),
        event_dt: on, event_yyyymmdd: m.occurredOn.replaceAll('-', ''),
      }).execute();
    }
  }
  return out;
}

const sameDecimal = (a: unknown, b: unknown) => a !== null && b !== null && a !== undefined && b !== undefined && dec4(a as string) === dec4(b as string);

/** The running promotion's cycles left are Tally's; a discount granted in Tally becomes a promotion and its redemption. */
async function syncPromotion(trx: Trx, sub: Member['subscriptions'][number], currency: string, subId: number, on: string): Promise<void> {
  const want = sub.discount?.cyclesLeft ?? 0;
  const running = await trx.selectFrom('promotion_redemption').select(['redemption_id', 'cycles_left']).where('sub_id', '=', subId).where('cycles_left', '>', 0).orderBy('redemption_id').execute();
  if (!running.length) {
    if (!sub.discount || want <= 0) return;
    const promoId = await nextId(trx, 'promotion');
    await trx.insertInto('promotion').values({ promo_id: promoId, ...promotionFields(sub.discount, currency, sub.id, on) }).execute();
    await trx.insertInto('promotion_redemption').values({ redemption_id: await nextId(trx, 'promotion_redemption'), promo_id: promoId, sub_id: subId, redeemed_yyyymmdd: on.slice(0, 10).replaceAll('-', ''), cycles_left: want }).execute();
    return;
  }
  // The first running redemption is the one the legacy bills and the comparator reads; any later one is spent with it.
  for (const [i, r] of running.entries()) {
    const cycles = i === 0 ? want : 0;
    if (Number(r.cycles_left) !== cycles) await trx.updateTable('promotion_redemption').set({ cycles_left: cycles }).where('redemption_id', '=', r.redemption_id).execute();
  }
}

/**
 * An invoice as Tally has it now: its header and lines the first time (with the balances it
 * used taken from the legacy's gift cards and credit memos), its status and every payment
 * transaction not written yet on each later event.
 */
async function syncInvoice(trx: Trx, ctx: WriterContext, v: NonNullable<TallyView['invoice']>, member: Member, acctId: number, pmId: number | null, subs: Map<string, { subId: number; code: string }>): Promise<void> {
  const { invoice } = v;
  const zone = member.timezone;
  const header = invoiceHeaderFields(invoice, zone);
  let invId = await keyOf(trx, 'invoice', invoice.key);
  if (invId === undefined) {
    if (invoice.key.startsWith('legacy-')) throw new LegacyRefusal(`invoice ${invoice.id} came from legacy key ${invoice.key}, which is not a legacy invoice`);
    invId = await nextId(trx, 'invoice_header');
    await trx.insertInto('invoice_header').values({ inv_id: invId, acct_id: acctId, inv_no: `INV${invId}`, ...header }).execute();
    const subscriptionCode = subs.get(invoice.subscriptionId)?.code ?? null;
    let detId = await nextId(trx, 'invoice_detail');
    for (const d of invoiceDetailRows(invoice, ctx.codeFor, subscriptionCode)) await trx.insertInto('invoice_detail').values({ inv_det_id: detId++, inv_id: invId, ...d }).execute();
    await applyBalances(trx, invoice, acctId, invId, header.inv_dt);
    await recordKey(trx, 'invoice', invoice.key, invId);
  } else {
    const found = await trx.selectFrom('invoice_header').select(['inv_id', 'status_cd', 'acct_id']).where('inv_id', '=', invId).executeTakeFirst();
    if (!found) throw new LegacyRefusal(`legacy invoice ${invId} (Tally ${invoice.id}) is not in the legacy`);
    if (Number(found.acct_id) !== acctId) throw new LegacyRefusal(`legacy invoice ${invId} belongs to account ${found.acct_id}, not ${acctId} (Tally ${invoice.id})`);
    if (found.status_cd !== header.status_cd) await trx.updateTable('invoice_header').set({ status_cd: header.status_cd }).where('inv_id', '=', invId).execute();
  }
  for (const t of invoiceTxns(invoice, v.attempts, v.refunds, v.chargebacks, zone)) {
    if (await keyOf(trx, 'txn', t.key) !== undefined) continue;
    const parent = t.parent ? (await keyOf(trx, 'txn', t.parent)) ?? null : null;
    const txnId = await nextId(trx, 'payment_txn');
    await trx.insertInto('payment_txn').values({ txn_id: txnId, inv_id: invId, pm_id: pmId, txn_type: t.txn_type, amount: t.amount, resp_cd: t.resp_cd, txn_dt: t.txn_dt, ref_no: t.ref_no?.slice(0, 40) ?? null, parent_txn_id: parent }).execute();
    await recordKey(trx, 'txn', t.key, txnId);
  }
}

async function applyBalances(trx: Trx, invoice: Invoice, acctId: number, invId: number, at: string): Promise<void> {
  if (invoice.giftCardApplied > 0) {
    const txns = await trx.selectFrom('gift_card_txn').select(['gc_id', 'txn_type', 'amount']).where('acct_id', '=', acctId).orderBy('gc_txn_id').execute();
    const byCard = new Map<number, bigint>();
    for (const t of txns) byCard.set(Number(t.gc_id), (byCard.get(Number(t.gc_id)) ?? 0n) + (t.txn_type === 'RDM' ? dec4(t.amount) : -dec4(t.amount)));
    const uses = applyBalance(legacyDec4(invoice.giftCardApplied, invoice.currency), [...byCard].map(([key, open]) => ({ key, open })), 'gift-card balance');
    let id = await nextId(trx, 'gift_card_txn');
    for (const u of uses) await trx.insertInto('gift_card_txn').values({ gc_txn_id: id++, gc_id: u.key, acct_id: acctId, txn_type: 'APL', amount: formatDec4(u.amount), inv_id: invId, txn_dt: at }).execute();
  }
  if (invoice.creditApplied > 0) {
    const memos = await trx.selectFrom('credit_memo').select(['memo_id', 'amount', 'applied_amt']).where('acct_id', '=', acctId).orderBy('memo_id').execute();
    const uses = applyBalance(legacyDec4(invoice.creditApplied, invoice.currency), memos.map((memo) => ({ key: memo, open: dec4(memo.amount) - dec4(memo.applied_amt) })), 'credit memos');
    for (const u of uses) {
      await trx.updateTable('credit_memo').set({ applied_amt: formatDec4(dec4(u.key.applied_amt) + u.amount), applied_inv_id: invId }).where('memo_id', '=', u.key.memo_id).execute();
    }
  }
}

