import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import { recordCompareRun } from '../../src/compare/compare-runs.ts';
import type { Difference } from '../../src/compare/report-format.ts';
import { closeServices } from '../../src/jobs/services.ts';
import { legacyTables, openLegacy, seedLegacy } from '../../src/legacy/index.ts';
import { legacySource, type LegacyMember } from '../../src/migration/sources/legacy-source.ts';
import { openStore } from '../../src/store/connect.ts';
import { queryExport, type QueryFormat } from '../../src/troubleshoot/query.ts';
import { openServices } from '../../src/wiring.ts';
import { tallyHere as tally } from '../support/cli.ts';
import { freshStoreUrl } from '../support/engine.ts';

const root = join(import.meta.dirname, '..', '..');
const asOf = '2026-11-28';

/** The CLI in its own process, as an operator runs it (each start costs seconds: used sparingly). */
function spawnTally(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { env: { ...process.env, TALLY_LOG_LEVEL: 'silent', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

/** A query over an export, in this process: the rows as objects. */
async function query(dir: string, sqlText: string, format: QueryFormat = 'json'): Promise<Record<string, unknown>[]> {
  let text = '';
  await queryExport(dir, sqlText, { format }, { write: async (t) => void (text += t), note: () => undefined });
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const seeded = (async () => {
  const url = await freshStoreUrl();
  const legacy = await openLegacy(url);
  try {
    await seedLegacy(legacy.db, { members: 200, seed: 11, asOf, countries: ['US', 'DE'] });
  } finally {
    await legacy.close();
  }
  return url;
})();

/** The README's troubleshooting queries, exactly as written there. */
function readmeQueries(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Troubleshooting joins'), readme.indexOf('## Money under concurrency'));
  return [...section.matchAll(/tally query \S+(?: --\S+ \S+)* "([^"]*)"/g)].map((m) => m[1]!);
}

async function writeReport(dir: string, rows: Difference[]): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    const columns = ['source', 'country', 'member', 'kind', 'field', 'source_value', 'tally_value', 'rule', 'detail'] as const;
    await c.run(`create table r (${columns.map((n) => `${n} varchar`).join(', ')})`);
    for (const row of rows) await c.run(`insert into r values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, columns.map((n) => row[n]));
    await c.run(`copy r to '${join(dir, 'report.parquet')}' (format parquet)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** Each legacy table's rows of a country, by the migration's own extract (no history horizon): the counts an export must match. */
async function sourceCounts(url: string, country: string): Promise<Record<string, number>> {
  const legacy = await openLegacy(url);
  const counts: Record<string, number> = {};
  const parts: [string, (m: LegacyMember) => number][] = [
    ['customer', () => 1], ['customer_email', (m) => m.emails.length], ['customer_address', (m) => m.addresses.length], ['account', (m) => m.accounts.length],
    ['payment_method', (m) => m.paymentMethods.length], ['subscription', (m) => m.subscriptions.length], ['subscription_history', (m) => m.history.length],
    ['promotion_redemption', (m) => m.redemptions.length], ['invoice_header', (m) => m.invoices.length], ['invoice_detail', (m) => m.details.length],
    ['payment_txn', (m) => m.payments.length], ['gift_card', (m) => m.giftCards.length], ['gift_card_txn', (m) => m.giftCardTxns.length], ['credit_memo', (m) => m.creditMemos.length],
  ];
  try {
    const source = legacySource(legacy);
    let cursor: string | null = null;
    do {
      const page = await source.page(country, cursor, 64);
      for (const m of page.members) for (const [table, n] of parts) counts[table] = (counts[table] ?? 0) + n(m);
      cursor = page.cursor;
    } while (cursor !== null);
    for (const table of ['country', 'status_code', 'tax_jurisdiction', 'plan_code', 'price_point', 'dvd_rental_plan', 'promotion'] as const) {
      counts[table] = Number((await legacy.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    }
  } finally {
    await legacy.close();
  }
  return counts;
}

test('a country exported: every file counts what its source holds for the country; legacy × Tally × report join; the README queries find the defects planted', async () => {
  const legacyUrl = await seeded;
  // Split stores: the members and the ledger are read through their own connections.
  const env = { TALLY_DB_URL: await freshStoreUrl(), TALLY_MEMBER_DB_URL: await freshStoreUrl() };
  const migrated = await tally(['migrate', '--source', 'legacy', '--from', legacyUrl, '--country', 'DE', '--as-of', asOf], env);
  assert.equal(migrated.status, 0, migrated.stderr);

  const reportDir = mkdtempSync(join(tmpdir(), 'tally-report-'));
  const svc = await openServices({ dbUrl: env.TALLY_DB_URL, memberDbUrl: env.TALLY_MEMBER_DB_URL, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  let invoiceMember: string, tamperedInvoice: string, paymentMember: string, missingPayment: string, quarantined: string;
  const tallyCounts: Record<string, number> = {};
  try {
    const members = (await svc.memberStore.db.selectFrom('members').select('id').where('country', '=', 'DE').orderBy('id').execute()).map((m) => m.id);
    const ldb = svc.store.db;
    // Two defects planted in Tally, as a compare would find them: one invoice's total one minor unit up, one migrated payment gone.
    const invoice = await ldb.selectFrom('invoices').select(['id', 'member_id']).where('member_id', 'in', members).where('total', '>', 0).orderBy('member_id').orderBy('number').executeTakeFirstOrThrow();
    [invoiceMember, tamperedInvoice] = [invoice.member_id, invoice.id];
    await ldb.updateTable('invoices').set((eb) => ({ total: eb('total', '+', 1) })).where('id', '=', invoice.id).execute();
    const payment = await ldb.selectFrom('payments').select(['id', 'member_id']).where('member_id', 'in', members).where('member_id', '!=', invoiceMember).orderBy('id', 'desc').executeTakeFirstOrThrow();
    [paymentMember, missingPayment] = [payment.member_id, payment.id];
    await ldb.deleteFrom('payments').where('id', '=', payment.id).execute();
    quarantined = (await svc.memberStore.db.selectFrom('migration_quarantine').select('member_id').where('country', '=', 'DE').orderBy('member_id').executeTakeFirstOrThrow()).member_id;

    tallyCounts.members = members.length;
    for (const table of ['invoices', 'payments', 'payment_attempts', 'refunds', 'chargebacks', 'credits', 'gift_cards', 'journal'] as const) {
      tallyCounts[table] = Number((await ldb.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('member_id', 'in', members).executeTakeFirstOrThrow()).n);
    }
    tallyCounts.invoice_lines = Number((await ldb.selectFrom('invoice_lines').innerJoin('invoices', 'invoices.id', 'invoice_lines.invoice_id')
      .select((eb) => eb.fn.countAll<number>().as('n')).where('invoices.member_id', 'in', members).executeTakeFirstOrThrow()).n);
    for (const table of ['migrated_members', 'migration_quarantine'] as const) {
      tallyCounts[table] = Number((await svc.memberStore.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('country', '=', 'DE').executeTakeFirstOrThrow()).n);
    }

    const row = (member: string, kind: Difference['kind'], field: string | null): Difference => ({
      source: 'legacy', country: 'DE', member, kind, field, source_value: kind === 'differs' ? '1' : null, tally_value: kind === 'differs' ? '2' : null, rule: null, detail: null,
    });
    await writeReport(reportDir, [row(invoiceMember, 'differs', 'invoices.total'), row(paymentMember, 'differs', 'payments.amount'), row(quarantined, 'quarantined', null)]);
    await recordCompareRun(ldb, { mode: 'members', source: 'legacy', country: 'DE', reportDir, options: {} }, async () => ({ status: 'differences' as const, counts: { differs: 2, quarantined: 1 } }));
  } finally {
    await closeServices(svc);
  }

  // No --from: the URL the migration recorded. The country as typed in lower case.
  const out = join(mkdtempSync(join(tmpdir(), 'tally-export-')), 'DE');
  // Small pages, so every keyset (customers, members, migrated members, the quarantine) turns many pages.
  const exported = await spawnTally(['export', '--country', 'de', '--to', out, '--page-size', '7'], env);
  assert.equal(exported.status, 0, exported.stderr);
  assert.equal(exported.stderr, '');
  const summary = JSON.parse(exported.stdout) as { country: string; files: Record<string, number>; compareRun: number };
  assert.equal(summary.country, 'DE');
  assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('.') || f.endsWith('.partial')), [], 'no scratch or partial files left');

  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: { file: string; view: string; rows: number; from: string }[]; legacy: { from: string } };
  assert.match(manifest.legacy.from, /^migration run \d+$/);
  const rows = new Map(manifest.files.map((f) => [f.file, f.rows]));
  const expected = new Map<string, number>();
  for (const [table, n] of Object.entries(await sourceCounts(legacyUrl, 'DE'))) expected.set(`legacy_${table}.parquet`, n);
  for (const [table, n] of Object.entries(tallyCounts)) expected.set(`tally_${table}.parquet`, n);
  expected.set('report.parquet', 3);
  assert.equal(expected.size, legacyTables.length + Object.keys(tallyCounts).length + 1);
  for (const [file, n] of expected) assert.equal(rows.get(file), n, file);
  assert.ok(rows.get('tally_subscriptions.parquet')! >= tallyCounts.members!, 'a subscription row per subscription of the aggregates');
  assert.ok(expected.get('legacy_customer.parquet')! > 40 && tallyCounts.invoices! > 100, 'a country of some size');

  // What each file holds is what the manifest says, and read back typed.
  const files = [...rows.keys()].map((f) => f.replace('.parquet', ''));
  const counted = await query(out, files.map((v) => `select '${v}.parquet' as file, count(*) as n from ${v}`).join(' union all '));
  assert.deepEqual(new Map(counted.map((r) => [r.file as string, r.n as number])), rows);
  const [types] = await query(out, `select typeof(h.total_amt) as amount, typeof(h.inv_dt) as at, typeof(m.data) as data, typeof(i.total) as total, typeof(i.issued_on) as issued
    from legacy_invoice_header h, tally_members m, tally_invoices i limit 1`);
  assert.deepEqual(types, { amount: 'DECIMAL(18,4)', at: 'TIMESTAMP', data: 'JSON', total: 'BIGINT', issued: 'DATE' });
  const [tokens] = await query(out, `select count(*) filter (where token not like 'sha256:%') as raw,
    (select count(*) from tally_members m where m.payment_token not in (select token from legacy_payment_method p join legacy_account a using (acct_id) join legacy_customer c using (cust_id) where c.acct_no = m.id)) as unmatched
    from legacy_payment_method`);
  assert.deepEqual(tokens, { raw: 0, unmatched: 0 }, 'card tokens only as fingerprints, the same on both sides');

  // Every migrated member: the legacy's invoices are Tally's plus those left out as older than the horizon.
  const [invoices] = await query(out, `with l as (select c.acct_no as m, count(h.inv_id) as n from legacy_customer c join legacy_account a using (cust_id) left join legacy_invoice_header h on h.acct_id = a.acct_id group by 1),
      t as (select member_id as m, count(*) as n from tally_invoices group by 1)
    select count(*) as members, count(*) filter (where l.n = coalesce(t.n, 0) + mm.invoices_left_out) as equal,
      max(l.n) filter (where mm.member_id = '${invoiceMember!}') as legacy_of_one, max(t.n) filter (where mm.member_id = '${invoiceMember!}') as tally_of_one
    from tally_migrated_members mm join l on l.m = mm.member_id left join t on t.m = mm.member_id`);
  assert.equal(invoices!.members, tallyCounts.migrated_members);
  assert.equal(invoices!.equal, invoices!.members);
  assert.ok((invoices!.tally_of_one as number) > 0 && (invoices!.legacy_of_one as number) >= (invoices!.tally_of_one as number));

  // The README's three joins, as written, find what was planted.
  const [differing, quarantine, payments] = readmeQueries().slice(1);
  assert.ok(differing && quarantine && payments, 'three queries in the README');
  const pairs = await query(out, differing);
  assert.ok(pairs.length > 0 && pairs.every((r) => r.member === invoiceMember));
  const found = pairs.filter((r) => r.finding === 'total differs');
  assert.equal(found.length, 1, JSON.stringify(pairs));
  assert.equal(Number(found[0]!.legacy_total) + 1, found[0]!.tally_total);
  assert.equal(`${String(found[0]!.member)}#${String(found[0]!.number)}`, tamperedInvoice!);
  assert.deepEqual(pairs.filter((r) => r.finding !== '' && r.finding !== 'total differs' && r.finding !== 'left out (older than the horizon)'), []);

  const held = await query(out, quarantine);
  assert.equal(new Set(held.map((r) => r.member_id)).size, tallyCounts.migration_quarantine);
  assert.ok(held.every((r) => typeof r.reason === 'string' && r.cust_id !== null));
  assert.deepEqual([...new Set(held.filter((r) => r.in_report === true).map((r) => r.member_id))], [quarantined!]);

  const unmatched = await query(out, payments);
  assert.deepEqual(unmatched.map((r) => [r.member, r.legacy_payment, r.tally_payment, r.finding]), [[paymentMember!, missingPayment!, null, 'legacy capture missing in Tally']]);

  // The same join through the command, as CSV.
  const csv = await tally(['query', out, '--format', 'csv', `select member, kind, field from report where kind = 'differs' order by field`]);
  assert.equal(csv.status, 0, csv.stderr);
  assert.equal(csv.stdout, `member,kind,field\n${invoiceMember!},differs,invoices.total\n${paymentMember!},differs,payments.amount\n`);
});

test('bad input: one line on stderr, exit 2, nothing on stdout', async () => {
  const legacyUrl = await seeded;
  const empty = mkdtempSync(join(tmpdir(), 'tally-empty-'));
  const one = mkdtempSync(join(tmpdir(), 'tally-one-'));
  await writeReport(one, []);
  const store = await freshStoreUrl();
  const redacted = await freshStoreUrl();
  const db = await openStore(redacted);
  try {
    await db.db.insertInto('migration_runs').values({
      source: 'legacy', country: 'DE', mode: 'load', status: 'finished', started_at: '2026-11-28T00:00:00.000Z', finished_at: null, cursor: null,
      options: JSON.stringify({ from: 'mysql://billing:***@db.example:3306/legacy' }), counts: '{}', errors: '[]',
    }).execute();
  } finally {
    await db.close();
  }
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['query', join(empty, 'nowhere'), 'select 1'], {}, /^tally: query: no such folder .*nowhere\n$/],
    [['query', empty, 'select 1'], {}, /^tally: query: .* holds no Parquet files \(make them with tally export --country XX --to .*\)\n$/],
    [['query', one, 'selec * from report'], {}, /^tally: query: .*Parser Error: syntax error at or near "selec"\n$/],
    [['query', one, 'select * from legacy_customer'], {}, /^tally: query: Catalog Error: Table with name legacy_customer does not exist!.*\n$/],
    [['query', one, 'select 1', '--format', 'xml'], {}, /^tally: --format must be table, csv, json, got "xml"\n$/],
    [['query', one], {}, /^tally: query needs a folder and an SQL statement; usage: /],
    [['export', '--country', 'FR', '--to', join(empty, 'fr'), '--from', legacyUrl], { TALLY_DB_URL: store }, /^tally: --country: neither the legacy nor Tally has members in "FR"\n$/],
    [['export', '--country', 'DEU', '--to', join(empty, 'x')], { TALLY_DB_URL: store }, /^tally: --country takes one ISO 3166 alpha-2 code, got "DEU"\n$/],
    [['export', '--country', 'DE'], { TALLY_DB_URL: store }, /^tally: --to is required; usage: tally export/],
    [['export', '--country', 'DE', '--to', join(empty, 'de')], { TALLY_DB_URL: store }, /^tally: --from: no migration of DE records the legacy's URL; give it with --from URL\n$/],
    [['export', '--country', 'DE', '--to', join(empty, 'de')], { TALLY_DB_URL: redacted }, /^tally: --from: the legacy URL recorded by migration run \d+ of DE has its password redacted \(mysql:\/\/billing:\*\*\*@db\.example:3306\/legacy\); give it with --from URL\n$/],
  ];
  const results: { status: number | null; stdout: string; stderr: string }[] = [];
  for (const [args, env] of cases) results.push(await tally(args, env));
  // And once as its own process: the exit code is the process's.
  cases.push(cases[2]!);
  results.push(await spawnTally(cases[2]![0]));
  cases.forEach(([args, , message], i) => {
    const r = results[i]!;
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  });
  assert.equal(existsSync(join(empty, 'fr')), false, 'an export refused writes no folder');
});
