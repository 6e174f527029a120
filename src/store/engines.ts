import Database from 'better-sqlite3';
import { createPool } from 'mysql2';
import pg from 'pg';
import { Kysely, MysqlAdapter, MysqlDialect, PostgresAdapter, PostgresDialect, SqliteDialect, type Dialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

export type Engine = 'sqlite' | 'mysql' | 'postgres';

export class StoreError extends Error {
  override name = 'StoreError';
}

export interface StoreAddress {
  engine: Engine;
  /** SQLite: the file (or :memory:). Servers: the URL as given. */
  target: string;
  /** Servers: the database name the URL selects. */
  database?: string;
}

/** Hide a password before a URL goes into an error or a log line. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export function parseStoreUrl(url: string, setting = 'TALLY_DB_URL'): StoreAddress {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!path) throw new StoreError(`${setting} "${url}" names no file (use sqlite:PATH or sqlite::memory:)`);
    return { engine: 'sqlite', target: path };
  }
  const scheme = /^([a-z]+):\/\//.exec(url)?.[1];
  const engine = scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : scheme === 'postgres' || scheme === 'postgresql' ? 'postgres' : undefined;
  if (!engine) throw new StoreError(`${setting} "${redactUrl(url)}" is not a database URL (expected sqlite:PATH, mysql://… or postgres://…)`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError(`${setting} "${redactUrl(url)}" is not a valid URL`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!parsed.hostname) throw new StoreError(`${setting} "${redactUrl(url)}" names no host`);
  if (!database || database.includes('/')) throw new StoreError(`${setting} "${redactUrl(url)}" names no database (…/DATABASE)`);
  return { engine, target: engine === 'mysql' ? url.replace(/^mariadb:/, 'mysql:') : url, database };
}

/** The same server URL naming another database on that server. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Run administrative statements (create or drop a database) on one connection
 * to a server, closed afterwards: an idle pool would keep a short-lived process
 * from exiting.
 */
export async function onServer<T>(url: string, work: (db: Kysely<unknown>) => Promise<T>): Promise<T> {
  const db = new Kysely<unknown>({ dialect: dialectFor(parseStoreUrl(url), 1) });
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

export function engineOf(db: { getExecutor(): { adapter: object } }): Engine {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof MysqlAdapter) return 'mysql';
  if (adapter instanceof PostgresAdapter) return 'postgres';
  return 'sqlite';
}

/** The query builder's dialect for an address, with each driver set so integers come back as numbers. */
export function dialectFor(address: StoreAddress, poolSize: number): Dialect {
  if (address.engine === 'mysql') {
    const pool = createPool({
      uri: address.target,
      connectionLimit: poolSize,
      // Sums and bigints as numbers: every amount is an integer of minor units well inside 2^53.
      decimalNumbers: true,
      supportBigNumbers: true,
      bigNumberStrings: false,
      // Affected rows must count rows changed, not rows matched: the versioned upsert reads its success from them.
      flags: ['-FOUND_ROWS'],
      charset: 'utf8mb4',
      connectTimeout: 5000,
    });
    return new MysqlDialect({ pool });
  }
  if (address.engine === 'postgres') {
    const pool = new pg.Pool({
      connectionString: address.target,
      max: poolSize,
      connectionTimeoutMillis: 5000,
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 || oid === 1700 ? toSafeInteger : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
    });
    // An idle connection the server dropped must not take the process down; the pool opens a new one on next use.
    pool.on('error', () => {});
    return new PostgresDialect({ pool });
  }
  const sqlite = new Database(address.target);
  // WAL lets readers run beside the writer; NORMAL sync is durable at each checkpoint and fast enough for batch commits.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  sqlite.defaultSafeIntegers(false);
  return new SqliteDialect({ database: withStatementCache(sqlite) });
}

/** bigint and numeric columns hold minor units and counts: numbers, refused if they would lose precision. */
function toSafeInteger(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new StoreError(`value ${text} does not fit a safe integer`);
  return n;
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
