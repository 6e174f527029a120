import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import { Temporal } from 'temporal-polyfill';
import { archivedMemberHistory, archiveViews } from '../../src/archive/archive-answers.ts';
import { runArchive } from '../../src/archive/archive-run.ts';
import { cutoffs, dataClasses, defaultPolicy } from '../../src/archive/policy.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { insertRows } from '../../src/store/bulk.ts';
import { quoteText } from '../../src/troubleshoot/parquet-writer.ts';
import { queryViews } from '../../src/troubleshoot/query.ts';
import { openServices } from '../../src/wiring.ts';
import { testApi } from '../support/api.ts';
import { billedForYears } from '../support/archive-history.ts';
import { tally, tallyHere } from '../support/cli.ts';
import { freshStoreUrl } from '../support/engine.ts';

/**
 * Answers from the archive: years of billing are archived with the default policy on
 * 2026-11-30 (invoices, payments, refunds and chargebacks, and audit entries before 2024-11-30;
 * journal and closed revenue days before 2023-11-30), and what customer service, finance and
 * `tally archive query` read afterwards is held against what they read before.
 */

type View = Record<string, Record<string, unknown>[]> & { member: unknown };
const kinds = ['invoices', 'attempts', 'payments', 'refunds', 'chargebacks', 'credits', 'giftCards', 'audit'] as const;
// b00000000 was refunded in part (2023), b00000001 charged back (its invoice disputed, so hot);
// b00000007 and b00000008 decline (their unpaid invoices stay hot however old); b00000003 pays.
const members = ['b00000000', 'b00000001', 'b00000003', 'b00000007', 'b00000008'];

let dbUrl: string;
let svc: Services;
let t: Awaited<ReturnType<typeof testApi>>;
const beforeViews = new Map<string, View>();
const beforeRevenue = new Map<string, string>();
let beforeByCountry: { country: string; n: number; total: number }[];
let beforeLines: number;

const revenueUrls = ['/v1/finance/revenue?date=2023-03-15', '/v1/finance/revenue?from=2023-10-01&to=2023-12-31'];
const get = (url: string, role: 'cs-agent' | 'finance' = 'cs-agent') => t.app.inject({ method: 'GET', url, headers: t.auth(role) });

const invoicesByCountry = async () => (await svc.store.db.selectFrom('invoices')
  .select((eb) => ['country', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('total').as('total')]).groupBy('country').orderBy('country').execute())
  .map((r) => ({ country: r.country, n: Number(r.n), total: Number(r.total) }));
const lineCount = async () => Number((await svc.store.db.selectFrom('invoice_lines').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

/** Items with their source marks taken off. */
const unmarkedItems = (items: Record<string, unknown>[]) => items.map(({ source: _, ...rest }) => rest);

/** A view with its items' source marks taken off. */
function unmarked(view: View): View {
  const out = { ...view };
  for (const k of kinds) out[k] = unmarkedItems(view[k]!);
  return out;
}

/** Every row a query over the archive's views returns, as JSON objects (what `tally archive query --format json` prints). */
async function archiveQuery(sqlText: string): Promise<Record<string, unknown>[]> {
  let text = '';
  await queryViews(await archiveViews(svc.store.db), sqlText, { format: 'json' }, { write: async (chunk) => void (text += chunk), note: () => undefined });
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

before(async () => {
  dbUrl = await freshStoreUrl();
  svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  await billedForYears(svc, 60);
  // An agent's action of 2023, past the audit log's 24 hot months (the helper's own entries are stamped today).
  await insertRows(svc.memberStore.db, 'audit_log', [{
    at: '2023-05-01T09:00:00Z', actor: 'cs:ann', action: 'credit.granted', member_id: 'b00000000', reason: 'late delivery',
    request: '{"reason":"late delivery"}', before: null, after: null,
  }]);
  t = await testApi({ svc, today: '2026-11-30' });
  for (const m of members) beforeViews.set(m, (await get(`/v1/cs/members/${m}`)).json() as View);
  for (const url of revenueUrls) {
    for (const format of ['json', 'csv']) beforeRevenue.set(`${url}&format=${format}`, (await get(`${url}&format=${format}`, 'finance')).body);
  }
  beforeByCountry = await invoicesByCountry();
  beforeLines = await lineCount();

  const purgeOnly = new Set(dataClasses.filter((c) => defaultPolicy[c].purge));
  const run = await runArchive({ ledger: svc.store.db, member: svc.memberStore.db }, {
    cutoffs: cutoffs(defaultPolicy, Temporal.Instant.from('2026-11-30T00:00:00Z')), purgeOnly, root: mkdtempSync(join(tmpdir(), 'tally-archive-')), runId: 1,
  });
  assert.deepEqual(run.errors, []);
});

after(async () => {
  await t?.app.close();
  if (svc) await closeServices(svc);
});

test('with include=archive a member\'s view is its whole history as before archiving, each item marked; without, the hot part only, unmarked', async () => {
  for (const m of members) {
    const whole = (await get(`/v1/cs/members/${m}?include=archive`)).json() as View;
    const hot = (await get(`/v1/cs/members/${m}`)).json() as View;
    assert.deepEqual(unmarked(whole), beforeViews.get(m), `${m}: the same invoices, lines, attempts, payments, refunds, chargebacks and audit, in the same order`);
    assert.ok(!JSON.stringify(hot).includes('"source"'), `${m}: no mark without include=archive`);
    for (const k of kinds) {
      assert.ok(whole[k]!.every((i) => i.source === 'hot' || i.source === 'archive'), `${m} ${k}: every item marked`);
      assert.deepEqual(unmarkedItems(whole[k]!.filter((i) => i.source === 'hot')), hot[k], `${m} ${k}: the hot items are the hot view`);
    }
  }

  // b00000000 paid every month from 2023-01-15 to 2025-03-15: 27 invoices, the 23 issued before 2024-11-30 archived.
  const paying = (await get('/v1/cs/members/b00000000?include=archive')).json() as View;
  assert.equal(paying.invoices!.length, 27);
  assert.deepEqual(paying.invoices!.map((i) => i.source), paying.invoices!.map((i) => (String(i.issuedOn) < '2024-11-30' ? 'archive' : 'hot')));
  assert.equal(paying.invoices!.filter((i) => i.source === 'archive').length, 23);
  const first = paying.invoices![0] as { number: number; lines: unknown[]; refunded: { amount: number } };
  assert.equal(first.number, 1);
  assert.equal(first.lines.length, 1, 'an archived invoice with its line from the invoice_lines files');
  assert.equal(first.refunded.amount, 100);
  assert.deepEqual(paying.refunds!.map((r) => [r.refunded_on, r.amount, r.source]), [['2023-01-20', 100, 'archive']]);
  assert.deepEqual(paying.audit!.filter((a) => a.source === 'archive').map((a) => [a.at, a.actor, a.request]), [['2023-05-01T09:00:00Z', 'cs:ann', { reason: 'late delivery' }]]);
  assert.ok(paying.audit!.some((a) => a.source === 'hot'), 'the agent actions of today are hot');
  assert.equal(paying.payments!.filter((p) => p.source === 'archive').length, 23);

  // The charged-back invoice is disputed: a process still needs it and its chargeback, so both are hot.
  const disputed = (await get('/v1/cs/members/b00000001?include=archive')).json() as View;
  assert.deepEqual(disputed.chargebacks!.map((c) => c.source), ['hot']);
  assert.equal(disputed.invoices!.find((i) => i.number === 1)!.source, 'hot');
});

test('an include other than archive is refused: 400 problem+json naming include', async () => {
  for (const url of ['/v1/cs/members/b00000000?include=everything', '/v1/cs/members/b00000000?include=']) {
    const r = await get(url);
    assert.equal(r.statusCode, 400, url);
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
    assert.equal(r.json().field, 'querystring.include');
  }
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { get: { parameters: { name: string; in: string }[] } }> };
  assert.ok(doc.paths['/v1/cs/members/{id}']!.get.parameters.some((p) => p.name === 'include' && p.in === 'query'), 'include is in the OpenAPI document');
});

test('tally members show --archive: --json is the body of include=archive; the text marks archived invoices', async () => {
  const json = await tallyHere(['members', 'show', 'b00000000', '--archive', '--json'], { TALLY_DB_URL: dbUrl });
  assert.equal(json.status, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), (await get('/v1/cs/members/b00000000?include=archive')).json());
  const text = await tallyHere(['members', 'show', 'b00000000', '--archive'], { TALLY_DB_URL: dbUrl });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /invoices \(27, 4 hot, latest first\)/);
  assert.match(text.stdout, /#23 {2}2024-11-15 .*\[archive\]/);
  assert.doesNotMatch(text.stdout, /#24 .*\[archive\]/);
  assert.match(text.stdout, /payments 27 \(23 from the archive\)/);
});

test('tally archive query: the archive and the hot store together hold what the hot store held before; bad SQL is one line, exit 2', async () => {
  const figures = `select 'invoices' as what, country, count(*) as n, sum(total) as total from invoices group by country
    union all select 'invoice_lines', null, count(*), null from invoice_lines
    union all select 'job_runs', null, count(*), null from job_runs
    union all select 'manifest', state, count(*), null from manifest group by state
    order by what, country`;
  // In its own process once, as an operator runs it.
  const r = tally(['archive', 'query', figures, '--format', 'json'], { TALLY_DB_URL: dbUrl });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { what: string; country: string | null; n: number; total: number | null });
  const archived = new Map(rows.filter((x) => x.what === 'invoices').map((x) => [x.country!, x]));
  const hotNow = new Map((await invoicesByCountry()).map((x) => [x.country, x]));
  assert.equal(archived.size, 12, 'every country billed has archived invoices');
  assert.deepEqual(beforeByCountry.map((b) => ({
    country: b.country, n: (archived.get(b.country)?.n ?? 0) + (hotNow.get(b.country)?.n ?? 0), total: (archived.get(b.country)?.total ?? 0) + (hotNow.get(b.country)?.total ?? 0),
  })), beforeByCountry, 'count and sum(total) of invoices by country: archived plus hot is what was hot');
  assert.equal(rows.find((x) => x.what === 'invoice_lines')!.n + await lineCount(), beforeLines);
  assert.equal(rows.find((x) => x.what === 'job_runs')!.n, 0, 'a table nothing was archived from is an empty view, not an error');
  const files = await svc.store.db.selectFrom('archive_files').select('id').execute();
  assert.deepEqual(rows.filter((x) => x.what === 'manifest').map((x) => [x.country, x.n]), [['archived', files.length]]);

  for (const [sqlText, message] of [['selec count(*) from invoices', /^tally: query: .*Parser Error: syntax error at or near "selec"\n$/], ['select * from members', /^tally: query: Catalog Error: Table with name members does not exist!.*\n$/]] as const) {
    const bad = await tallyHere(['archive', 'query', sqlText], { TALLY_DB_URL: dbUrl });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, message);
    assert.equal(bad.stdout, '');
  }
});

test('archive query views: every archived table with the hot table\'s columns, empty or not', async () => {
  const [quarantine] = await archiveQuery('select count(*) as n from migration_quarantine');
  assert.deepEqual(quarantine, { n: 0 });
  const columns = await archiveQuery(`select table_name, string_agg(column_name, ',' order by ordinal_position) as columns from information_schema.columns
    where table_name in ('job_runs', 'revenue_days', 'invoice_lines') group by table_name order by table_name`);
  assert.deepEqual(columns, [
    { table_name: 'invoice_lines', columns: 'invoice_id,line_no,kind,description,plan_id,period_start,period_end,amount,discount,net,tax,total,tax_rate_ppm,tax_name' },
    { table_name: 'job_runs', columns: 'id,job,business_date,status,started_at,finished_at,counts,errors' },
    { table_name: 'revenue_days', columns: 'business_date,closed_at,report' },
  ]);
  const days = await archiveQuery('select business_date from revenue_days order by 1');
  assert.deepEqual(days.map((d) => d.business_date), ['2023-01-15', '2023-02-15', '2023-03-15', '2023-04-15', '2023-05-15', '2023-06-15', '2023-07-15', '2023-08-15', '2023-09-15', '2023-10-15', '2023-11-15']);
});

test('the revenue route answers archived days as it did before archiving; 404 only when neither holds a day', async () => {
  const hotDays = (await svc.store.db.selectFrom('revenue_days').select('business_date').where('business_date', '<', '2023-12-01').execute()).length;
  assert.equal(hotDays, 0, 'the days of 2023 before December were archived');
  for (const [url, body] of beforeRevenue) {
    const r = await get(url, 'finance');
    assert.equal(r.statusCode, 200, url);
    assert.equal(r.body, body, url);
  }
  const range = (await get('/v1/finance/revenue?from=2023-10-01&to=2023-12-31', 'finance')).json() as { days: { date?: string; businessDate?: string }[] };
  assert.equal(range.days.length, 3, 'two archived days and one hot');
  const none = await get('/v1/finance/revenue?from=2022-06-01&to=2022-06-30', 'finance');
  assert.equal(none.statusCode, 404);
  assert.equal(none.json().field, 'from');
});

test('a row both hot and archived is answered once, from the hot store; a key in two archive files from the later file', async () => {
  const db = svc.store.db;
  const archived = await archivedMemberHistory(db, { id: 'b00000003', country: 'DE' });
  const second = archived.invoices.find((i) => i.number === 2)!;
  const before = beforeViews.get('b00000003')!;

  // As after a kill between verifying a file and deleting its rows: the rows are hot and in a verified file.
  await insertRows(db, 'invoices', [second]);
  await insertRows(db, 'invoice_lines', archived.lines.filter((l) => l.invoice_id === second.id));
  try {
    const whole = (await get('/v1/cs/members/b00000003?include=archive')).json() as View;
    assert.deepEqual(unmarked(whole), before);
    assert.deepEqual(whole.invoices!.filter((i) => i.number === 2).map((i) => i.source), ['hot']);
  } finally {
    await db.deleteFrom('invoice_lines').where('invoice_id', '=', second.id).execute();
    await db.deleteFrom('invoices').where('id', '=', second.id).execute();
  }

  // A later file holding the same invoice, changed (as when a row kept hot was archived again by a later run).
  const [file] = await db.selectFrom('archive_files').selectAll().where('table_name', '=', 'invoices').where('country', '=', 'DE').where('year', '=', 2023).orderBy('id').execute();
  const later = join(mkdtempSync(join(tmpdir(), 'tally-archive-later-')), 'later.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  await duck.run(`copy (select * replace (total + 1 as total) from read_parquet(${quoteText(file!.path)}) where id = ${quoteText(second.id)}) to ${quoteText(later)} (format parquet)`);
  duck.closeSync();
  instance.closeSync();
  const { id: _, ...copy } = file!;
  await insertRows(db, 'archive_files', [{ ...copy, batch: 'later', path: later, row_count: 1 }]);
  try {
    const whole = (await get('/v1/cs/members/b00000003?include=archive')).json() as View;
    assert.equal(whole.invoices!.length, before.invoices!.length);
    const total = (v: View) => (v.invoices!.find((i) => i.number === 2)!.total as { amount: number }).amount;
    assert.equal(total(whole), total(before) + 1);
    assert.deepEqual(await archiveQuery(`select count(*) as n, sum(total) filter (where id = ${quoteText(second.id)}) as total from invoices where country = 'DE'`),
      [{ n: beforeByCountry.find((c) => c.country === 'DE')!.n - (await invoicesByCountry()).find((c) => c.country === 'DE')!.n, total: total(before) + 1 }]);
  } finally {
    await db.deleteFrom('archive_files').where('batch', '=', 'later').execute();
  }
});

test('an archive file gone from disk is named in one line, exit 2, before any query runs', async () => {
  const db = svc.store.db;
  const [file] = await db.selectFrom('archive_files').selectAll().where('table_name', '=', 'payments').orderBy('id').execute();
  const { id: _, ...copy } = file!;
  const gone = join(tmpdir(), 'tally-archive-gone', 'payments.parquet');
  await insertRows(db, 'archive_files', [{ ...copy, batch: 'gone', path: gone }]);
  try {
    const r = await tallyHere(['archive', 'query', 'select count(*) from invoices'], { TALLY_DB_URL: dbUrl });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^tally: query: view payments: IO Error: No files found that match the pattern ".*tally-archive-gone\/payments\.parquet"\n$/);
    assert.equal(r.stdout, '');
  } finally {
    await db.deleteFrom('archive_files').where('batch', '=', 'gone').execute();
  }
});
