import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { buildKillBillFixture, createKillBillSchema, describeMissing, killBillTables, openKillBill, type KillBillDb } from '../../src/killbill/index.ts';
import { engineUnderTest, freshStoreUrl } from '../support/engine.ts';

// Kill Bill runs on MySQL/MariaDB and PostgreSQL only, so there is no SQLite Kill Bill database to build.
const skip = engineUnderTest === 'sqlite' ? 'Kill Bill databases exist on MySQL/MariaDB and PostgreSQL only (run with TALLY_TEST_ENGINE=mysql or postgres)' : false;

async function fresh(): Promise<KillBillDb> {
  return openKillBill(await freshStoreUrl());
}

/** Every row of every table in record order, as the connection reads it. */
async function contents(kb: KillBillDb): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of killBillTables) out[table] = await kb.db.selectFrom(table).selectAll().orderBy('record_id').execute();
  return out;
}

const cents = (v: string | number) => Math.round(Number(v) * 1000);

test('Kill Bill schema: created from the DDL, complete by describeMissing, which names a dropped column or table', { skip }, async () => {
  const kb = await fresh();
  try {
    await createKillBillSchema(kb.db);
    await createKillBillSchema(kb.db);
    assert.deepEqual(await describeMissing(kb.db), []);
    const money = kb.engine === 'mysql'
      ? await sql<{ t: string }>`select column_type as t from information_schema.columns where table_schema = database() and table_name = 'invoice_items' and column_name = 'amount'`.execute(kb.db)
      : await sql<{ t: string }>`select data_type || '(' || numeric_precision || ',' || numeric_scale || ')' as t from information_schema.columns where table_schema = current_schema() and table_name = 'invoice_items' and column_name = 'amount'`.execute(kb.db);
    assert.match(money.rows[0]!.t, /^(decimal|numeric)\(15,9\)$/);

    // A Kill Bill before 0.24 has invoice_payments.success instead of status: accepted; with neither, named.
    await sql`alter table invoice_payments drop column status`.execute(kb.db);
    assert.deepEqual(await describeMissing(kb.db), ['invoice_payments.status']);
    await sql`alter table invoice_payments add column success boolean default true`.execute(kb.db);
    assert.deepEqual(await describeMissing(kb.db), []);
    await sql`alter table accounts drop column reference_time`.execute(kb.db);
    await sql`drop table payment_transactions`.execute(kb.db);
    assert.deepEqual(await describeMissing(kb.db), ['accounts.reference_time', 'payment_transactions']);
  } finally {
    await kb.close();
  }
});

test('Kill Bill fixture: the same rows twice, every item type, transaction type and status, and facts that agree with the rows', { skip }, async () => {
  const [a, b] = await Promise.all([fresh(), fresh()]);
  try {
    const fixture = await buildKillBillFixture(a.db);
    await buildKillBillFixture(b.db);
    assert.deepEqual(await describeMissing(a.db), []);
    const rows = await contents(a);
    assert.deepEqual(rows, await contents(b), 'deterministic');
    for (const table of killBillTables) assert.equal(rows[table]!.length, fixture.rows[table], table);

    const db = a.db;
    const distinct = async (q: Promise<Record<string, unknown>[]>) => [...new Set((await q).map((r) => String(Object.values(r)[0])))].sort();
    assert.deepEqual(await distinct(db.selectFrom('invoice_items').select('type').execute()),
      ['CBA_ADJ', 'CREDIT_ADJ', 'EXTERNAL_CHARGE', 'FIXED', 'ITEM_ADJ', 'RECURRING', 'REPAIR_ADJ', 'TAX', 'USAGE']);
    assert.deepEqual(await distinct(db.selectFrom('payment_transactions').select('transaction_type').execute()),
      ['AUTHORIZE', 'CAPTURE', 'CHARGEBACK', 'CREDIT', 'PURCHASE', 'REFUND', 'VOID']);
    assert.deepEqual(await distinct(db.selectFrom('payment_transactions').select('transaction_status').execute()),
      ['PAYMENT_FAILURE', 'PENDING', 'PLUGIN_FAILURE', 'SUCCESS', 'UNKNOWN']);
    assert.deepEqual(await distinct(db.selectFrom('invoice_payments').select('type').execute()), ['ATTEMPT', 'CHARGED_BACK', 'REFUND']);
    assert.deepEqual(await distinct(db.selectFrom('invoices').select('status').execute()), ['COMMITTED', 'DRAFT', 'VOID']);
    assert.deepEqual(await distinct(db.selectFrom('accounts').select('currency').execute()), ['EUR', 'JPY', 'KWD', 'USD']);
    assert.deepEqual(await distinct(db.selectFrom('accounts').select('tenant_record_id').execute()), ['1', '2']);
    // Soft deletes where Kill Bill has is_active, read back as booleans on both engines.
    for (const table of ['payment_methods', 'subscription_events', 'blocking_states'] as const) {
      const flags = (await db.selectFrom(table).select('is_active').execute()).map((r) => r.is_active);
      assert.ok(flags.includes(false) && flags.includes(true), table);
    }
    // Sign conventions: refunds and chargebacks positive in payment_transactions, negative in invoice_payments.
    const reversals = await db.selectFrom('invoice_payments').select(['type', 'amount', 'linked_invoice_payment_id']).where('type', '!=', 'ATTEMPT').execute();
    assert.ok(reversals.every((r) => Number(r.amount) < 0 && r.linked_invoice_payment_id));
    const refund = await db.selectFrom('payment_transactions').select('amount').where('transaction_type', '=', 'REFUND').executeTakeFirstOrThrow();
    assert.equal(refund.amount, '1.500000000', 'exact numeric(15,9) text');
    const dated = await db.selectFrom('invoices').select(['invoice_date', 'created_date']).orderBy('record_id').executeTakeFirstOrThrow();
    assert.match(dated.invoice_date, /^\d{4}-\d{2}-\d{2}$/);
    assert.match(dated.created_date, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    // The declared facts agree with the rows, account by account.
    const byAccount = <T extends { account_record_id: number }>(list: T[], id: number) => list.filter((r) => r.account_record_id === id);
    const invoices = await db.selectFrom('invoices').selectAll().execute();
    const items = await db.selectFrom('invoice_items').selectAll().execute();
    const payments = await db.selectFrom('invoice_payments').selectAll().execute();
    const txns = await db.selectFrom('payment_transactions').selectAll().execute();
    const subs = await db.selectFrom('subscriptions').selectAll().execute();
    const accounts = await db.selectFrom('accounts').selectAll().execute();
    for (const acct of fixture.accounts) {
      const row = accounts.find((r) => r.record_id === acct.recordId)!;
      assert.equal(row.external_key, acct.externalKey);
      assert.equal(row.tenant_record_id, acct.tenantRecordId);
      const committed = byAccount(invoices, acct.recordId).filter((i) => i.status === 'COMMITTED').map((i) => i.id);
      assert.equal(committed.length, acct.committedInvoices, acct.externalKey);
      assert.equal(byAccount(invoices, acct.recordId).length - committed.length, acct.skippedInvoices, acct.externalKey);
      const mine = byAccount(items, acct.recordId).filter((i) => committed.includes(i.invoice_id));
      const credit = mine.filter((i) => i.type === 'CBA_ADJ').reduce((s, i) => s + cents(i.amount), 0);
      assert.equal(credit, cents(acct.creditBalance), `${acct.externalKey} credit`);
      const settled = byAccount(payments, acct.recordId).filter((p) => p.status === 'SUCCESS').reduce((s, p) => s + cents(p.amount), 0);
      assert.equal(mine.reduce((s, i) => s + cents(i.amount), 0) - settled, cents(acct.unpaidBalance), `${acct.externalKey} balance`);
      const ok = byAccount(txns, acct.recordId).filter((t) => t.transaction_status === 'SUCCESS');
      const sum = (...types: string[]) => ok.filter((t) => types.includes(t.transaction_type)).reduce((s, t) => s + cents(t.amount!), 0);
      assert.deepEqual([sum('PURCHASE', 'CAPTURE'), sum('REFUND'), sum('CHARGEBACK')], [cents(acct.paid), cents(acct.refunded), cents(acct.chargedBack)], acct.externalKey);
      assert.equal(byAccount(txns, acct.recordId).filter((t) => ['PAYMENT_FAILURE', 'PLUGIN_FAILURE', 'UNKNOWN'].includes(t.transaction_status)).length, acct.failedAttempts);
      // charged_through_date is UTC: its local date in the account's zone is the declared one.
      const ctd = byAccount(subs, acct.recordId)[0]!.charged_through_date!;
      const local = new Date(`${ctd.replace(' ', 'T')}Z`).toLocaleDateString('en-CA', { timeZone: acct.timeZone });
      assert.equal(local, acct.chargedThrough, `${acct.externalKey} charged through`);
    }
    // The Los Angeles account's billing time is the next day in UTC: reading the date off the UTC value would be wrong.
    const la = fixture.accounts.find((x) => x.timeZone === 'America/Los_Angeles')!;
    assert.notEqual(byAccount(subs, la.recordId)[0]!.charged_through_date!.slice(0, 10), la.chargedThrough);
    // Fresh record ids after the fixture, as Kill Bill's own inserts would get.
    await db.insertInto('tenants').values({ id: 'after-fixture', external_key: 'later', api_key: 'later-key', api_secret: null, api_salt: null, created_date: '2026-11-28 00:00:00', created_by: 't', updated_date: null, updated_by: null }).execute();
    const later = await db.selectFrom('tenants').select('record_id').where('id', '=', 'after-fixture').executeTakeFirstOrThrow();
    assert.equal(later.record_id, fixture.tenants.length + 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test('Kill Bill connection: a SQLite URL is refused in one line', async () => {
  await assert.rejects(openKillBill('sqlite:/tmp/kb.db'), (err: Error) => {
    assert.match(err.message, /Kill Bill runs on MySQL\/MariaDB or PostgreSQL, not SQLite/);
    assert.equal(err.message.split('\n').length, 1);
    return true;
  });
  await assert.rejects(openKillBill('ftp://host/kb'), /not a Kill Bill database URL/);
});
