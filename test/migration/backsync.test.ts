import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { pino } from 'pino';
import { runCollection } from '../../src/jobs/collect.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { openLegacy, runLegacyDay, stopBillingCountry, type LegacyDb } from '../../src/legacy/index.ts';
import { inProcessBus } from '../../src/messaging/bus.ts';
import { relayOutbox } from '../../src/messaging/outbox-relay.ts';
import { backsyncConsumer, backsyncConsumerName, servedByRoutes, type ServedByTally } from '../../src/migration/backsync/consumer.ts';
import {
  cancelMembership, changeMemberPlan, chargebackMemberInvoice, grantCredit, redeemGiftCard, refundMemberInvoice, signupMember, updatePaymentMethod,
} from '../../src/operations/member-operations.ts';
import { loadMembers } from '../../src/store/members.ts';
import { openServices } from '../../src/wiring.ts';
import { byMember, readReport, tally } from '../support/cli.ts';
import { freshStoreUrl } from '../support/engine.ts';
import { seededLegacy } from '../support/legacy-seed.ts';

const asOf = '2026-11-28';
const quick = { concurrency: 4, maxAttempts: 2, backoff: { initialMs: 1, maxMs: 2 } };

/** A legacy of DE and US members migrated into Tally on `asOf`, both opened here. */
async function migratedWorld(members: number, seed: number): Promise<{ url: string; dbUrl: string; svc: Services; legacy: LegacyDb }> {
  const url = await seededLegacy(members, ['DE', 'US'], seed, asOf);
  const dbUrl = await freshStoreUrl();
  const migrated = tally(['migrate', '--source', 'legacy', '--from', url, '--country', 'DE,US', '--as-of', asOf], { TALLY_DB_URL: dbUrl });
  assert.equal(migrated.status, 0, migrated.stderr);
  const svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  // DE is cut over: routed to Tally (Tally bills it from now on); the US stays with the legacy.
  await svc.store.db.insertInto('proxy_routes').values([
    { country: 'DE', state: 'tally', canary_percent: 0, updated_at: new Date().toISOString(), updated_by: 'test' },
    { country: 'US', state: 'legacy', canary_percent: 0, updated_at: new Date().toISOString(), updated_by: 'test' },
  ]).execute();
  return { url, dbUrl, svc, legacy: await openLegacy(url) };
}

/** Relay the whole outbox once through an in-process bus carrying the back-sync consumer (the embedded transport). */
async function backsync(svc: Services, legacy: LegacyDb, served: ServedByTally = servedByRoutes(svc.store.db)) {
  const bus = inProcessBus(svc.store.db);
  bus.subscribe(await backsyncConsumer({ legacy: legacy.db, tally: svc, servedByTally: served, tuning: quick }));
  const result = await relayOutbox(svc.store.db, bus, { owner: `${hostname()}:${process.pid}:test` });
  return { ...result, bus };
}

const count = async (legacy: LegacyDb, table: 'invoice_header' | 'payment_txn' | 'subscription_history' | 'gift_card_txn' | 'credit_memo' | 'customer' | 'subscription' | 'tally_backsync_applied') =>
  Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(legacy.db)).rows[0]!.n);

test('a day of Tally traffic on DE is written back: back-sync drains, compare tally → legacy is clean, US is left to the legacy, and a second delivery of every event writes nothing', async () => {
  const { url, dbUrl, svc, legacy } = await migratedWorld(160, 21);
  try {
    const members = [...(await loadMembers(svc.memberStore.db, (await svc.memberStore.db.selectFrom('members').select('id').where('country', '=', 'DE').orderBy('id').execute()).map((r) => r.id))).values()];
    const live = members.filter((m) => m.subscriptions.length === 1 && m.subscriptions[0]!.status === 'active' && m.subscriptions[0]!.product === 'streaming');
    // The day: the first after the migration on which several migrated members renew with a card that pays.
    const dueOn = new Map<string, number>();
    for (const m of live) if (m.paymentToken === 'tok_ok' && m.subscriptions[0]!.nextBillingDate > asOf) dueOn.set(m.subscriptions[0]!.nextBillingDate, (dueOn.get(m.subscriptions[0]!.nextBillingDate) ?? 0) + 1);
    const day = [...dueOn].filter(([, n]) => n >= 3).map(([d]) => d).sort()[0]!;
    assert.ok(day, 'a day with three renewals');
    const notDue = live.filter((m) => m.subscriptions[0]!.nextBillingDate > day && m.subscriptions[0]!.periodStart !== null && m.subscriptions[0]!.periodStart <= day);
    const due = live.filter((m) => m.subscriptions[0]!.nextBillingDate === day && m.paymentToken === 'tok_ok');
    assert.ok(notDue.length >= 5 && due.length >= 3, `enough members to act on: ${notDue.length} not due, ${due.length} due`);
    const upgrade = notDue.find((m) => m.subscriptions[0]!.planId === 'basic')!;
    const downgrade = notDue.find((m) => m.subscriptions[0]!.planId === 'premium')!;
    const [cancelling, newCard] = notDue.filter((m) => m !== upgrade && m !== downgrade);
    assert.ok(upgrade && downgrade && cancelling && newCard, 'an upgrade, a downgrade, a cancellation and a new card');
    const [gifted, credited] = due;

    // The day in Tally: sign-ups (one with a trial, one in the US), plan changes, a cancellation, a new card, a gift card and a credit…
    await signupMember(svc, { id: 'T-DE-1', email: 'anna@example.de', country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'standard' }, day);
    await signupMember(svc, { id: 'T-DE-2', email: 'ben@example.de', country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'standard-trial' }, day);
    await signupMember(svc, { id: 'T-DE-3', email: null, country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_soft_decline', plan: 'basic' }, day);
    await signupMember(svc, { id: 'T-US-1', email: 'cy@example.com', country: 'US', region: 'WA', timezone: 'America/Los_Angeles', paymentToken: 'tok_ok', plan: 'basic' }, day);
    await changeMemberPlan(svc, upgrade.id, 'premium', day);
    await changeMemberPlan(svc, downgrade.id, 'basic', day);
    await cancelMembership(svc, cancelling.id, day);
    await updatePaymentMethod(svc, newCard.id, 'tok_hard_decline', day);
    await redeemGiftCard(svc, gifted!.id, 'GIFT-TALLY-0001', 2500, 'EUR', day);
    await grantCredit(svc, credited!.id, 'credit:backsync-test', 300, 'service outage', day);
    // …renewals with their invoices and payments (a decline among them)…
    const renewed = await runRenewal(svc, day);
    const collected = await runCollection(svc, day);
    assert.ok(renewed.counts.invoices! >= 5 && collected.counts.failed! >= 1, `renewals and a decline: ${JSON.stringify([renewed.counts, collected.counts])}`);
    // …and a refund and a chargeback of invoices Tally collected today.
    const paidToday = await svc.store.db.selectFrom('invoices as i').innerJoin('members as m', 'm.id', 'i.member_id').select(['i.member_id', 'i.number', 'i.charged'])
      .where('m.country', '=', 'DE').where('i.issued_on', '=', day).where('i.status', '=', 'paid').where('i.charged', '>', 0).orderBy('i.member_id').execute();
    assert.ok(paidToday.length >= 2, `two invoices paid today: ${JSON.stringify(await svc.store.db.selectFrom('invoices').select(['member_id', 'status', 'charged', 'issued_on', 'amount_due']).where('issued_on', '>=', asOf).execute())}`);
    await refundMemberInvoice(svc, paidToday[0]!.member_id, Number(paidToday[0]!.number), 100, 'goodwill', day);
    await chargebackMemberInvoice(svc, paidToday[1]!.member_id, Number(paidToday[1]!.number), day);

    // Before back-sync the comparator sees what the legacy lacks: the sign-ups missing, the renewed and changed members differing.
    const dir = mkdtempSync(join(tmpdir(), 'tally-backsync-'));
    const early = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'DE', '--direction', 'tally-to-source', '--out', join(dir, 'before')], { TALLY_DB_URL: dbUrl });
    assert.equal(early.status, 1, early.stdout + early.stderr);
    const unsynced = byMember(readReport(join(dir, 'before')));
    assert.deepEqual(unsynced['T-DE-1'], ['missing']);
    assert.ok(unsynced[upgrade.id]?.includes('differs:subscriptions.1.plan'), JSON.stringify(unsynced[upgrade.id]));
    assert.ok(unsynced[cancelling.id]?.includes('differs:subscriptions.1.cancel_at_period_end'), JSON.stringify(unsynced[cancelling.id]));
    assert.equal(unsynced['T-US-1'], undefined);

    const before = { invoices: await count(legacy, 'invoice_header'), customers: await count(legacy, 'customer') };
    const run = await backsync(svc, legacy);
    assert.ok(run.published > 20, `events relayed: ${run.published}`);
    const parked = await svc.store.db.selectFrom('dead_letters').selectAll().execute();
    assert.deepEqual(parked.map((p) => `${p.event_id}: ${p.error}`), []);

    // Tally → legacy is clean: every DE member of Tally, derived from the legacy by the comparator's own SQL, equals Tally's.
    const out = join(dir, 'after');
    const compared = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'DE', '--direction', 'tally-to-source', '--out', out], { TALLY_DB_URL: dbUrl });
    assert.deepEqual(byMember(readReport(out)), {});
    assert.equal(compared.status, 0, compared.stdout + compared.stderr);
    assert.match(compared.stdout, /compare tally → legacy, DE: .* — CLEAN/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { checked: number; clean: number };
    assert.equal(summary.checked, members.length + 3, 'every DE member of Tally, the three sign-ups included');
    assert.equal(summary.clean, summary.checked);

    // The sign-ups are the legacy's own kind of member; the US one is not there (the legacy still serves the US).
    const signedUp = await legacy.db.selectFrom('customer as c').innerJoin('account as a', 'a.cust_id', 'c.cust_id').innerJoin('subscription as s', 's.acct_id', 'a.acct_id')
      .select(['c.acct_no', 'a.tz_nm', 'a.currency_cd', 's.plan_cd', 's.status_cd']).where('c.acct_no', 'in', ['T-DE-1', 'T-DE-2', 'T-US-1']).orderBy('c.acct_no').execute();
    assert.deepEqual(signedUp.map((r) => [r.acct_no, r.tz_nm, r.currency_cd, r.plan_cd, Number(r.status_cd)]), [
      ['T-DE-1', 'Europe/Berlin', 'EUR', 'STRM_STD_M', 1],
      ['T-DE-2', 'Europe/Berlin', 'EUR', 'STRM_TRL_M', 4],
    ]);
    assert.equal(await count(legacy, 'customer'), before.customers + 3);
    assert.ok(await count(legacy, 'invoice_header') > before.invoices);
    const applied = await count(legacy, 'tally_backsync_applied');

    // At least once: every event delivered again (the relay re-publishes, the consumer's own record forgotten) writes nothing new.
    const snapshot = async () => Promise.all((['invoice_header', 'payment_txn', 'subscription_history', 'gift_card_txn', 'credit_memo', 'customer', 'subscription'] as const).map((t) => count(legacy, t)));
    const rows = await snapshot();
    await svc.store.db.updateTable('outbox').set({ published_at: null }).execute();
    await svc.store.db.deleteFrom('processed_events').where('consumer', '=', backsyncConsumerName).execute();
    await backsync(svc, legacy);
    assert.deepEqual(await snapshot(), rows);
    assert.equal(await count(legacy, 'tally_backsync_applied'), applied);

    // The cut-over's last step: the legacy's nightly run no longer bills DE, and still bills the US.
    await stopBillingCountry(legacy.db, 'DE', 'test cut-over');
    const deInvoices = async () => Number((await legacy.db.selectFrom('invoice_header as h').innerJoin('account as a', 'a.acct_id', 'h.acct_id').innerJoin('customer as c', 'c.cust_id', 'a.cust_id')
      .select((eb) => eb.fn.countAll<number>().as('n')).where(sql<string>`upper(trim(c.country_cd))`, 'in', ['DE', 'DEU']).executeTakeFirstOrThrow()).n);
    const deBefore = await deInvoices();
    const night = await runLegacyDay(legacy.db, '2026-12-10');
    assert.ok(night.billed > 0, 'the US is billed');
    assert.equal(await deInvoices(), deBefore);
  } finally {
    await legacy.close();
    await closeServices(svc);
  }
});

test('a write the legacy refuses is parked with its reason, the member\'s later event parked behind it, others applied; fixed and replayed with tally dlq replay, each applied once; a broker that is down loses nothing', async () => {
  const { url, dbUrl, svc, legacy } = await migratedWorld(60, 5);
  const env = { TALLY_DB_URL: dbUrl, TALLY_RETRY_INITIAL_MS: '1', TALLY_RETRY_MAX_MS: '2', TALLY_BACKSYNC_MAX_ATTEMPTS: '2' };
  try {
    const members = [...(await loadMembers(svc.memberStore.db, (await svc.memberStore.db.selectFrom('members').select('id').where('country', '=', 'DE').orderBy('id').execute()).map((r) => r.id))).values()];
    const [x, y] = members.filter((m) => m.subscriptions.some((s) => s.status === 'active' && !s.cancelAtPeriodEnd));
    assert.ok(x && y);
    // Behind Tally's back, the legacy lost X's customer (soft-deleted): it refuses X's changes.
    await legacy.db.updateTable('customer').set({ deleted_flg: 'Y' }).where('acct_no', '=', x.id).execute();
    await grantCredit(svc, x.id, 'credit:refused-1', 700, 'late delivery', '2026-11-30');
    await cancelMembership(svc, x.id, '2026-11-30');
    await grantCredit(svc, y.id, 'credit:fine-1', 200, 'late delivery', '2026-11-30');
    const memos = async (member: string) => Number((await legacy.db.selectFrom('credit_memo as m').innerJoin('account as a', 'a.acct_id', 'm.acct_id').innerJoin('customer as c', 'c.cust_id', 'a.cust_id')
      .select((eb) => eb.fn.countAll<number>().as('n')).where('c.acct_no', '=', member).executeTakeFirstOrThrow()).n);
    const [xMemos, yMemos] = [await memos(x.id), await memos(y.id)];

    // RabbitMQ unreachable: the worker says so in one line and nothing leaves the outbox.
    const unpublished = async () => Number((await svc.store.db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('published_at', 'is', null).executeTakeFirstOrThrow()).n);
    const waiting = await unpublished();
    const down = tally(['backsync', 'run', '--transport', 'amqp', '--legacy', url], { ...env, TALLY_AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' });
    assert.equal(down.status, 2, down.stderr);
    assert.match(down.stderr, /broker unreachable/);
    assert.equal(await unpublished(), waiting);

    const run = tally(['backsync', 'run', '--legacy', url], env);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(await unpublished(), 0);
    assert.equal(await memos(y.id), yMemos + 1, 'the other member is applied');
    assert.equal(await memos(x.id), xMemos);
    // Both retried at once, the later one may be parked first: listed in the order they were parked.
    const listed = (JSON.parse(tally(['dlq', 'list', '--legacy', url], env).stdout) as { consumer: string; eventId: string; error: string }[])
      .sort((a, b) => (a.eventId.startsWith('credit') ? -1 : b.eventId.startsWith('credit') ? 1 : 0));
    assert.deepEqual(listed.map((d) => [d.consumer, d.eventId]), [
      ['legacy-backsync', 'credit.granted:credit:refused-1'],
      ['legacy-backsync', `subscription.cancel_requested:${x.subscriptions[0]!.id}:2026-11-30`],
    ]);
    assert.match(listed[0]!.error, new RegExp(`the legacy has no customer with account number "${x.id}"`));
    assert.match(listed[1]!.error, /held behind credit\.granted:credit:refused-1/);
    const status = JSON.parse(tally(['backsync', 'status', '--json', '--legacy', url], env).stdout) as { countries: { country: string; waiting: number; parked: number; lastAppliedAt: string | null }[] };
    assert.deepEqual(status.countries.map((c) => [c.country, c.waiting, c.parked, c.lastAppliedAt !== null]), [['DE', 0, 2, true]]);

    // Replaying the later one alone is refused again (its earlier one is still parked); fixed, --all replays both in order.
    const later = (await svc.store.db.selectFrom('dead_letters').select('id').where('event_id', 'like', 'subscription.cancel_requested:%').executeTakeFirstOrThrow()).id;
    const alone = JSON.parse(tally(['dlq', 'replay', String(later), '--legacy', url], env).stdout) as { replayed: number; failed: number };
    assert.deepEqual(alone, { replayed: 0, failed: 1 });
    await legacy.db.updateTable('customer').set({ deleted_flg: 'N' }).where('acct_no', '=', x.id).execute();
    const replayed = tally(['dlq', 'replay', '--all', '--legacy', url], env);
    assert.equal(replayed.status, 0, replayed.stderr);
    assert.deepEqual(JSON.parse(replayed.stdout), { replayed: 2, failed: 0 });
    assert.equal(await memos(x.id), xMemos + 1);
    const flag = await legacy.db.selectFrom('subscription as s').innerJoin('account as a', 'a.acct_id', 's.acct_id').innerJoin('customer as c', 'c.cust_id', 'a.cust_id')
      .select('s.cancel_eop_flg').where('c.acct_no', '=', x.id).orderBy('s.sub_id').execute();
    assert.equal(flag[x.subscriptions.findIndex((s) => s.status === 'active' && !s.cancelAtPeriodEnd)]!.cancel_eop_flg, 'Y');

    // Delivered once more: applied once.
    await svc.store.db.updateTable('outbox').set({ published_at: null }).execute();
    await svc.store.db.deleteFrom('processed_events').where('consumer', '=', backsyncConsumerName).execute();
    assert.equal(tally(['backsync', 'run', '--legacy', url], env).status, 0);
    assert.equal(await memos(x.id), xMemos + 1);
    assert.equal(await memos(y.id), yMemos + 1);
    assert.deepEqual(JSON.parse(tally(['dlq', 'list', '--legacy', url], env).stdout), []);
    const after = JSON.parse(tally(['backsync', 'status', '--json', '--legacy', url], env).stdout) as { countries: { waiting: number; parked: number }[] };
    assert.deepEqual(after.countries.map((c) => [c.waiting, c.parked]), [[0, 0]]);
  } finally {
    await legacy.close();
    await closeServices(svc);
  }
});
