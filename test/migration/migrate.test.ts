import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { test } from 'node:test';
import { runCollection } from '../../src/jobs/collect.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import type { Services } from '../../src/jobs/services.ts';
import { openLegacy, runLegacyDay, type LegacyDb } from '../../src/legacy/index.ts';
import { clearCountry } from '../../src/migration/clear.ts';
import { dryRunCountry, type CountryDryRun } from '../../src/migration/dry-run.ts';
import { migrateCountry, type CountryMigration, type MigrateMode } from '../../src/migration/migrate-country.ts';
import { referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';
import { migrationReport } from '../../src/migration/report.ts';
import { legacyAdapter } from '../../src/migration/sources/legacy-adapter.ts';
import { openLegacySource, type LegacyMember } from '../../src/migration/sources/legacy-source.ts';
import { changeMemberPlan, refundMemberInvoice } from '../../src/operations/member-operations.ts';
import { setRoute } from '../../src/proxy/route-table.ts';
import { openStore } from '../../src/store/connect.ts';
import { loadMember } from '../../src/store/members.ts';
import { assertRefused, tally } from '../support/cli.ts';
import { engineUnderTest, freshStoreUrl, openTestServices } from '../support/engine.ts';
import { seededLegacy } from '../support/legacy-seed.ts';
import { germanMember } from '../support/legacy-member.ts';
import { journalImbalance } from '../support/money-checks.ts';
import { assertBillingHistoryRendersLedger, billingState } from '../support/state.ts';

const root = join(import.meta.dirname, '..', '..');
const asOf = '2026-11-28';

async function migrateIn(svc: Services, url: string, country: string, mode: MigrateMode | 'dry-run' = 'load', on = asOf, pageSize = 37) {
  const source = await openLegacySource(url);
  try {
    const adapter = legacyAdapter(source, { catalog: svc.billing.catalog, plans: referenceLegacyPlans, ...(await source.reference()), asOf: on, horizonMonths: 24 });
    if (mode === 'dry-run') return await dryRunCountry(adapter, country, { catalog: svc.billing.catalog, plans: referenceLegacyPlans }, { pageSize });
    return await migrateCountry(svc, adapter, { country, asOf: on, mode, options: {}, pageSize });
  } finally {
    await source.close();
  }
}

/** What a migration wrote, without run ids and wall-clock times: equal after different crash histories. */
async function migrationState(svc: Services) {
  const { db } = svc.memberStore;
  return {
    ...(await billingState(svc)),
    credits: await svc.store.db.selectFrom('credits').selectAll().orderBy('id').execute(),
    giftCards: await svc.store.db.selectFrom('gift_cards').selectAll().orderBy('code').execute(),
    chargebacks: await svc.store.db.selectFrom('chargebacks').selectAll().orderBy('id').execute(),
    claims: await db.selectFrom('member_claims').select(['scope', 'claim', 'member_id']).orderBy('scope').orderBy('claim').execute(),
    migrated: await db.selectFrom('migrated_members').select(['member_id', 'source', 'country', 'source_key', 'source_mark', 'content_hash', 'member_version', 'invoices_left_out']).orderBy('member_id').execute(),
    quarantine: await db.selectFrom('migration_quarantine').select(['source', 'source_key', 'member_id', 'country', 'reasons']).orderBy('source_key').execute(),
  };
}

const count = async (svc: Services, table: 'members' | 'invoices' | 'journal' | 'migrated_members' | 'migration_quarantine', memberStore = false) =>
  Number((await (memberStore ? svc.memberStore : svc.store).db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

test('a country migrates whole, balanced and exact; again it writes nothing; --since-last takes what the live legacy changed; --clear removes exactly it', async () => {
  const url = await seededLegacy(240, ['US', 'DE', 'JP', 'KW'], 3);
  const svc = await openTestServices();
  try {
    const preview = (await migrateIn(svc, url, 'US', 'dry-run')) as CountryDryRun;
    const us = (await migrateIn(svc, url, 'US')) as CountryMigration;
    const c = us.counts;
    assert.deepEqual([preview.ready, preview.quarantined], [c.loaded, c.quarantined], 'the dry run foresaw exactly what loaded');
    assert.equal(c.loaded + c.quarantined, c.members);
    assert.ok(c.members > 40 && c.loaded > c.members * 0.6, JSON.stringify(c));
    assert.ok(c.invoicesLeftOut > 0 && c.invoices > 0 && c.payments > 0, 'history both loaded and left out');
    assert.equal(await count(svc, 'members', true), c.loaded);
    assert.equal(await count(svc, 'migrated_members', true), c.loaded);
    assert.equal(await count(svc, 'migration_quarantine', true), c.quarantined);
    assert.equal(await count(svc, 'invoices'), c.invoices);
    assert.deepEqual(await journalImbalance(svc), []);
    await assertBillingHistoryRendersLedger(svc.store);
    // The opening balances are the members' balances and what they owe on open invoices, no more.
    const members = await svc.memberStore.db.selectFrom('members').select(['id', 'data']).execute();
    const gift = members.reduce((s, m) => s + (JSON.parse(m.data) as { giftCardBalance: number }).giftCardBalance, 0);
    const booked = await svc.store.db.selectFrom('journal').select((eb) => ['account', eb.fn.sum<number>('debit').as('d'), eb.fn.sum<number>('credit').as('c')])
      .where('kind', '=', 'migration_opening').groupBy('account').execute();
    const side = (account: string) => booked.find((b) => b.account === account);
    assert.equal(Number(side('gift_card_liability')?.c ?? 0) - Number(side('gift_card_liability')?.d ?? 0), gift);
    const open = await svc.store.db.selectFrom('invoices').select((eb) => eb.fn.sum<number>(eb('amount_due', '-', eb.ref('charged'))).as('owed')).where('status', 'in', ['open', 'past_due']).executeTakeFirst();
    assert.equal(Number(side('receivable')?.d ?? 0) - Number(side('receivable')?.c ?? 0), Number(open?.owed ?? 0));
    assert.equal(await count(svc, 'journal'), (await svc.store.db.selectFrom('journal').where('kind', '=', 'migration_opening').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n as number,
      'no legacy revenue is booked again');
    for (const m of members) {
      const top = await svc.store.db.selectFrom('invoices').select((eb) => eb.fn.max('number').as('n')).where('member_id', '=', m.id).executeTakeFirst();
      assert.ok(Number(top?.n ?? 0) <= (JSON.parse(m.data) as { invoiceCount: number }).invoiceCount, `${m.id}: Tally's next invoice number follows the legacy's`);
    }

    // Zero- and three-decimal currencies: a yen is a yen, a fils a fils.
    for (const country of ['JP', 'KW']) {
      const r = (await migrateIn(svc, url, country)) as CountryMigration;
      assert.equal(r.counts.loaded + r.counts.quarantined, r.counts.members);
    }
    const legacy = await openLegacy(url);
    try {
      const yen = await svc.store.db.selectFrom('invoices').select(['idem_key', 'total']).where('currency', '=', 'JPY').limit(1).executeTakeFirstOrThrow();
      const kwd = await svc.store.db.selectFrom('invoices').select(['idem_key', 'total']).where('currency', '=', 'KWD').limit(1).executeTakeFirstOrThrow();
      const header = (key: string) => legacy.db.selectFrom('invoice_header').select('total_amt').where('inv_id', '=', Number(key.split(':')[1])).executeTakeFirstOrThrow();
      assert.equal(Number(yen.total), Number((await header(yen.idem_key)).total_amt));
      assert.equal(Number(kwd.total), Math.round(Number((await header(kwd.idem_key)).total_amt) * 1000));

      // Again: nothing is written.
      const before = await migrationState(svc);
      const again = (await migrateIn(svc, url, 'US')) as CountryMigration;
      assert.deepEqual([again.counts.unchanged, again.counts.loaded, again.counts.replaced], [c.loaded, 0, 0]);
      assert.ok(isDeepStrictEqual(await migrationState(svc), before), 'a re-run changed what was loaded');

      // The legacy keeps billing; --since-last re-migrates just the members its nights changed.
      let billed = 0;
      for (const night of ['2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03']) billed += (await runLegacyDay(legacy.db, night)).billed;
      assert.ok(billed > 0);
      const since = (await migrateIn(svc, url, 'US', 'since-last', '2026-12-03')) as CountryMigration;
      assert.ok(since.counts.replaced > 0, JSON.stringify(since.counts));
      assert.ok(since.counts.unchanged > since.counts.members / 2, 'members the night did not touch are skipped by their high-water mark');
      assert.deepEqual(await journalImbalance(svc), []);
      const changed = await svc.memberStore.db.selectFrom('migrated_members').select(['member_id', 'source_key']).where('country', '=', 'US').where('source_mark', '>', '2026-11-28 23:59:59').execute();
      assert.ok(changed.length >= since.counts.replaced - since.counts.changedInTally);
    } finally {
      await legacy.close();
    }

    const report = await migrationReport(svc.store.db, svc.memberStore.db, 'US');
    assert.equal(report.migrated, c.loaded);
    assert.equal(report.quarantined, c.quarantined);
    for (const [reason, r] of Object.entries(report.reasons)) assert.ok(r.members > 0 && r.examples.length > 0 && r.examples[0]!.source.length > 0, reason);
    assert.ok(report.historyLeftOut.invoices >= c.invoicesLeftOut);
    assert.deepEqual(report.runs.map((r) => r.mode), ['since-last', 'load', 'load']);

    // --clear US: the other countries are untouched; nothing of US remains.
    const others = async () => {
      const s = await migrationState(svc);
      const us = new Set((await svc.memberStore.db.selectFrom('migrated_members').select('member_id').where('country', '=', 'US').execute()).map((m) => m.member_id));
      const owner = (r: { member_id?: string; invoice_id?: string; id?: string }) => r.member_id ?? (r.invoice_id ?? r.id ?? '').split('#')[0]!;
      return Object.fromEntries(Object.entries(s).map(([k, rows]) => [k, (rows as { member_id?: string; id?: string }[]).filter((r) => !us.has(owner(r)))]));
    };
    const rest = await others();
    const cleared = await clearCountry(svc, 'US', '2026-11-29');
    assert.equal(cleared.members, c.loaded);
    const usIds = (await svc.memberStore.db.selectFrom('migrated_members').select('member_id').where('country', '=', 'US').execute()).length;
    assert.equal(usIds, 0);
    assert.equal(Number((await svc.memberStore.db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).where('country', '=', 'US').executeTakeFirstOrThrow()).n), 0);
    assert.equal(Number((await svc.store.db.selectFrom('invoices').select((eb) => eb.fn.countAll<number>().as('n')).where('country', '=', 'US').executeTakeFirstOrThrow()).n), 0);
    assert.equal(Number((await svc.store.db.selectFrom('journal').select((eb) => eb.fn.countAll<number>().as('n')).where('country', '=', 'US').executeTakeFirstOrThrow()).n), 0, 'no day was closed: the opening lines are deleted, not reversed');
    assert.equal(Number((await svc.memberStore.db.selectFrom('migration_quarantine').select((eb) => eb.fn.countAll<number>().as('n')).where('country', '=', 'US').executeTakeFirstOrThrow()).n), 0);
    const after = await others();
    for (const key of Object.keys(rest)) {
      if (!['migrated', 'quarantine', 'outbox', 'charges', 'revenue', 'pendingPostings'].includes(key)) assert.ok(isDeepStrictEqual(after[key], rest[key]), `${key} of other countries changed by clearing US`);
    }
    assert.deepEqual(await journalImbalance(svc), []);
  } finally {
    await closeAll(svc);
  }
});

async function closeAll(svc: Services): Promise<void> {
  await svc.store.close();
  if (svc.memberStore !== svc.store) await svc.memberStore.close();
}

/** Lena, written into a legacy database row by row as the legacy keeps her. */
async function insertLegacyMember(legacy: LegacyDb, m: LegacyMember): Promise<void> {
  const rows: [string, unknown[]][] = [
    ['customer', [m.customer]], ['customer_email', m.emails], ['customer_address', m.addresses], ['account', m.accounts], ['payment_method', m.paymentMethods],
    ['subscription', m.subscriptions], ['promotion_redemption', m.redemptions], ['invoice_header', m.invoices], ['invoice_detail', m.details],
    ['payment_txn', m.payments], ['gift_card', m.giftCards], ['gift_card_txn', m.giftCardTxns], ['credit_memo', m.creditMemos],
  ];
  for (const [table, values] of rows) if (values.length) await legacy.db.insertInto(table as never).values(values as never).execute();
}

test('a migrated member is billed by Tally as if it had signed up there: its dunning, its next renewal, a proration, a refund of a legacy invoice', async () => {
  const url = await seededLegacy(5, ['DE'], 11);
  const legacy = await openLegacy(url);
  const ts = '2024-05-10 14:22:01';
  const header = (inv_id: number, inv_dt: string, status_cd: string, over: object = {}) => ({
    inv_id, acct_id: 42, inv_no: `INV${inv_id}`, inv_dt, period_from_dt: `${inv_dt.slice(0, 10)} 00:00:00`, period_to_dt: `${inv_dt.slice(0, 10)} 00:00:00`, status_cd,
    currency_cd: 'EUR', subtotal_amt: '13.9900', discount_amt: '0.0000', tax_amt: '2.2300', total_amt: '13.9900', gift_applied_amt: '0.0000', credit_applied_amt: '0.0000', ...over,
  });
  const txn = (txn_id: number, inv_id: number, txn_type: string, amount: string, resp_cd: string, txn_dt: string) => ({ txn_id, inv_id, pm_id: 2, txn_type, amount, resp_cd, txn_dt, ref_no: resp_cd === '00' ? `R${txn_id}` : null, parent_txn_id: null });
  try {
    await insertLegacyMember(legacy, germanMember({
      key: 'A000004242', custId: 4242,
      customer: { cust_id: 4242, acct_no: 'A000004242', first_nm: 'Lena', last_nm: 'Weber', country_cd: 'de', created_dt: ts, updated_dt: ts, deleted_flg: 'N', deleted_dt: null },
      emails: [{ email_id: 424201, cust_id: 4242, email_addr: 'lena@example.com', primary_flg: 'Y', created_dt: ts, deleted_flg: 'N' }],
      addresses: [{ addr_id: 424201, cust_id: 4242, addr_type: 'B', line1: null, city: 'Berlin', region_cd: null, postal_cd: null, country_cd: 'de', deleted_flg: 'N' }],
      accounts: [{ acct_id: 42, cust_id: 4242, status_cd: 'A', currency_cd: 'EUR', tz_nm: null, opened_dt: ts, closed_dt: null, updated_dt: ts }],
      paymentMethods: [{ pm_id: 2, acct_id: 42, pm_type: 'CC', token: 'tok_ok', last4: '4242', exp_mm: 1, exp_yyyy: 2029, status_cd: 'A', created_dt: ts, deleted_flg: 'N' }],
      subscriptions: [{ sub_id: 7, acct_id: 42, plan_cd: 'STRM_STD_M', status_cd: 1, start_dt: ts, paid_thru_dt: '2026-12-10 00:00:00', next_bill_dt: '2026-12-10 00:00:00', cancel_eop_flg: 'N', price_override_amt: null, updated_dt: ts }],
      redemptions: [],
      invoices: [
        header(8, '2026-10-09 22:30:00', 'P', { period_from_dt: '2026-10-10 00:00:00', period_to_dt: '2026-11-10 00:00:00' }),
        header(9, '2026-11-10 03:00:00', 'F', { period_from_dt: '2026-11-10 00:00:00', period_to_dt: '2026-12-10 00:00:00' }),
      ],
      details: [{ inv_det_id: 424201, inv_id: 8, line_no: 1, plan_cd: 'STRM_STD_M', descr: null, amount: '13.9900', discount_amt: '0.0000' }],
      payments: [txn(83, 8, 'CAP', '13.9900', '00', '2026-10-12 10:00:00'), txn(91, 9, 'CAP', '13.9900', '51', '2026-11-10 03:00:00')],
      giftCards: [], giftCardTxns: [], creditMemos: [],
    }));
  } finally {
    await legacy.close();
  }
  const svc = await openTestServices();
  try {
    const r = (await migrateIn(svc, url, 'DE')) as CountryMigration;
    assert.ok(r.counts.loaded >= 1, JSON.stringify(r.counts));
    const id = 'A000004242';
    const lena = (await loadMember(svc.memberStore.db, id))!;
    assert.deepEqual([lena.invoiceCount, lena.subscriptions[0]!.nextBillingDate, lena.subscriptions[0]!.planId], [2, '2026-12-10', 'standard']);

    // Until DE is cut over the legacy bills and dunns her: Tally's jobs leave her alone.
    const before = await runCollection(svc, asOf);
    assert.equal(before.counts.leftToSource, 1);
    assert.equal((await svc.store.db.selectFrom('invoices').select('status').where('id', '=', `${id}#2`).executeTakeFirstOrThrow()).status, 'past_due');
    await setRoute(svc.store.db, 'DE', { state: 'tally', canaryPercent: 0 }, 'test', 'cut-over');

    // Dunning: the legacy's failed invoice is Tally's to collect from the cut-over; paid, the opening receivable is settled.
    await runCollection(svc, asOf);
    const dunned = await svc.store.db.selectFrom('invoices').selectAll().where('id', '=', `${id}#2`).executeTakeFirstOrThrow();
    assert.deepEqual([dunned.status, Number(dunned.charged), Number(dunned.attempt_count)], ['paid', 1399, 2]);
    const receivable = await svc.store.db.selectFrom('journal').select((eb) => [eb.fn.sum<number>('debit').as('d'), eb.fn.sum<number>('credit').as('c')]).where('member_id', '=', id).where('account', '=', 'receivable').executeTakeFirstOrThrow();
    assert.equal(Number(receivable.d) - Number(receivable.c), 0);

    // The next renewal, on the legacy's paid-through date: invoice 3, the catalog's 13.99 with 19 % German VAT included (13.99 × 19/119 = 2.2337 → 2.23).
    await runRenewal(svc, '2026-12-10');
    const renewal = await svc.store.db.selectFrom('invoices').selectAll().where('member_id', '=', id).where('number', '=', 3).executeTakeFirstOrThrow();
    assert.deepEqual([renewal.kind, Number(renewal.total), Number(renewal.tax), renewal.period_start, renewal.period_end], ['renewal', 1399, 223, '2026-12-10', '2027-01-10']);

    // An upgrade mid-period is prorated from the migrated schedule: invoice 4.
    await changeMemberPlan(svc, id, 'premium', '2026-12-25');
    const proration = await svc.store.db.selectFrom('invoices').selectAll().where('member_id', '=', id).where('number', '=', 4).executeTakeFirstOrThrow();
    assert.equal(proration.kind, 'proration');
    assert.ok(Number(proration.total) > 0 && Number(proration.total) < 1399);

    // A refund of a legacy invoice goes to the legacy's capture reference and is booked like any refund.
    await refundMemberInvoice(svc, id, 1, 1399, 'goodwill', '2026-12-26');
    const refunded = await svc.store.db.selectFrom('invoices').selectAll().where('id', '=', `${id}#1`).executeTakeFirstOrThrow();
    assert.deepEqual([refunded.status, Number(refunded.refunded)], ['refunded', 1399]);
    const call = await svc.store.db.selectFrom('processor_charges').selectAll().where('kind', '=', 'refund').executeTakeFirstOrThrow();
    assert.deepEqual([call.token, Number(call.amount)], ['R83', 1399]);
    assert.deepEqual(await journalImbalance(svc), []);
    assert.equal((await svc.store.db.selectFrom('processor_charges').select('idem_key').where('kind', '=', 'refund').execute()).length, 1, 'refunded once');

    // Tally has changed her since: her legacy rows moving on is reported, never written over; a clear is refused whole.
    const again = await openLegacy(url);
    await again.db.updateTable('customer').set({ updated_dt: '2026-12-27 10:00:00', first_nm: 'Lene' }).where('cust_id', '=', 4242).execute();
    await again.db.updateTable('subscription').set({ price_override_amt: '12.9900', updated_dt: '2026-12-27 10:00:00' }).where('sub_id', '=', 7).execute();
    await again.close();
    const stale = (await migrateIn(svc, url, 'DE', 'since-last', '2026-12-27')) as CountryMigration;
    assert.equal(stale.counts.changedInTally, 1);
    assert.equal((await loadMember(svc.memberStore.db, id))!.subscriptions[0]!.planId, 'premium');
    await assert.rejects(clearCountry(svc, 'DE', '2026-12-27'), /1 member\(s\) of DE were changed by Tally since they were migrated \(A000004242\)/);
  } finally {
    await closeAll(svc);
  }
});


test('bad input: one line, exit 2, nothing written', async () => {
  const url = await seededLegacy(60, ['US', 'DE'], 5);
  const dbUrl = await freshStoreUrl();
  const dir = mkdtempSync(join(tmpdir(), 'tally-plans-'));
  writeFileSync(join(dir, 'few.yaml'), 'plans:\n  STRM_STD_M: standard\n');
  writeFileSync(join(dir, 'unknown.yaml'), `plans:\n${[...referenceLegacyPlans].map(([k, v]) => `  ${k}: ${k === 'STRM_STD_M' ? 'ultra' : v}`).join('\n')}\n`);
  const cases: [string[], RegExp][] = [
    [['--source', 'oracle', '--from', url, '--country', 'US'], /^tally: --source must be legacy or killbill, got "oracle"\n$/],
    [['--source', 'legacy', '--from', url, '--country', 'FR'], /^tally: --country: the source has no members in "FR" \(it has DE, US\)\n$/],
    [['--source', 'legacy', '--from', url, '--country', 'US,FR'], /^tally: --country: the source has no members in "FR"/],
    [['--source', 'legacy', '--from', url, '--country', 'DE,US', '--plans', join(dir, 'few.yaml')], /^tally: plans: legacy plans in use in DE without a mapping: STRM_BAS_M, STRM_PRE_M, STRM_STD_Y; add them to the mapping \(nothing of DE was written\)\n$/],
    [['--source', 'legacy', '--from', url, '--country', 'US', '--plans', join(dir, 'unknown.yaml')], /^tally: plans\.STRM_STD_M: maps to plans Tally does not have: STRM_STD_M → ultra\n$/],
    // Tally's own store (the CLI has opened it by then) is a database, but not the legacy's.
    [['--source', 'legacy', '--from', dbUrl, '--country', 'US'], /^tally: --from: the database is not the legacy schema: it has no table country, /],
    [['--source', 'legacy', '--from', `sqlite:${join(dir, 'none.db')}`, '--country', 'US'], /^tally: --from: there is no legacy database at .*none\.db\n$/],
    [['--source', 'legacy', '--from', 'mysql://root@127.0.0.1:1/nothing', '--country', 'US'], /^tally: cannot reach the legacy database at mysql:\/\/root@127\.0\.0\.1:1\/nothing: /],
    [['--source', 'legacy', '--from', url, '--country', 'US', '--resume', '--clear'], /^tally: --resume and --clear cannot be used together/],
    [['--source', 'legacy', '--from', url, '--country', 'USA'], /^tally: --country takes ISO 3166 alpha-2 codes, got "USA"\n$/],
    [['--source', 'legacy', '--from', url, '--country', 'US', '--horizon-months', 'two'], /^tally: --horizon-months must be a whole number/],
  ];
  await assertRefused(cases.map(([args, message]) => [['migrate', ...args], message]), dbUrl);
});

test('kill -9 at any moment, then the same command: the end state of one uninterrupted run', async () => {
  const url = await seededLegacy(engineUnderTest === 'sqlite' ? 300 : 160, ['US', 'DE'], 9);
  const args = (extra: string[] = []) => ['migrate', '--source', 'legacy', '--from', url, '--country', 'US,DE', '--as-of', asOf, '--page-size', '7', ...extra];
  const clean = await freshStoreUrl();
  const once = tally(args(), { TALLY_DB_URL: clean });
  assert.equal(once.status, 0, once.stderr);
  const expected = await stateAt(clean);

  const crashed = await freshStoreUrl();
  const watch = await openStore(crashed);
  try {
    // Killed twice, each time a random moment after a page was committed; then resumed from its cursor, then re-run plainly.
    for (const extra of [[], ['--resume']]) {
      const seen = Number((await watch.db.selectFrom('migration_runs').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst())?.id ?? 0);
      const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args(extra)], { env: { ...process.env, TALLY_DB_URL: crashed, TALLY_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      for (let i = 0; i < 600; i++) {
        const loading = await watch.db.selectFrom('migration_runs').select('id').where('id', '>', seen).where('cursor', 'is not', null).executeTakeFirst();
        if (loading) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      child.kill('SIGKILL');
      await exited;
    }
  } finally {
    await watch.close();
  }
  const resumed = tally(args(['--resume']), { TALLY_DB_URL: crashed });
  assert.equal(resumed.status, 0, resumed.stderr);
  const rerun = tally(args(), { TALLY_DB_URL: crashed });
  assert.equal(rerun.status, 0, rerun.stderr);
  for (const line of rerun.stdout.trim().split('\n')) assert.equal(JSON.parse(line).counts.loaded, 0, 'the plain re-run finds everything loaded');
  assert.ok(isDeepStrictEqual(await stateAt(crashed), expected), 'the killed and resumed migration ended elsewhere than one uninterrupted run');
  const store = await openStore(crashed);
  try {
    const runs = await store.db.selectFrom('migration_runs').select(['status', 'mode']).orderBy('id').execute();
    assert.ok(runs.some((r) => r.status === 'interrupted'), JSON.stringify(runs));
  } finally {
    await store.close();
  }
});

async function stateAt(url: string) {
  const store = await openStore(url);
  try {
    return await migrationState({ store, memberStore: store } as unknown as Services);
  } finally {
    await store.close();
  }
}

test('split stores: members and their claims in the member store, the history and the books in the ledger; again nothing; cleared whole', async () => {
  const url = await seededLegacy(80, ['DE'], 21);
  const svc = await openTestServices({}, { split: true });
  try {
    // A gift-card code someone in Tally already holds keeps its legacy holder out, named.
    const legacy = await openLegacy(url);
    const card = await legacy.db.selectFrom('gift_card').innerJoin('customer', 'customer.cust_id', 'gift_card.redeemed_acct_id').select(['gc_code', 'acct_no']).orderBy('gc_id').limit(1).executeTakeFirstOrThrow();
    await legacy.close();
    await svc.memberStore.db.insertInto('member_claims').values({ scope: 'gift-card', claim: card.gc_code, member_id: 'someone-else', claimed_at: '2026-11-01T00:00:00Z' }).execute();
    const r = (await migrateIn(svc, url, 'DE')) as CountryMigration;
    assert.ok(r.counts.loaded > 0);
    const held = await svc.memberStore.db.selectFrom('migration_quarantine').select('reasons').where('member_id', '=', card.acct_no).executeTakeFirstOrThrow();
    assert.match(held.reasons, new RegExp(`"reason":"gift-card-code-taken","detail":"gift card ${card.gc_code} is already someone-else's in Tally"`));
    assert.equal(await count(svc, 'members', true), r.counts.loaded);
    assert.equal(await count(svc, 'invoices'), r.counts.invoices);
    assert.equal(Number((await svc.store.db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 0, 'no member rows in the ledger store');
    assert.deepEqual(await journalImbalance(svc), []);
    const before = await migrationState(svc);
    assert.equal(((await migrateIn(svc, url, 'DE')) as CountryMigration).counts.unchanged, r.counts.loaded);
    assert.ok(isDeepStrictEqual(await migrationState(svc), before), 'a re-run changed what was loaded');
    await svc.memberStore.db.deleteFrom('member_claims').where('member_id', '=', 'someone-else').execute();
    await clearCountry(svc, 'DE', asOf);
    assert.deepEqual([await count(svc, 'members', true), await count(svc, 'invoices'), await count(svc, 'journal'), await count(svc, 'migrated_members', true), await count(svc, 'migration_quarantine', true)], [0, 0, 0, 0, 0]);
  } finally {
    await closeAll(svc);
  }
});

test('a row Tally wrote for a migrated member (a collection attempt) alone makes the member Tally\'s: changed at the source later, it is not replaced, and its country is not cleared', async () => {
  const url = await seededLegacy(120, ['DE'], 4);
  const svc = await openTestServices();
  try {
    await migrateIn(svc, url, 'DE');
    const invoice = await svc.store.db.selectFrom('invoices').select(['id', 'member_id', 'amount_due', 'currency']).orderBy('id').limit(1).executeTakeFirstOrThrow();
    const id = invoice.member_id;
    const version = (await loadMember(svc.memberStore.db, id))!.version;
    // What collection writes for an attempt on a migrated invoice; the member aggregate need not change at all.
    await svc.store.db.insertInto('payment_attempts').values({
      idem_key: `${invoice.id}:attempt:9`, invoice_id: invoice.id, member_id: id, attempt_no: 9, amount: invoice.amount_due, currency: invoice.currency,
      status: 'declined', decline_code: '51', attempted_on: asOf, reference: null,
    }).execute();
    // The legacy has moved on for this member (its next load sees different content).
    await svc.memberStore.db.updateTable('migrated_members').set({ content_hash: 'changed at the source' }).where('member_id', '=', id).execute();
    const again = (await migrateIn(svc, url, 'DE')) as CountryMigration;
    assert.equal(again.counts.changedInTally, 1, JSON.stringify(again.counts));
    assert.equal(again.counts.replaced, 0);
    assert.equal((await loadMember(svc.memberStore.db, id))!.version, version);
    assert.equal((await svc.store.db.selectFrom('payment_attempts').select('idem_key').where('idem_key', '=', `${invoice.id}:attempt:9`).execute()).length, 1, 'Tally\'s attempt is still there');
    await assert.rejects(clearCountry(svc, 'DE', asOf), new RegExp(`1 member\\(s\\) of DE were changed by Tally since they were migrated \\(${id}\\)`));
  } finally {
    await closeAll(svc);
  }
});
