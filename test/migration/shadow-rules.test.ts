import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kysely } from 'kysely';
import { createLegacySchema, legacyCountries, legacyReferenceRows, legacyTables, openLegacy, runLegacyDay, type LegacyDb, type LegacySchema } from '../../src/legacy/index.ts';
import { parseDeclaredRules } from '../../src/compare/declared-rules.ts';
import { rewindLegacyMember } from '../../src/migration/shadow/rewind.ts';
import { compareDayInvoices, legacyMinorUnits, type DayInvoice } from '../../src/migration/shadow/shadow-compare.ts';
import { legacySource, type LegacyMember } from '../../src/migration/sources/legacy-source.ts';

/**
 * rewindLegacyMember undoes what the legacy did on and after day D. The strongest check is
 * against the legacy itself: hand-written members in an in-memory SQLite legacy, read before
 * the night of D, the legacy's own run-day for D, read again, rewound: the rows are the ones
 * read before (but for the change stamps the night moves).
 */
const day = '2026-03-10';
const ts = '2025-01-01 10:00:00';

interface Case {
  id: number;
  plan?: string;
  token?: string;
  status?: number;
  cancelAtEnd?: boolean;
  promoCycles?: number;
  gift?: string;
  credit?: { amount: string; applied: string };
  /** A paid previous period (trial members have none). */
  previous?: boolean;
  /** An invoice of D-3 that failed and is retried on D. */
  failedOn?: string;
}

async function legacyWith(cases: Case[]): Promise<LegacyDb> {
  const legacy = await openLegacy('sqlite::memory:');
  const { db } = legacy;
  await createLegacySchema(db);
  const ref = legacyReferenceRows(legacyCountries);
  for (const table of legacyTables) {
    const rows = (ref as Record<string, unknown[]>)[table];
    if (rows?.length) await (db as unknown as Kysely<Record<string, Record<string, unknown>>>).insertInto(table).values(rows as Record<string, unknown>[]).execute();
  }
  for (const c of cases) await member(db, c);
  return legacy;
}

async function member(db: Kysely<LegacySchema>, c: Case): Promise<void> {
  const id = c.id;
  const plan = c.plan ?? 'STRM_STD_M';
  await db.insertInto('customer').values({ cust_id: id, acct_no: `A${id}`, first_nm: null, last_nm: null, country_cd: 'DE', created_dt: ts, updated_dt: ts, deleted_flg: 'N', deleted_dt: null }).execute();
  await db.insertInto('customer_address').values({ addr_id: id, cust_id: id, addr_type: 'B', line1: null, city: null, region_cd: null, postal_cd: null, country_cd: 'DE', deleted_flg: 'N' }).execute();
  await db.insertInto('account').values({ acct_id: id, cust_id: id, status_cd: 'A', currency_cd: 'EUR', tz_nm: null, opened_dt: ts, closed_dt: null, updated_dt: ts }).execute();
  await db.insertInto('payment_method').values({ pm_id: id, acct_id: id, pm_type: 'CC', token: c.token ?? 'tok_ok', last4: '4242', exp_mm: 12, exp_yyyy: 2030, status_cd: 'A', created_dt: ts, deleted_flg: 'N' }).execute();
  const due = `${day} 00:00:00`;
  await db.insertInto('subscription').values({
    sub_id: id, acct_id: id, plan_cd: plan, status_cd: c.status ?? (c.failedOn ? 5 : 1), start_dt: ts, paid_thru_dt: c.status === 4 ? null : c.failedOn ? '2026-03-07 00:00:00' : due,
    next_bill_dt: c.failedOn ? null : due, cancel_eop_flg: c.cancelAtEnd ? 'Y' : 'N', price_override_amt: null, updated_dt: ts,
  }).execute();
  if (c.previous || c.failedOn) {
    const inv = id * 10;
    const from = c.failedOn ? '2026-03-07 00:00:00' : '2026-02-10 00:00:00';
    const to = c.failedOn ? '2026-04-07 00:00:00' : due;
    await db.insertInto('invoice_header').values({
      inv_id: inv, acct_id: id, inv_no: `INV${inv}`, inv_dt: c.failedOn ?? '2026-02-10 03:00:00', period_from_dt: from, period_to_dt: to, status_cd: c.failedOn ? 'F' : 'P', currency_cd: 'EUR',
      subtotal_amt: '13.9900', discount_amt: '0.0000', tax_amt: '2.2300', total_amt: '13.9900', gift_applied_amt: '0.0000', credit_applied_amt: '0.0000',
    }).execute();
    await db.insertInto('invoice_detail').values({ inv_det_id: inv, inv_id: inv, line_no: 1, plan_cd: plan, descr: null, amount: '13.9900', discount_amt: '0.0000' }).execute();
    await db.insertInto('payment_txn').values({ txn_id: inv, inv_id: inv, pm_id: id, txn_type: 'CAP', amount: '13.9900', resp_cd: c.failedOn ? '51' : '00', txn_dt: c.failedOn ?? '2026-02-10 03:00:00', ref_no: null, parent_txn_id: null }).execute();
  }
  if (c.promoCycles !== undefined) {
    await db.insertInto('promotion_redemption').values({ redemption_id: id, promo_id: 1, sub_id: id, redeemed_yyyymmdd: '20250101', cycles_left: c.promoCycles }).execute();
  }
  if (c.gift) {
    await db.insertInto('gift_card').values({ gc_id: id, gc_code: `GC${id}`, orig_amt: c.gift, currency_cd: 'EUR', sold_dt: ts, redeemed_acct_id: id, redeemed_dt: ts }).execute();
    await db.insertInto('gift_card_txn').values({ gc_txn_id: id, gc_id: id, acct_id: id, txn_type: 'RDM', amount: c.gift, inv_id: null, txn_dt: ts }).execute();
  }
  if (c.credit) {
    await db.insertInto('credit_memo').values({ memo_id: id, acct_id: id, amount: c.credit.amount, reason_txt: null, issued_dt: ts, applied_inv_id: null, applied_amt: c.credit.applied }).execute();
  }
}

/** A member's rows as compared: the change stamps the night moves left out, decimals as the legacy reads them back. */
function rows(m: LegacyMember | null) {
  if (!m) return null;
  const { accounts, subscriptions, ...rest } = m;
  return {
    ...rest,
    accounts: accounts.map(({ updated_dt: _, ...a }) => a),
    subscriptions: subscriptions.map(({ updated_dt: _, ...s }) => s),
    creditMemos: m.creditMemos.map((c) => ({ ...c, applied_amt: Number(c.applied_amt) })),
  };
}

/** Each member before the night of D, after it, and rewound. */
async function nightAndRewind(cases: Case[]): Promise<{ before: Map<string, LegacyMember>; after: Map<string, LegacyMember>; result: Awaited<ReturnType<typeof runLegacyDay>> }> {
  const legacy = await withCasesOpen(cases);
  try {
    const source = legacySource(legacy);
    const ids = cases.map((c) => `A${c.id}`);
    const before = new Map((await source.members('DE', ids)).map((m) => [m.key, m]));
    const result = await runLegacyDay(legacy.db, day);
    const after = new Map((await source.members('DE', ids)).map((m) => [m.key, m]));
    return { before, after, result };
  } finally {
    await legacy.close();
  }
}
const withCasesOpen = legacyWith;

test('rewind undoes the legacy\'s own night of D, case by case: paid, promotion, last promotion cycle, gift card and credit, soft and hard decline, trial, cancellation at period end, a retry', async () => {
  const cases: Case[] = [
    { id: 1, previous: true },
    { id: 2, previous: true, promoCycles: 2 },
    { id: 3, previous: true, promoCycles: 1 },
    { id: 4, previous: true, gift: '5.0000', credit: { amount: '20.0000', applied: '3.0000' } },
    { id: 5, previous: true, gift: '50.0000' },
    { id: 6, previous: true, token: 'tok_soft_decline' },
    { id: 7, previous: true, token: 'tok_hard_decline' },
    { id: 8, status: 4 },
    { id: 9, previous: true, cancelAtEnd: true },
    { id: 10, failedOn: '2026-03-07 03:00:00' },
    { id: 11, failedOn: '2026-03-07 03:00:00', token: 'tok_hard_decline' },
  ];
  const { before, after, result } = await nightAndRewind(cases);
  assert.deepEqual(result, { billed: 8, paid: 6, failed: 2, retried: 2, cancelled: 1 });
  for (const c of cases) {
    const key = `A${c.id}`;
    assert.notDeepEqual(rows(after.get(key)!), rows(before.get(key)!), `${key}: the night changed it`);
    assert.deepEqual(rows(rewindLegacyMember(after.get(key)!, day)), rows(before.get(key)!), `${key} rewound`);
  }
  // What the cases exercise, so a change of the legacy's night that skips one is seen here.
  assert.equal(after.get('A3')!.redemptions[0]!.cycles_left, 0, 'the last promotion cycle was taken');
  assert.equal(Number(after.get('A4')!.creditMemos[0]!.applied_amt), 11.99, 'the gift card paid 5 of 13.99, the memo the rest');
  assert.ok(after.get('A5')!.giftCardTxns.some((t) => t.txn_type === 'APL'), 'the gift card paid');
  assert.equal(after.get('A7')!.accounts[0]!.status_cd, 'H', 'a hard decline holds the account');
  assert.equal(after.get('A9')!.subscriptions[0]!.status_cd, 3, 'cancelled at period end');
  assert.equal(after.get('A10')!.invoices[0]!.status_cd, 'P', 'the retry paid');
  assert.equal(after.get('A11')!.invoices[0]!.status_cd, 'U', 'the retry failed for good');
});

test('rewind: a member the legacy did not have at the start of D is null; nothing the legacy did before D changes', () => {
  const m = sample();
  assert.equal(rewindLegacyMember({ ...m, customer: { ...m.customer, created_dt: `${day} 09:15:00` } }, day), null);
  assert.deepEqual(rewindLegacyMember(m, day), m);
  assert.deepEqual(rewindLegacyMember(m, '2026-03-11'), m, 'the day after: nothing of it is later');
});

test('rewind: the member API\'s writes of D are undone from the history — a plan change, a cancellation request, its withdrawal — newest first, and the night before them', () => {
  const m = sample();
  const at = (hh: string) => `${day} ${hh}:00:00`;
  // The night billed at 03:00 (paid), then at 10:00 the member switched to premium, at 11:00 asked to cancel, at 12:00 withdrew it, at 13:00 asked again.
  const after: LegacyMember = {
    ...m,
    subscriptions: [{ ...m.subscriptions[0]!, plan_cd: 'STRM_PRE_M', paid_thru_dt: '2026-04-10 00:00:00', next_bill_dt: '2026-04-10 00:00:00', cancel_eop_flg: 'Y', updated_dt: at('13') }],
    history: [...m.history,
      { sub_hist_id: 2, sub_id: 1, event_cd: 'CHG', old_plan_cd: 'STRM_STD_M', new_plan_cd: 'STRM_PRE_M', event_dt: at('10'), event_yyyymmdd: '20260310' },
      { sub_hist_id: 3, sub_id: 1, event_cd: 'CREQ', old_plan_cd: 'STRM_PRE_M', new_plan_cd: null, event_dt: at('11'), event_yyyymmdd: '20260310' },
      { sub_hist_id: 4, sub_id: 1, event_cd: 'CWDR', old_plan_cd: null, new_plan_cd: 'STRM_PRE_M', event_dt: at('12'), event_yyyymmdd: '20260310' },
      { sub_hist_id: 5, sub_id: 1, event_cd: 'CREQ', old_plan_cd: 'STRM_PRE_M', new_plan_cd: null, event_dt: at('13'), event_yyyymmdd: '20260310' }],
    invoices: [...m.invoices, { ...m.invoices[0]!, inv_id: 11, inv_no: 'INV11', inv_dt: at('03'), period_from_dt: `${day} 00:00:00`, period_to_dt: '2026-04-10 00:00:00' }],
    details: [...m.details, { ...m.details[0]!, inv_det_id: 11, inv_id: 11 }],
    payments: [...m.payments, { ...m.payments[0]!, txn_id: 11, inv_id: 11, txn_dt: at('03') }],
    // A gift card redeemed and a credit memo issued later that day were not there at the start of it.
    giftCards: [{ gc_id: 1, gc_code: 'GC1', orig_amt: '25.0000', currency_cd: 'EUR', sold_dt: at('14'), redeemed_acct_id: 1, redeemed_dt: at('14') }],
    giftCardTxns: [{ gc_txn_id: 1, gc_id: 1, acct_id: 1, txn_type: 'RDM', amount: '25.0000', inv_id: null, txn_dt: at('14') }],
    creditMemos: [{ memo_id: 1, acct_id: 1, amount: '5.0000', reason_txt: 'goodwill', issued_dt: at('15'), applied_inv_id: null, applied_amt: '0.0000' }],
  };
  const back = rewindLegacyMember(after, day)!;
  assert.deepEqual({ ...back, subscriptions: back.subscriptions.map((s) => ({ ...s, updated_dt: ts })) }, m);
});

test('rewind: credit given back to the memos an invoice took it from, the newest first; a promotion cycle to the subscription\'s running redemption', () => {
  const m = sample();
  const inv = { ...m.invoices[0]!, inv_id: 11, inv_no: 'INV11', inv_dt: `${day} 03:00:00`, period_from_dt: `${day} 00:00:00`, period_to_dt: '2026-04-10 00:00:00', discount_amt: '1.4000', credit_applied_amt: '7.0000' };
  const after: LegacyMember = {
    ...m,
    invoices: [...m.invoices, inv],
    subscriptions: [{ ...m.subscriptions[0]!, paid_thru_dt: '2026-04-10 00:00:00', next_bill_dt: '2026-04-10 00:00:00' }],
    // Memo 1 was used up by this invoice (5 of it); memo 2 gave 2 of 10 (it had 1 applied before).
    creditMemos: [
      { memo_id: 1, acct_id: 1, amount: '5.0000', reason_txt: null, issued_dt: ts, applied_inv_id: 11, applied_amt: '5.0000' },
      { memo_id: 2, acct_id: 1, amount: '10.0000', reason_txt: null, issued_dt: ts, applied_inv_id: 11, applied_amt: '3.0000' },
    ],
    redemptions: [{ redemption_id: 1, promo_id: 1, sub_id: 1, redeemed_yyyymmdd: '20250101', cycles_left: 0 }, { redemption_id: 2, promo_id: 2, sub_id: 1, redeemed_yyyymmdd: '20260201', cycles_left: 4 }],
  };
  const back = rewindLegacyMember(after, day)!;
  // 7 back, newest memo first: memo 2 gets all of its 3 back (the 1 applied before cannot be told apart), memo 1 gets 4.
  assert.deepEqual(back.creditMemos.map((c) => [c.memo_id, c.applied_amt, c.applied_inv_id]), [[1, '1.0000', null], [2, '0.0000', null]]);
  assert.equal(back.creditMemos.reduce((s, c) => s + Number(c.amount) - Number(c.applied_amt), 0), 14, 'the open credit is exactly what it was before the night');
  assert.deepEqual(back.redemptions.map((r) => r.cycles_left), [0, 5]);
  assert.deepEqual([back.subscriptions[0]!.next_bill_dt, back.subscriptions[0]!.paid_thru_dt, back.subscriptions[0]!.status_cd], [`${day} 00:00:00`, `${day} 00:00:00`, 1]);
});

function sample(): LegacyMember {
  return {
    key: 'A1', custId: 1,
    customer: { cust_id: 1, acct_no: 'A1', first_nm: null, last_nm: null, country_cd: 'DE', created_dt: ts, updated_dt: ts, deleted_flg: 'N', deleted_dt: null },
    emails: [], addresses: [],
    accounts: [{ acct_id: 1, cust_id: 1, status_cd: 'A', currency_cd: 'EUR', tz_nm: null, opened_dt: ts, closed_dt: null, updated_dt: ts }],
    paymentMethods: [{ pm_id: 1, acct_id: 1, pm_type: 'CC', token: 'tok_ok', last4: '4242', exp_mm: 12, exp_yyyy: 2030, status_cd: 'A', created_dt: ts, deleted_flg: 'N' }],
    subscriptions: [{ sub_id: 1, acct_id: 1, plan_cd: 'STRM_STD_M', status_cd: 1, start_dt: ts, paid_thru_dt: `${day} 00:00:00`, next_bill_dt: `${day} 00:00:00`, cancel_eop_flg: 'N', price_override_amt: null, updated_dt: ts }],
    history: [{ sub_hist_id: 1, sub_id: 1, event_cd: 'NEW', old_plan_cd: null, new_plan_cd: 'STRM_STD_M', event_dt: ts, event_yyyymmdd: '20250101' }],
    redemptions: [],
    invoices: [{ inv_id: 10, acct_id: 1, inv_no: 'INV10', inv_dt: '2026-02-10 03:00:00', period_from_dt: '2026-02-10 00:00:00', period_to_dt: `${day} 00:00:00`, status_cd: 'P', currency_cd: 'EUR', subtotal_amt: '13.9900', discount_amt: '0.0000', tax_amt: '2.2300', total_amt: '13.9900', gift_applied_amt: '0.0000', credit_applied_amt: '0.0000' }],
    details: [{ inv_det_id: 10, inv_id: 10, line_no: 1, plan_cd: 'STRM_STD_M', descr: null, amount: '13.9900', discount_amt: '0.0000' }],
    payments: [{ txn_id: 10, inv_id: 10, pm_id: 1, txn_type: 'CAP', amount: '13.9900', resp_cd: '00', txn_dt: '2026-02-10 03:00:00', ref_no: 'R10', parent_txn_id: null }],
    giftCards: [], giftCardTxns: [], creditMemos: [],
  };
}

const inv = (o: Partial<DayInvoice>): DayInvoice => ({ member: 'A1', ref: 'x', plan: 'standard', periodStart: day, periodEnd: '2026-04-10', total: 1399, tax: 223, ...o });

test('day invoices paired by plan and period: fields that differ, missing and extra, declared rules counted apart', () => {
  const base = { source: 'legacy', country: 'DE' };
  assert.deepEqual(compareDayInvoices('A1', [inv({ ref: 'INV1' })], [inv({ ref: 't1' })], [], base), [], 'the same invoice');
  const rows = compareDayInvoices('A1', [inv({ ref: 'INV1', tax: 42 }), inv({ ref: 'INV2', plan: 'dvd-1' })], [inv({ ref: 't1', tax: 43 }), inv({ ref: 't2', plan: 'premium', periodStart: '2026-03-11' })], [], base);
  assert.deepEqual(rows.map((r) => [r.kind, r.field, r.source_value, r.tally_value, r.detail]), [
    ['differs', 'shadow.plan', '"dvd-1"', '"premium"', 'legacy INV2, tally t2'],
    ['differs', 'shadow.period_start', `"${day}"`, '"2026-03-11"', 'legacy INV2, tally t2'],
    ['differs', 'shadow.tax', '42', '43', 'legacy INV1, tally t1'],
  ]);
  const missing = compareDayInvoices('A1', [inv({ ref: 'INV1' })], [], [], base);
  assert.deepEqual(missing.map((r) => [r.kind, r.field, r.tally_value]), [['missing', 'shadow.invoice', null]]);
  assert.deepEqual(JSON.parse(missing[0]!.source_value!), { ref: 'INV1', plan: 'standard', period_start: day, period_end: '2026-04-10', total: 1399, tax: 223 });
  assert.deepEqual(compareDayInvoices('A1', [], [inv({ ref: 't9' })], [], base).map((r) => [r.kind, r.source_value]), [['extra', null]]);

  const rules = parseDeclaredRules([
    'rules:',
    '  - { name: bankers-rounding, field: shadow.tax, within: 1, reason: the legacy rounds tax half to even }',
    '  - { name: legacy-bills-dvd-alone, field: shadow.invoice, tally: null, reason: known }',
  ].join('\n'), 'rules.yaml');
  const declared = compareDayInvoices('A1', [inv({ ref: 'INV1', tax: 42, total: 1441 }), inv({ ref: 'INV2', plan: 'dvd-1' })], [inv({ ref: 't1', tax: 43, total: 1442 })], rules, base);
  assert.deepEqual(declared.map((r) => [r.kind, r.field, r.rule]), [['differs', 'shadow.total', null], ['differs', 'shadow.tax', 'bankers-rounding'], ['missing', 'shadow.invoice', 'legacy-bills-dvd-alone']]);
});

test('legacy amounts in minor units exactly: two, zero and three decimals; a sub-unit amount keeps its fraction', () => {
  assert.equal(legacyMinorUnits(139_900n, 2), 1399);
  assert.equal(legacyMinorUnits(19_800_000n, 0), 1980);
  assert.equal(legacyMinorUnits(12_345n, 3), 1234.5);
  assert.equal(legacyMinorUnits(19_995n, 2), 199.95);
});
