/**
 * Renewal + collection throughput on one engine, next to a bound measured in
 * the same run on the same engine: plain inserts of exactly the rows the jobs
 * wrote, through the store's own fastest multi-row writer, in transactions of
 * 2,000 rows, into a fresh database with the same schema.
 *
 *   npm run bench:renew -- [--engine sqlite|mysql|postgres] [--members N]
 *
 * Server engines use TALLY_BENCH_MYSQL_URL / TALLY_BENCH_POSTGRES_URL (default:
 * the local servers' `test` database) to create and drop their own databases.
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kysely, sql } from 'kysely';
import { pino } from 'pino';
import { runCollection } from '../src/jobs/collect.ts';
import { runRenewal } from '../src/jobs/renew.ts';
import { closeServices } from '../src/jobs/services.ts';
import { insertRows } from '../src/store/bulk.ts';
import { openStore } from '../src/store/connect.ts';
import { onServer, withDatabase, type Engine } from '../src/store/engines.ts';
import type { Schema } from '../src/store/schema.ts';
import { openServices } from '../src/wiring.ts';
import { seedDueMembers } from '../test/support/population.ts';

const { values } = parseArgs({ options: { members: { type: 'string' }, engine: { type: 'string', default: 'sqlite' } } });
const engine = values.engine as Engine;
if (!['sqlite', 'mysql', 'postgres'].includes(engine)) throw new Error(`--engine must be sqlite, mysql or postgres, not ${values.engine}`);
// A server round trip costs what a whole SQLite statement does: the default keeps a server run to minutes.
const total = Number(values.members ?? (engine === 'sqlite' ? 200_000 : 50_000));
if (!Number.isInteger(total) || total < 1000) throw new Error('--members must be a whole number ≥ 1000');
const serverUrl = engine === 'mysql'
  ? process.env.TALLY_BENCH_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test'
  : process.env.TALLY_BENCH_POSTGRES_URL || 'postgres://root@127.0.0.1:5432/test';

const day = '2026-03-15';

let peakRss = 0;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 25);

/** A new, empty database of the engine under measurement, and how to drop it. */
async function freshDatabase(name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  if (engine === 'sqlite') {
    const path = `var/${name}.db`;
    const clean = () => { for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true }); };
    clean();
    return { url: `sqlite:${path}`, drop: async () => clean() };
  }
  const drop = () => onServer(serverUrl, (db) => sql`drop database if exists ${sql.id(name)}`.execute(db));
  await drop();
  await onServer(serverUrl, (db) => sql`create database ${sql.id(name)}`.execute(db));
  return { url: withDatabase(serverUrl, name), drop: async () => { await drop(); } };
}

async function measure(members: number, withBound: boolean): Promise<{ seconds: number; boundSeconds: number; rows: Record<string, number>; peakRssMb: number }> {
  const source = await freshDatabase(`tally_bench_${members}`);
  const svc = await openServices({ dbUrl: source.url, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  await seedDueMembers(svc, members, day);
  global.gc?.();
  peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const renew = await runRenewal(svc, day, { chunkSize: 2000 });
  const collect = await runCollection(svc, day, { chunkSize: 2000 });
  const seconds = (performance.now() - t0) / 1000;
  const peakRssMb = Math.round(peakRss / 1048576);
  if (renew.counts.invoices !== members) throw new Error(`expected ${members} invoices, renewal issued ${renew.counts.invoices}`);
  if (collect.counts.invoices !== members) throw new Error(`expected ${members} charges, collection made ${collect.counts.invoices}`);
  // The bound holds a table's rows in memory at a time: only after the last measured job run, so no job pays for its garbage.
  const { boundSeconds, rows } = withBound ? await rawInsertBound(svc.store.db, members) : { boundSeconds: 0, rows: {} };
  await closeServices(svc);
  await source.drop();
  return { seconds, boundSeconds, rows, peakRssMb };
}

const tables = ['members', 'invoices', 'invoice_lines', 'billing_history', 'payment_attempts', 'payments', 'journal', 'outbox', 'processor_charges'] as const;

/** Time raw multi-row inserts of the rows the jobs wrote, table by table, into a fresh database with the same schema. */
async function rawInsertBound(src: Kysely<Schema>, members: number): Promise<{ boundSeconds: number; rows: Record<string, number> }> {
  const target = await freshDatabase(`tally_bench_bound_${members}`);
  const store = await openStore(target.url);
  const dst = store.db;
  let elapsed = 0;
  const rows: Record<string, number> = {};
  for (const table of tables) {
    const all = await src.selectFrom(table).selectAll().execute();
    rows[table] = all.length;
    for (let i = 0; i < all.length; i += 2000) {
      const part = all.slice(i, i + 2000);
      const t0 = performance.now();
      await dst.transaction().execute((trx) => insertRows(trx, table, part as never));
      elapsed += performance.now() - t0;
    }
  }
  await store.close();
  await target.drop();
  return { boundSeconds: elapsed / 1000, rows };
}

// Memory must not grow with the number of members: compare half the population with all of it.
const half = await measure(Math.floor(total / 2), false);
const full = await measure(total, true);
clearInterval(sampler);
const membersPerSec = Math.round(total / full.seconds);
const boundMembersPerSec = Math.round(total / full.boundSeconds);
const ratio = Number((full.boundSeconds / full.seconds).toFixed(3));
console.log(`renewal + collection of ${total} due members on ${engine}: ${full.seconds.toFixed(2)} s, ${membersPerSec} members/s`);
console.log(`bound (raw batched inserts of the same ${Object.values(full.rows).reduce((a, b) => a + b, 0)} rows): ${full.boundSeconds.toFixed(2)} s, ${boundMembersPerSec} members/s; ratio ${ratio}`);
console.log(`rows written: ${JSON.stringify(full.rows)}`);
console.log(`peak RSS: ${full.peakRssMb} MB at ${total} members, ${half.peakRssMb} MB at ${Math.floor(total / 2)} members`);
console.log(JSON.stringify({ engine, members: total, seconds: Number(full.seconds.toFixed(3)), membersPerSec, boundMembersPerSec, ratio, peakRssMb: full.peakRssMb, peakRssMbHalf: half.peakRssMb }));
