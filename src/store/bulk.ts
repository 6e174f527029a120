import { CompiledQuery, sql, type Insertable, type Kysely } from 'kysely';
import { engineOf } from './engines.ts';
import type { Schema } from './schema.ts';

// SQLite allows 32,766 bound parameters per statement; stay well under it so one multi-row insert fits any table.
const maxParams = 30_000;
const maxCachedTexts = 256;

function chunks<T>(rows: T[], columns: number): T[][] {
  const size = Math.max(1, Math.floor(maxParams / Math.max(1, columns)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

// The builder cannot type a table chosen at run time; the row types are checked at each call site instead.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

type Mode = { kind: 'plain' } | { kind: 'ignore' } | { kind: 'upsert'; key: string[]; update: string[]; versioned: boolean };

// Compiled SQL per (table, columns, row count, conflict rule). Building a 2,000-row insert
// through the query builder's tree costs more than executing it; the text is the same every
// time, so build it once with placeholders and bind fresh values.
// Keyed by the dialect adapter (shared by a database and its transactions): the SQL text is dialect-specific.
const compiledByDb = new WeakMap<object, Map<string, string>>();
const readsByDb = new WeakMap<object, Map<string, string>>();

/** A database's own cache of statement texts (shared with its transactions, which share its adapter). */
function textsOf(cache: WeakMap<object, Map<string, string>>, db: Kysely<Schema>): Map<string, string> {
  const adapter = db.getExecutor().adapter;
  let texts = cache.get(adapter);
  if (!texts) cache.set(adapter, (texts = new Map()));
  return texts;
}

function insertSql(db: Kysely<Schema>, table: string, columns: string[], rows: number, mode: Mode): string {
  const cacheKey = `${table}|${columns.join(',')}|${rows}|${JSON.stringify(mode)}`;
  const compiled = textsOf(compiledByDb, db);
  let text = compiled.get(cacheKey);
  if (text === undefined) {
    const blank = Object.fromEntries(columns.map((c) => [c, null]));
    const q = (db as AnyDb).insertInto(table).values(Array.from({ length: rows }, () => blank));
    text = (engineOf(db) === 'mysql' ? onDuplicateKey(q, columns, mode) : onConflict(q, table, mode)).compile().sql as string;
    // Jobs write fixed-size chunks, a few texts in all; a migration writes pages of every size, a
    // text (tens of kilobytes) per table and row count: bounded, the cache cannot grow with the run.
    if (compiled.size >= maxCachedTexts) compiled.clear();
    compiled.set(cacheKey, text);
  }
  return text;
}

type Insert = ReturnType<AnyDb['insertInto']> extends { values(v: unknown): infer Q } ? Q : never;

/** SQLite and PostgreSQL: skip a row whose key exists, or update it (if its version is the one read). */
function onConflict(q: Insert, table: string, mode: Mode) {
  if (mode.kind === 'plain') return q;
  if (mode.kind === 'ignore') return q.onConflict((oc) => oc.doNothing());
  return q.onConflict((oc) => {
    const set = oc.columns(mode.key).doUpdateSet(Object.fromEntries(mode.update.map((c) => [c, sql.ref(`excluded.${c}`)])));
    return mode.versioned ? set.where(sql.ref(`${table}.version`), '=', sql`excluded.version - 1`) : set;
  });
}

/**
 * MySQL/MariaDB have no conditional conflict clause. A key column set to itself
 * skips the row (INSERT IGNORE would also swallow truncation and NULL errors);
 * a versioned update guards every column with IF(...), the version column last,
 * because MySQL assigns left to right and later guards must see the old version.
 */
function onDuplicateKey(q: Insert, columns: string[], mode: Mode) {
  if (mode.kind === 'plain') return q;
  if (mode.kind === 'ignore') return q.onDuplicateKeyUpdate({ [columns[0]!]: sql.ref(columns[0]!) });
  const guard = (c: string) => (mode.versioned ? sql`if(${sql.ref('version')} = values(${sql.ref('version')}) - 1, values(${sql.ref(c)}), ${sql.ref(c)})` : sql`values(${sql.ref(c)})`);
  const order = mode.versioned ? [...mode.update.filter((c) => c !== 'version'), 'version'] : mode.update;
  return q.onDuplicateKeyUpdate(Object.fromEntries(order.map((c) => [c, guard(c)])));
}

/**
 * Rows written, from the driver's affected-row count. MySQL counts an inserted
 * row once and an updated row twice (and an unchanged one not at all); a versioned
 * row at version 1 is new, any other is an update, so all were written exactly
 * when the count is the sum of those.
 */
function rowsWritten(db: Kysely<Schema>, part: Record<string, unknown>[], affected: number, mode: Mode): number {
  if (engineOf(db) !== 'mysql' || mode.kind !== 'upsert') return affected;
  if (!mode.versioned) return part.length;
  const expected = part.reduce((sum, r) => sum + (r.version === 1 ? 1 : 2), 0);
  return affected === expected ? part.length : Math.min(part.length - 1, affected);
}

/**
 * PostgreSQL: one statement for any number of rows, one array parameter per
 * column (INSERT … SELECT FROM unnest). A VALUES list with tens of thousands of
 * parameters costs PostgreSQL more to parse and plan than to execute, anew for
 * every chunk; this text is the same for every chunk size and cached.
 */
async function writeColumns(db: Kysely<Schema>, table: string, columns: string[], rows: Record<string, unknown>[], mode: Mode): Promise<number> {
  const compiled = textsOf(compiledByDb, db);
  const cacheKey = `unnest|${table}|${columns.join(',')}|${JSON.stringify(mode)}`;
  let text = compiled.get(cacheKey);
  if (text === undefined) {
    const types = await arrayTypes(db, table);
    const arrays = columns.map((c, i) => sql.raw(`$${i + 1}::${types.get(c) ?? 'text'}[]`));
    const q = (db as AnyDb).insertInto(table).columns(columns).expression(sql`select * from unnest(${sql.join(arrays)})`) as unknown as Insert;
    text = onConflict(q, table, mode).compile().sql as string;
    compiled.set(cacheKey, text);
  }
  const params = columns.map((c) => rows.map((r) => r[c] ?? null));
  const res = await db.executeQuery(CompiledQuery.raw(text, params));
  return Number(res.numAffectedRows ?? 0);
}

// Types a text value does not convert to on assignment (text does to varchar and char): their arrays are typed as the column.
const typedArrays = new Set(['bigint', 'integer', 'smallint', 'numeric', 'date', 'timestamp without time zone', 'timestamp with time zone', 'double precision', 'real', 'boolean']);

/** Each column's type as an array element type: an all-NULL text array would not convert to a bigint column. */
async function arrayTypes(db: Kysely<Schema>, table: string): Promise<Map<string, string>> {
  const { rows } = await sql<{ name: string; type: string }>`select column_name as name, data_type as type from information_schema.columns where table_name = ${table} and table_schema = current_schema()`.execute(db);
  return new Map(rows.map((r) => [r.name, typedArrays.has(r.type) ? r.type : 'text']));
}

async function writeRows(db: Kysely<Schema>, table: string, rows: Record<string, unknown>[], mode: Mode): Promise<number> {
  if (!rows.length) return 0;
  const columns = Object.keys(rows[0]!);
  if (engineOf(db) === 'postgres') return writeColumns(db, table, columns, rows, mode);
  let written = 0;
  for (const part of chunks(rows, columns.length)) {
    const params: unknown[] = new Array(part.length * columns.length);
    let n = 0;
    for (const row of part) for (const c of columns) params[n++] = row[c];
    const res = await db.executeQuery(CompiledQuery.raw(insertSql(db, table, columns, part.length, mode), params));
    written += rowsWritten(db, part, Number(res.numAffectedRows ?? 0), mode);
  }
  return written;
}

/** Multi-row insert of rows that must all be new (a duplicate key fails the statement). Returns rows inserted. */
export async function insertRows<T extends keyof Schema & string>(db: Kysely<Schema>, table: T, rows: Insertable<Schema[T]>[]): Promise<number> {
  return writeRows(db, table, rows as Record<string, unknown>[], { kind: 'plain' });
}

/** Multi-row insert that skips rows whose unique key exists: re-runs insert nothing twice. Returns rows inserted. */
export async function insertNew<T extends keyof Schema & string>(db: Kysely<Schema>, table: T, rows: Insertable<Schema[T]>[]): Promise<number> {
  return writeRows(db, table, rows as Record<string, unknown>[], { kind: 'ignore' });
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
  return writeRows(db, table, rows as Record<string, unknown>[], { kind: 'upsert', key, update, versioned });
}

/**
 * A hot read's SQL, compiled once: the builder runs the first time only (and must
 * produce exactly `params`, in order); later calls get the cached text to bind new
 * values to. For per-request reads where building the query costs as much as running it.
 */
export function readSql(db: Kysely<Schema>, key: string, params: readonly unknown[], build: () => { compile(): CompiledQuery<unknown> }): string {
  const reads = textsOf(readsByDb, db);
  let text = reads.get(key);
  if (text === undefined) {
    const compiledQuery = build().compile();
    if (JSON.stringify(compiledQuery.parameters) !== JSON.stringify(params)) {
      throw new Error(`cached read ${key}: parameters ${JSON.stringify(params)} do not match the query's ${JSON.stringify(compiledQuery.parameters)}`);
    }
    text = compiledQuery.sql;
    reads.set(key, text);
  }
  return text;
}

/** Run a hot read (see readSql) on `db`, inside its transaction if it is one. */
export async function cachedRead<R>(db: Kysely<Schema>, key: string, params: readonly unknown[], build: () => { compile(): CompiledQuery<R> }): Promise<R[]> {
  return (await db.executeQuery<R>(CompiledQuery.raw(readSql(db, key, params, build), [...params]))).rows;
}

/**
 * Insert one row and return its generated id. PostgreSQL reports a new key only
 * through RETURNING, which MySQL 8 lacks; the others report it as the insert id.
 */
export async function insertReturningId<T extends keyof Schema & string>(db: Kysely<Schema>, table: T, row: Insertable<Schema[T]>): Promise<number> {
  const insert = (db as AnyDb).insertInto(table).values(row);
  if (engineOf(db) === 'postgres') return Number((await insert.returning('id').executeTakeFirstOrThrow()).id);
  return Number((await insert.executeTakeFirstOrThrow()).insertId);
}

