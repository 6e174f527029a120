import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { closeServices } from '../../src/jobs/services.ts';
import { runCollection } from '../../src/jobs/collect.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import { billingHistoryPage } from '../../src/store/billing-history.ts';
import { openStore } from '../../src/store/connect.ts';
import { openServices } from '../../src/wiring.ts';
import { freshStoreUrl } from '../support/engine.ts';
import { seedDueMembers } from '../support/population.ts';
import { assertBillingHistoryRendersLedger } from '../support/state.ts';

const day = '2026-03-15';

async function billedStore(members: number) {
  const url = await freshStoreUrl();
  const svc = await openServices({ dbUrl: url, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  await seedDueMembers(svc, members, day);
  await runRenewal(svc, day, { chunkSize: 7 });
  await runCollection(svc, day, { chunkSize: 7 });
  return { url, svc };
}

test('upgrading a store fills the billing history of every invoice issued before it existed', async () => {
  const { url, svc } = await billedStore(30);
  // Take the store back to before migration 0005, as a database of that release would be (0006 and
  // later are undone only in part: their added columns and tables stay, as after a MySQL run
  // interrupted between statements, and each must run again over what is there).
  await svc.store.db.schema.dropTable('billing_history').execute();
  await svc.store.db.schema.dropTable('member_claims').execute();
  // Every migration from 0005 on, however many there are by now: each must run again over what is there.
  await svc.store.db.deleteFrom('kysely_migration' as never).where('name' as never, '>=', '0005' as never).execute();
  await closeServices(svc);

  const upgraded = await openStore(url);
  try {
    assert.ok(await assertBillingHistoryRendersLedger(upgraded, 1) >= 30, 'every member was billed and is in the history');
  } finally {
    await upgraded.close();
  }
});

test('a request read sees committed invoices only, and does not queue behind an open transaction', async () => {
  const { svc } = await billedStore(1);
  const member = 'b00000000';
  const numbers = async () => (await billingHistoryPage(svc.store, member, null, 20)).invoices.map((j) => (JSON.parse(j) as { number: number }).number);
  try {
    assert.deepEqual(await numbers(), [1]);
    const row = await svc.store.db.selectFrom('billing_history').selectAll().where('member_id', '=', member).executeTakeFirstOrThrow();
    await svc.store.db.transaction().execute(async (trx) => {
      await trx.insertInto('billing_history').values({ ...row, number: 2, invoice: row.invoice.replace('"number":1,', '"number":2,') }).execute();
      // On SQLite this read would wait for the transaction (and so never return here) if it shared its connection.
      assert.deepEqual(await numbers(), [1], 'an uncommitted invoice is not shown');
    });
    assert.deepEqual(await numbers(), [2, 1], 'a committed one is');
  } finally {
    await closeServices(svc);
  }
});
