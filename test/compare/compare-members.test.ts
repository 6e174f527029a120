import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { sql } from 'kysely';
import { runLegacyDay } from '../../src/legacy/index.ts';
import { openStore } from '../../src/store/connect.ts';
import { byMember, readReport, tally } from '../support/cli.ts';
import { freshStoreUrl } from '../support/engine.ts';
import { seededLegacy, withLegacy } from '../support/legacy-seed.ts';

const root = join(import.meta.dirname, '..', '..');
const asOf = '2026-11-28';

/** The CLI in a child process, without waiting on it: bad-input cases run side by side. */
const tallyAsync = (args: string[], env: Record<string, string>) => new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
  const child = execFile(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { encoding: 'utf8', env: { ...process.env, TALLY_LOG_LEVEL: 'silent', ...env } },
    (_err, stdout, stderr) => done({ status: child.exitCode, stdout, stderr }));
});


async function loadedMembers(dbUrl: string): Promise<string[]> {
  const store = await openStore(dbUrl);
  try {
    return (await store.db.selectFrom('migrated_members').select('member_id').orderBy('member_id').execute()).map((r) => r.member_id);
  } finally {
    await store.close();
  }
}

test('compare: clean after a migration; changes made behind its back are reported member by member with their kinds, and nothing else; --members-from re-migrates them and the compare is clean', async () => {
  const url = await seededLegacy(260, ['US', 'DE'], 11);
  const dbUrl = await freshStoreUrl();
  const env = { TALLY_DB_URL: dbUrl };
  const out = mkdtempSync(join(tmpdir(), 'tally-compare-'));
  const migrated = tally(['migrate', '--source', 'legacy', '--from', url, '--country', 'US', '--as-of', asOf], env);
  assert.equal(migrated.status, 0, migrated.stderr);

  const first = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'US', '--out', join(out, 'first')], env);
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /— CLEAN/);
  for (const f of ['report.jsonl', 'report.parquet', 'summary.json']) assert.ok(existsSync(join(out, 'first', f)), f);
  const summary = JSON.parse(readFileSync(join(out, 'first', 'summary.json'), 'utf8')) as { status: string; checked: number; clean: number; members: Record<string, number> };
  assert.equal(summary.status, 'clean');
  assert.equal(summary.checked, summary.clean + summary.members.quarantined!);
  assert.ok(summary.clean > 20, JSON.stringify(summary));
  assert.deepEqual(byMember(readReport(join(out, 'first'))), {});

  const loaded = await loadedMembers(dbUrl);
  // Behind the migration's back: plain SQL on the legacy, no change stamps touched.
  const changed = await withLegacy(url, async ({ db }) => {
    const acct = async (member: string) => Number((await db.selectFrom('account').innerJoin('customer', 'customer.cust_id', 'account.cust_id').select('account.acct_id').where('customer.acct_no', '=', member).executeTakeFirstOrThrow()).acct_id);
    const recent = `${Number(asOf.slice(0, 4)) - 1}${asOf.slice(4)} 00:00:00`;
    const pick = async (candidates: string[], has: (acctId: number) => Promise<boolean>) => {
      for (const m of candidates) if (await has(await acct(m))) return m;
      throw new Error('no candidate');
    };
    const max = async (table: 'customer' | 'account' | 'payment_method' | 'subscription' | 'customer_email' | 'promotion_redemption', col: string) => Number((await db.selectFrom(table).select(sql<number>`coalesce(max(${sql.ref(col)}), 0)`.as('m')).executeTakeFirstOrThrow()).m) + 1;
    // 1. A detail amount of an invoice whose lines added up.
    const detailMember = await pick(loaded, async (a) => !!(await db.selectFrom('invoice_detail as d').innerJoin('invoice_header as h', 'h.inv_id', 'd.inv_id').select('d.inv_det_id').where('h.acct_id', '=', a).where('h.inv_dt', '>=', recent).executeTakeFirst()));
    const det = await db.selectFrom('invoice_detail as d').innerJoin('invoice_header as h', 'h.inv_id', 'd.inv_id').select('d.inv_det_id')
      .where('h.acct_id', '=', await acct(detailMember)).where('h.inv_dt', '>=', recent).orderBy('h.inv_dt', 'desc').executeTakeFirstOrThrow();
    await db.updateTable('invoice_detail').set({ amount: sql`amount + 1` as never }).where('inv_det_id', '=', det.inv_det_id).execute();
    // 2. A payment deleted.
    const rest1 = loaded.filter((m) => m !== detailMember);
    const paymentMember = await pick(rest1, async (a) => !!(await db.selectFrom('payment_txn as t').innerJoin('invoice_header as h', 'h.inv_id', 't.inv_id').select('t.txn_id').where('h.acct_id', '=', a).where('t.txn_type', '=', 'CAP').where('t.resp_cd', '=', '00').where('h.inv_dt', '>=', recent).executeTakeFirst()));
    const txn = await db.selectFrom('payment_txn as t').innerJoin('invoice_header as h', 'h.inv_id', 't.inv_id').select('t.txn_id')
      .where('h.acct_id', '=', await acct(paymentMember)).where('t.txn_type', '=', 'CAP').where('t.resp_cd', '=', '00').where('h.inv_dt', '>=', recent).orderBy('t.txn_id', 'desc').executeTakeFirstOrThrow();
    await db.deleteFrom('payment_txn').where('txn_id', '=', txn.txn_id).execute();
    // 3. A plan change on a live monthly subscription.
    const rest2 = rest1.filter((m) => m !== paymentMember);
    const planMember = await pick(rest2, async (a) => {
      const subs = await db.selectFrom('subscription').select(['plan_cd', 'status_cd']).where('acct_id', '=', a).execute();
      return subs.length === 1 && subs[0]!.plan_cd === 'STRM_STD_M' && Number(subs[0]!.status_cd) === 1;
    });
    await db.updateTable('subscription').set({ plan_cd: 'STRM_PRE_M' }).where('acct_id', '=', await acct(planMember)).execute();
    // 4. A paid invoice put back to open.
    const rest3 = rest2.filter((m) => m !== planMember);
    const reopenedMember = await pick(rest3, async (a) => !!(await db.selectFrom('invoice_header').select('inv_id').where('acct_id', '=', a).where('status_cd', '=', 'P').where('inv_dt', '>=', recent).executeTakeFirst()));
    const paid = await db.selectFrom('invoice_header').select('inv_id').where('acct_id', '=', await acct(reopenedMember)).where('status_cd', '=', 'P').where('inv_dt', '>=', recent).orderBy('inv_id').executeTakeFirstOrThrow();
    await db.updateTable('invoice_header').set({ status_cd: 'O' }).where('inv_id', '=', paid.inv_id).execute();
    // 5. A promotion granted on a live subscription.
    const rest4 = rest3.filter((m) => m !== reopenedMember);
    const promoMember = await pick(rest4, async (a) => {
      const subs = await db.selectFrom('subscription').select(['sub_id', 'status_cd']).where('acct_id', '=', a).execute();
      const running = await db.selectFrom('promotion_redemption').select('redemption_id').where('sub_id', 'in', subs.map((x) => x.sub_id)).executeTakeFirst();
      return subs.length === 1 && Number(subs[0]!.status_cd) === 1 && !running;
    });
    const promo = await db.selectFrom('promotion').select('promo_id').where('pct_off', 'is not', null).orderBy('promo_id').executeTakeFirstOrThrow();
    const sub = await db.selectFrom('subscription').select('sub_id').where('acct_id', '=', await acct(promoMember)).executeTakeFirstOrThrow();
    await db.insertInto('promotion_redemption').values({ redemption_id: (await max('promotion_redemption', 'redemption_id')), promo_id: promo.promo_id, sub_id: sub.sub_id, redeemed_yyyymmdd: '20261120', cycles_left: 3 }).execute();
    // 6. A member removed.
    const goneMember = rest4.filter((m) => m !== promoMember).at(-1)!;
    await db.deleteFrom('customer').where('acct_no', '=', goneMember).execute();
    // 7. A new member.
    const custId = await max('customer', 'cust_id');
    const acctId = await max('account', 'acct_id');
    const stamp = '2026-11-20 10:00:00';
    await db.insertInto('customer').values({ cust_id: custId, acct_no: 'A999999999', first_nm: 'New', last_nm: 'Member', country_cd: 'US', created_dt: stamp, updated_dt: stamp, deleted_flg: 'N', deleted_dt: null }).execute();
    await db.insertInto('customer_email').values({ email_id: await max('customer_email', 'email_id'), cust_id: custId, email_addr: 'New.Member@Example.com ', primary_flg: 'Y', created_dt: stamp, deleted_flg: 'N' }).execute();
    await db.insertInto('account').values({ acct_id: acctId, cust_id: custId, status_cd: 'A', currency_cd: 'USD', tz_nm: null, opened_dt: stamp, closed_dt: null, updated_dt: stamp }).execute();
    await db.insertInto('payment_method').values({ pm_id: await max('payment_method', 'pm_id'), acct_id: acctId, pm_type: 'CC', token: 'tok_ok', last4: '4242', exp_mm: 12, exp_yyyy: 2030, status_cd: 'A', created_dt: stamp, deleted_flg: 'N' }).execute();
    await db.insertInto('subscription').values({
      sub_id: await max('subscription', 'sub_id'), acct_id: acctId, plan_cd: 'STRM_STD_M', status_cd: 1, start_dt: '2026-11-20 00:00:00', paid_thru_dt: '2026-12-20 00:00:00',
      next_bill_dt: '2026-12-20 00:00:00', cancel_eop_flg: 'N', price_override_amt: null, updated_dt: stamp,
    }).execute();
    return { detailMember, paymentMember, planMember, reopenedMember, promoMember, goneMember };
  });

  const second = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'US', '--out', join(out, 'second')], env);
  assert.equal(second.status, 1, second.stdout + second.stderr);
  const found = byMember(readReport(join(out, 'second')));
  assert.deepEqual(found[changed.detailMember], ['differs:invoices.repaired']);
  assert.deepEqual(found[changed.paymentMember], ['differs:payments.amount', 'differs:payments.count']);
  assert.ok(found[changed.planMember]?.includes('differs:subscriptions.1.plan'), JSON.stringify(found[changed.planMember]));
  assert.deepEqual(found[changed.reopenedMember], ['differs:invoices.unpaid']);
  assert.deepEqual(found[changed.promoMember], ['differs:subscriptions.1.discount_cycles_left']);
  assert.deepEqual(found[changed.goneMember], ['extra']);
  assert.deepEqual(found.A999999999, ['missing']);
  assert.deepEqual(Object.keys(found).sort(), [changed.detailMember, changed.paymentMember, changed.planMember, changed.reopenedMember, changed.promoMember, changed.goneMember, 'A999999999'].sort(), 'exactly those members');

  // The Parquet copy holds the same rows.
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  const parquet = await conn.runAndReadAll(`select member, kind, field from '${join(out, 'second', 'report.parquet')}' where kind <> 'quarantined' order by member, field`);
  assert.equal(parquet.getRowObjects().length, readReport(join(out, 'second')).filter((r) => r.kind !== 'quarantined').length);
  conn.closeSync();
  duck.closeSync();

  const again = tally(['migrate', '--source', 'legacy', '--from', url, '--members-from', join(out, 'second'), '--as-of', asOf], env);
  assert.equal(again.status, 0, again.stderr);
  const line = JSON.parse(again.stdout) as { mode: string; removed: number; counts: { loaded: number; replaced: number } };
  assert.equal(line.mode, 'members');
  assert.equal(line.removed, 1);
  assert.equal(line.counts.loaded, 1, 'the new member');
  assert.equal(line.counts.replaced, 5);
  const third = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'US', '--out', join(out, 'third')], env);
  assert.equal(third.status, 0, third.stdout + third.stderr);
  assert.deepEqual(byMember(readReport(join(out, 'third'))), {});
  // Re-checking only the earlier report's members: clean too, and only they are looked at.
  const rechecked = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'US', '--members-from', join(out, 'second'), '--out', join(out, 'fourth'), '--json'], env);
  assert.equal(rechecked.status, 0, rechecked.stdout + rechecked.stderr);
  const r = JSON.parse(rechecked.stdout) as { checked: number; status: string };
  assert.equal(r.status, 'clean');
  assert.ok(r.checked <= new Set(readReport(join(out, 'second')).map((x) => x.member)).size);
});

test('compare against a live source: what the legacy changed since is stale, not a defect, until --since-last; a declared difference is counted apart and shown', async () => {
  const url = await seededLegacy(200, ['DE'], 12);
  const dbUrl = await freshStoreUrl();
  const env = { TALLY_DB_URL: dbUrl };
  const out = mkdtempSync(join(tmpdir(), 'tally-compare-'));
  assert.equal(tally(['migrate', '--source', 'legacy', '--from', url, '--country', 'DE', '--as-of', asOf], env).status, 0);
  const day = await withLegacy(url, (legacy) => runLegacyDay(legacy.db, '2026-11-29'));
  assert.ok(day.billed > 0, JSON.stringify(day));

  const live = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'DE', '--out', join(out, 'live'), '--json'], env);
  assert.equal(live.status, 0, live.stdout + live.stderr);
  const s = JSON.parse(live.stdout) as { members: Record<string, number>; differences: number };
  assert.ok(s.members.stale! > 0, JSON.stringify(s));
  assert.equal(s.differences, 0);
  assert.ok(readReport(join(out, 'live')).filter((r) => r.kind === 'stale').every((r) => r.detail?.includes('--since-last')));

  assert.equal(tally(['migrate', '--source', 'legacy', '--from', url, '--country', 'DE', '--as-of', '2026-11-29', '--since-last'], env).status, 0);
  const caught = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'DE', '--out', join(out, 'caught'), '--json'], env);
  assert.equal(caught.status, 0, caught.stdout + caught.stderr);
  assert.equal((JSON.parse(caught.stdout) as { members: Record<string, number> }).members.stale, 0);

  // Tally's side changed by hand: two members' emails dropped; one is declared, the other is not.
  const [a, b] = (await loadedMembers(dbUrl)).slice(0, 2);
  const store = await openStore(dbUrl);
  try {
    for (const id of [a!, b!]) {
      const row = await store.db.selectFrom('members').select('data').where('id', '=', id).executeTakeFirstOrThrow();
      await store.db.updateTable('members').set({ data: JSON.stringify({ ...JSON.parse(row.data), email: null }) }).where('id', '=', id).execute();
    }
  } finally {
    await store.close();
  }
  const rules = join(out, 'rules.yaml');
  writeFileSync(rules, `rules:\n  - name: bounced-emails\n    field: email\n    tally: null\n    reason: bounced addresses were not carried over\n`);
  const declaredOnly = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'DE', '--rules', rules, '--out', join(out, 'declared'), '--json'], env);
  assert.equal(declaredOnly.status, 0, declaredOnly.stdout + declaredOnly.stderr);
  const d = JSON.parse(declaredOnly.stdout) as { declared: Record<string, { count: number; reason: string }>; differences: number };
  assert.deepEqual(d.declared, { 'bounced-emails': { count: 2, reason: 'bounced addresses were not carried over' } });
  assert.equal(d.differences, 0);
  assert.deepEqual(readReport(join(out, 'declared')).filter((r) => r.rule).map((r) => [r.member, r.field, r.tally_value, r.rule]).sort(), [[a, 'email', 'null', 'bounced-emails'], [b, 'email', 'null', 'bounced-emails']].sort());
  const shown = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'DE', '--rules', rules, '--out', join(out, 'shown')], env);
  assert.match(shown.stdout, /declared\s+2\s+bounced-emails: bounced addresses were not carried over/);
  const undeclared = tally(['compare', '--source', 'legacy', '--from', url, '--country', 'DE', '--out', join(out, 'undeclared'), '--json'], env);
  assert.equal(undeclared.status, 1);
  assert.deepEqual((JSON.parse(undeclared.stdout) as { fields: Record<string, number> }).fields, { email: 2 });
});

test('compare: bad input is one line and exit 2', async () => {
  const url = await seededLegacy(40, ['US', 'DE'], 13);
  const dbUrl = await freshStoreUrl();
  const env = { TALLY_DB_URL: dbUrl };
  const out = mkdtempSync(join(tmpdir(), 'tally-compare-'));
  assert.equal(tally(['migrate', '--source', 'legacy', '--from', url, '--country', 'US', '--as-of', asOf], env).status, 0);
  assert.ok([0, 1].includes(tally(['compare', '--source', 'legacy', '--from', url, '--country', 'US', '--out', join(out, 'us')], env).status ?? -1));
  writeFileSync(join(out, 'bad-rules.yaml'), 'rules:\n  - name: x\n    field: email\n    within: -1\n    reason: r\n');
  const cases: [string[], RegExp][] = [
    [['--source', 'legacy', '--from', url, '--country', 'DE'], /^tally: --country: DE has not been migrated from legacy yet/],
    [['--source', 'legacy', '--from', url, '--country', 'DE', '--members-from', join(out, 'us')], /^tally: --members-from: .* is a report of country US, not DE\n$/],
    [['--source', 'legacy', '--from', url, '--country', 'US', '--members-from', join(out, 'nothing')], /^tally: --members-from: .* does not exist/],
    [['--source', 'legacy', '--from', 'mysql://root@127.0.0.1:1/nothing', '--country', 'US'], /^tally: cannot reach the legacy database at mysql:\/\/root@127\.0\.0\.1:1\/nothing: /],
    [['--source', 'oracle', '--from', url, '--country', 'US'], /^tally: --source must be legacy or killbill, got "oracle"\n$/],
    [['--source', 'legacy', '--from', url, '--country', 'US', '--rules', join(out, 'bad-rules.yaml')], /^tally: rules\[0\]\.within: must be a whole number of minor units/],
    [['--source', 'legacy', '--from', url, '--country', 'USA'], /^tally: --country takes one ISO 3166 alpha-2 code/],
  ];
  const results = await Promise.all(cases.map(([args]) => tallyAsync(['compare', ...args], env)));
  cases.forEach(([args, message], i) => {
    const r = results[i]!;
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
  const r = tally(['migrate', '--source', 'legacy', '--from', url, '--country', 'DE', '--members-from', join(out, 'us')], env);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^tally: --members-from: .* is a report of country US, not DE\n$/);
});
