/**
 * `tally migrate` throughput, next to a bound measured in the same run: a plain copy of the
 * same legacy rows — read through the same source, page by page — into tables of the legacy's
 * own shape on the target engine, with the store's fastest multi-row writer and no transform.
 * The ratio says what the transform, the load's checks and Tally's row shapes cost on top of
 * moving the bytes.
 *
 *   npm run bench:migrate                        # both runs the issue names:
 *                                                #   200,000 members SQLite → SQLite, 50,000 MariaDB → PostgreSQL
 *   npm run bench:migrate -- --from sqlite --to sqlite --members 20000
 *
 * The legacy population is seeded once per (engine, size) and kept (var/bench-legacy-N.db, or
 * database tally_bench_legacy_N) for the next run; targets are made fresh each time. Peak RSS
 * is measured at a quarter of the members and at all of them: memory must not grow with them.
 * Server engines use TALLY_BENCH_MYSQL_URL / TALLY_BENCH_POSTGRES_URL (default: the local
 * servers' `test` database).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import { closeServices } from '../src/jobs/services.ts';
import { createLegacySchema, openLegacy, seedLegacy, type LegacySchema } from '../src/legacy/index.ts';
import { migrateCountry } from '../src/migration/migrate-country.ts';
import { referenceLegacyPlans } from '../src/migration/plan-mapping.ts';
import { legacyAdapter } from '../src/migration/sources/legacy-adapter.ts';
import { openLegacySource, type LegacyMember } from '../src/migration/sources/legacy-source.ts';
import { insertRows } from '../src/store/bulk.ts';
import { onServer, withDatabase, type Engine } from '../src/store/engines.ts';
import type { Schema } from '../src/store/schema.ts';
import { openServices } from '../src/wiring.ts';

const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, members: { type: 'string' } } });
const asOf = '2026-11-28';
const pageSize = 1000;

const serverUrl = (engine: Engine) => (engine === 'mysql'
  ? process.env.TALLY_BENCH_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test'
  : process.env.TALLY_BENCH_POSTGRES_URL || 'postgres://root@127.0.0.1:5432/test');

mkdirSync('var', { recursive: true });
let peakRss = 0;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 25);

async function freshDatabase(engine: Engine, name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  if (engine === 'sqlite') {
    const path = `var/${name}.db`;
    const clean = () => { for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true }); };
    clean();
    return { url: `sqlite:${path}`, drop: async () => clean() };
  }
  const base = serverUrl(engine);
  const drop = () => onServer(base, (db) => sql`drop database if exists ${sql.id(name)}`.execute(db));
  await drop();
  await onServer(base, (db) => sql`create database ${sql.id(name)}`.execute(db));
  return { url: withDatabase(base, name), drop: async () => { await drop(); } };
}

/** The legacy population of `members`, seeded on first use and kept. */
async function legacyOf(engine: Engine, members: number): Promise<string> {
  const name = `tally_bench_legacy_${members}`;
  let url: string;
  if (engine === 'sqlite') {
    url = `sqlite:var/bench-legacy-${members}.db`;
    if (existsSync(`var/bench-legacy-${members}.db`)) return url;
  } else {
    const exists = await onServer(serverUrl(engine), async (db) => (engine === 'mysql'
      ? (await sql`select 1 from information_schema.schemata where schema_name = ${name}`.execute(db)).rows.length
      : (await sql`select 1 from pg_database where datname = ${name}`.execute(db)).rows.length) > 0);
    url = withDatabase(serverUrl(engine), name);
    if (exists) {
      const legacy = await openLegacy(url);
      const n = await legacy.db.selectFrom('account').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst().catch(() => undefined);
      await legacy.close();
      if (Number(n?.n ?? 0) >= members) return url;
    }
    url = (await freshDatabase(engine, name)).url;
  }
  const t0 = performance.now();
  const legacy = await openLegacy(url);
  await seedLegacy(legacy.db, { members, seed: 1, asOf });
  await legacy.close();
  console.error(`seeded a legacy of ${members} members on ${engine} in ${((performance.now() - t0) / 1000).toFixed(1)} s (kept for the next run)`);
  return url;
}

async function migrateAll(legacyUrl: string, to: Engine, members: number): Promise<{ seconds: number; members: number; loaded: number; invoices: number; peakRssMb: number; retainedHeapMb: number }> {
  const target = await freshDatabase(to, `tally_bench_target_${members}`);
  const svc = await openServices({ dbUrl: target.url, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  const source = await openLegacySource(legacyUrl);
  global.gc?.();
  peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const adapter = legacyAdapter(source, { catalog: svc.billing.catalog, plans: referenceLegacyPlans, ...(await source.reference()), asOf, horizonMonths: 24 });
  const totals = { members: 0, loaded: 0, invoices: 0 };
  for (const { country } of await source.countries()) {
    if (!/^[A-Z]{2}$/.test(country)) continue;
    const r = await migrateCountry(svc, adapter, { country, asOf, mode: 'load', options: {}, pageSize });
    totals.members += r.counts.members;
    totals.loaded += r.counts.loaded;
    totals.invoices += r.counts.invoices;
  }
  const seconds = (performance.now() - t0) / 1000;
  // What the run still holds once its garbage is collected: a leak shows here, where peak RSS also
  // follows how far V8 chose to grow its heap under a high allocation rate.
  global.gc?.();
  const retainedHeapMb = Math.round(process.memoryUsage().heapUsed / 1048576);
  await source.close();
  await closeServices(svc);
  await target.drop();
  return { seconds, ...totals, peakRssMb: Math.round(peakRss / 1048576), retainedHeapMb };
}

const rowsOf: [keyof LegacySchema, (m: LegacyMember) => unknown[]][] = [
  ['customer', (m) => [m.customer]], ['customer_email', (m) => m.emails], ['customer_address', (m) => m.addresses], ['account', (m) => m.accounts],
  ['payment_method', (m) => m.paymentMethods], ['subscription', (m) => m.subscriptions], ['subscription_history', (m) => m.history],
  ['promotion_redemption', (m) => m.redemptions], ['invoice_header', (m) => m.invoices], ['invoice_detail', (m) => m.details], ['payment_txn', (m) => m.payments],
  ['gift_card', (m) => m.giftCards], ['gift_card_txn', (m) => m.giftCardTxns], ['credit_memo', (m) => m.creditMemos],
];

/** The bound: the same pages read the same way (with the same history horizon), copied as they are, one transaction per page. */
async function plainCopy(legacyUrl: string, to: Engine, members: number): Promise<{ seconds: number; rows: number }> {
  const target = await freshDatabase(to, `tally_bench_copy_${members}`);
  const copy = await openLegacy(target.url);
  await createLegacySchema(copy.db);
  const source = await openLegacySource(legacyUrl);
  const svcCatalog = (await openServices({ dbUrl: 'sqlite::memory:', reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) }));
  const adapter = legacyAdapter(source, { catalog: svcCatalog.billing.catalog, plans: referenceLegacyPlans, ...(await source.reference()), asOf, horizonMonths: 24 });
  await closeServices(svcCatalog);
  let rows = 0;
  const t0 = performance.now();
  for (const { country } of await source.countries()) {
    if (!/^[A-Z]{2}$/.test(country)) continue;
    let cursor: string | null = null;
    do {
      const page: { members: LegacyMember[]; cursor: string | null } = await source.page(country, cursor, pageSize, { historySince: adapter.historySince });
      await copy.db.transaction().execute(async (trx) => {
        for (const [table, of] of rowsOf) {
          const all = page.members.flatMap(of);
          rows += all.length;
          if (all.length) await insertRows(trx as unknown as Kysely<Schema>, table as never, all as never);
        }
      });
      cursor = page.cursor;
    } while (cursor !== null);
  }
  const seconds = (performance.now() - t0) / 1000;
  await source.close();
  await copy.close();
  await target.drop();
  return { seconds, rows };
}

async function run(from: Engine, to: Engine, members: number) {
  const legacyUrl = await legacyOf(from, members);
  // A quarter of the members first, only for memory: a page at a time means the peak must not grow with the country.
  const quarterUrl = await legacyOf(from, Math.floor(members / 4));
  const quarter = await migrateAll(quarterUrl, to, Math.floor(members / 4));
  const full = await migrateAll(legacyUrl, to, members);
  const bound = await plainCopy(legacyUrl, to, members);
  const membersPerSec = Math.round(full.members / full.seconds);
  const boundMembersPerSec = Math.round(full.members / bound.seconds);
  const ratio = Number((bound.seconds / full.seconds).toFixed(3));
  console.log(`migrate ${full.members} legacy members ${from} → ${to}: ${full.seconds.toFixed(1)} s, ${membersPerSec} members/s (${full.loaded} loaded, ${full.invoices} invoices in the horizon)`);
  console.log(`bound: plain copy of the same ${bound.rows} legacy rows into ${to}: ${bound.seconds.toFixed(1)} s, ${boundMembersPerSec} members/s; ratio ${ratio}`);
  console.log(`peak RSS: ${full.peakRssMb} MB at ${full.members} members, ${quarter.peakRssMb} MB at ${quarter.members}; heap retained after the run: ${full.retainedHeapMb} / ${quarter.retainedHeapMb} MB`);
  return {
    from, to, members: full.members, seconds: Number(full.seconds.toFixed(2)), membersPerSec, boundMembersPerSec, ratio,
    peakRssMb: full.peakRssMb, peakRssMbQuarter: quarter.peakRssMb, retainedHeapMb: full.retainedHeapMb, retainedHeapMbQuarter: quarter.retainedHeapMb,
  };
}

const runs = values.from || values.to || values.members
  ? [[values.from ?? 'sqlite', values.to ?? 'sqlite', Number(values.members ?? 200_000)] as const]
  : ([['sqlite', 'sqlite', 200_000], ['mysql', 'postgres', 50_000]] as const);
const results = [];
for (const [from, to, members] of runs) {
  if (!['sqlite', 'mysql', 'postgres'].includes(from) || !['sqlite', 'mysql', 'postgres'].includes(to)) throw new Error('--from and --to take sqlite, mysql or postgres');
  if (!Number.isInteger(members) || members < 400) throw new Error('--members must be a whole number ≥ 400');
  results.push(await run(from as Engine, to as Engine, members));
}
clearInterval(sampler);
console.log(JSON.stringify({ runs: results }));
