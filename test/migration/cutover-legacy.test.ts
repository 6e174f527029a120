import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { legacyWork } from '../../src/cli/cutover.ts';
import { migrate } from '../../src/cli/migrate.ts';
import { runCollection } from '../../src/jobs/collect.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { billingStoppedCountries, openLegacy, runLegacyDay, type LegacyDb } from '../../src/legacy/index.ts';
import { inProcessBus } from '../../src/messaging/bus.ts';
import { relayOutbox } from '../../src/messaging/outbox-relay.ts';
import { backsyncConsumer, servedByRoutes } from '../../src/migration/backsync/consumer.ts';
import { abortCutover, runCutover } from '../../src/migration/cutover/cutover.ts';
import type { CountryMigration } from '../../src/migration/migrate-country.ts';
import { signupMember } from '../../src/operations/member-operations.ts';
import { readRoutes } from '../../src/proxy/route-table.ts';
import { cohortOf } from '../../src/proxy/routing.ts';
import { openTestServices } from '../support/engine.ts';
import { seededLegacy } from '../support/legacy-seed.ts';

process.env.TALLY_LOG_LEVEL = 'silent';
const asOf = '2026-11-28';

/** The legacy's DE subscriptions' next bill dates after the migration day, in order: the days the cut-over straddles. */
async function dueDays(legacy: LegacyDb, after: string): Promise<string[]> {
  const rows = await legacy.db.selectFrom('subscription as s').innerJoin('account as a', 'a.acct_id', 's.acct_id').innerJoin('customer as c', 'c.cust_id', 'a.cust_id')
    .select('s.next_bill_dt').where(sql<string>`upper(trim(c.country_cd))`, 'in', ['DE', 'DEU']).where('s.status_cd', '=', 1).where('s.next_bill_dt', '>', `${after} 23:59:59`).execute();
  return [...new Set(rows.map((r) => String(r.next_bill_dt).slice(0, 10)))].sort();
}

/** Periods billed twice: on Tally's side (all its invoices of DE members, migrated or its own) and on the legacy's (its own and back-synced). */
async function billedTwice(svc: Services, legacy: LegacyDb): Promise<{ tally: string[]; legacy: string[] }> {
  const tallySide = await svc.store.db.selectFrom('invoices').select(['member_id', 'period_start']).where('country', '=', 'DE').where('kind', '=', 'renewal').where('status', '!=', 'void').execute();
  const legacySide = await legacy.db.selectFrom('invoice_header as h').innerJoin('account as a', 'a.acct_id', 'h.acct_id').innerJoin('customer as c', 'c.cust_id', 'a.cust_id')
    .select(['c.acct_no', 'h.period_from_dt']).where(sql<string>`upper(trim(c.country_cd))`, 'in', ['DE', 'DEU']).where('h.status_cd', '!=', 'V').execute();
  const twice = (keys: string[]) => keys.filter((k, i) => keys.indexOf(k) !== i);
  return {
    tally: twice(tallySide.filter((r) => r.period_start).map((r) => `${r.member_id} ${r.period_start}`)),
    legacy: twice(legacySide.map((r) => `${r.acct_no} ${String(r.period_from_dt).slice(0, 10)}`)),
  };
}

/** Back-sync from Tally's outbox into the legacy, delivered now. */
async function writeBack(svc: Services, legacy: LegacyDb): Promise<void> {
  const bus = inProcessBus(svc.store.db);
  bus.subscribe(await backsyncConsumer({ legacy: legacy.db, tally: svc, servedByTally: servedByRoutes(svc.store.db, 0), tuning: { concurrency: 4, maxAttempts: 2, backoff: { initialMs: 1, maxMs: 2 } } }));
  await relayOutbox(svc.store.db, bus, { owner: `${hostname()}:${process.pid}:test` });
}

test('DE cut over from the legacy on its billing day, billed by Tally the next, then aborted: no period billed twice on either side, nothing lost', async () => {
  // A legacy whose warts were fixed: every member migrates (see the next test for one that was not).
  const url = await seededLegacy(120, ['DE', 'US'], 33, asOf, { warts: false });
  const svc = await openTestServices();
  const legacy = await openLegacy(url);
  try {
    await migrate(svc, { source: 'legacy', from: url, countries: ['DE'], mode: 'load', asOf, horizonMonths: 24 }, () => {});
    const [d1, d2, d3] = await dueDays(legacy, asOf);
    assert.ok(d1 && d2 && d3, 'three billing days ahead');

    // Before the cut-over the legacy bills DE; Tally's jobs leave its migrated members alone.
    assert.ok((await runRenewal(svc, d1)).counts.leftToSource! > 0);
    const legacyNight = await runLegacyDay(legacy.db, d1);
    assert.ok(legacyNight.billed > 0);

    // The cut-over, on d1 after the legacy's night: its --since-last picks up what the night billed, the compare is clean.
    const work = legacyWork(svc, legacy, { from: url, asOf: d1, reportDir: () => mkdtempSync(join(tmpdir(), 'tally-cutover-')) });
    const r = await runCutover(svc.store.db, work, { country: 'DE', cohortPercent: 100, waitMs: 2000 });
    assert.equal(r.status, 'finished', JSON.stringify(r));
    const compared = r.steps.find((s) => s.step === 'compare')!.detail;
    assert.equal(compared.differences, 0, JSON.stringify(compared));
    assert.ok(Number((r.steps.find((s) => s.step === 'migrate')!.detail as { replaced: number }).replaced) > 0, 'the night\'s changes moved');
    assert.deepEqual(await billingStoppedCountries(legacy.db), ['DE']);
    assert.deepEqual((await readRoutes(svc.store.db)).get('DE'), { state: 'tally', canaryPercent: 0 });

    // The same day in Tally: whoever the legacy billed that night is not billed again. The next day is Tally's alone.
    await runRenewal(svc, d1);
    await runCollection(svc, d1);
    const night2 = await runLegacyDay(legacy.db, d2);
    const tallyD2 = await runRenewal(svc, d2);
    assert.ok(tallyD2.counts.invoices! > 0, 'Tally bills DE from the cut-over on');
    const deBilledByLegacy = await legacy.db.selectFrom('invoice_header as h').innerJoin('account as a', 'a.acct_id', 'h.acct_id').innerJoin('customer as c', 'c.cust_id', 'a.cust_id')
      .select('h.inv_id').where('c.country_cd', '=', 'DE').where('h.inv_dt', '>=', `${d2} 00:00:00`).execute();
    assert.equal(deBilledByLegacy.length, 0, `the legacy's night of ${d2} billed ${night2.billed}, none of DE`);
    assert.deepEqual(await billedTwice(svc, legacy), { tally: [], legacy: [] });

    // Abort after the flip: back-sync writes Tally's days into the legacy first, then the legacy bills DE again.
    await writeBack(svc, legacy);
    const aborted = await abortCutover(svc.store.db, work, { country: 'DE', waitMs: 2000, backsyncWaitMs: 5000 });
    assert.equal(aborted.status, 'aborted');
    assert.deepEqual(await billingStoppedCountries(legacy.db), []);
    assert.deepEqual((await readRoutes(svc.store.db)).get('DE'), { state: 'legacy', canaryPercent: 0 });
    await runLegacyDay(legacy.db, d3);
    const tallyD3 = await runRenewal(svc, d3);
    assert.ok(tallyD3.counts.leftToSource! > 0, 'Tally leaves DE to the legacy again');
    assert.equal(tallyD3.counts.invoices, 0);
    assert.deepEqual(await billedTwice(svc, legacy), { tally: [], legacy: [] });
  } finally {
    await legacy.close();
    await closeServices(svc);
  }
});

test('a country with quarantined members is not cut over: the run stops at the compare, saying why, and the country keeps its route', async () => {
  const url = await seededLegacy(150, ['DE'], 5, asOf);
  const svc = await openTestServices();
  const legacy = await openLegacy(url);
  try {
    const lines: CountryMigration[] = [];
    await migrate(svc, { source: 'legacy', from: url, countries: ['DE'], mode: 'load', asOf, horizonMonths: 24 }, (line) => lines.push(line));
    const load = lines[0];
    assert.ok(load!.counts.quarantined > 0, 'the seeded legacy has its warts');
    const work = legacyWork(svc, legacy, { from: url, asOf, reportDir: () => mkdtempSync(join(tmpdir(), 'tally-cutover-')) });
    const r = await runCutover(svc.store.db, work, { country: 'DE', cohortPercent: 100, waitMs: 2000 });
    assert.equal(r.status, 'stopped');
    assert.match(r.reason!, new RegExp(`^${load!.counts.quarantined} member\\(s\\) of DE are quarantined by the migration`));
    assert.equal((await readRoutes(svc.store.db)).get('DE')!.state, 'legacy');
    assert.deepEqual(await billingStoppedCountries(legacy.db), []);
  } finally {
    await legacy.close();
    await closeServices(svc);
  }
});

test('a cohort\'s legacy-stop stops the cohort as the legacy has it then: a cohort member who signed up on Tally after the flip, written back by back-sync, included', async () => {
  const url = await seededLegacy(120, ['DE'], 33, asOf, { warts: false });
  const svc = await openTestServices();
  const legacy = await openLegacy(url);
  try {
    await migrate(svc, { source: 'legacy', from: url, countries: ['DE'], mode: 'load', asOf, horizonMonths: 24 }, () => {});
    const work = legacyWork(svc, legacy, { from: url, asOf, reportDir: () => mkdtempSync(join(tmpdir(), 'tally-cutover-')) });
    // The cohort is compared and flipped; the run is killed before the legacy stops billing it (the same work goes on below).
    await assert.rejects(runCutover(svc.store.db, work, { country: 'DE', cohortPercent: 50, waitMs: 2000, checkpoint: (p) => {
      if (p === 'legacy-stop:before') throw new Error('killed before legacy-stop');
    } }), /killed before legacy-stop/);
    // Meanwhile a member of the cohort signs up, on Tally (the proxy sends the cohort there), and back-sync gives the legacy its customer.
    const id = Array.from({ length: 100 }, (_, i) => `T-DE-${i}`).find((m) => cohortOf(m) < 50)!;
    await signupMember(svc, { id, email: null, country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'standard' }, asOf);
    await writeBack(svc, legacy);
    assert.ok(await legacy.db.selectFrom('customer').select('acct_no').where('acct_no', '=', id).executeTakeFirst(), 'back-sync wrote the sign-up into the legacy');

    const r = await runCutover(svc.store.db, work, { country: 'DE', cohortPercent: 50, waitMs: 2000 });
    assert.equal(r.status, 'finished', JSON.stringify(r));
    assert.deepEqual(r.steps.map((s) => s.step), ['legacy-stop']);
    const stopped = new Set((await legacy.db.selectFrom('customer_billing_stop').select('acct_no').execute()).map((s) => s.acct_no));
    assert.ok(stopped.has(id), 'the legacy does not bill the new member Tally bills');
    const cohort = (await legacy.db.selectFrom('customer').select('acct_no').where(sql<string>`upper(trim(country_cd))`, 'in', ['DE', 'DEU']).execute()).map((c) => c.acct_no).filter((a) => cohortOf(a) < 50);
    assert.deepEqual([...stopped].sort(), cohort.sort());
  } finally {
    await legacy.close();
    await closeServices(svc);
  }
});

const stoppedMembers = async (legacy: LegacyDb) => new Set((await legacy.db.selectFrom('customer_billing_stop').select('acct_no').execute()).map((s) => s.acct_no));

/** The legacy's invoices of one member issued on or after a day (those its own nightly run made). */
const legacyInvoicesFrom = (legacy: LegacyDb, acctNo: string, day: string) => legacy.db.selectFrom('invoice_header as h').innerJoin('account as a', 'a.acct_id', 'h.acct_id')
  .innerJoin('customer as c', 'c.cust_id', 'a.cust_id').select('h.inv_id').where('c.acct_no', '=', acctNo).where('h.inv_dt', '>=', `${day} 00:00:00`).execute();

for (const cohortPercent of [50, 100]) {
  test(`a member who signs up on Tally after ${cohortPercent < 100 ? 'a cohort\'s' : 'the country\'s'} cut-over is written back with the legacy's billing stopped: billed once, by Tally; an abort gives it back to the legacy`, async () => {
    const url = await seededLegacy(60, ['DE'], 33, asOf, { warts: false });
    const svc = await openTestServices();
    const legacy = await openLegacy(url);
    try {
      await migrate(svc, { source: 'legacy', from: url, countries: ['DE'], mode: 'load', asOf, horizonMonths: 24 }, () => {});
      const work = legacyWork(svc, legacy, { from: url, asOf, reportDir: () => mkdtempSync(join(tmpdir(), 'tally-cutover-')) });
      const r = await runCutover(svc.store.db, work, { country: 'DE', cohortPercent, waitMs: 2000 });
      assert.equal(r.status, 'finished', JSON.stringify(r));

      // Days later a member signs up on Tally (the proxy sends the cohort there): the legacy-stop is long past.
      const id = Array.from({ length: 100 }, (_, i) => `T-DE-${i}`).find((m) => cohortOf(m) < cohortPercent)!;
      const signedUp = '2026-12-02';
      await signupMember(svc, { id, email: null, country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'standard' }, signedUp);
      await writeBack(svc, legacy);
      assert.ok(await legacy.db.selectFrom('customer').select('acct_no').where('acct_no', '=', id).executeTakeFirst(), 'back-sync wrote the sign-up into the legacy');
      assert.ok((await stoppedMembers(legacy)).has(id), 'written back with the legacy\'s billing stopped');

      // Its first renewal: the legacy's night leaves it alone, Tally bills it, once.
      const renewal = '2027-01-02';
      await runLegacyDay(legacy.db, renewal);
      assert.deepEqual(await legacyInvoicesFrom(legacy, id, renewal), [], 'the legacy does not bill a member Tally bills');
      await runRenewal(svc, renewal);
      const tallyPeriods = await svc.store.db.selectFrom('invoices').select('period_start').where('member_id', '=', id).orderBy('period_start').execute();
      assert.deepEqual(tallyPeriods.map((i) => i.period_start), [signedUp, renewal], 'its sign-up period and its first renewal');
      await writeBack(svc, legacy);
      assert.deepEqual(await billedTwice(svc, legacy), { tally: [], legacy: [] });

      // An abort hands the cohort (or the country) back to the legacy, the new member with it: the legacy bills it again, Tally no longer.
      const aborted = await abortCutover(svc.store.db, work, { country: 'DE', waitMs: 2000, backsyncWaitMs: 5000 });
      assert.equal(aborted.status, 'aborted', JSON.stringify(aborted));
      assert.ok(!(await stoppedMembers(legacy)).has(id), 'the legacy bills it again');
      assert.deepEqual(await billingStoppedCountries(legacy.db), []);
      const next = await runRenewal(svc, '2027-02-02');
      assert.equal((await svc.store.db.selectFrom('invoices').select('id').where('member_id', '=', id).execute()).length, 2, 'Tally leaves it to the legacy');
      assert.ok(next.counts.leftToSource! > 0);
    } finally {
      await legacy.close();
      await closeServices(svc);
    }
  });
}
