import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kysely } from 'kysely';
import { createLegacySchema, dec4, legacyCountries, legacyReferenceRows, legacyTables, openLegacy, runLegacyDay, seedLegacy, type LegacySchema } from '../../src/legacy/index.ts';
import { freshStoreUrl } from '../support/engine.ts';

/** One hand-written legacy member: customer, account, billing address, card, subscription due on `due`. */
async function member(db: Kysely<LegacySchema>, id: number, o: { country: string; currency: string; region?: string; plan: string; token?: string; override?: string; due: string; gift?: string }) {
  const ts = '2025-01-01 10:00:00';
  await db.insertInto('customer').values({ cust_id: id, acct_no: `A${id}`, first_nm: 'Test', last_nm: 'Member', country_cd: o.country, created_dt: ts, updated_dt: ts, deleted_flg: 'N', deleted_dt: null }).execute();
  await db.insertInto('customer_address').values({ addr_id: id, cust_id: id, addr_type: 'B', line1: null, city: null, region_cd: o.region ?? null, postal_cd: null, country_cd: o.country, deleted_flg: 'N' }).execute();
  await db.insertInto('account').values({ acct_id: id, cust_id: id, status_cd: 'A', currency_cd: o.currency, tz_nm: null, opened_dt: ts, closed_dt: null, updated_dt: ts }).execute();
  await db.insertInto('payment_method').values({ pm_id: id, acct_id: id, pm_type: 'CC', token: o.token ?? 'tok_ok', last4: '4242', exp_mm: 12, exp_yyyy: 2030, status_cd: 'A', created_dt: ts, deleted_flg: 'N' }).execute();
  await db.insertInto('subscription').values({ sub_id: id, acct_id: id, plan_cd: o.plan, status_cd: 1, start_dt: ts, paid_thru_dt: `${o.due} 00:00:00`, next_bill_dt: `${o.due} 00:00:00`, cancel_eop_flg: 'N', price_override_amt: o.override ?? null, updated_dt: ts }).execute();
  if (o.gift) {
    await db.insertInto('gift_card').values({ gc_id: id, gc_code: `GC${id}`, orig_amt: o.gift, currency_cd: o.currency, sold_dt: ts, redeemed_acct_id: id, redeemed_dt: ts }).execute();
    await db.insertInto('gift_card_txn').values({ gc_txn_id: id, gc_id: id, acct_id: id, txn_type: 'RDM', amount: o.gift, inv_id: null, txn_dt: ts }).execute();
  }
}

const invoiceOf = async (db: Kysely<LegacySchema>, acct: number) => {
  const rows = await db.selectFrom('invoice_header').selectAll().where('acct_id', '=', acct).orderBy('inv_id').execute();
  return rows.map((r) => ({ status: r.status_cd, subtotal: dec4(r.subtotal_amt), tax: dec4(r.tax_amt), total: dec4(r.total_amt), gift: dec4(r.gift_applied_amt), from: String(r.period_from_dt).slice(0, 10), to: String(r.period_to_dt).slice(0, 10) }));
};

test('legacy run-day bills by the legacy\'s rules: tax on the total, half to even; balances; declines retried once', async () => {
  const legacy = await openLegacy(await freshStoreUrl());
  const { db } = legacy;
  try {
    await createLegacySchema(db);
    const ref = legacyReferenceRows(legacyCountries);
    for (const table of legacyTables) {
      const rows = (ref as Record<string, unknown[]>)[table];
      if (rows?.length) await (db as unknown as Kysely<Record<string, Record<string, unknown>>>).insertInto(table).values(rows as Record<string, unknown>[]).execute();
    }
    const day = '2026-03-10';
    await member(db, 1, { country: 'US', currency: 'USD', region: 'WA', plan: 'STRM_PRE_M', due: day });
    await member(db, 2, { country: 'DE', currency: 'EUR', plan: 'STRM_STD_M', due: day });
    await member(db, 3, { country: 'CA', currency: 'CAD', plan: 'STRM_BAS_M', override: '8.50', due: day });
    await member(db, 4, { country: 'GB', currency: 'GBP', plan: 'STRM_BAS_M', token: 'tok_soft_decline', due: day });
    await member(db, 5, { country: 'JP', currency: 'JPY', plan: 'STRM_PRE_M', due: day, gift: '500' });
    await member(db, 6, { country: 'US', currency: 'USD', region: 'WA', plan: 'STRM_BAS_M', due: '2026-03-11' });

    const first = await runLegacyDay(db, day);
    assert.deepEqual(first, { billed: 5, paid: 4, failed: 1, retried: 0, cancelled: 0 });
    // US-WA premium 17.99, tax-exclusive 6.5%: 17.99 × 0.065 = 1.16935 → 1.17; total 19.16.
    assert.deepEqual(await invoiceOf(db, 1), [{ status: 'P', subtotal: 179_900n, tax: 11_700n, total: 191_600n, gift: 0n, from: day, to: '2026-04-10' }]);
    // DE standard 13.99, tax-inclusive 19%: 13.99 × 0.19 / 1.19 = 2.23369… → 2.23; total 13.99.
    assert.deepEqual((await invoiceOf(db, 2)).map((i) => [i.tax, i.total]), [[22_300n, 139_900n]]);
    // CA 5% on an 8.50 override: 0.425 exactly, half to even → 0.42 (Tally's half-away rounding would say 0.43); total 8.92.
    assert.deepEqual((await invoiceOf(db, 3)).map((i) => [i.subtotal, i.tax, i.total]), [[85_000n, 4_200n, 89_200n]]);
    // JP premium 1980 JPY inclusive 10%: 1980 × 0.1 / 1.1 = 180; the 500 JPY gift card pays part of it.
    assert.deepEqual((await invoiceOf(db, 5)).map((i) => [i.tax, i.total, i.gift]), [[1_800_000n, 19_800_000n, 5_000_000n]]);
    const jpCapture = await db.selectFrom('payment_txn').select(['txn_type', 'amount', 'resp_cd']).where('inv_id', '=', (await db.selectFrom('invoice_header').select('inv_id').where('acct_id', '=', 5).executeTakeFirstOrThrow()).inv_id).orderBy('txn_id').execute();
    assert.deepEqual(jpCapture.map((t) => [t.txn_type, dec4(t.amount), t.resp_cd]), [['AUT', 14_800_000n, '00'], ['CAP', 14_800_000n, '00']]);
    // GB soft decline: failed, the subscription past due (5).
    assert.equal((await invoiceOf(db, 4))[0]!.status, 'F');
    assert.equal((await db.selectFrom('subscription').select('status_cd').where('sub_id', '=', 4).executeTakeFirstOrThrow()).status_cd, 5);
    const advanced = await db.selectFrom('subscription').select(['next_bill_dt', 'paid_thru_dt']).where('sub_id', '=', 1).executeTakeFirstOrThrow();
    assert.equal(String(advanced.next_bill_dt).slice(0, 10), '2026-04-10');

    assert.deepEqual(await runLegacyDay(db, day), { billed: 0, paid: 0, failed: 0, retried: 0, cancelled: 0 }, 'a re-run finds nothing left to do');
    assert.equal((await runLegacyDay(db, '2026-03-11')).billed, 1);
    // Three days after the decline: one retry, declined again: uncollectible, subscription on hold.
    assert.equal((await runLegacyDay(db, '2026-03-13')).retried, 1);
    assert.equal((await invoiceOf(db, 4))[0]!.status, 'U');
    assert.equal((await db.selectFrom('subscription').select('status_cd').where('sub_id', '=', 4).executeTakeFirstOrThrow()).status_cd, 2);
    await assert.rejects(runLegacyDay(db, '2026-02-30'), /calendar date/);
  } finally {
    await legacy.close();
  }
});

test('a seeded legacy keeps moving: run-day bills the members due that day', async () => {
  const legacy = await openLegacy(await freshStoreUrl());
  try {
    await seedLegacy(legacy.db, { members: 120, seed: 2, asOf: '2026-11-27' });
    const due = await legacy.db.selectFrom('subscription').select('sub_id').where('status_cd', 'in', [1, 4]).where('next_bill_dt', '<=', '2026-11-28 23:59:59').execute();
    const result = await runLegacyDay(legacy.db, '2026-11-28');
    assert.ok(due.length > 0);
    assert.equal(result.billed + result.cancelled, due.length);
    assert.equal((await runLegacyDay(legacy.db, '2026-11-28')).billed, 0);
  } finally {
    await legacy.close();
  }
});
