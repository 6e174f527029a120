/**
 * `tally compare tables` against two yardsticks measured in the same run on the same tables:
 * the bound — one full checksum scan of each side (`select count(*), xor(hash(row))` over the
 * whole table, both sides at once, as the compare runs them), which any compare that reads
 * every row must pay — and pg_comparator, the established tool for the same job.
 *
 *   npm run bench:compare                      # 1,000,000 rows, 0.1% differing: PostgreSQL ↔ PostgreSQL, MariaDB ↔ PostgreSQL
 *   npm run bench:compare -- --rows 100000
 *   npm run bench:compare -- --members 20000 --only members   # member mode only (SQLite; see compare-members.ts)
 *
 * The right copy differs from the left by deletes, updates and inserts spread over the whole
 * key range (a third each). The tables are built once per size and kept (databases
 * tally_bench_cmp_*_N). Servers: TALLY_BENCH_MYSQL_URL / TALLY_BENCH_POSTGRES_URL (default:
 * the local servers' `test` database).
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { compareTables } from '../src/compare/tables/compare-tables.ts';
import { rowXorSql } from '../src/compare/tables/checksum-sql.ts';
import { tableShape } from '../src/compare/tables/table-shape.ts';
import { onServer, withDatabase, type Engine } from '../src/store/engines.ts';
import { memberModeFigures } from './compare-members.ts';

const { values } = parseArgs({ options: { rows: { type: 'string' }, members: { type: 'string' }, only: { type: 'string' } } });
const rows = Number(values.rows ?? 1_000_000);
if (!Number.isInteger(rows) || rows < 3000) throw new Error('--rows must be a whole number of at least 3000');

const serverUrl = (engine: Engine) => (engine === 'mysql'
  ? process.env.TALLY_BENCH_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test'
  : process.env.TALLY_BENCH_POSTGRES_URL || 'postgres://root@127.0.0.1:5432/test');

const table = 'bench_rows';
/** Every 3000th key: one in three deleted on the right, one updated, one inserted (present only on the right) — 0.1% in all. */
const period = 3000;
const keys = Array.from({ length: rows }, (_, i) => i + 1);
/** An update of a NULL amount leaves it NULL: no difference. */
const expected = {
  deleted: keys.filter((k) => k % period === 7).length,
  updated: keys.filter((k) => k % period === 1507 && k % 97 !== 0).length,
  inserted: keys.filter((k) => k % period === 11).length,
};

async function exists(engine: Engine, name: string): Promise<boolean> {
  return onServer(serverUrl(engine), async (db) => (engine === 'mysql'
    ? (await sql`select 1 from information_schema.tables where table_schema = ${name} and table_name = ${table}`.execute(db)).rows.length
    : (await sql`select 1 from pg_database where datname = ${name}`.execute(db)).rows.length) > 0);
}

/**
 * The same rows on either engine, computed from the key by the database itself. Left: keys
 * 1…rows without those ≡ 11 (mod period); right: those inserted, keys ≡ 7 deleted, keys ≡
 * 1507 updated.
 */
async function build(engine: Engine, side: 'left' | 'right'): Promise<string> {
  const name = `tally_bench_cmp_${engine === 'mysql' ? 'my' : 'pg'}_${side}_${rows}`;
  const url = withDatabase(serverUrl(engine), name);
  if (await exists(engine, name)) {
    const ok = await onServer(url, async (db) => (await sql`select 1 from ${sql.table(table)} where id = ${rows}`.execute(db).catch(() => ({ rows: [] }))).rows.length > 0);
    if (ok) return url;
  }
  const t0 = performance.now();
  await onServer(serverUrl(engine), async (db) => {
    await sql`drop database if exists ${sql.id(name)}`.execute(db);
    await sql`create database ${sql.id(name)}`.execute(db);
  });
  await onServer(url, async (db: Kysely<unknown>) => {
    const keep = side === 'left' ? sql`id % ${sql.lit(period)} <> 11` : sql`id % ${sql.lit(period)} <> 7`;
    const bump = side === 'right' ? sql`case when id % ${sql.lit(period)} = 1507 then 1 else 0 end` : sql`0`;
    if (engine === 'postgres') {
      await sql`create table ${sql.table(table)} (id bigint primary key, account_id bigint not null, amount numeric(12,4), status varchar(10) not null,
        note text, created_at timestamp not null, paid_on date)`.execute(db);
      await sql`insert into ${sql.table(table)} select id, id % 50000, case when id % 97 = 0 then null else (id * 37 % 100000) / 100.0 + ${bump} end,
        (array['paid','open','void','failed'])[1 + id % 4], case when id % 13 = 0 then null else 'invoice ' || id || ' — ünïcode' end,
        timestamp '2025-01-01' + (id % 100000) * interval '1 second', case when id % 7 = 0 then null else date '2025-01-01' + (id % 365)::int end
        from generate_series(1, ${sql.lit(rows)}) id where ${keep}`.execute(db);
      await sql`vacuum analyze ${sql.table(table)}`.execute(db);
      await sql`create extension if not exists pgcmp`.execute(db);
    } else {
      await sql`create table ${sql.table(table)} (id bigint primary key, account_id bigint not null, amount decimal(12,4), status varchar(10) not null,
        note text, created_at datetime not null, paid_on date) character set utf8mb4`.execute(db);
      await sql`insert into ${sql.table(table)} select seq, seq % 50000, case when seq % 97 = 0 then null else (seq * 37 % 100000) / 100.0 + ${bump} end,
        elt(1 + seq % 4, 'paid','open','void','failed'), case when seq % 13 = 0 then null else concat('invoice ', seq, ' — ünïcode') end,
        timestamp '2025-01-01 00:00:00' + interval (seq % 100000) second, case when seq % 7 = 0 then null else date '2025-01-01' + interval (seq % 365) day end
        from ${sql.raw(`seq_1_to_${rows}`)} s where ${sql.raw(`(seq % ${period} <> ${side === 'left' ? 11 : 7})`)}`.execute(db);
    }
  });
  console.log(`built ${engine} ${side} (${rows} keys) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return url;
}

/** One full checksum scan of a side: every row hashed and folded, as the compare's first level does, without the per-range grouping. */
async function fullScan(engine: Engine, url: string, nativeHash: boolean): Promise<number> {
  return onServer(url, async (db) => {
    const shape = await tableShape(db, engine, table);
    const hashed = [...shape.columns.filter((c) => c.name === 'id'), ...shape.columns.filter((c) => c.name !== 'id')];
    const t0 = performance.now();
    await sql`select count(*) as n, ${rowXorSql({ engine, binaryKeyOrder: false, nativeHash }, hashed)} as h from ${sql.table(table)}`.execute(db);
    return (performance.now() - t0) / 1000;
  });
}

async function bound(left: [Engine, string], right: [Engine, string]): Promise<{ seconds: number; left: number; right: number }> {
  const t0 = performance.now();
  // The same row hash the compare uses for this pair of engines.
  const nativeHash = left[0] === 'postgres' && right[0] === 'postgres';
  const [l, r] = await Promise.all([fullScan(...left, nativeHash), fullScan(...right, nativeHash)]);
  return { seconds: (performance.now() - t0) / 1000, left: l, right: r };
}

const exec = promisify(execFile);

function comparatorUrl(url: string): string {
  const u = new URL(url);
  const driver = u.protocol.startsWith('mysql') ? 'mysql' : 'pgsql';
  const schema = driver === 'pgsql' ? 'public.' : '';
  return `${driver}://${u.username}@${u.hostname}:${u.port || (driver === 'mysql' ? 3306 : 5432)}${u.pathname}/${schema}${table}?id`;
}

/** pg_comparator on the same two tables; its stdout lists one difference a line (INSERT/UPDATE/DELETE key). */
async function pgComparator(left: string, right: string, extra: string[] = []): Promise<{ seconds: number; differences: number } | { error: string }> {
  const t0 = performance.now();
  try {
    const r = await exec('pg_comparator', [...extra, '--max-ratio=0.5', comparatorUrl(left), comparatorUrl(right)], { maxBuffer: 1 << 26, env: { ...process.env, PGPASSWORD: '' } });
    return { seconds: (performance.now() - t0) / 1000, differences: r.stdout.split('\n').filter((l) => /^(INSERT|UPDATE|DELETE)\b/.test(l)).length };
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string; code?: number };
    // pg_comparator exits 1 when it found differences, like diff.
    if (e.code === 1 && e.stdout && /^(INSERT|UPDATE|DELETE)\b/m.test(e.stdout)) {
      return { seconds: (performance.now() - t0) / 1000, differences: e.stdout.split('\n').filter((l) => /^(INSERT|UPDATE|DELETE)\b/.test(l)).length };
    }
    return { error: (e.stderr || e.message).trim().split('\n').filter((l) => l && !/Issuing rollback/.test(l)).slice(0, 2).join(' / ').slice(0, 300) };
  }
}

async function run(leftEngine: Engine, rightEngine: Engine) {
  const left = await build(leftEngine, 'left');
  const right = await build(rightEngine, 'right');
  const t0 = performance.now();
  const result = await compareTables({ left, right, table });
  const seconds = (performance.now() - t0) / 1000;
  const found = { deleted: result.deleted, updated: result.updated, inserted: result.inserted };
  const exact = JSON.stringify(found) === JSON.stringify(expected);
  const b = await bound([leftEngine, left], [rightEngine, right]);
  const cmp = await pgComparator(left, right);
  const label = `${leftEngine === 'mysql' ? 'MariaDB' : 'PostgreSQL'} ↔ ${rightEngine === 'mysql' ? 'MariaDB' : 'PostgreSQL'}`;
  console.log(`\n${label}, ${result.left.rows.toLocaleString('en-US')} / ${result.right.rows.toLocaleString('en-US')} rows, ${expected.deleted + expected.updated + expected.inserted} differing keys`);
  console.log(`  tally compare tables: ${seconds.toFixed(2)} s — ${result.inserted} inserted, ${result.updated} updated, ${result.deleted} deleted (${exact ? 'exactly the edits' : `EXPECTED ${JSON.stringify(expected)}`}); ${result.rangesChecksummed} ranges checksummed, ${result.rowsFetched} rows fetched, ${result.levels} levels`);
  console.log(`  bound, one full checksum scan of each side at once: ${b.seconds.toFixed(2)} s (left ${b.left.toFixed(2)} s, right ${b.right.toFixed(2)} s); ratio tally / bound ${(seconds / b.seconds).toFixed(2)}`);
  if ('error' in cmp && leftEngine === 'mysql') {
    cmp.error = `pg_comparator's checksums on MySQL/MariaDB are its own UDFs and casts (mysql_checksum.so, mysql_casts.sql), which Debian's postgresql-comparator does not ship: its checksum table on MariaDB comes back empty (${cmp.error})`;
  }
  if ('error' in cmp) console.log(`  pg_comparator: not run here — ${cmp.error}`);
  else console.log(`  pg_comparator: ${cmp.seconds.toFixed(2)} s, ${cmp.differences} differences; ratio tally / pg_comparator ${(seconds / cmp.seconds).toFixed(2)}`);
  return {
    pair: `${leftEngine}->${rightEngine}`, leftRows: result.left.rows, rightRows: result.right.rows, differences: result.inserted + result.updated + result.deleted, exact,
    seconds: Number(seconds.toFixed(3)), rangesChecksummed: result.rangesChecksummed, rowsFetched: result.rowsFetched,
    boundSeconds: Number(b.seconds.toFixed(3)), boundLeftSeconds: Number(b.left.toFixed(3)), boundRightSeconds: Number(b.right.toFixed(3)),
    ratioToBound: Number((seconds / b.seconds).toFixed(3)),
    pgComparatorSeconds: 'error' in cmp ? null : Number(cmp.seconds.toFixed(3)),
    pgComparatorDifferences: 'error' in cmp ? null : cmp.differences,
    ratioToPgComparator: 'error' in cmp ? null : Number((seconds / cmp.seconds).toFixed(3)),
    pgComparatorError: 'error' in cmp ? cmp.error : undefined,
  };
}

const members = Number(values.members ?? 20_000);
if (!Number.isInteger(members) || members < 100) throw new Error('--members must be a whole number of at least 100');
// --only tables | members: one half of the bench.
const runs = values.only === 'members' ? [] : [await run('postgres', 'postgres'), await run('mysql', 'postgres')];
const memberMode = values.only === 'tables' ? undefined : await memberModeFigures(members);
console.log(JSON.stringify({ rows, runs, members: memberMode }));
