import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { legacyTables, type LegacyDb, type LegacySchema, type LegacyTable } from '../legacy/index.ts';
import { countrySpellings, customerCountry, inSnapshot, legacyAlpha3 } from '../migration/sources/legacy-source.ts';
import type { Columns, ColumnType, ParquetTable, ParquetWriter } from './parquet-writer.ts';

type Db = Kysely<LegacySchema>;

const money: ColumnType = 'DECIMAL(18,4)';
const id: ColumnType = 'BIGINT';
const ts: ColumnType = 'TIMESTAMP';
const text: ColumnType = 'VARCHAR';
const int: ColumnType = 'INTEGER';

/**
 * The legacy's columns as Parquet types: DECIMAL(12,4) amounts widened to DECIMAL(18,4) (still
 * exact, major units), ids BIGINT, the local timestamps TIMESTAMP without a zone (the data
 * centre's clock, as the legacy holds them), the CHAR(8) YYYYMMDD dates text (some are
 * impossible). Typed against the schema, so a column added to the legacy is a compile error here.
 */
export const legacyColumns: { [T in LegacyTable]: Columns<LegacySchema[T]> } = {
  country: { country_cd: text, country_cd3: text, country_nm: text, currency_cd: text, currency_digits: int, tax_incl_flg: text, active_flg: text },
  status_code: { code_type: text, code: text, descr: text },
  tax_jurisdiction: { tax_jur_id: id, country_cd: text, region_cd: text, product_type: text, tax_rate: 'DECIMAL(7,5)', eff_from_dt: ts, eff_to_dt: ts },
  plan_code: { plan_cd: text, descr: text, product_type: text, period_months: int, trial_days: int, obsolete_flg: text },
  price_point: { price_point_id: id, plan_cd: text, country_cd: text, currency_cd: text, amount: money, eff_from_dt: ts, eff_to_dt: ts },
  dvd_rental_plan: { plan_cd: text, discs_out: int, ship_region: text },
  promotion: { promo_id: id, promo_cd: text, descr: text, pct_off: 'DECIMAL(5,2)', amt_off: money, cycles: int, valid_from_dt: ts, valid_to_dt: ts },
  customer: { cust_id: id, acct_no: text, first_nm: text, last_nm: text, country_cd: text, created_dt: ts, updated_dt: ts, deleted_flg: text, deleted_dt: ts },
  customer_email: { email_id: id, cust_id: id, email_addr: text, primary_flg: text, created_dt: ts, deleted_flg: text },
  customer_address: { addr_id: id, cust_id: id, addr_type: text, line1: text, city: text, region_cd: text, postal_cd: text, country_cd: text, deleted_flg: text },
  account: { acct_id: id, cust_id: id, status_cd: text, currency_cd: text, tz_nm: text, opened_dt: ts, closed_dt: ts, updated_dt: ts },
  payment_method: { pm_id: id, acct_id: id, pm_type: text, token: text, last4: text, exp_mm: int, exp_yyyy: int, status_cd: text, created_dt: ts, deleted_flg: text },
  subscription: { sub_id: id, acct_id: id, plan_cd: text, status_cd: int, start_dt: ts, paid_thru_dt: ts, next_bill_dt: ts, cancel_eop_flg: text, price_override_amt: money, updated_dt: ts },
  subscription_history: { sub_hist_id: id, sub_id: id, event_cd: text, old_plan_cd: text, new_plan_cd: text, event_dt: ts, event_yyyymmdd: text },
  promotion_redemption: { redemption_id: id, promo_id: id, sub_id: id, redeemed_yyyymmdd: text, cycles_left: int },
  invoice_header: {
    inv_id: id, acct_id: id, inv_no: text, inv_dt: ts, period_from_dt: ts, period_to_dt: ts, status_cd: text, currency_cd: text,
    subtotal_amt: money, discount_amt: money, tax_amt: money, total_amt: money, gift_applied_amt: money, credit_applied_amt: money,
  },
  invoice_detail: { inv_det_id: id, inv_id: id, line_no: int, plan_cd: text, descr: text, amount: money, discount_amt: money },
  payment_txn: { txn_id: id, inv_id: id, pm_id: id, txn_type: text, amount: money, resp_cd: text, txn_dt: ts, ref_no: text, parent_txn_id: id },
  gift_card: { gc_id: id, gc_code: text, orig_amt: money, currency_cd: text, sold_dt: ts, redeemed_acct_id: id, redeemed_dt: ts },
  gift_card_txn: { gc_txn_id: id, gc_id: id, acct_id: id, txn_type: text, amount: money, inv_id: id, txn_dt: ts },
  credit_memo: { memo_id: id, acct_id: id, amount: money, reason_txt: text, issued_dt: ts, applied_inv_id: id, applied_amt: money },
};

/** Reference tables the country's rows point into: exported whole. */
export const legacyReferenceTables = ['country', 'status_code', 'tax_jurisdiction', 'plan_code', 'price_point', 'dvd_rental_plan', 'promotion'] as const satisfies readonly LegacyTable[];
type MemberTable = Exclude<LegacyTable, (typeof legacyReferenceTables)[number]>;

/**
 * A card token is a credential: files made for troubleshooting carry its fingerprint instead,
 * the same on both sides (Tally's member `paymentToken`), so "is it the same card" still joins.
 */
export function tokenFingerprint(token: string | null | undefined): string | null {
  if (token === null || token === undefined || token === '') return token ?? null;
  return `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

/**
 * Each table's rows for a page of customers, by the path from the customer that the
 * migration's extract follows (legacy-source.ts): accounts by customer, most rows by account,
 * history by subscription, lines and payments by invoice, plus payments made with the
 * customers' cards on an invoice that does not exist (the orphans a migration quarantines).
 * Joins, not id lists, so a customer with thousands of invoices is one query per table.
 */
const rowsOf: { [T in MemberTable]: (db: Db, custIds: number[]) => Promise<LegacySchema[T][]> } = {
  customer: (db, ids) => db.selectFrom('customer').selectAll().where('cust_id', 'in', ids).orderBy('cust_id').execute(),
  customer_email: (db, ids) => db.selectFrom('customer_email').selectAll().where('cust_id', 'in', ids).orderBy('email_id').execute(),
  customer_address: (db, ids) => db.selectFrom('customer_address').selectAll().where('cust_id', 'in', ids).orderBy('addr_id').execute(),
  account: (db, ids) => db.selectFrom('account').selectAll().where('cust_id', 'in', ids).orderBy('acct_id').execute(),
  payment_method: (db, ids) => db.selectFrom('payment_method').innerJoin('account as a', 'a.acct_id', 'payment_method.acct_id').selectAll('payment_method')
    .where('a.cust_id', 'in', ids).orderBy('payment_method.pm_id').execute(),
  subscription: (db, ids) => db.selectFrom('subscription').innerJoin('account as a', 'a.acct_id', 'subscription.acct_id').selectAll('subscription')
    .where('a.cust_id', 'in', ids).orderBy('subscription.sub_id').execute(),
  subscription_history: (db, ids) => db.selectFrom('subscription_history').innerJoin('subscription as s', 's.sub_id', 'subscription_history.sub_id')
    .innerJoin('account as a', 'a.acct_id', 's.acct_id').selectAll('subscription_history').where('a.cust_id', 'in', ids).orderBy('subscription_history.sub_hist_id').execute(),
  promotion_redemption: (db, ids) => db.selectFrom('promotion_redemption').innerJoin('subscription as s', 's.sub_id', 'promotion_redemption.sub_id')
    .innerJoin('account as a', 'a.acct_id', 's.acct_id').selectAll('promotion_redemption').where('a.cust_id', 'in', ids).orderBy('promotion_redemption.redemption_id').execute(),
  invoice_header: (db, ids) => db.selectFrom('invoice_header').innerJoin('account as a', 'a.acct_id', 'invoice_header.acct_id').selectAll('invoice_header')
    .where('a.cust_id', 'in', ids).orderBy('invoice_header.inv_id').execute(),
  invoice_detail: (db, ids) => db.selectFrom('invoice_detail').innerJoin('invoice_header as h', 'h.inv_id', 'invoice_detail.inv_id')
    .innerJoin('account as a', 'a.acct_id', 'h.acct_id').selectAll('invoice_detail').where('a.cust_id', 'in', ids).orderBy('invoice_detail.inv_det_id').execute(),
  payment_txn: async (db, ids) => {
    const onInvoices = await db.selectFrom('payment_txn').innerJoin('invoice_header as h', 'h.inv_id', 'payment_txn.inv_id')
      .innerJoin('account as a', 'a.acct_id', 'h.acct_id').selectAll('payment_txn').where('a.cust_id', 'in', ids).orderBy('payment_txn.txn_id').execute();
    const orphans = await db.selectFrom('payment_txn').leftJoin('invoice_header as h', 'h.inv_id', 'payment_txn.inv_id')
      .innerJoin('payment_method as p', 'p.pm_id', 'payment_txn.pm_id').innerJoin('account as a', 'a.acct_id', 'p.acct_id').selectAll('payment_txn')
      .where('a.cust_id', 'in', ids).where('h.inv_id', 'is', null).orderBy('payment_txn.txn_id').execute();
    return [...onInvoices, ...orphans].sort((x, y) => Number(x.txn_id) - Number(y.txn_id));
  },
  gift_card: (db, ids) => db.selectFrom('gift_card').innerJoin('account as a', 'a.acct_id', 'gift_card.redeemed_acct_id').selectAll('gift_card')
    .where('a.cust_id', 'in', ids).orderBy('gift_card.gc_id').execute(),
  gift_card_txn: (db, ids) => db.selectFrom('gift_card_txn').innerJoin('account as a', 'a.acct_id', 'gift_card_txn.acct_id').selectAll('gift_card_txn')
    .where('a.cust_id', 'in', ids).orderBy('gift_card_txn.gc_txn_id').execute(),
  credit_memo: (db, ids) => db.selectFrom('credit_memo').innerJoin('account as a', 'a.acct_id', 'credit_memo.acct_id').selectAll('credit_memo')
    .where('a.cust_id', 'in', ids).orderBy('credit_memo.memo_id').execute(),
};

const memberTables = legacyTables.filter((t): t is MemberTable => !(legacyReferenceTables as readonly string[]).includes(t));

const masked = <T extends LegacyTable>(table: T, rows: LegacySchema[T][]): LegacySchema[T][] =>
  table === 'payment_method' ? rows.map((r) => ({ ...r, token: tokenFingerprint((r as LegacySchema['payment_method']).token) })) as LegacySchema[T][] : rows;

export interface ExportedFile {
  file: string;
  rows: number;
  from: string;
}

/** The number of legacy customers of a country, however the legacy spelled its code. */
export async function legacyCustomerCount(legacy: LegacyDb, country: string): Promise<number> {
  const spellings = countrySpellings(await legacyAlpha3(legacy.db), country);
  const row = await legacy.db.selectFrom('customer').select((eb) => eb.fn.countAll<number>().as('n')).where(customerCountry, 'in', spellings).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Write `legacy_<table>.parquet` for every billing table of the legacy: the reference tables
 * whole, every other table's rows that hang off the country's customers. Customers are read
 * a keyset page at a time, each page's rows of every table in one snapshot, so memory holds
 * one page and a customer's rows agree with each other even while the legacy keeps running.
 */
export async function exportLegacyCountry(legacy: LegacyDb, country: string, writer: ParquetWriter, opts: { pageSize?: number; onCustomers?: (done: number) => void } = {}): Promise<ExportedFile[]> {
  const pageSize = opts.pageSize ?? 250;
  const out: ExportedFile[] = [];
  for (const table of legacyReferenceTables) {
    const file = await writer.table(`legacy_${table}.parquet`, legacyColumns[table]);
    file.append(await legacy.db.selectFrom(table).selectAll().execute());
    out.push({ file: `legacy_${table}.parquet`, rows: await file.finish(), from: `legacy ${table} (whole)` });
  }
  const spellings = countrySpellings(await legacyAlpha3(legacy.db), country);
  const files = new Map<MemberTable, ParquetTable>();
  for (const table of memberTables) files.set(table, await writer.table(`legacy_${table}.parquet`, legacyColumns[table]));
  let after = -1;
  let done = 0;
  for (;;) {
    const custIds = (await legacy.db.selectFrom('customer').select('cust_id').where(customerCountry, 'in', spellings).where('cust_id', '>', after)
      .orderBy('cust_id').limit(pageSize).execute()).map((c) => Number(c.cust_id));
    if (!custIds.length) break;
    await inSnapshot(legacy.db, async (db) => {
      for (const table of memberTables) files.get(table)!.append(masked(table, await rowsOf[table](db, custIds)) as Record<string, unknown>[]);
    });
    after = custIds.at(-1)!;
    done += custIds.length;
    opts.onCustomers?.(done);
    if (custIds.length < pageSize) break;
  }
  for (const table of memberTables) {
    const how = table === 'customer' ? `upper(trim(country_cd)) in (${spellings.join(', ')})` : table === 'payment_txn' ? "the customers' invoices and cards" : "the country's customers";
    out.push({ file: `legacy_${table}.parquet`, rows: await files.get(table)!.finish(), from: `legacy ${table}: rows of ${how}` });
  }
  return out;
}
