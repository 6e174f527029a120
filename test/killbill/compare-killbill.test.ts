import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { buildKillBillFixture, openKillBill } from '../../src/killbill/index.ts';
import { byMember, readReport, tally } from '../support/cli.ts';
import { engineUnderTest, freshStoreUrl } from '../support/engine.ts';

// Kill Bill runs on MySQL/MariaDB and PostgreSQL only: there is no SQLite Kill Bill to compare with.
const skip = engineUnderTest === 'sqlite' ? 'Kill Bill databases exist on MySQL/MariaDB and PostgreSQL only (run with TALLY_TEST_ENGINE=mysql or postgres)' : false;

const countries = ['US', 'JP', 'KW', 'DE', 'FR'];

test('tally compare --source killbill: clean after the migration; rows changed behind its back name exactly the members changed; --since-last and --members-from make it clean again', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-killbill-compare-'));
  const plans = join(dir, 'plans.yaml');
  writeFileSync(plans, 'plans:\n  basic-monthly: basic\n  standard-monthly: standard\n  premium-monthly: premium\n');
  const url = await freshStoreUrl();
  const kb = await openKillBill(url);
  try {
    await buildKillBillFixture(kb.db);
    const env = { TALLY_DB_URL: await freshStoreUrl() };
    const migrate = (...extra: string[]) => {
      const r = tally(['migrate', '--source', 'killbill', '--from', url, '--tenant', 'acme-key', '--plans', plans, '--as-of', '2026-11-28', ...extra], env);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { country: string; counts: Record<string, number> });
    };
    /** Each country compared through the CLI: its exit code and its report, member by member. */
    const compare = (name: string, extra: (country: string) => string[] = () => []) => Object.fromEntries(countries.map((country) => {
      const out = join(dir, `${name}-${country}`);
      // The tenant and the plan mapping are the migration's, as recorded with its run.
      const r = tally(['compare', '--source', 'killbill', '--from', url, '--country', country, '--out', out, '--json', ...extra(country)], env);
      assert.ok(r.status === 0 || r.status === 1, `${country}: ${r.stderr}`);
      const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { status: string; tenant: number; members: Record<string, number> };
      assert.equal(summary.tenant, 1);
      assert.equal(r.status, summary.status === 'clean' ? 0 : 1);
      return [country, { status: summary.status, quarantined: summary.members.quarantined, found: byMember(readReport(out)) }];
    }));

    migrate('--country', countries.join(','));
    const first = compare('first');
    for (const c of countries) assert.deepEqual(first[c]!.found, {}, `${c}: ${JSON.stringify(first[c])}`);
    assert.deepEqual(countries.map((c) => [c, first[c]!.status, first[c]!.quarantined]), [['US', 'clean', 0], ['JP', 'clean', 1], ['KW', 'clean', 0], ['DE', 'clean', 0], ['FR', 'clean', 0]]);

    // Behind the migration's back, the way Kill Bill writes: an email changed (the row's updated_date moves), a new
    // payment on an open invoice (new rows), an item's amount edited in place (invoice_items keep no update stamp),
    // and a tenant-2 account and a soft-deleted row touched, which concern no tenant-1 member.
    const now = '2026-11-29 10:00:00';
    await sql`update accounts set email = 'new-address@example.com', updated_date = ${now} where external_key = 'kb-usd-active' and tenant_record_id = 1`.execute(kb.db);
    const blocked = await kb.db.selectFrom('invoices').innerJoin('accounts', 'accounts.id', 'invoices.account_id').select(['invoices.id', 'invoices.account_id', 'invoices.account_record_id'])
      .where('accounts.external_key', '=', 'kb-eur-blocked').orderBy('invoices.invoice_date', 'desc').executeTakeFirstOrThrow();
    const payment = await kb.db.selectFrom('payments').selectAll().where('account_id', '=', blocked.account_id).executeTakeFirstOrThrow();
    const scope = { account_record_id: blocked.account_record_id, tenant_record_id: 1 };
    await kb.db.insertInto('payment_transactions').values({
      id: 'behind-the-back-txn', attempt_id: null, transaction_external_key: 'behind-the-back-txn', transaction_type: 'PURCHASE', effective_date: now, transaction_status: 'SUCCESS',
      amount: '8.99', currency: 'EUR', processed_amount: '8.99', processed_currency: 'EUR', payment_id: payment.id, gateway_error_code: null, gateway_error_msg: null,
      created_by: 'agent', created_date: now, updated_by: 'agent', updated_date: now, ...scope,
    }).execute();
    await kb.db.insertInto('invoice_payments').values({
      id: 'behind-the-back-ip', type: 'ATTEMPT', invoice_id: blocked.id, payment_id: payment.id, payment_date: now, amount: '8.99', currency: 'EUR', processed_currency: 'EUR',
      payment_cookie_id: 'behind-the-back-txn', linked_invoice_payment_id: null, status: 'SUCCESS', created_by: 'agent', created_date: now, ...scope,
    }).execute();
    await sql`update invoice_items set amount = 16.49 where type = 'RECURRING' and amount = 15.99 and account_id = (select id from accounts where external_key = 'kb-usd-chargeback')
      and invoice_id = (select id from invoices where invoice_date = '2026-10-15' and account_id = (select id from accounts where external_key = 'kb-usd-chargeback'))`.execute(kb.db);
    await sql`update accounts set email = 'elsewhere@example.com', updated_date = ${now} where external_key = 'kb-usd-active' and tenant_record_id = 2`.execute(kb.db);

    const second = compare('second');
    const changed = Object.fromEntries(countries.flatMap((c) => Object.entries(second[c]!.found)));
    assert.deepEqual(changed, {
      'kb-usd-active': ['stale'],
      'kb-eur-blocked': ['stale'],
      // No stamp moved, so it is compared field by field: the invoice total, and unpaid since 15.99 no longer covers it.
      'kb-usd-chargeback': ['differs:invoices.total', 'differs:invoices.unpaid'],
    });

    // --since-last takes what changed by the stamps; the edit in place needs the member named.
    const sinceLast = migrate('--country', countries.join(','), '--since-last');
    assert.deepEqual(sinceLast.map((r) => [r.country, r.counts.replaced]), [['US', 1], ['JP', 0], ['KW', 0], ['DE', 1], ['FR', 0]]);
    const named = migrate('--country', 'US', '--members-from', join(dir, 'second-US'));
    assert.equal(named[0]!.counts.replaced, 1);
    const third = compare('third');
    for (const c of countries) assert.deepEqual([third[c]!.status, third[c]!.found], ['clean', {}], c);
  } finally {
    await kb.close();
  }
});

