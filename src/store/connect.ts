import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider, type SqliteDatabase, type SqliteStatement } from 'kysely';
import * as initial from './migrations/0001-initial.ts';
import * as service from './migrations/0002-service.ts';
import * as messaging from './migrations/0003-messaging.ts';
import type { Schema } from './schema.ts';

export type Engine = 'sqlite';

export interface Store {
  db: Kysely<Schema>;
  engine: Engine;
  url: string;
  close(): Promise<void>;
}

/** Migrations are code, listed in order; an entry is never edited once released, only added. */
const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-service': service,
  '0003-messaging': messaging,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

export class StoreError extends Error {
  override name = 'StoreError';
}

export function parseStoreUrl(url: string): { engine: Engine; path: string } {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!path) throw new StoreError(`TALLY_DB_URL "${url}" names no file (use sqlite:PATH or sqlite::memory:)`);
    return { engine: 'sqlite', path };
  }
  if (/^(mysql|mariadb|postgres|postgresql):\/\//.test(url)) {
    throw new StoreError(`TALLY_DB_URL "${redact(url)}": server engines are not available in this build yet; use sqlite:PATH`);
  }
  throw new StoreError(`TALLY_DB_URL "${redact(url)}" is not a database URL (expected sqlite:PATH)`);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** Open the store named by a URL and bring its schema up to date (refusing a schema newer than this code). */
export async function openStore(url: string): Promise<Store> {
  const { engine, path } = parseStoreUrl(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  // WAL lets readers run beside the writer; NORMAL sync is durable at each checkpoint and fast enough for batch commits.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  sqlite.defaultSafeIntegers(false);
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrate(db);
  return { db, engine, url, close: () => db.destroy() };
}

/**
 * The query builder prepares every statement anew; batch jobs run the same few
 * multi-row statements thousands of times, and preparing a 30,000-parameter
 * insert costs more than running it. Keep prepared statements by their SQL.
 */
function withStatementCache(sqlite: Database.Database, size = 256): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        // Refresh its place so the least recently used statement is the one evicted.
        cache.delete(sql);
      } else {
        stmt = sqlite.prepare(sql) as unknown as SqliteStatement;
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

async function migrate(db: Kysely<Schema>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const known = new Set(Object.keys(migrations));
  // Kysely lists only migrations it knows; look at its table for ones a newer release applied.
  const tables = await db.introspection.getTables();
  if (tables.some((t) => t.name === 'kysely_migration')) {
    const rows = await (db as unknown as Kysely<{ kysely_migration: { name: string } }>)
      .selectFrom('kysely_migration').select('name').execute();
    const unknown = rows.map((r) => r.name).filter((n) => !known.has(n));
    if (unknown.length) throw new StoreError(`the database is at a newer schema (${unknown.join(', ')}) than this version of Tally; upgrade Tally`);
  }
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new StoreError(String(error));
}

/** Migrations this code knows that the store has not applied: empty when the schema is current. */
export async function pendingMigrations(db: Kysely<Schema>): Promise<string[]> {
  const all = await new Migrator({ db, provider }).getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
