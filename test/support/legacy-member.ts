import { builtInCatalog, catalogIndex } from '../../src/domain/catalog.ts';
import { legacyCountries, legacyReferenceRows } from '../../src/legacy/index.ts';
import { referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';
import type { LegacyMember } from '../../src/migration/sources/legacy-source.ts';

const reference = legacyReferenceRows(legacyCountries);
export const ctx = {
  catalog: catalogIndex(builtInCatalog),
  plans: referenceLegacyPlans,
  promotions: new Map(reference.promotion.map((p) => [p.promo_id, p])),
  pricePoints: reference.price_point,
};
export const ts = '2024-05-10 14:22:01';

/** A German member as the legacy wrote it, warts included: lower-case country, a messy email, no time zone. */
export function germanMember(over: Partial<LegacyMember> = {}): LegacyMember {
  return {
    key: 'A000000042', custId: 42,
    customer: { cust_id: 42, acct_no: 'A000000042', first_nm: 'Lena', last_nm: 'Weber', country_cd: 'de', created_dt: ts, updated_dt: ts, deleted_flg: 'N', deleted_dt: null },
    emails: [{ email_id: 1, cust_id: 42, email_addr: '  Lena.Weber42@Example.COM ', primary_flg: 'Y', created_dt: ts, deleted_flg: 'N' }],
    addresses: [{ addr_id: 1, cust_id: 42, addr_type: 'B', line1: 'Hauptstr. 1', city: 'Berlin', region_cd: null, postal_cd: '10115', country_cd: 'de', deleted_flg: 'N' }],
    accounts: [{ acct_id: 42, cust_id: 42, status_cd: 'A', currency_cd: 'EUR', tz_nm: null, opened_dt: ts, closed_dt: null, updated_dt: ts }],
    paymentMethods: [
      { pm_id: 1, acct_id: 42, pm_type: 'CC', token: 'tok_soft_decline', last4: '0001', exp_mm: 1, exp_yyyy: 2023, status_cd: 'R', created_dt: ts, deleted_flg: 'N' },
      { pm_id: 2, acct_id: 42, pm_type: 'CC', token: 'tok_ok', last4: '4242', exp_mm: 1, exp_yyyy: 2029, status_cd: 'A', created_dt: ts, deleted_flg: 'N' },
    ],
    subscriptions: [{ sub_id: 7, acct_id: 42, plan_cd: 'STRM_STD_M', status_cd: 1, start_dt: ts, paid_thru_dt: '2026-12-10 00:00:00', next_bill_dt: '2026-12-10 00:00:00', cancel_eop_flg: 'N', price_override_amt: null, updated_dt: ts }],
    history: [],
    redemptions: [{ redemption_id: 1, promo_id: 1, sub_id: 7, redeemed_yyyymmdd: '20240510', cycles_left: 2 }],
    invoices: [{ inv_id: 9, acct_id: 42, inv_no: 'INV9', inv_dt: '2026-11-10 03:00:00', period_from_dt: '2026-11-10 00:00:00', period_to_dt: '2026-12-10 00:00:00', status_cd: 'P', currency_cd: 'EUR', subtotal_amt: '13.9900', discount_amt: '0.0000', tax_amt: '2.2300', total_amt: '13.9900', gift_applied_amt: '0.0000', credit_applied_amt: '0.0000' }],
    details: [{ inv_det_id: 1, inv_id: 9, line_no: 1, plan_cd: 'STRM_STD_M', descr: null, amount: '13.9900', discount_amt: '0.0000' }],
    payments: [],
    giftCards: [{ gc_id: 3, gc_code: 'GC3', orig_amt: '30.0000', currency_cd: 'EUR', sold_dt: ts, redeemed_acct_id: 42, redeemed_dt: ts }],
    giftCardTxns: [
      { gc_txn_id: 1, gc_id: 3, acct_id: 42, txn_type: 'RDM', amount: '30.0000', inv_id: null, txn_dt: ts },
      { gc_txn_id: 2, gc_id: 3, acct_id: 42, txn_type: 'APL', amount: 12.5, inv_id: 8, txn_dt: ts },
    ],
    creditMemos: [{ memo_id: 5, acct_id: 42, amount: '9.9900', reason_txt: null, issued_dt: ts, applied_inv_id: 8, applied_amt: '4.9900' }],
    ...over,
  };
}

