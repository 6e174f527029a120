/**
 * Renewal + collection throughput on the embedded store, next to a bound
 * measured in the same run: raw multi-row inserts, through better-sqlite3
 * prepared statements, of exactly the rows the jobs wrote.
 *
 *   npm run bench:renew -- [--members 200000]
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { runCollection } from '../src/jobs/collect.ts';
import { runRenewal } from '../src/jobs/renew.ts';
import { openServices } from '../src/wiring.ts';
import { seedDueMembers } from '../test/support/population.ts';

const { values } = parseArgs({ options: { members: { type: 'string', default: '200000' }, engine: { type: 'string', default: 'sqlite' } } });
const total = Number(values.members);
if (!Number.isInteger(total) || total < 1000) throw new Error('--members must be a whole number ≥ 1000');
if (values.engine !== 'sqlite') throw new Error(`--engine ${values.engine}: only sqlite is available in this build`);

const day = '2026-03-15';

let peakRss = 0;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 25);

async function measure(members: number): Promise<{ seconds: number; boundSeconds: number; rows: Record<string, number>; peakRssMb: number }> {
  const path = `var/bench-renew-${members}.db`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const svc = await openServices({ dbUrl: `sqlite:${path}`, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
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
  await svc.store.close();
  const { boundSeconds, rows } = rawInsertBound(path);
  return { seconds, boundSeconds, rows, peakRssMb };
}

const tables = ['members', 'invoices', 'invoice_lines', 'payment_attempts', 'payments', 'journal', 'outbox', 'processor_charges'];

/** Time raw multi-row inserts of the rows the jobs wrote, table by table, into a fresh database with the same schema. */
function rawInsertBound(source: string): { boundSeconds: number; rows: Record<string, number> } {
  const src = new Database(source, { readonly: true });
  const target = `${source}.bound.db`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(target + suffix, { force: true });
  const dst = new Database(target);
  dst.pragma('journal_mode = WAL');
  dst.pragma('synchronous = NORMAL');
  for (const { sql } of src.prepare("select sql from sqlite_master where sql is not null and name not like 'sqlite_%' and name not like 'kysely_%'").all() as { sql: string }[]) dst.exec(sql);
  let elapsed = 0;
  const rows: Record<string, number> = {};
  for (const table of tables) {
    const cols = (src.prepare(`pragma table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    const perStmt = Math.floor(30000 / cols.length);
    const batch = 2000;
    const placeholders = (n: number) => Array.from({ length: n }, () => `(${cols.map(() => '?').join(',')})`).join(',');
    const full = dst.prepare(`insert into ${table} (${cols.join(',')}) values ${placeholders(Math.min(perStmt, batch))}`);
    const read = src.prepare(`select ${cols.join(',')} from ${table} where rowid > ? order by rowid limit ${batch}`).raw();
    const rowid = src.prepare(`select rowid from ${table} where rowid > ? order by rowid limit 1 offset ${batch - 1}`).pluck();
    let after = 0;
    rows[table] = 0;
    for (;;) {
      const part = read.all(after) as unknown[][];
      if (!part.length) break;
      const t0 = performance.now();
      dst.transaction(() => {
        for (let i = 0; i < part.length; i += perStmt) {
          const slice = part.slice(i, i + perStmt);
          const stmt = slice.length === Math.min(perStmt, batch) ? full : dst.prepare(`insert into ${table} (${cols.join(',')}) values ${placeholders(slice.length)}`);
          stmt.run(slice.flat());
        }
      })();
      elapsed += performance.now() - t0;
      rows[table] += part.length;
      const next = rowid.get(after) as number | undefined;
      if (next === undefined) break;
      after = next;
    }
  }
  src.close();
  dst.close();
  return { boundSeconds: elapsed / 1000, rows };
}

// Memory must not grow with the number of members: compare half the population with all of it.
const half = await measure(Math.floor(total / 2));
const full = await measure(total);
clearInterval(sampler);
const membersPerSec = Math.round(total / full.seconds);
const boundMembersPerSec = Math.round(total / full.boundSeconds);
const ratio = Number((full.boundSeconds / full.seconds).toFixed(3));
console.log(`renewal + collection of ${total} due members on SQLite: ${full.seconds.toFixed(2)} s, ${membersPerSec} members/s`);
console.log(`bound (raw batched inserts of the same ${Object.values(full.rows).reduce((a, b) => a + b, 0)} rows): ${full.boundSeconds.toFixed(2)} s, ${boundMembersPerSec} members/s; ratio ${ratio}`);
console.log(`rows written: ${JSON.stringify(full.rows)}`);
console.log(`peak RSS: ${full.peakRssMb} MB at ${total} members, ${half.peakRssMb} MB at ${Math.floor(total / 2)} members`);
console.log(JSON.stringify({ members: total, seconds: Number(full.seconds.toFixed(3)), membersPerSec, boundMembersPerSec, ratio, peakRssMb: full.peakRssMb, peakRssMbHalf: half.peakRssMb }));
