import { sql, type Kysely, type Transaction } from 'kysely';
import { accountsBilledElsewhere } from './billing-stop.ts';
import { LegacyError } from './connect.ts';
import { dec4, formatDec4, includedTax, timesRate, type Dec4 } from './decimal.ts';
import type { LegacySchema } from './schema.ts';

/**
 * The legacy's own nightly batch for one business day D, as it always ran (so the legacy
 * keeps moving while it is being migrated):
 * - every subscription active or in trial whose next bill date is on or before D is billed
 *   one period: the price point in force (or the member's price override), less a promotion
 *   still running, tax on the invoice total (not per line) rounded half to even, then the
 *   gift-card balance and open credit memos applied, then the card captured;
 * - a subscription flagged to cancel at the end of its period is cancelled instead;
 * - a failed invoice (insufficient funds) is retried once, three days later; a second
 *   failure, or a hard decline, makes it uncollectible and puts the subscription on hold.
 * Each subscription commits on its own, and a re-run for the same day finds nothing left
 * to do: its next bill date has moved on. A country whose billing moved elsewhere
 * (country_billing_stop, see billing-stop.ts), or a member's (customer_billing_stop), is neither billed nor retried.
 */
export interface LegacyDayResult {
  billed: number;
  paid: number;
  failed: number;
  retried: number;
  cancelled: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

function addMonths(date: string, k: number): string {
  const [y, m, d] = [Number(date.slice(0, 4)), Number(date.slice(5, 7)), Number(date.slice(8, 10))];
  const t = y * 12 + (m - 1) + k;
  return `${Math.floor(t / 12)}-${pad((t % 12) + 1)}-${pad(Math.min(d, 28))}`;
}

function addDays(date: string, k: number): string {
  const t = new Date(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)) + k));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** What the simulated card network answers for a token, in the legacy's response codes. */
function respond(token: string): string {
  return token === 'tok_ok' || token === 'tok_timeout' ? '00' : token === 'tok_soft_decline' ? '51' : '05';
}

type Db = Kysely<LegacySchema> | Transaction<LegacySchema>;

async function nextId(db: Db, table: 'invoice_header' | 'invoice_detail' | 'payment_txn' | 'gift_card_txn' | 'subscription_history', column: string): Promise<number> {
  const row = await sql<{ m: number | string | null }>`select max(${sql.ref(column)}) as m from ${sql.table(table)}`.execute(db);
  return Number(row.rows[0]?.m ?? 0) + 1;
}

export async function runLegacyDay(db: Kysely<LegacySchema>, date: string): Promise<LegacyDayResult> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || addDays(date, 0) !== date) throw new LegacyError(`--date must be a calendar date YYYY-MM-DD, got "${date}"`);
  const result: LegacyDayResult = { billed: 0, paid: 0, failed: 0, retried: 0, cancelled: 0 };
  const night = `${date} 03:00:00`;
  const dayEnd = `${date} 23:59:59`;

  const elsewhere = await accountsBilledElsewhere(db);
  const due = (await db.selectFrom('subscription').select(['sub_id', 'acct_id']).where('status_cd', 'in', [1, 4]).where('next_bill_dt', '<=', sql<string>`${dayEnd}`).orderBy('sub_id').execute())
    .filter((s) => !elsewhere.has(Number(s.acct_id)));
  for (const { sub_id } of due) {
    await db.transaction().execute(async (trx) => {
      const sub = await trx.selectFrom('subscription').selectAll().where('sub_id', '=', sub_id).executeTakeFirstOrThrow();
      if (!sub.next_bill_dt || String(sub.next_bill_dt) > dayEnd || (sub.status_cd !== 1 && sub.status_cd !== 4)) return;
      const billOn = String(sub.next_bill_dt).slice(0, 10);
      if (sub.cancel_eop_flg === 'Y') {
        await trx.updateTable('subscription').set({ status_cd: 3, next_bill_dt: null, updated_dt: night }).where('sub_id', '=', sub_id).execute();
        await trx.insertInto('subscription_history').values({ sub_hist_id: await nextId(trx, 'subscription_history', 'sub_hist_id'), sub_id, event_cd: 'CNCL', old_plan_cd: sub.plan_cd, new_plan_cd: null, event_dt: night, event_yyyymmdd: date.replaceAll('-', '') }).execute();
        result.cancelled++;
        return;
      }
      const account = await trx.selectFrom('account').selectAll().where('acct_id', '=', sub.acct_id).executeTakeFirstOrThrow();
      const plan = await trx.selectFrom('plan_code').selectAll().where('plan_cd', '=', sub.plan_cd).executeTakeFirstOrThrow();
      const address = await trx.selectFrom('customer_address').select(['region_cd', 'country_cd']).where('cust_id', '=', account.cust_id).where('deleted_flg', '=', 'N').orderBy('addr_id').executeTakeFirst();
      const price = await trx.selectFrom('price_point').selectAll().where('plan_cd', '=', sub.plan_cd).where('currency_cd', '=', account.currency_cd)
        .where('eff_from_dt', '<=', sql<string>`${`${billOn} 23:59:59`}`).where((eb) => eb.or([eb('eff_to_dt', 'is', null), eb('eff_to_dt', '>=', sql<string>`${`${billOn} 00:00:00`}`)]))
        .orderBy('eff_from_dt', 'desc').executeTakeFirst();
      if (!price && sub.price_override_amt === null) throw new LegacyError(`subscription ${sub_id}: no price for ${sub.plan_cd} in ${account.currency_cd} on ${billOn}`);
      const country = await trx.selectFrom('country').selectAll().where('country_cd', '=', price?.country_cd ?? String(address?.country_cd ?? '').toUpperCase().slice(0, 2)).executeTakeFirstOrThrow();
      const taxes = await trx.selectFrom('tax_jurisdiction').selectAll().where('country_cd', '=', country.country_cd).execute();
      const regional = taxes.find((t) => t.region_cd !== null && t.region_cd === address?.region_cd && (t.product_type === null || t.product_type === plan.product_type));
      const rate = String(regional?.tax_rate ?? taxes.find((t) => t.region_cd === null)?.tax_rate ?? '0');
      const digits = country.currency_digits;

      const subtotal = dec4(sub.price_override_amt ?? price!.amount);
      const promo = await trx.selectFrom('promotion_redemption').innerJoin('promotion', 'promotion.promo_id', 'promotion_redemption.promo_id')
        .select(['promotion_redemption.redemption_id', 'promotion_redemption.cycles_left', 'promotion.pct_off', 'promotion.amt_off'])
        .where('promotion_redemption.sub_id', '=', sub_id).where('promotion_redemption.cycles_left', '>', 0).executeTakeFirst();
      let discount = 0n;
      if (promo) {
        discount = promo.pct_off !== null ? (subtotal * dec4(promo.pct_off)) / 1_000_000n : dec4(promo.amt_off!);
        discount -= discount % 10n ** BigInt(4 - digits);
        if (discount > subtotal) discount = subtotal;
        await trx.updateTable('promotion_redemption').set({ cycles_left: Number(promo.cycles_left) - 1 }).where('redemption_id', '=', promo.redemption_id).execute();
      }
      const taxable = subtotal - discount;
      const tax = country.tax_incl_flg === 'Y' ? includedTax(taxable, rate, digits) : timesRate(taxable, rate, digits);
      const total = country.tax_incl_flg === 'Y' ? taxable : taxable + tax;

      // Balances the legacy keeps as transactions: gift cards redeemed less applied, credit memos less applied.
      const giftTxns = await trx.selectFrom('gift_card_txn').select(['gc_id', 'txn_type', 'amount']).where('acct_id', '=', account.acct_id).execute();
      const giftByCard = new Map<number, Dec4>();
      for (const t of giftTxns) giftByCard.set(Number(t.gc_id), (giftByCard.get(Number(t.gc_id)) ?? 0n) + (t.txn_type === 'RDM' ? dec4(t.amount) : -dec4(t.amount)));
      const memos = await trx.selectFrom('credit_memo').selectAll().where('acct_id', '=', account.acct_id).orderBy('memo_id').execute();
      const invId = await nextId(trx, 'invoice_header', 'inv_id');
      let left = total;
      let giftApplied = 0n;
      let gcTxn = await nextId(trx, 'gift_card_txn', 'gc_txn_id');
      for (const [gcId, balance] of giftByCard) {
        const take = balance < left ? balance : left;
        if (take <= 0n) continue;
        await trx.insertInto('gift_card_txn').values({ gc_txn_id: gcTxn++, gc_id: gcId, acct_id: account.acct_id, txn_type: 'APL', amount: formatDec4(take), inv_id: invId, txn_dt: night }).execute();
        giftApplied += take;
        left -= take;
      }
      let creditApplied = 0n;
      for (const memo of memos) {
        const open = dec4(memo.amount) - dec4(memo.applied_amt);
        const take = open < left ? open : left;
        if (take <= 0n) continue;
        await trx.updateTable('credit_memo').set({ applied_amt: formatDec4(dec4(memo.applied_amt) + take), applied_inv_id: invId }).where('memo_id', '=', memo.memo_id).execute();
        creditApplied += take;
        left -= take;
      }

      const card = await trx.selectFrom('payment_method').selectAll().where('acct_id', '=', account.acct_id).where('status_cd', '=', 'A').where('deleted_flg', '=', 'N').orderBy('pm_id', 'desc').executeTakeFirst();
      const resp = left === 0n ? '00' : card ? respond(card.token) : '05';
      const status = resp === '00' ? 'P' : resp === '51' ? 'F' : 'U';
      const periodTo = addMonths(billOn, plan.period_months);
      await trx.insertInto('invoice_header').values({
        inv_id: invId, acct_id: account.acct_id, inv_no: `INV${invId}`, inv_dt: night, period_from_dt: `${billOn} 00:00:00`, period_to_dt: `${periodTo} 00:00:00`, status_cd: status,
        currency_cd: account.currency_cd, subtotal_amt: formatDec4(subtotal), discount_amt: formatDec4(discount), tax_amt: formatDec4(tax), total_amt: formatDec4(total),
        gift_applied_amt: formatDec4(giftApplied), credit_applied_amt: formatDec4(creditApplied),
      }).execute();
      await trx.insertInto('invoice_detail').values({ inv_det_id: await nextId(trx, 'invoice_detail', 'inv_det_id'), inv_id: invId, line_no: 1, plan_cd: sub.plan_cd, descr: `${sub.plan_cd} ${billOn} to ${periodTo}`, amount: formatDec4(subtotal), discount_amt: formatDec4(discount) }).execute();
      if (left > 0n) await capture(trx, invId, card?.pm_id ?? null, left, resp, night);
      result.billed++;
      if (resp === '00') result.paid++;
      else result.failed++;
      await trx.updateTable('subscription').set({
        status_cd: resp === '00' ? 1 : resp === '51' ? 5 : 2, next_bill_dt: resp === '00' ? `${periodTo} 00:00:00` : null,
        paid_thru_dt: resp === '00' ? `${periodTo} 00:00:00` : sub.paid_thru_dt, updated_dt: night,
      }).where('sub_id', '=', sub_id).execute();
      if (resp === '05') await trx.updateTable('account').set({ status_cd: 'H', updated_dt: night }).where('acct_id', '=', account.acct_id).execute();
    });
  }

  // One retry, three days after a soft decline.
  const retry = (await db.selectFrom('invoice_header').select(['inv_id', 'acct_id']).where('status_cd', '=', 'F').where('inv_dt', '<=', sql<string>`${`${addDays(date, -3)} 23:59:59`}`).orderBy('inv_id').execute())
    .filter((i) => !elsewhere.has(Number(i.acct_id)));
  for (const { inv_id } of retry) {
    await db.transaction().execute(async (trx) => {
      const inv = await trx.selectFrom('invoice_header').selectAll().where('inv_id', '=', inv_id).executeTakeFirstOrThrow();
      if (inv.status_cd !== 'F') return;
      const card = await trx.selectFrom('payment_method').selectAll().where('acct_id', '=', inv.acct_id).where('status_cd', '=', 'A').where('deleted_flg', '=', 'N').orderBy('pm_id', 'desc').executeTakeFirst();
      const resp = card ? respond(card.token) : '05';
      const due = dec4(inv.total_amt) - dec4(inv.gift_applied_amt) - dec4(inv.credit_applied_amt);
      await capture(trx, inv_id, card?.pm_id ?? null, due, resp, night);
      await trx.updateTable('invoice_header').set({ status_cd: resp === '00' ? 'P' : 'U' }).where('inv_id', '=', inv_id).execute();
      const sub = await trx.selectFrom('subscription').selectAll().where('acct_id', '=', inv.acct_id).where('status_cd', '=', 5).orderBy('sub_id').executeTakeFirst();
      if (sub) {
        const to = String(inv.period_to_dt);
        await trx.updateTable('subscription').set(resp === '00' ? { status_cd: 1, paid_thru_dt: to, next_bill_dt: to, updated_dt: night } : { status_cd: 2, updated_dt: night }).where('sub_id', '=', sub.sub_id).execute();
      }
      result.retried++;
    });
  }
  return result;
}

async function capture(trx: Db, invId: number, pmId: number | null, amount: Dec4, resp: string, when: string): Promise<void> {
  let txn = await nextId(trx, 'payment_txn', 'txn_id');
  let parent: number | null = null;
  if (resp === '00') {
    parent = txn;
    await trx.insertInto('payment_txn').values({ txn_id: txn++, inv_id: invId, pm_id: pmId, txn_type: 'AUT', amount: formatDec4(amount), resp_cd: '00', txn_dt: when, ref_no: `R${parent}`, parent_txn_id: null }).execute();
  }
  await trx.insertInto('payment_txn').values({ txn_id: txn, inv_id: invId, pm_id: pmId, txn_type: 'CAP', amount: formatDec4(amount), resp_cd: resp, txn_dt: when, ref_no: resp === '00' ? `R${txn}` : null, parent_txn_id: parent }).execute();
}
