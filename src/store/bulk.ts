import { sql, type Insertable, type Kysely } from 'kysely';
import type { Schema } from './schema.ts';

// SQLite allows 32,766 bound parameters per statement; stay well under it so one multi-row insert fits any table.
const maxParams = 30_000;

function chunks<T>(rows: T[], columns: number): T[][] {
  const size = Math.max(1, Math.floor(maxParams / Math.max(1, columns)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

// The builder cannot type a table chosen at run time; the row types are checked at each call site instead.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Multi-row insert that skips rows whose unique key exists: re-runs insert nothing twice. Returns rows inserted. */
export async function insertNew<T extends keyof Schema & string>(db: Kysely<Schema>, table: T, rows: Insertable<Schema[T]>[]): Promise<number> {
  let inserted = 0;
  if (!rows.length) return 0;
  for (const part of chunks(rows, Object.keys(rows[0]!).length)) {
    const res = await (db as AnyDb).insertInto(table as string).values(part).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    inserted += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
  return inserted;
}

/**
 * Multi-row insert-or-update on the given key. With `versioned`, an existing row is only
 * overwritten when the new row's version is exactly one above it (optimistic locking), so
 * the count written tells the caller whether someone else changed a row in the meantime.
 */
export async function upsert<T extends keyof Schema & string>(
  db: Kysely<Schema>,
  table: T,
  key: string[],
  rows: Insertable<Schema[T]>[],
  update: string[],
  versioned = false,
): Promise<number> {
  let written = 0;
  if (!rows.length) return 0;
  for (const part of chunks(rows, Object.keys(rows[0]!).length)) {
    const res = await (db as AnyDb)
      .insertInto(table as string)
      .values(part)
      .onConflict((oc) => {
        const set = oc.columns(key).doUpdateSet(Object.fromEntries(update.map((c) => [c, sql.ref(`excluded.${c}`)])));
        return versioned ? set.where(sql.ref(`${table}.version`), '=', sql`excluded.version - 1`) : set;
      })
      .executeTakeFirst();
    written += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
  return written;
}
