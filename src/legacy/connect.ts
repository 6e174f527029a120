import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, MysqlAdapter, MysqlDialect, PostgresAdapter, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import type { LegacySchema } from './schema.ts';

/**
 * The legacy system's own connection. It shares nothing with Tally's store: the legacy is
 * the other side, and it reads its data the way it was written, decimals and local
 * timestamps as text, exactly as the database holds them.
 */
export type LegacyEngine = 'sqlite' | 'mysql' | 'postgres';

export class LegacyError extends Error {
  override name = 'LegacyError';
}

export interface LegacyDb {
  db: Kysely<LegacySchema>;
  engine: LegacyEngine;
  close(): Promise<void>;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export function legacyEngineOf(db: { getExecutor(): { adapter: object } }): LegacyEngine {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof MysqlAdapter) return 'mysql';
  if (adapter instanceof PostgresAdapter) return 'postgres';
  return 'sqlite';
}

/** Open a legacy database by URL: `sqlite:PATH`, `mysql://…` (its natural home) or `postgres://…`. */
export async function openLegacy(url: string, setting = '--url', opts: { onSqliteOpen?: (sqlite: Database.Database) => void; mustExist?: boolean } = {}): Promise<LegacyDb> {
  let db: Kysely<LegacySchema>;
  let engine: LegacyEngine;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (!file) throw new LegacyError(`${setting} "${url}" names no file (use sqlite:PATH)`);
    engine = 'sqlite';
    // A database read from must be there: opening a missing file would create an empty one and blame its schema.
    if (file !== ':memory:' && !existsSync(file)) {
      if (opts.mustExist) throw new LegacyError(`${setting}: there is no legacy database at ${file}`);
      mkdirSync(dirname(file), { recursive: true });
    }
    let sqlite: Database.Database;
    try {
      sqlite = new Database(file);
    } catch (err) {
      throw new LegacyError(`cannot open the legacy database ${file}: ${(err as Error).message}`);
    }
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    // SQL functions a caller needs inside its queries live on the connection, so it is handed over once here.
    opts.onSqliteOpen?.(sqlite);
    db = new Kysely({ dialect: new SqliteDialect({ database: sqlite }) });
  } else if (/^(mysql|mariadb):\/\//.test(url)) {
    engine = 'mysql';
    // Decimals and DATETIMEs as the server prints them: exact, and without a zone (they have none).
    const pool = createPool({ uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: 4, dateStrings: true, decimalNumbers: false, supportBigNumbers: true, bigNumberStrings: false, connectTimeout: 5000 });
    db = new Kysely({ dialect: new MysqlDialect({ pool }) });
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    engine = 'postgres';
    const text = (v: string) => v;
    const pool = new pg.Pool({
      connectionString: url, max: 4, connectionTimeoutMillis: 5000,
      // numeric (1700) and timestamp without time zone (1114) as text; int8 (20) as a number.
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 1700 || oid === 1114 ? text : oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
    });
    pool.on('error', () => {});
    db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  } else {
    throw new LegacyError(`${setting} "${redact(url)}" is not a database URL (expected sqlite:PATH, mysql://… or postgres://…)`);
  }
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw new LegacyError(`cannot reach the legacy database at ${redact(url)}: ${(err as Error).message}`);
  }
  return { db, engine, close: () => db.destroy() };
}
