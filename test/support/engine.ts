import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import type { Services } from '../../src/jobs/services.ts';
import type { Schema } from '../../src/store/schema.ts';
import { onServer, withDatabase, type Engine } from '../../src/store/engines.ts';
import { openServices } from '../../src/wiring.ts';

/**
 * The engine this test run is for: `npm test` runs the suite once per engine
 * (TALLY_TEST_ENGINE), SQLite always, MariaDB and PostgreSQL when their server
 * URLs are set. Tests ask here for a store instead of naming one.
 */
export const engineUnderTest = (process.env.TALLY_TEST_ENGINE ?? 'sqlite') as Engine;

const serverUrl: Record<Engine, string | undefined> = {
  sqlite: undefined,
  mysql: process.env.TALLY_TEST_MYSQL_URL,
  postgres: process.env.TALLY_TEST_POSTGRES_URL,
};

/** Test databases are named with this prefix so a run can drop what an earlier one left. */
export const testDatabasePrefix = 'tally_t_';

let made = 0;
const free: string[] = [];

async function createDatabase(engine: Engine): Promise<string> {
  const base = serverUrl[engine];
  if (!base) throw new Error(`TALLY_TEST_ENGINE=${engine} needs TALLY_TEST_${engine.toUpperCase()}_URL`);
  const name = `${testDatabasePrefix}${process.pid}_${++made}`;
  await onServer(base, async (admin) => {
    await sql`create database ${sql.id(name)}`.execute(admin);
    // A throwaway test database needs no durable commits; on a small disk the wait for each one dominates the suite.
    if (engine === 'postgres') await sql`alter database ${sql.id(name)} set synchronous_commit = off`.execute(admin);
  });
  return withDatabase(base, name);
}

/** A brand-new store URL of the engine under test, for a test that hands it to another process. */
export async function freshStoreUrl(): Promise<string> {
  if (engineUnderTest === 'sqlite') return `sqlite:${join(mkdtempSync(join(tmpdir(), 'tally-test-')), 'store.db')}`;
  return createDatabase(engineUnderTest);
}

type Overrides = Parameters<typeof openServices>[1];

/**
 * Services on empty stores of the engine under test; with `split`, members and
 * ledger in two separate databases. Server databases are reused within a test
 * process once the store that had one is closed (emptied again here), since
 * creating and migrating one costs far more than most tests.
 */
export async function openTestServices(overrides: Overrides = {}, opts: { split?: boolean } = {}): Promise<Services> {
  const config = (dbUrl: string, memberDbUrl?: string) => ({ dbUrl, memberDbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' });
  const withLog = { log: pino({ level: 'silent' }), ...overrides };
  if (engineUnderTest === 'sqlite') {
    if (!opts.split) return openServices(config('sqlite::memory:'), withLog);
    const dir = mkdtempSync(join(tmpdir(), 'tally-split-'));
    return openServices(config(`sqlite:${join(dir, 'ledger.db')}`, `sqlite:${join(dir, 'members.db')}`), withLog);
  }
  const take = async () => free.pop() ?? (await createDatabase(engineUnderTest));
  const ledgerUrl = await take();
  const memberUrl = opts.split ? await take() : undefined;
  const svc = await openServices(config(ledgerUrl, memberUrl), withLog);
  for (const [store, url] of [[svc.store, ledgerUrl], [svc.memberStore, memberUrl]] as const) {
    if (!url) continue;
    await emptyStore(store.db);
    const close = store.close;
    store.close = async () => {
      await close();
      free.push(url);
    };
  }
  return svc;
}

async function emptyStore(db: Kysely<Schema>): Promise<void> {
  for (const t of await db.introspection.getTables()) {
    if (!t.name.startsWith('kysely_')) await db.deleteFrom(t.name as never).execute();
  }
}

/** Drop every test database on the server of the engine under test (before and after a run). */
export async function dropTestDatabases(): Promise<number> {
  const base = serverUrl[engineUnderTest];
  if (!base) return 0;
  return onServer(base, async (db) => {
    const names = engineUnderTest === 'mysql'
      ? (await sql<{ name: string }>`select schema_name as name from information_schema.schemata where schema_name like ${`${testDatabasePrefix}%`}`.execute(db)).rows
      : (await sql<{ name: string }>`select datname as name from pg_database where datname like ${`${testDatabasePrefix}%`}`.execute(db)).rows;
    for (const { name } of names) {
      await sql`drop database if exists ${sql.id(name)}${engineUnderTest === 'postgres' ? sql` with (force)` : sql``}`.execute(db);
    }
    return names.length;
  });
}
