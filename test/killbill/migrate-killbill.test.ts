import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { migrate, type MigrateRequest } from '../../src/cli/migrate.ts';
import { currencyExponent } from '../../src/domain/money.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { buildKillBillFixture, openKillBill, type KillBillFixture } from '../../src/killbill/index.ts';
import type { CountryMigration } from '../../src/migration/migrate-country.ts';
import { setRoute } from '../../src/proxy/route-table.ts';
import { loadMember } from '../../src/store/members.ts';
import { assertRefused } from '../support/cli.ts';
import { engineUnderTest, freshStoreUrl, openTestServices } from '../support/engine.ts';
import { journalImbalance } from '../support/money-checks.ts';
import { assertBillingHistoryRendersLedger } from '../support/state.ts';

// Kill Bill runs on MySQL/MariaDB and PostgreSQL only: there is no SQLite Kill Bill to migrate from.
const skip = engineUnderTest === 'sqlite' ? 'Kill Bill databases exist on MySQL/MariaDB and PostgreSQL only (run with TALLY_TEST_ENGINE=mysql or postgres)' : false;

// The migration's progress lines are for a terminal, not for the test report.
process.env.TALLY_LOG_LEVEL = 'silent';

const dir = mkdtempSync(join(tmpdir(), 'tally-killbill-'));
const plansFile = join(dir, 'plans.yaml');
writeFileSync(plansFile, 'plans:\n  basic-monthly: basic\n  standard-monthly: standard\n  premium-monthly: premium\n');
const tenant1 = ['US', 'JP', 'KW', 'DE', 'FR'];

async function killBill(): Promise<{ url: string; fixture: KillBillFixture }> {
  const url = await freshStoreUrl();
  const kb = await openKillBill(url);
  try {
    return { url, fixture: await buildKillBillFixture(kb.db) };
  } finally {
    await kb.close();
  }
}

async function migrateAll(svc: Services, url: string, extra: Partial<MigrateRequest> = {}): Promise<CountryMigration[]> {
  const out: CountryMigration[] = [];
  await migrate(svc, { source: 'killbill', from: url, tenant: '1', countries: tenant1, plansFile, mode: 'load', asOf: '2026-11-28', horizonMonths: 24, ...extra }, (line) => out.push(line));
  return out;
}

/** Exact minor units of a fixture's decimal text. */
const minor = (amount: string, currency: string) => {
  const [whole, fraction = ''] = amount.split('.');
  return Number(`${whole}${fraction.padEnd(currencyExponent(currency), '0')}`);
};

async function sumOf(svc: Services, table: 'payments' | 'refunds' | 'chargebacks', member: string): Promise<number> {
  const r = await svc.store.db.selectFrom(table).select((eb) => eb.fn.sum<number>('amount').as('s')).where('member_id', '=', member).executeTakeFirst();
  return Number(r?.s ?? 0);
}

test('Kill Bill → Tally: one tenant migrates exact and balanced, as the fixture says account by account; again it writes nothing; members renew on their next billing date', { skip }, async () => {
  const { url, fixture } = await killBill();
  const svc = await openTestServices();
  try {
    const runs = await migrateAll(svc, url);
    assert.deepEqual(runs.map((r) => [r.country, r.counts.members, r.counts.loaded, r.counts.quarantined]), [['US', 3, 3, 0], ['JP', 2, 1, 1], ['KW', 1, 1, 0], ['DE', 1, 1, 0], ['FR', 1, 1, 0]]);
    assert.deepEqual(await journalImbalance(svc), []);
    await assertBillingHistoryRendersLedger(svc.store);

    for (const a of fixture.accounts.filter((x) => x.tenantRecordId === 1)) {
      const m = await loadMember(svc.memberStore.db, a.externalKey);
      if (a.quarantine) {
        assert.equal(m, undefined, `${a.externalKey} is quarantined: ${a.quarantine}`);
        const held = await svc.memberStore.db.selectFrom('migration_quarantine').select('reasons').where('member_id', '=', a.externalKey).executeTakeFirstOrThrow();
        assert.match(held.reasons, /amount-does-not-fit/);
        continue;
      }
      assert.ok(m, a.externalKey);
      const what = `${a.externalKey} (${a.exercises})`;
      assert.deepEqual([m.email, m.currency, m.timezone, m.country], [a.email, a.currency, a.timeZone, a.country], what);
      assert.equal(m.creditBalance, minor(a.creditBalance, a.currency), `${what}: credit`);
      assert.equal(m.invoiceCount, a.committedInvoices, `${what}: only COMMITTED invoices`);
      assert.equal(m.subscriptions.length, 1, what);
      const s = m.subscriptions[0]!;
      assert.equal(s.planId, a.plan.replace(/-monthly$/, ''), `${what}: plan`);
      const status = a.status === 'cancelled' ? 'cancelled' : a.blockedBy ? 'on_hold' : a.phase === 'TRIAL' ? 'trial' : 'active';
      assert.equal(s.status, status, `${what}: status`);
      assert.equal(s.cancelAtPeriodEnd, a.status === 'cancel-at-period-end', `${what}: cancel at period end`);
      if (a.status !== 'cancelled') assert.equal(s.nextBillingDate, a.trialEnds ?? a.chargedThrough, `${what}: next billing date`);
      assert.equal(await sumOf(svc, 'payments', a.externalKey), minor(a.paid, a.currency), `${what}: paid`);
      assert.equal(await sumOf(svc, 'refunds', a.externalKey), minor(a.refunded, a.currency), `${what}: refunded`);
      assert.equal(await sumOf(svc, 'chargebacks', a.externalKey), minor(a.chargedBack, a.currency), `${what}: charged back`);
      const failed = await svc.store.db.selectFrom('payment_attempts').select((eb) => eb.fn.countAll<number>().as('n')).where('member_id', '=', a.externalKey).where('status', '=', 'declined').executeTakeFirstOrThrow();
      assert.equal(Number(failed.n), a.failedAttempts, `${what}: failed attempts`);
    }
    // The other tenant's accounts stay out, its same-key account included (tenant 1's was opened in July, tenant 2's in October).
    assert.equal(await loadMember(svc.memberStore.db, 'kb-eur-other'), undefined);
    assert.equal((await loadMember(svc.memberStore.db, 'kb-usd-active'))!.subscriptions[0]!.since, '2026-07-10');

    const again = await migrateAll(svc, url);
    // Nothing the migration wrote counts as Tally's own doing (which would freeze the member against later re-runs).
    assert.deepEqual(again.map((r) => [r.counts.loaded, r.counts.replaced, r.counts.changedInTally]), tenant1.map(() => [0, 0, 0]), 'a re-run writes nothing');

    // Until its country is cut over, Kill Bill bills it; from then on, on its next billing date a migrated member renews in
    // Tally for its plan's price (or the price Kill Bill kept charging), credit first.
    assert.equal((await runRenewal(svc, '2026-12-01')).counts.leftToSource, 1);
    await setRoute(svc.store.db, 'KW', { state: 'tally', canaryPercent: 0 }, 'test', 'cut-over');
    const renewed = await runRenewal(svc, '2026-12-01');
    assert.deepEqual(renewed.errors, []);
    const kw = await loadMember(svc.memberStore.db, 'kb-kwd-credit');
    assert.equal(kw!.subscriptions[0]!.nextBillingDate, '2027-01-01');
    const inv = await svc.store.db.selectFrom('invoices').select(['total', 'number']).where('member_id', '=', 'kb-kwd-credit').orderBy('number', 'desc').executeTakeFirstOrThrow();
    assert.deepEqual([Number(inv.number), Number(inv.total)], [7, 3500], 'the seventh invoice, 3.500 KWD');
    assert.equal(kw!.creditBalance, 0, 'the 2.250 KWD credit went to it');
    assert.deepEqual(await journalImbalance(svc), []);
  } finally {
    await closeServices(svc);
  }
});

test('Kill Bill bad input: not a Kill Bill schema, an unknown tenant, no tenant of two, unmapped plans, an unknown currency: one line, exit 2, nothing written', { skip }, async () => {
  const { url } = await killBill();
  const broken = await freshStoreUrl();
  const kb = await openKillBill(broken);
  const odd = await killBill();
  const oddKb = await openKillBill(odd.url);
  try {
    await buildKillBillFixture(kb.db);
    await sql`alter table invoice_items drop column linked_item_id`.execute(kb.db);
    await sql`drop table blocking_states`.execute(kb.db);
    await sql`update accounts set currency = 'XYZ' where external_key = 'kb-eur-blocked'`.execute(oddKb.db);
  } finally {
    await kb.close();
    await oddKb.close();
  }
  const dbUrl = await freshStoreUrl();
  writeFileSync(join(dir, 'few.yaml'), 'plans:\n  standard-monthly: standard\n');
  const base = (from: string) => ['migrate', '--source', 'killbill', '--from', from, '--plans', plansFile];
  const cases: [string[], RegExp][] = [
    [[...base(broken), '--country', 'US', '--tenant', '1'], /^tally: --from: the database is not a Kill Bill schema \(or one older than 0\.20\): it has no table blocking_states, column invoice_items\.linked_item_id\n$/],
    [[...base(dbUrl), '--country', 'US'], /^tally: --from: the database is not a Kill Bill schema .*it has no table tenants, table accounts/],
    [[...base(url), '--country', 'US', '--tenant', 'nobody'], /^tally: --tenant "nobody" is not a tenant of this Kill Bill \(its tenants: 1 \(acme-streaming\), 2 \(other-shop\)\)\n$/],
    [[...base(url), '--country', 'US'], /^tally: --tenant is required: this Kill Bill has 2 tenants: 1 \(acme-streaming\), 2 \(other-shop\)/],
    [['migrate', '--source', 'killbill', '--from', url, '--country', 'US', '--tenant', '1'], /^tally: --plans: is required with --source killbill/],
    // FR's one member left basic-monthly behind for standard-monthly: a plan only in its history needs no mapping, so FR passes and US is refused.
    [[...base(url).slice(0, -1), join(dir, 'few.yaml'), '--country', 'FR,US', '--tenant', 'acme-key'], /^tally: plans: Kill Bill plans in use in US without a mapping: basic-monthly, premium-monthly; add them to the mapping \(nothing of US was written\)\n$/],
    [[...base(odd.url), '--country', 'US,DE', '--tenant', '1'], /^tally: --country DE: Kill Bill keeps money in "XYZ" \(account kb-eur-blocked\), not an ISO 4217 currency Tally knows; nothing of DE was written\n$/],
    [[...base(url), '--country', 'GB', '--tenant', '1'], /^tally: --country: the source has no members in "GB" \(it has DE, FR, JP, KW, US\)\n$/],
    [[...base('sqlite:kb.db'), '--country', 'US'], /^tally: --from: Kill Bill runs on MySQL\/MariaDB or PostgreSQL, not SQLite/],
  ];
  await assertRefused(cases, dbUrl);
});
