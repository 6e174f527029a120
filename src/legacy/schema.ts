import { sql, type Kysely } from 'kysely';
import { legacyEngineOf } from './connect.ts';

/**
 * The reference legacy billing schema, as a team built it in the 2000s: normalized over
 * many tables, amounts as DECIMAL(12,4) in major units, timestamps in the data centre's
 * local time (America/Los_Angeles) without a zone, status codes as letters or numbers
 * explained by a code table, soft deletes, nullable columns everywhere, a numeric
 * surrogate key plus the customer's "account number", and a few dates kept as
 * CHAR(8) YYYYMMDD text (which is how impossible dates got in).
 *
 * Decimals read back as text on the servers and as numbers on SQLite; timestamps as
 * 'YYYY-MM-DD HH:MM:SS' text.
 */
export type Decimal = string | number;
export type LocalTimestamp = string;

export interface LegacySchema {
  country: { country_cd: string; country_cd3: string; country_nm: string; currency_cd: string; currency_digits: number; tax_incl_flg: string; active_flg: string };
  status_code: { code_type: string; code: string; descr: string };
  tax_jurisdiction: { tax_jur_id: number; country_cd: string; region_cd: string | null; product_type: string | null; tax_rate: Decimal; eff_from_dt: LocalTimestamp; eff_to_dt: LocalTimestamp | null };
  plan_code: { plan_cd: string; descr: string; product_type: string; period_months: number; trial_days: number; obsolete_flg: string };
  price_point: { price_point_id: number; plan_cd: string; country_cd: string; currency_cd: string; amount: Decimal; eff_from_dt: LocalTimestamp; eff_to_dt: LocalTimestamp | null };
  dvd_rental_plan: { plan_cd: string; discs_out: number; ship_region: string | null };
  promotion: { promo_id: number; promo_cd: string; descr: string | null; pct_off: Decimal | null; amt_off: Decimal | null; cycles: number; valid_from_dt: LocalTimestamp; valid_to_dt: LocalTimestamp | null };
  customer: { cust_id: number; acct_no: string; first_nm: string | null; last_nm: string | null; country_cd: string | null; created_dt: LocalTimestamp; updated_dt: LocalTimestamp; deleted_flg: string; deleted_dt: LocalTimestamp | null };
  customer_email: { email_id: number; cust_id: number; email_addr: string | null; primary_flg: string; created_dt: LocalTimestamp; deleted_flg: string };
  customer_address: { addr_id: number; cust_id: number; addr_type: string; line1: string | null; city: string | null; region_cd: string | null; postal_cd: string | null; country_cd: string | null; deleted_flg: string };
  account: { acct_id: number; cust_id: number; status_cd: string; currency_cd: string; tz_nm: string | null; opened_dt: LocalTimestamp; closed_dt: LocalTimestamp | null; updated_dt: LocalTimestamp };
  payment_method: { pm_id: number; acct_id: number; pm_type: string; token: string; last4: string | null; exp_mm: number | null; exp_yyyy: number | null; status_cd: string; created_dt: LocalTimestamp; deleted_flg: string };
  subscription: { sub_id: number; acct_id: number; plan_cd: string; status_cd: number; start_dt: LocalTimestamp; paid_thru_dt: LocalTimestamp | null; next_bill_dt: LocalTimestamp | null; cancel_eop_flg: string; price_override_amt: Decimal | null; updated_dt: LocalTimestamp };
  subscription_history: { sub_hist_id: number; sub_id: number; event_cd: string; old_plan_cd: string | null; new_plan_cd: string | null; event_dt: LocalTimestamp; event_yyyymmdd: string | null };
  promotion_redemption: { redemption_id: number; promo_id: number; sub_id: number; redeemed_yyyymmdd: string; cycles_left: number };
  invoice_header: { inv_id: number; acct_id: number; inv_no: string; inv_dt: LocalTimestamp; period_from_dt: LocalTimestamp; period_to_dt: LocalTimestamp; status_cd: string; currency_cd: string; subtotal_amt: Decimal; discount_amt: Decimal; tax_amt: Decimal; total_amt: Decimal; gift_applied_amt: Decimal; credit_applied_amt: Decimal };
  invoice_detail: { inv_det_id: number; inv_id: number; line_no: number; plan_cd: string | null; descr: string | null; amount: Decimal; discount_amt: Decimal };
  payment_txn: { txn_id: number; inv_id: number; pm_id: number | null; txn_type: string; amount: Decimal; resp_cd: string; txn_dt: LocalTimestamp; ref_no: string | null; parent_txn_id: number | null };
  gift_card: { gc_id: number; gc_code: string; orig_amt: Decimal; currency_cd: string; sold_dt: LocalTimestamp; redeemed_acct_id: number | null; redeemed_dt: LocalTimestamp | null };
  gift_card_txn: { gc_txn_id: number; gc_id: number; acct_id: number; txn_type: string; amount: Decimal; inv_id: number | null; txn_dt: LocalTimestamp };
  credit_memo: { memo_id: number; acct_id: number; amount: Decimal; reason_txt: string | null; issued_dt: LocalTimestamp; applied_inv_id: number | null; applied_amt: Decimal };
  // The member API's own tables (serve.ts), added when the legacy got an HTTP front: not part of the billing data.
  api_client: { client_id: string; client_nm: string; role_cd: string; secret_hash: string; created_dt: LocalTimestamp; revoked_dt: LocalTimestamp | null };
  api_idempotency: { client_id: string; idem_key: string; request_hash: string; status_cd: number | null; response_txt: string | null; created_dt: LocalTimestamp; created_ms: number };
  gift_card_claim: { gc_code: string; acct_id: number; claimed_dt: LocalTimestamp };
  // Countries the nightly run no longer bills (billing-stop.ts): added when a country's billing moved to another system.
  country_billing_stop: { country_cd: string; stopped_dt: LocalTimestamp; stopped_by: string; reason_txt: string | null };
  // Members the nightly run no longer bills (a canary cohort cut over ahead of its country), by account number.
  customer_billing_stop: { acct_no: string; stopped_dt: LocalTimestamp; stopped_by: string; reason_txt: string | null };
}

/** The member API's tables: created with the schema, never seeded, not part of what a migration reads. */
export const memberApiTables = ['api_client', 'api_idempotency', 'gift_card_claim'] as const;
export type MemberApiTable = (typeof memberApiTables)[number];
/** Operational switches, not billing data: what the nightly run leaves alone. */
export const operationTables = ['country_billing_stop', 'customer_billing_stop'] as const;
export type OperationTable = (typeof operationTables)[number];
export type LegacyTable = Exclude<keyof LegacySchema, MemberApiTable | OperationTable>;

/** Every table, parents before children: the order to create, fill and (reversed) drop them. */
export const legacyTables: LegacyTable[] = [
  'country', 'status_code', 'tax_jurisdiction', 'plan_code', 'price_point', 'dvd_rental_plan', 'promotion',
  'customer', 'customer_email', 'customer_address', 'account', 'payment_method', 'subscription', 'subscription_history',
  'promotion_redemption', 'invoice_header', 'invoice_detail', 'payment_txn', 'gift_card', 'gift_card_txn', 'credit_memo',
];

/** Create the legacy schema (on an empty database; tables already there are left as they are). */
export async function createLegacySchema(db: Kysely<LegacySchema>): Promise<void> {
  const engine = legacyEngineOf(db);
  const money = sql.raw('decimal(12,4)');
  const ts = sql.raw(engine === 'mysql' ? 'datetime' : engine === 'postgres' ? 'timestamp' : 'text');
  const v = (n: number) => sql.raw(`varchar(${n})`);
  const table = (name: keyof LegacySchema) => {
    const t = db.schema.createTable(name).ifNotExists();
    return engine === 'mysql' ? t.modifyEnd(sql`engine=InnoDB default charset=utf8mb4`) : t;
  };
  await table('country').addColumn('country_cd', sql.raw('char(2)'), (c) => c.primaryKey()).addColumn('country_cd3', sql.raw('char(3)'), (c) => c.notNull())
    .addColumn('country_nm', v(60), (c) => c.notNull()).addColumn('currency_cd', sql.raw('char(3)'), (c) => c.notNull()).addColumn('currency_digits', 'integer', (c) => c.notNull())
    .addColumn('tax_incl_flg', sql.raw('char(1)'), (c) => c.notNull()).addColumn('active_flg', sql.raw('char(1)'), (c) => c.notNull()).execute();
  await table('status_code').addColumn('code_type', v(20), (c) => c.notNull()).addColumn('code', v(4), (c) => c.notNull()).addColumn('descr', v(80), (c) => c.notNull())
    .addPrimaryKeyConstraint('status_code_pk', ['code_type', 'code']).execute();
  await table('tax_jurisdiction').addColumn('tax_jur_id', 'bigint', (c) => c.primaryKey()).addColumn('country_cd', sql.raw('char(2)'), (c) => c.notNull())
    .addColumn('region_cd', v(3)).addColumn('product_type', sql.raw('char(1)')).addColumn('tax_rate', sql.raw('decimal(7,5)'), (c) => c.notNull())
    .addColumn('eff_from_dt', ts, (c) => c.notNull()).addColumn('eff_to_dt', ts).execute();
  await table('plan_code').addColumn('plan_cd', v(20), (c) => c.primaryKey()).addColumn('descr', v(80), (c) => c.notNull()).addColumn('product_type', sql.raw('char(1)'), (c) => c.notNull())
    .addColumn('period_months', 'integer', (c) => c.notNull()).addColumn('trial_days', 'integer', (c) => c.notNull()).addColumn('obsolete_flg', sql.raw('char(1)'), (c) => c.notNull()).execute();
  await table('price_point').addColumn('price_point_id', 'bigint', (c) => c.primaryKey()).addColumn('plan_cd', v(20), (c) => c.notNull()).addColumn('country_cd', sql.raw('char(2)'), (c) => c.notNull())
    .addColumn('currency_cd', sql.raw('char(3)'), (c) => c.notNull()).addColumn('amount', money, (c) => c.notNull()).addColumn('eff_from_dt', ts, (c) => c.notNull()).addColumn('eff_to_dt', ts).execute();
  await table('dvd_rental_plan').addColumn('plan_cd', v(20), (c) => c.primaryKey()).addColumn('discs_out', 'integer', (c) => c.notNull()).addColumn('ship_region', v(20)).execute();
  await table('promotion').addColumn('promo_id', 'bigint', (c) => c.primaryKey()).addColumn('promo_cd', v(30), (c) => c.notNull()).addColumn('descr', v(120))
    .addColumn('pct_off', sql.raw('decimal(5,2)')).addColumn('amt_off', money).addColumn('cycles', 'integer', (c) => c.notNull())
    .addColumn('valid_from_dt', ts, (c) => c.notNull()).addColumn('valid_to_dt', ts).execute();
  await table('customer').addColumn('cust_id', 'bigint', (c) => c.primaryKey()).addColumn('acct_no', v(20), (c) => c.notNull().unique()).addColumn('first_nm', v(60)).addColumn('last_nm', v(60))
    .addColumn('country_cd', v(3)).addColumn('created_dt', ts, (c) => c.notNull()).addColumn('updated_dt', ts, (c) => c.notNull())
    .addColumn('deleted_flg', sql.raw('char(1)'), (c) => c.notNull()).addColumn('deleted_dt', ts).execute();
  await table('customer_email').addColumn('email_id', 'bigint', (c) => c.primaryKey()).addColumn('cust_id', 'bigint', (c) => c.notNull()).addColumn('email_addr', v(254))
    .addColumn('primary_flg', sql.raw('char(1)'), (c) => c.notNull()).addColumn('created_dt', ts, (c) => c.notNull()).addColumn('deleted_flg', sql.raw('char(1)'), (c) => c.notNull()).execute();
  await table('customer_address').addColumn('addr_id', 'bigint', (c) => c.primaryKey()).addColumn('cust_id', 'bigint', (c) => c.notNull()).addColumn('addr_type', sql.raw('char(1)'), (c) => c.notNull())
    .addColumn('line1', v(120)).addColumn('city', v(60)).addColumn('region_cd', v(3)).addColumn('postal_cd', v(12)).addColumn('country_cd', v(3))
    .addColumn('deleted_flg', sql.raw('char(1)'), (c) => c.notNull()).execute();
  await table('account').addColumn('acct_id', 'bigint', (c) => c.primaryKey()).addColumn('cust_id', 'bigint', (c) => c.notNull()).addColumn('status_cd', sql.raw('char(1)'), (c) => c.notNull())
    .addColumn('currency_cd', sql.raw('char(3)'), (c) => c.notNull()).addColumn('tz_nm', v(40)).addColumn('opened_dt', ts, (c) => c.notNull()).addColumn('closed_dt', ts)
    .addColumn('updated_dt', ts, (c) => c.notNull()).execute();
  await table('payment_method').addColumn('pm_id', 'bigint', (c) => c.primaryKey()).addColumn('acct_id', 'bigint', (c) => c.notNull()).addColumn('pm_type', sql.raw('char(2)'), (c) => c.notNull())
    .addColumn('token', v(64), (c) => c.notNull()).addColumn('last4', sql.raw('char(4)')).addColumn('exp_mm', 'integer').addColumn('exp_yyyy', 'integer')
    .addColumn('status_cd', sql.raw('char(1)'), (c) => c.notNull()).addColumn('created_dt', ts, (c) => c.notNull()).addColumn('deleted_flg', sql.raw('char(1)'), (c) => c.notNull()).execute();
  await table('subscription').addColumn('sub_id', 'bigint', (c) => c.primaryKey()).addColumn('acct_id', 'bigint', (c) => c.notNull()).addColumn('plan_cd', v(20), (c) => c.notNull())
    .addColumn('status_cd', 'integer', (c) => c.notNull()).addColumn('start_dt', ts, (c) => c.notNull()).addColumn('paid_thru_dt', ts).addColumn('next_bill_dt', ts)
    .addColumn('cancel_eop_flg', sql.raw('char(1)'), (c) => c.notNull()).addColumn('price_override_amt', money).addColumn('updated_dt', ts, (c) => c.notNull()).execute();
  await table('subscription_history').addColumn('sub_hist_id', 'bigint', (c) => c.primaryKey()).addColumn('sub_id', 'bigint', (c) => c.notNull()).addColumn('event_cd', v(8), (c) => c.notNull())
    .addColumn('old_plan_cd', v(20)).addColumn('new_plan_cd', v(20)).addColumn('event_dt', ts, (c) => c.notNull()).addColumn('event_yyyymmdd', sql.raw('char(8)')).execute();
  await table('promotion_redemption').addColumn('redemption_id', 'bigint', (c) => c.primaryKey()).addColumn('promo_id', 'bigint', (c) => c.notNull()).addColumn('sub_id', 'bigint', (c) => c.notNull())
    .addColumn('redeemed_yyyymmdd', sql.raw('char(8)'), (c) => c.notNull()).addColumn('cycles_left', 'integer', (c) => c.notNull()).execute();
  await table('invoice_header').addColumn('inv_id', 'bigint', (c) => c.primaryKey()).addColumn('acct_id', 'bigint', (c) => c.notNull()).addColumn('inv_no', v(20), (c) => c.notNull())
    .addColumn('inv_dt', ts, (c) => c.notNull()).addColumn('period_from_dt', ts, (c) => c.notNull()).addColumn('period_to_dt', ts, (c) => c.notNull())
    .addColumn('status_cd', sql.raw('char(1)'), (c) => c.notNull()).addColumn('currency_cd', sql.raw('char(3)'), (c) => c.notNull())
    .addColumn('subtotal_amt', money, (c) => c.notNull()).addColumn('discount_amt', money, (c) => c.notNull()).addColumn('tax_amt', money, (c) => c.notNull())
    .addColumn('total_amt', money, (c) => c.notNull()).addColumn('gift_applied_amt', money, (c) => c.notNull()).addColumn('credit_applied_amt', money, (c) => c.notNull()).execute();
  await table('invoice_detail').addColumn('inv_det_id', 'bigint', (c) => c.primaryKey()).addColumn('inv_id', 'bigint', (c) => c.notNull()).addColumn('line_no', 'integer', (c) => c.notNull())
    .addColumn('plan_cd', v(20)).addColumn('descr', v(120)).addColumn('amount', money, (c) => c.notNull()).addColumn('discount_amt', money, (c) => c.notNull()).execute();
  await table('payment_txn').addColumn('txn_id', 'bigint', (c) => c.primaryKey()).addColumn('inv_id', 'bigint', (c) => c.notNull()).addColumn('pm_id', 'bigint')
    .addColumn('txn_type', sql.raw('char(3)'), (c) => c.notNull()).addColumn('amount', money, (c) => c.notNull()).addColumn('resp_cd', v(4), (c) => c.notNull())
    .addColumn('txn_dt', ts, (c) => c.notNull()).addColumn('ref_no', v(40)).addColumn('parent_txn_id', 'bigint').execute();
  await table('gift_card').addColumn('gc_id', 'bigint', (c) => c.primaryKey()).addColumn('gc_code', v(40), (c) => c.notNull()).addColumn('orig_amt', money, (c) => c.notNull())
    .addColumn('currency_cd', sql.raw('char(3)'), (c) => c.notNull()).addColumn('sold_dt', ts, (c) => c.notNull()).addColumn('redeemed_acct_id', 'bigint').addColumn('redeemed_dt', ts).execute();
  await table('gift_card_txn').addColumn('gc_txn_id', 'bigint', (c) => c.primaryKey()).addColumn('gc_id', 'bigint', (c) => c.notNull()).addColumn('acct_id', 'bigint', (c) => c.notNull())
    .addColumn('txn_type', sql.raw('char(3)'), (c) => c.notNull()).addColumn('amount', money, (c) => c.notNull()).addColumn('inv_id', 'bigint').addColumn('txn_dt', ts, (c) => c.notNull()).execute();
  await table('credit_memo').addColumn('memo_id', 'bigint', (c) => c.primaryKey()).addColumn('acct_id', 'bigint', (c) => c.notNull()).addColumn('amount', money, (c) => c.notNull())
    .addColumn('reason_txt', v(200)).addColumn('issued_dt', ts, (c) => c.notNull()).addColumn('applied_inv_id', 'bigint').addColumn('applied_amt', money, (c) => c.notNull()).execute();
  await table('api_client').addColumn('client_id', sql.raw('char(12)'), (c) => c.primaryKey()).addColumn('client_nm', v(120), (c) => c.notNull())
    .addColumn('role_cd', v(20), (c) => c.notNull()).addColumn('secret_hash', sql.raw('char(64)'), (c) => c.notNull()).addColumn('created_dt', ts, (c) => c.notNull()).addColumn('revoked_dt', ts).execute();
  // created_ms beside the local timestamp: a key's age must not jump an hour when the clocks change.
  await table('api_idempotency').addColumn('client_id', sql.raw('char(12)'), (c) => c.notNull()).addColumn('idem_key', v(255), (c) => c.notNull())
    .addColumn('request_hash', sql.raw('char(64)'), (c) => c.notNull()).addColumn('status_cd', 'integer').addColumn('response_txt', sql.raw(engine === 'mysql' ? 'mediumtext' : 'text'))
    .addColumn('created_dt', ts, (c) => c.notNull()).addColumn('created_ms', 'bigint', (c) => c.notNull()).addPrimaryKeyConstraint('api_idempotency_pk', ['client_id', 'idem_key']).execute();
  // gift_card.gc_code was never unique; a claim row is what makes a code redeemable once, in the redeeming commit.
  await table('gift_card_claim').addColumn('gc_code', v(64), (c) => c.primaryKey()).addColumn('acct_id', 'bigint', (c) => c.notNull()).addColumn('claimed_dt', ts, (c) => c.notNull()).execute();
  await table('country_billing_stop').addColumn('country_cd', sql.raw('char(2)'), (c) => c.primaryKey()).addColumn('stopped_dt', ts, (c) => c.notNull())
    .addColumn('stopped_by', v(120), (c) => c.notNull()).addColumn('reason_txt', v(200)).execute();
  // The indexes the legacy's own screens and batch jobs lived on.
  for (const [name, t, cols] of [
    ['customer_email_cust', 'customer_email', ['cust_id']], ['customer_address_cust', 'customer_address', ['cust_id']], ['account_cust', 'account', ['cust_id']],
    ['payment_method_acct', 'payment_method', ['acct_id']], ['subscription_acct', 'subscription', ['acct_id']], ['subscription_next_bill', 'subscription', ['next_bill_dt']],
    ['subscription_history_sub', 'subscription_history', ['sub_id']], ['promotion_redemption_sub', 'promotion_redemption', ['sub_id']],
    ['invoice_header_acct', 'invoice_header', ['acct_id', 'inv_dt']], ['invoice_detail_inv', 'invoice_detail', ['inv_id']], ['payment_txn_inv', 'payment_txn', ['inv_id']], ['payment_txn_pm', 'payment_txn', ['pm_id']],
    ['gift_card_code', 'gift_card', ['gc_code']], ['gift_card_txn_acct', 'gift_card_txn', ['acct_id']], ['credit_memo_acct', 'credit_memo', ['acct_id']],
  ] as const) {
    const index = db.schema.createIndex(name).on(t).columns([...cols]);
    if (engine === 'mysql') await index.execute().catch((err: { errno?: number }) => { if (err.errno !== 1061) throw err; });
    else await index.ifNotExists().execute();
  }
}
