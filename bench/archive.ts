/**
 * `tally archive run` throughput on MariaDB, next to pt-archiver (Debian package
 * percona-toolkit) moving the same rows to a file, measured in the same run on the same server.
 *
 *   npm run bench:archive                         # 1,000,000 invoices, one line each
 *   npm run bench:archive -- --invoices 100000    # a quick run
 *   npm run bench:archive -- --pt best            # only pt-archiver's fastest options (see ptVariants)
 *   npm run bench:archive -- --pt none            # Tally alone (profiling; no comparison, no JSON line)
 *
 * The store holds `--invoices` settled (paid) invoices issued 2020–2023 in six countries, one
 * line each, and their members; all of them lie past the invoices' 24-month hot window at the
 * run's fixed "now" (2026-11-30). Tally's figure is rows (invoices + lines) per second through
 * the whole archive of class `invoices`: read from the store, written to Parquet, each file read
 * back and its checksum compared with the hot rows', then the hot rows re-read, re-checked and
 * deleted in bounded transactions. Then the same rows are generated again, identically, and
 * pt-archiver archives them to a file, committing each chunk: the invoices, with the same
 * eligibility predicate Tally uses, then the lines whose invoice is gone. It does not verify
 * what it wrote. Each set of pt-archiver options runs on freshly regenerated rows; the
 * fastest is the bound. Target: Tally's rows/s ≥ pt-archiver's.
 *
 * Runs in a database of its own (TALLY_BENCH_MYSQL_URL's server, default the local MariaDB),
 * dropped at the end unless --keep. The rows are generated in SQL from MariaDB's SEQUENCE
 * engine (seq_0_to_N), so every regeneration is the same rows and costs seconds, not minutes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { sql } from 'kysely';
import { Temporal } from 'temporal-polyfill';
import { runArchive } from '../src/archive/archive-run.ts';
import { classSpecs } from '../src/archive/data-classes.ts';
import { cutoffs, dataClasses, defaultPolicy } from '../src/archive/policy.ts';
import { openStore } from '../src/store/connect.ts';
import { onServer, withDatabase } from '../src/store/engines.ts';

const { values } = parseArgs({
  options: {
    invoices: { type: 'string', default: '1000000' },
    pt: { type: 'string', default: 'all' },
    keep: { type: 'boolean', default: false },
  },
});
const invoices = Number(values.invoices);
if (!Number.isInteger(invoices) || invoices < 1000 || invoices > 50_000_000) throw new Error('--invoices must be a whole number from 1,000 to 50,000,000');
if (!['all', 'best', 'none'].includes(values.pt!)) throw new Error('--pt takes all, best or none');

const now = Temporal.Instant.from('2026-11-30T00:00:00Z');
const cuts = cutoffs(defaultPolicy, now);
const hotBefore = cuts.invoices.hotBefore.slice(0, 10);
const perMember = 48;
const server = process.env.TALLY_BENCH_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test';
const dbName = 'tally_bench_archive';
const url = withDatabase(server, dbName);
const serverUrl = new URL(server);
const seconds = (t0: number) => (performance.now() - t0) / 1000;

const pt = ['pt-archiver', '/usr/bin/pt-archiver'].find((p) => spawnSync(p, ['--version']).status === 0);
if (!pt) throw new Error('pt-archiver is not installed (apt-get install -y percona-toolkit): the bench measures Tally next to it');

const dropDatabase = () => onServer(server, (db) => sql`drop database if exists ${sql.id(dbName)}`.execute(db));
await dropDatabase();
await onServer(server, (db) => sql`create database ${sql.id(dbName)}`.execute(db));
const store = await openStore(url, { poolSize: 4 });
const db = store.db;

/**
 * Generate the population: member k has invoices 1…48, one a month from January 2020, on day
 * k mod 28 + 1; its country is one of six by k. All paid. Chunks of 100,000 rows, one
 * transaction each, so the server's undo log stays small. Identical every time it is called.
 */
async function generate(): Promise<void> {
  for (const t of ['invoice_lines', 'invoices', 'billing_history', 'archive_files', 'members']) await sql`truncate table ${sql.table(t)}`.execute(db);
  const members = Math.ceil(invoices / perMember);
  const seq = sql.raw(`seq_0_to_${invoices - 1}`);
  const memberSeq = sql.raw(`seq_0_to_${members - 1}`);
  const country = (k: string) => sql.raw(`elt((${k}) mod 6 + 1, 'DE', 'FR', 'GB', 'US', 'NL', 'ES')`);
  await sql`insert into members (id, version, country, status, next_due, email, data)
    select concat('m', lpad(seq, 7, '0')), 1, ${country('seq')}, 'active', null, concat('m', lpad(seq, 7, '0'), '@example.com'), '{}' from ${memberSeq}`.execute(db);
  // x: one row per invoice with its member, number, country, dates and amounts.
  const x = sql`select seq, concat('m', lpad(seq div ${perMember}, 7, '0')) as m, seq mod ${perMember} + 1 as num, ${country(`seq div ${perMember}`)} as c,
      date_add(date_add('2020-01-01', interval (seq mod ${perMember}) month), interval ((seq div ${perMember}) mod 28) day) as ps,
      999 + (seq mod 7) * 100 as amount
    from ${seq}`;
  const step = 100_000;
  for (let from = 0; from < invoices; from += step) {
    const range = sql`where seq between ${from} and ${Math.min(invoices, from + step) - 1}`;
    const rate = sql.raw(`case x.c when 'DE' then 190000 when 'FR' then 200000 when 'GB' then 200000 when 'US' then 0 when 'NL' then 210000 else 210000 end`);
    await db.transaction().execute(async (tx) => {
      await sql`insert into invoices (id, member_id, number, subscription_id, kind, idem_key, country, region, currency, period_start, period_end, issued_on,
          subtotal, discount, tax, total, gift_card_applied, credit_applied, amount_due, charged, refunded, status, attempt_count, first_failed_on, next_attempt_on, catalog_version)
        select concat(x.m, '#', x.num), x.m, x.num, concat(x.m, '-s1'), 'renewal', concat(x.m, '-s1:renewal:', date_format(x.ps, '%Y-%m-%d')), x.c,
          if(x.c = 'US', 'NY', null), if(x.c = 'US', 'USD', if(x.c = 'GB', 'GBP', 'EUR')),
          date_format(x.ps, '%Y-%m-%d'), date_format(date_add(x.ps, interval 1 month), '%Y-%m-%d'), date_format(x.ps, '%Y-%m-%d'),
          x.amount, 0, x.amount * ${rate} div 1000000, x.amount + x.amount * ${rate} div 1000000, 0, 0,
          x.amount + x.amount * ${rate} div 1000000, x.amount + x.amount * ${rate} div 1000000, 0, 'paid', 1, null, null, 0
        from (${x} ${range}) x`.execute(tx);
      await sql`insert into invoice_lines (invoice_id, line_no, kind, description, plan_id, period_start, period_end, amount, discount, net, tax, total, tax_rate_ppm, tax_name)
        select concat(x.m, '#', x.num), 1, 'plan', 'Premium, monthly', 'premium-monthly', date_format(x.ps, '%Y-%m-%d'), date_format(date_add(x.ps, interval 1 month), '%Y-%m-%d'),
          x.amount, 0, x.amount, x.amount * ${rate} div 1000000, x.amount + x.amount * ${rate} div 1000000, ${rate}, if(x.c = 'US', 'Sales tax', 'VAT')
        from (${x} ${range}) x`.execute(tx);
    });
  }
  await sql`analyze table invoices, invoice_lines`.execute(db);
}

async function count(table: 'invoices' | 'invoice_lines'): Promise<number> {
  return Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n);
}

/** Tally's archive of class `invoices`, timed from the first read to the last delete. */
async function tallyRun(): Promise<{ seconds: number; rows: number; files: number; bytes: number; fileRows: number }> {
  const root = mkdtempSync(join(tmpdir(), 'tally-bench-archive-'));
  try {
    const purgeOnly = new Set(dataClasses.filter((c) => defaultPolicy[c].purge));
    const t0 = performance.now();
    const result = await runArchive({ ledger: db, member: db }, { cutoffs: cuts, purgeOnly, root, runId: 1, classes: ['invoices'] });
    const took = seconds(t0);
    const r = result.classes[0]!;
    if (result.errors.length) throw new Error(`archive run failed: ${JSON.stringify(result.errors)}`);
    const left = (await count('invoices')) + (await count('invoice_lines'));
    if (left) throw new Error(`${left} rows still hot after the archive run`);
    // What the files hold, counted apart from the run: every row of both tables, once.
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    let fileRows = 0;
    for (const table of ['invoices', 'invoice_lines']) {
      const reader = await duck.runAndReadAll(`select count(*)::bigint as n, count(distinct ${table === 'invoices' ? 'id' : "invoice_id || '/' || line_no"})::bigint as k
        from read_parquet('${join(root, 'invoices', table)}/**/*.parquet')`);
      const [n, k] = reader.getRows()[0]!.map(Number);
      if (n !== invoices || k !== invoices) throw new Error(`${table}: the files hold ${n} rows (${k} distinct), expected ${invoices}`);
      fileRows += n!;
    }
    duck.closeSync();
    return { seconds: took, rows: r.archived, files: r.files, bytes: r.bytes, fileRows };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** pt-archiver's option sets tried, each on freshly generated rows; the first is its best on this workload (see the report). */
const ptVariants: { name: string; args: string[] }[] = [
  { name: '--limit 1000 --commit-each --bulk-delete', args: ['--limit', '1000', '--commit-each', '--bulk-delete'] },
  { name: '--limit 5000 --commit-each --bulk-delete', args: ['--limit', '5000', '--commit-each', '--bulk-delete'] },
  { name: '--limit 1000 --commit-each', args: ['--limit', '1000', '--commit-each'] },
];

function runPt(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(pt!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pt-archiver exited ${code}: ${err.trim().slice(0, 2000)}`))));
  });
}

/** The same eligibility Tally applies (data-classes.ts), so both move exactly the same rows. */
const settled = (alias: string) => `${alias}.issued_on < '${hotBefore}' and ${classSpecs.invoices.units[0]!.settled!.replace(/\ba\./g, `${alias}.`)}`;

async function ptRun(args: string[]): Promise<{ seconds: number; rows: number; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-pt-'));
  const source = (t: string) => [
    `h=${serverUrl.hostname}`, 'A=utf8mb4', `P=${serverUrl.port || 3306}`, `u=${decodeURIComponent(serverUrl.username) || 'root'}`,
    ...(serverUrl.password ? [`p=${decodeURIComponent(serverUrl.password)}`] : []), `D=${dbName}`, `t=${t}`,
  ].join(',');
  try {
    const t0 = performance.now();
    // The invoices, then the lines left without their invoice. (Lines first, selected by an EXISTS on their
    // invoice's eligibility, is how else one would say it, but MariaDB plans each chunk's query as a semi-join
    // over every invoice: under 100 rows/s.)
    await runPt(['--source', source('invoices'), '--file', join(dir, 'invoices.txt'), '--where', settled('invoices'), ...args]);
    await runPt(['--source', source('invoice_lines'), '--file', join(dir, 'invoice_lines.txt'),
      '--where', 'not exists (select 1 from invoices i where i.id = invoice_lines.invoice_id)', ...args]);
    const took = seconds(t0);
    const left = (await count('invoices')) + (await count('invoice_lines'));
    if (left) throw new Error(`${left} rows still hot after pt-archiver`);
    let rows = 0;
    let bytes = 0;
    for (const f of readdirSync(dir)) {
      const lines = spawnSync('wc', ['-l', join(dir, f)], { encoding: 'utf8' }).stdout;
      rows += Number(lines.trim().split(/\s+/)[0]);
      bytes += statSync(join(dir, f)).size;
    }
    if (rows !== 2 * invoices) throw new Error(`pt-archiver's files hold ${rows} rows, expected ${2 * invoices}`);
    return { seconds: took, rows, bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  let t0 = performance.now();
  await generate();
  console.log(`generated ${invoices} paid invoices with one line each (${Math.ceil(invoices / perMember)} members, 2020–2023, six countries) in ${seconds(t0).toFixed(1)} s`);

  const tally = await tallyRun();
  const tallyRps = Math.round(tally.rows / tally.seconds);
  console.log(`tally archive run --class invoices: ${tally.rows} rows (invoices + lines) in ${tally.seconds.toFixed(1)} s, ${tallyRps} rows/s; ${tally.files} Parquet files, ${(tally.bytes / 1e6).toFixed(1)} MB, every file verified before its rows were deleted`);

  const pts: { name: string; seconds: number; rows: number; bytes: number; rowsPerS: number }[] = [];
  for (const v of values.pt === 'best' ? ptVariants.slice(0, 1) : values.pt === 'none' ? [] : ptVariants) {
    t0 = performance.now();
    await generate();
    const regenerated = seconds(t0);
    const r = await ptRun(v.args);
    pts.push({ name: v.name, ...r, rowsPerS: Math.round(r.rows / r.seconds) });
    console.log(`pt-archiver ${v.name}: ${r.rows} rows in ${r.seconds.toFixed(1)} s, ${Math.round(r.rows / r.seconds)} rows/s, ${(r.bytes / 1e6).toFixed(1)} MB of text, not verified (rows regenerated in ${regenerated.toFixed(1)} s)`);
  }
  if (pts.length) {
    const best = pts.reduce((a, b) => (b.rowsPerS > a.rowsPerS ? b : a));
    const ratio = Number((tallyRps / best.rowsPerS).toFixed(3));
    console.log(`Tally ${tallyRps} rows/s, verification included; pt-archiver at its best (${best.name}) ${best.rowsPerS} rows/s: ratio ${ratio} (target ≥ 1)`);
    console.log(JSON.stringify({
      bench: 'archive', rows: tally.rows, invoices, tally_seconds: Number(tally.seconds.toFixed(2)), tally_rows_per_s: tallyRps,
      pt_archiver_rows_per_s: best.rowsPerS, pt_archiver_seconds: Number(best.seconds.toFixed(2)), pt_archiver_options: best.name, ratio,
      tally_files: tally.files, tally_bytes: tally.bytes, pt_archiver_runs: pts.map((p) => ({ options: p.name, rows_per_s: p.rowsPerS, seconds: Number(p.seconds.toFixed(2)) })),
    }));
  }
} finally {
  await store.close();
  if (!values.keep) await dropDatabase();
}

