import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { compareTables } from '../../src/compare/tables/compare-tables.ts';
import { openLegacy } from '../../src/legacy/connect.ts';
import { onServer, withDatabase, type Engine } from '../../src/store/engines.ts';
import { engineUnderTest, freshStoreUrl, testDatabasePrefix } from '../support/engine.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tally-compare-tables-'));
const mysqlUrl = process.env.TALLY_TEST_MYSQL_URL;

/** Databases of another engine than the one under test, dropped at the end. */
const dropLater: (() => Promise<unknown>)[] = [];
after(async () => { for (const drop of dropLater) await drop(); });

let made = 0;
async function databaseOf(engine: Engine): Promise<string> {
  if (engine === engineUnderTest) return freshStoreUrl();
  if (engine === 'sqlite') return `sqlite:${join(dir, `side-${++made}.db`)}`;
  if (engine !== 'mysql' || !mysqlUrl) throw new Error(`no ${engine} server`);
  const name = `${testDatabasePrefix}cmp_${process.pid}_${++made}`;
  await onServer(mysqlUrl, (db) => sql`create database ${sql.id(name)}`.execute(db));
  dropLater.push(() => onServer(mysqlUrl, (db) => sql`drop database if exists ${sql.id(name)}`.execute(db)));
  return withDatabase(mysqlUrl, name);
}

const ddl: Record<Engine, string> = {
  sqlite: `create table ledger_line (region text not null, seq integer not null, amount decimal(12,4), paid_on date, created_at datetime,
    note text, active boolean, primary key (region, seq))`,
  mysql: `create table ledger_line (region varchar(40) not null, seq int not null, amount decimal(12,4), paid_on date, created_at datetime,
    note varchar(200), active boolean, primary key (region, seq)) character set utf8mb4`,
  postgres: `create table ledger_line (region varchar(40) not null, seq integer not null, amount numeric(12,4), paid_on date, created_at timestamp,
    note text, active boolean, primary key (region, seq))`,
};
const ddlById: Record<Engine, string> = {
  sqlite: 'create table invoice (id integer primary key, total decimal(12,4) not null, status text)',
  mysql: 'create table invoice (id bigint primary key, total decimal(12,4) not null, status varchar(10))',
  postgres: 'create table invoice (id bigint primary key, total numeric(12,4) not null, status varchar(10))',
};

const regions = ['north', 'Süd', "O'Brien", 'east 🎉', 'we\tst', 'z"q\\', 'ÅÄÖ'];
type Line = { region: string; seq: number; amount: string | null; paid_on: string | null; created_at: string | null; note: string | null; active: boolean | null };

function baseLines(): Line[] {
  const lines: Line[] = [];
  regions.forEach((region, r) => {
    for (let seq = 1; seq <= 90; seq++) {
      const n = r * 1000 + seq;
      lines.push({
        region, seq,
        amount: n % 11 === 0 ? null : `${(n * 7) % 5000}.${String(n % 10_000).padStart(4, '0')}`,
        paid_on: n % 13 === 0 ? null : `2025-${String((n % 12) + 1).padStart(2, '0')}-${String((n % 28) + 1).padStart(2, '0')}`,
        created_at: n % 17 === 0 ? null : `2025-03-${String((n % 28) + 1).padStart(2, '0')} ${String(n % 24).padStart(2, '0')}:15:${String(n % 60).padStart(2, '0')}`,
        note: n % 5 === 0 ? null : n % 7 === 0 ? '' : `line ${n} — “quoted” ${regions[(r + 1) % regions.length]}`,
        active: n % 19 === 0 ? null : n % 2 === 0,
      });
    }
  });
  return lines;
}

/** The right side's edits, and the differences they must make (left → right). */
function edit(lines: Line[]): { right: Line[]; expected: string[] } {
  const expected: string[] = [];
  const byKey = new Map(lines.map((l) => [`${l.region}|${l.seq}`, { ...l }]));
  const change = (key: string, patch: Partial<Line>) => { Object.assign(byKey.get(key)!, patch); expected.push(`updated:${key}`); };
  change('north|5', { amount: '12.3500' });
  change('Süd|11', { note: null });
  change('Süd|14', { note: '' });
  change("O'Brien|3", { paid_on: '2025-01-02' });
  change('east 🎉|7', { created_at: '2025-03-08 07:15:08' });
  change('we\tst|8', { active: !byKey.get('we\tst|8')!.active });
  change('z"q\\|22', { amount: null });
  for (const key of ['north|1', 'ÅÄÖ|90', 'east 🎉|44']) { byKey.delete(key); expected.push(`deleted:${key}`); }
  for (const [region, seq] of [['north', 500], ['new ✓ region', 1], ['Süd', 0]] as const) {
    byKey.set(`${region}|${seq}`, { region, seq, amount: '1.5000', paid_on: null, created_at: null, note: 'new', active: true });
    expected.push(`inserted:${region}|${seq}`);
  }
  return { right: [...byKey.values()], expected: expected.sort() };
}

async function table(engine: Engine, lines: Line[], invoices: { id: number; total: string; status: string | null }[]): Promise<string> {
  const url = await databaseOf(engine);
  const conn = await openLegacy(url);
  const db = conn.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  try {
    await sql.raw(ddl[engine]).execute(db);
    await sql.raw(ddlById[engine]).execute(db);
    for (let i = 0; i < lines.length; i += 200) {
      await db.insertInto('ledger_line').values(lines.slice(i, i + 200).map((l, j) => ({
        ...l,
        // SQLite holds amounts as whatever was inserted: numbers and texts both.
        amount: engine === 'sqlite' && l.amount !== null && j % 2 === 0 ? Number(l.amount) : l.amount,
        active: l.active === null ? null : engine === 'postgres' ? l.active : l.active ? 1 : 0,
      }))).execute();
    }
    for (let i = 0; i < invoices.length; i += 500) await db.insertInto('invoice').values(invoices.slice(i, i + 500)).execute();
  } finally {
    await conn.close();
  }
  return url;
}

function invoices(): { id: number; total: string; status: string | null }[] {
  return Array.from({ length: 4000 }, (_, i) => ({ id: i * 2 + 1, total: `${i % 300}.${String(i % 100).padStart(2, '0')}00`, status: i % 9 === 0 ? null : 'paid' }));
}

function editInvoices(rows: ReturnType<typeof invoices>): { right: ReturnType<typeof invoices>; expected: string[] } {
  const right = rows.filter((r) => r.id !== 1 && r.id !== 4001).map((r) => (r.id === 2999 || r.id === 7999 ? { ...r, total: '0.0100' } : r));
  right.push({ id: 8100, total: '1.0000', status: 'new' }, { id: 2, total: '2.0000', status: null });
  return { right, expected: ['deleted:1', 'deleted:4001', 'updated:2999', 'updated:7999', 'inserted:2', 'inserted:8100'].sort() };
}

const pairs: [Engine, Engine][] = engineUnderTest === 'sqlite' ? [['sqlite', 'sqlite']]
  : engineUnderTest === 'mysql' ? [['mysql', 'mysql'], ['mysql', 'sqlite'], ['sqlite', 'mysql']]
    : [['postgres', 'postgres'], ...(mysqlUrl ? [['postgres', 'mysql'], ['mysql', 'postgres']] as [Engine, Engine][] : [])];

for (const [leftEngine, rightEngine] of pairs) {
  test(`${leftEngine} ↔ ${rightEngine}: exactly the inserted, updated and deleted keys; identical copies compare clean`, async () => {
    const lines = baseLines();
    const edited = edit(lines);
    const inv = editInvoices(invoices());
    const [left, right, same] = await Promise.all([
      table(leftEngine, lines, invoices()), table(rightEngine, edited.right, inv.right), table(rightEngine, lines, invoices()),
    ]);

    const composite = await compareTables({ left, right, table: 'ledger_line' });
    assert.deepEqual(composite.key, ['region', 'seq']);
    assert.deepEqual(composite.differences.map((d) => `${d.kind}:${d.key.region}|${d.key.seq}`).sort(), edited.expected);
    assert.deepEqual(Object.keys(composite.differences.find((d) => d.key.region === 'north' && d.key.seq === 5)!.columns!), ['amount']);
    assert.equal(composite.rowsCompared, lines.length + 3);

    const byId = await compareTables({ left, right, table: 'invoice' });
    assert.deepEqual(byId.differences.map((d) => `${d.kind}:${d.key.id}`).sort(), inv.expected);
    assert.ok(byId.rowsFetched < 1000, `${byId.rowsFetched} rows fetched for 6 differences in 4,000`);

    for (const t of ['ledger_line', 'invoice']) {
      const clean = await compareTables({ left, right: same, table: t });
      assert.equal(clean.differences.length, 0, `${t}: ${JSON.stringify(clean.differences.slice(0, 3))}`);
      assert.equal(clean.rowsFetched, 0);
    }
  });
}

const exec = promisify(execFile);
async function tally(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [join(root, 'bin/tally.mjs'), ...args], {
      cwd: root, env: { ...process.env, TALLY_DB_URL: `sqlite:${join(dir, 'tally.db')}`, TALLY_LOG_LEVEL: 'silent' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('the command: exit 1 with the keys and diff.jsonl, exit 0 when identical, one line and exit 2 on bad input', async () => {
  const inv = editInvoices(invoices());
  const [left, right] = await Promise.all([table('sqlite', baseLines(), invoices()), table('sqlite', baseLines(), inv.right)]);
  const out = join(dir, 'out');
  const [differs, clean, noTable, noKey, unreachable] = await Promise.all([
    tally(['compare', 'tables', '--left', left, '--right', right, '--table', 'invoice', '--json', '--out', out]),
    tally(['compare', 'tables', '--left', left, '--right', right, '--table', 'ledger_line']),
    tally(['compare', 'tables', '--left', left, '--right', right, '--table', 'no_such_table']),
    tally(['compare', 'tables', '--left', left, '--right', right, '--table', 'invoice', '--key', 'nope']),
    tally(['compare', 'tables', '--left', 'postgres://root@127.0.0.1:1/nowhere', '--right', right, '--table', 'invoice']),
  ]);
  assert.equal(differs.code, 1, differs.stderr);
  const summary = JSON.parse(differs.stdout) as { inserted: number; updated: number; deleted: number; differences: { kind: string; key: { id: number } }[] };
  assert.deepEqual([summary.inserted, summary.updated, summary.deleted], [2, 2, 2]);
  assert.deepEqual(summary.differences.map((d) => `${d.kind}:${d.key.id}`).sort(), inv.expected);
  assert.equal(readFileSync(join(out, 'diff.jsonl'), 'utf8').trim().split('\n').length, 6);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /identical/);
  for (const [r, pattern] of [[noTable, /no table "no_such_table"/], [noKey, /no key column "nope"/], [unreachable, /cannot reach/]] as const) {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
