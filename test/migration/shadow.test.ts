import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { closeServices } from '../../src/jobs/services.ts';
import { formatDec4, dec4, openLegacy, runLegacyDay, type LegacyDb } from '../../src/legacy/index.ts';
import { shadowCountry } from '../../src/migration/shadow/shadow-billing.ts';
import { openStore } from '../../src/store/connect.ts';
import { assertRefused, readReport, tally } from '../support/cli.ts';
import { engineUnderTest, freshStoreUrl, openTestServices } from '../support/engine.ts';
import { seededLegacy } from '../support/legacy-seed.ts';

process.env.TALLY_LOG_LEVEL = 'silent';
const asOf = '2026-11-28';
// It reads the legacy and writes a SQLite shadow: the Tally store only records the run. One engine is enough.
const onlySqlite = { skip: engineUnderTest !== 'sqlite' ? 'shadow billing reads the legacy and bills in a SQLite shadow store' : false };

const de = sql<string>`upper(trim(c.country_cd))`;

/** The first day after the seed's that the legacy bills DE members. */
async function firstDueDay(legacy: LegacyDb): Promise<string> {
  const row = await legacy.db.selectFrom('subscription as s').innerJoin('account as a', 'a.acct_id', 's.acct_id').innerJoin('customer as c', 'c.cust_id', 'a.cust_id')
    .select((eb) => eb.fn.min('s.next_bill_dt').as('d')).where(de, 'in', ['DE', 'DEU']).where('s.status_cd', 'in', [1, 4]).where('s.next_bill_dt', '>', `${asOf} 23:59:59`).executeTakeFirstOrThrow();
  return String(row.d).slice(0, 10);
}

const scratch = () => mkdtempSync(join(tmpdir(), 'tally-shadow-'));

test('shadow DE on a day the legacy billed: Tally\'s copy bills exactly the members the legacy billed, same totals, tax and periods, charging nobody; an invoice changed behind the scenes is found, and declared', onlySqlite, async () => {
  const url = await seededLegacy(160, ['DE', 'US'], 21, asOf, { warts: false });
  const legacy = await openLegacy(url);
  const svc = await openTestServices();
  try {
    const day = await firstDueDay(legacy);
    const night = await runLegacyDay(legacy.db, day);
    assert.ok(night.billed > 0, `the legacy billed on ${day}`);

    const dir = scratch();
    const clean = await shadowCountry(svc, { from: url, country: 'DE', date: day, shadowDb: `sqlite:${join(dir, 'shadow.db')}`, out: join(dir, 'report') });
    const s = clean.summary;
    assert.equal(s.status, 'clean', JSON.stringify(s.examples));
    assert.ok(s.billed.legacy > 0);
    assert.deepEqual([s.billed.tally, s.invoices.tally], [s.billed.legacy, s.invoices.legacy], 'the same members, the same number of invoices');
    assert.deepEqual([s.clean, s.compared, s.differences, s.quarantined], [s.compared, s.billed.legacy, 0, 0]);
    // Only who is due is loaded (the day bills nobody else): everyone the legacy billed, and those cancelled at the period's end.
    assert.equal(s.loaded + s.notDue + s.notYet, s.members);
    assert.ok(s.loaded >= s.billed.legacy && s.notDue > s.loaded, JSON.stringify(s));
    assert.deepEqual(readReport(join(dir, 'report')), []);
    assert.equal(JSON.parse(readFileSync(join(dir, 'report', 'summary.json'), 'utf8')).status, 'clean');

    // The legacy's invoices of the day against the shadow's, field by field, read here on their own.
    const legacyDay = await legacy.db.selectFrom('invoice_header as h').innerJoin('account as a', 'a.acct_id', 'h.acct_id').innerJoin('customer as c', 'c.cust_id', 'a.cust_id')
      .select(['c.acct_no', 'h.inv_id', 'h.period_from_dt', 'h.period_to_dt', 'h.total_amt', 'h.tax_amt']).where(de, '=', 'DE').where('h.inv_dt', '=', `${day} 03:00:00`).orderBy('c.acct_no').execute();
    const shadow = await openStore(`sqlite:${join(dir, 'shadow.db')}`);
    try {
      const billed = await shadow.db.selectFrom('invoices').select(['member_id', 'period_start', 'period_end', 'total', 'tax', 'charged', 'status'])
        .where('issued_on', '=', day).where('idem_key', 'like', 'renewal:%').orderBy('member_id').execute();
      assert.deepEqual(billed.map((i) => [i.member_id, i.period_start, i.period_end, i.total, i.tax]),
        legacyDay.map((h) => [h.acct_no, String(h.period_from_dt).slice(0, 10), String(h.period_to_dt).slice(0, 10), Number(dec4(h.total_amt) / 100n), Number(dec4(h.tax_amt) / 100n)]));
      // Nobody charged: no attempt on the day's invoices, nothing at the (refusing) gateway.
      assert.ok(billed.every((i) => i.charged === 0));
      assert.equal(Number((await shadow.db.selectFrom('processor_charges').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 0);
    } finally {
      await shadow.close();
    }
    // The Tally store: untouched but for the run's record.
    for (const table of ['members', 'invoices', 'journal', 'migration_runs'] as const) {
      assert.equal(Number((await svc.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 0, table);
    }
    const runs = await svc.store.db.selectFrom('compare_runs').select(['mode', 'country', 'status']).execute();
    assert.deepEqual(runs, [{ mode: 'shadow', country: 'DE', status: 'clean' }]);

    // Behind the scenes, one of the legacy's invoices of the day is made 1.00 more (tax included): the shadow finds that member, and only it.
    const changed = legacyDay[0]!;
    await legacy.db.updateTable('invoice_header').set({ total_amt: formatDec4(dec4(changed.total_amt) + 10_000n) }).where('inv_id', '=', changed.inv_id).execute();
    const dir2 = scratch();
    const cli = tally(['shadow', '--country', 'DE', '--date', day, '--from', url, '--shadow-db', `sqlite:${join(dir2, 'shadow.db')}`, '--out', join(dir2, 'report'), '--json'],
      { TALLY_DB_URL: `sqlite:${join(dir2, 'tally.db')}` });
    assert.equal(cli.status, 1, cli.stderr);
    const line = JSON.parse(cli.stdout) as { status: string; kinds: Record<string, number>; fields: Record<string, number>; clean: number; compared: number };
    assert.deepEqual([line.status, line.kinds, line.fields, line.clean], ['differences', { missing: 0, extra: 0, differs: 1 }, { 'shadow.total': 1 }, line.compared - 1]);
    const rows = readReport(join(dir2, 'report'));
    assert.deepEqual(rows.map((r) => [r.member, r.kind, r.field, Number(r.source_value) - Number(r.tally_value), r.rule]), [[changed.acct_no, 'differs', 'shadow.total', 100, null]]);

    // Declared with the comparator's rules file: counted apart, the run passes.
    const rulesFile = join(dir2, 'rules.yaml');
    writeFileSync(rulesFile, 'rules:\n  - name: goodwill-surcharge\n    field: shadow.total\n    within: 100\n    reason: one invoice corrected by hand in the legacy\n');
    const declared = await shadowCountry(svc, { from: url, country: 'DE', date: day, rulesFile, shadowDb: `sqlite:${join(dir2, 'shadow2.db')}`, out: join(dir2, 'declared') });
    assert.equal(declared.summary.status, 'clean');
    assert.deepEqual(declared.summary.declared, { 'goodwill-surcharge': { count: 1, reason: 'one invoice corrected by hand in the legacy' } });
    assert.deepEqual(readReport(join(dir2, 'declared')).map((r) => [r.member, r.rule]), [[changed.acct_no, 'goodwill-surcharge']]);

    // A price changed behind the scenes (the legacy's price point of the standard plan in euros): every such member of the day differs in total and tax.
    await legacy.db.updateTable('price_point').set({ amount: '14.4900' }).where('plan_cd', '=', 'STRM_STD_M').where('currency_cd', '=', 'EUR').where('eff_to_dt', 'is', null).execute();
    const priced = await shadowCountry(svc, { from: url, country: 'DE', date: day, shadowDb: `sqlite:${join(dir2, 'shadow3.db')}`, out: join(dir2, 'priced') });
    const standardLines = new Set((await legacy.db.selectFrom('invoice_detail').select('inv_id').where('plan_cd', '=', 'STRM_STD_M').where('inv_id', 'in', legacyDay.map((h) => h.inv_id)).execute()).map((d) => Number(d.inv_id)));
    const onStandard = legacyDay.filter((h) => h.acct_no !== changed.acct_no && standardLines.has(Number(h.inv_id)) && dec4(h.total_amt) === 139_900n).map((h) => h.acct_no);
    assert.ok(onStandard.length > 0, 'members on standard at 13.99 billed that day');
    assert.equal(priced.summary.status, 'differences');
    // 14.49 where the legacy billed 13.99; German VAT is inside the price: 2.31 where it said 2.23.
    const byMember = new Map<string, string[]>();
    for (const r of readReport(join(dir2, 'priced'))) byMember.set(r.member, [...(byMember.get(r.member) ?? []), `${r.field} ${r.source_value} → ${r.tally_value}`]);
    for (const m of onStandard) assert.deepEqual(byMember.get(m), ['shadow.total 1399 → 1449', 'shadow.tax 223 → 231'], m);
  } finally {
    await closeServices(svc);
    await legacy.close();
  }
});

test('shadow refuses bad input in one line, exit 2, writing nothing: an unknown country, a date that is not one, a --shadow-db that is not empty', onlySqlite, async () => {
  const url = await seededLegacy(20, ['DE'], 3, asOf, { warts: false });
  const dbUrl = await freshStoreUrl();
  const dir = scratch();
  await assertRefused([
    [['shadow', '--country', 'FR', '--date', '2026-12-01', '--from', url, '--out', dir], /--country: the source has no members in "FR"/],
    [['shadow', '--country', 'DE', '--date', '2026-02-30', '--from', url, '--out', dir], /--date/],
    [['shadow', '--country', 'DE', '--date', 'tomorrow', '--from', url, '--out', dir], /--date/],
    [['shadow', '--country', 'DE', '--date', '2026-12-01', '--from', url, '--shadow-db', url, '--out', dir], /--shadow-db: .* is not empty \(it has \d+ table/],
    [['shadow', '--country', 'DE', '--date', '2026-12-01', '--from', url, '--shadow-db', dbUrl, '--out', dir], /--shadow-db: is the Tally store/],
    [['shadow', '--country', 'DE', '--date', '2026-12-01', '--from', join(dir, 'nope.db')], /--from/],
    [['shadow', '--country', 'DE', '--from', url], /--date is required/],
  ], dbUrl);
});

test('the default shadow store is a fresh SQLite file under var/shadow/XX-D/, made again by the next shadow of that day; a file there it did not make is refused', onlySqlite, async () => {
  const url = await seededLegacy(30, ['DE'], 4, asOf, { warts: false });
  const svc = await openTestServices();
  const cwd = process.cwd();
  process.chdir(scratch());
  try {
    const day = '2026-12-01';
    const first = await shadowCountry(svc, { from: url, country: 'DE', date: day });
    assert.equal(first.summary.shadowStore, join(process.cwd(), 'var', 'shadow', `DE-${day}`, 'store.db'));
    assert.equal(first.summary.reportDir, join(process.cwd(), 'var', 'shadow', `DE-${day}`));
    const again = await shadowCountry(svc, { from: url, country: 'DE', date: day });
    assert.deepEqual([again.summary.status, again.summary.members, again.summary.invoices], [first.summary.status, first.summary.members, first.summary.invoices], 'a fresh store, the same result');
    writeFileSync(join('var', 'shadow', `DE-${day}`, 'shadow.json'), '{}');
    await assert.rejects(shadowCountry(svc, { from: url, country: 'DE', date: day }), /--shadow-db: .*store\.db exists and is not a shadow store of DE 2026-12-01/);
  } finally {
    process.chdir(cwd);
    await closeServices(svc);
  }
});
