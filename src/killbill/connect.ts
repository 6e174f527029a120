import { Kysely, MysqlAdapter, MysqlDialect, PostgresDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import type { KillBillSchema } from './schema.ts';

/**
 * A connection to a Kill Bill database, the other side of a migration: it shares nothing
 * with Tally's store and reads the data as Kill Bill wrote it. numeric(15,9) amounts come
 * back as exact text, datetimes as 'YYYY-MM-DD HH:MM:SS' (UTC, as Kill Bill stores them),
 * dates as 'YYYY-MM-DD', and booleans as booleans on both engines (MySQL's are tinyint(1)).
 */
export type KillBillEngine = 'mysql' | 'postgres';

export class KillBillError extends Error {
  override name = 'KillBillError';
}

export interface KillBillDb {
  db: Kysely<KillBillSchema>;
  engine: KillBillEngine;
  close(): Promise<void>;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export function killBillEngineOf(db: { getExecutor(): { adapter: object } }): KillBillEngine {
  return db.getExecutor().adapter instanceof MysqlAdapter ? 'mysql' : 'postgres';
}

// tinyint(1) is how MySQL spells boolean; every other column goes through mysql2's own conversion.
function mysqlBooleans(field: { type: string; length: number; string(): string | null }, next: () => unknown): unknown {
  if (field.type === 'TINY' && field.length === 1) {
    const v = field.string();
    return v === null ? null : v !== '0';
  }
  return next();
}

/** Open a Kill Bill database by URL: `mysql://…` / `mariadb://…` or `postgres://…`. */
export async function openKillBill(url: string, setting = '--from'): Promise<KillBillDb> {
  let db: Kysely<KillBillSchema>;
  let engine: KillBillEngine;
  if (/^(mysql|mariadb):\/\//.test(url)) {
    engine = 'mysql';
    const pool = createPool({
      uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: 4, connectTimeout: 5000,
      dateStrings: true, decimalNumbers: false, supportBigNumbers: true, bigNumberStrings: false, typeCast: mysqlBooleans,
      // Kill Bill's datetimes are UTC; a session in another zone would shift NOW() and any conversion.
      timezone: 'Z',
    });
    db = new Kysely({ dialect: new MysqlDialect({ pool }) });
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    engine = 'postgres';
    const text = (v: string) => v;
    const pool = new pg.Pool({
      connectionString: url, max: 4, connectionTimeoutMillis: 5000,
      // numeric (1700), timestamp without time zone (1114, also under Kill Bill's `datetime` domain) and date (1082) as text; int8 (20) as a number.
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 1700 || oid === 1114 || oid === 1082 ? text : oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
    });
    pool.on('error', () => {});
    db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  } else if (url.startsWith('sqlite:')) {
    throw new KillBillError(`${setting}: Kill Bill runs on MySQL/MariaDB or PostgreSQL, not SQLite (give a mysql://… or postgres://… URL)`);
  } else {
    throw new KillBillError(`${setting} "${redact(url)}" is not a Kill Bill database URL (expected mysql://…, mariadb://… or postgres://…)`);
  }
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw new KillBillError(`cannot reach the Kill Bill database at ${redact(url)}: ${(err as Error).message}`);
  }
  return { db, engine, close: () => db.destroy() };
}
