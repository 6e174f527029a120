import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { openLegacy, type LegacyDb } from '../../legacy/connect.ts';
import { bisect, type BisectOptions, type RowDifference } from './bisect.ts';
import type { SqlDialectOfCompare } from './checksum-sql.ts';
import { registerCompareFunctions } from './sqlite-functions.ts';
import { sqlRangeChecksummer, type ComparedTable } from './sql-range-checksummer.ts';
import { tableShape, TableShapeError, type ColumnShape, type TableEngine, type TableShape } from './table-shape.ts';

/** Bad input: an unknown table or column, an unreachable database. One line, exit 2. */
export class CompareTablesInputError extends Error {
  override name = 'CompareTablesInputError';
}

export interface CompareTablesOptions {
  left: string;
  right: string;
  table: string;
  /** Key columns; default: the left table's primary key. */
  key?: string[];
  /** Compared columns besides the key; default: every column both sides have. */
  columns?: string[];
  bisect?: BisectOptions;
}

export type TableKeyValue = string | number | null;

export interface TableDifference {
  kind: 'inserted' | 'updated' | 'deleted';
  key: Record<string, TableKeyValue>;
  /** Updated: the compared columns whose values differ, with both canonical values. */
  columns?: Record<string, { left: string | null; right: string | null }>;
}

export interface CompareTablesResult {
  table: string;
  left: { engine: TableEngine; rows: number };
  right: { engine: TableEngine; rows: number };
  key: string[];
  columns: string[];
  onlyLeftColumns: string[];
  onlyRightColumns: string[];
  inserted: number;
  updated: number;
  deleted: number;
  /** Every difference, in key order. */
  differences: TableDifference[];
  rowsCompared: number;
  rangesChecksummed: number;
  rowsFetched: number;
  levels: number;
  seconds: number;
}

async function open(url: string, side: string, columns: () => ColumnShape[]): Promise<LegacyDb> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    // Opening a missing file would create an empty database and report every row deleted.
    if (file !== ':memory:' && !existsSync(file)) throw new CompareTablesInputError(`--${side}: no SQLite database at ${file}`);
  }
  try {
    return await openLegacy(url, `--${side}`, { onSqliteOpen: (db) => registerCompareFunctions(db, columns) });
  } catch (err) {
    const message = (err as Error).message.replace(/the legacy database/, 'the database');
    throw new CompareTablesInputError(message.startsWith(`--${side}`) ? message : `--${side}: ${message}`);
  }
}

/** Reserve one connection and set what the canonical texts rely on: UTC for zoned timestamps, ISO dates. */
async function onOneConnection<T>(conn: LegacyDb, work: (db: Kysely<unknown>) => Promise<T>): Promise<T> {
  const db = conn.db as unknown as Kysely<unknown>;
  if (conn.engine === 'sqlite') return work(db);
  return db.connection().execute(async (c) => {
    if (conn.engine === 'postgres') {
      for (const setting of [sql`set timezone = 'UTC'`, sql`set datestyle = 'ISO, YMD'`, sql`set extra_float_digits = 1`]) await setting.execute(c);
    }
    else await sql`set time_zone = '+00:00'`.execute(c);
    return work(c);
  });
}

async function shapeOf(conn: LegacyDb, side: string, table: string): Promise<TableShape> {
  try {
    return await tableShape(conn.db as unknown as Kysely<unknown>, conn.engine, table);
  } catch (err) {
    if (err instanceof TableShapeError) throw new CompareTablesInputError(`--${side}: ${err.message}`);
    throw err;
  }
}

const lower = (s: string) => s.toLowerCase();

function pick(shape: TableShape, name: string): ColumnShape | undefined {
  return shape.columns.find((c) => c.name === name) ?? shape.columns.find((c) => lower(c.name) === lower(name));
}

/**
 * SQLite keeps whatever was inserted, so its values are read the way the other side types the
 * column (a DECIMAL(12,4) there makes 12.34 here '12.34', a DATETIME makes an ISO text a timestamp).
 */
function asPartner(own: ColumnShape, partner: ColumnShape, ownEngine: TableEngine, partnerEngine: TableEngine): ColumnShape {
  if (ownEngine !== 'sqlite' || partnerEngine === 'sqlite') return own;
  return { ...own, kind: partner.kind, scale: partner.kind === 'decimal' ? partner.scale : undefined };
}

function keyValue(c: ColumnShape, text: string): TableKeyValue {
  if (c.kind === 'integer' && /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  return text;
}

export async function compareTables(options: CompareTablesOptions): Promise<CompareTablesResult> {
  const started = performance.now();
  let leftHashed: ColumnShape[] = [];
  let rightHashed: ColumnShape[] = [];
  const left = await open(options.left, 'left', () => leftHashed);
  try {
    const right = await open(options.right, 'right', () => rightHashed);
    try {
      return await onOneConnection(left, (leftDb) => onOneConnection(right, async (rightDb) => {
        const [ls, rs] = [await shapeOf(left, 'left', options.table), await shapeOf(right, 'right', options.table)];
        const keyNames = options.key ?? ls.primaryKey;
        if (keyNames.length === 0) throw new CompareTablesInputError(`table "${options.table}" has no primary key on the left: name the key columns with --key`);
        for (const [shape, side] of [[ls, 'left'], [rs, 'right']] as const) {
          const missing = keyNames.filter((k) => !pick(shape, k));
          if (missing.length > 0) throw new CompareTablesInputError(`--${side}: table "${options.table}" has no key column ${missing.map((m) => `"${m}"`).join(', ')}`);
        }
        const onlyLeftColumns = ls.columns.filter((c) => !pick(rs, c.name)).map((c) => c.name);
        const onlyRightColumns = rs.columns.filter((c) => !pick(ls, c.name)).map((c) => c.name);
        const isKey = (name: string) => keyNames.some((k) => lower(k) === lower(name));
        let compared: string[];
        if (options.columns) {
          for (const [shape, side] of [[ls, 'left'], [rs, 'right']] as const) {
            const missing = options.columns.filter((c) => !pick(shape, c));
            if (missing.length > 0) throw new CompareTablesInputError(`--${side}: table "${options.table}" has no column ${missing.map((m) => `"${m}"`).join(', ')}`);
          }
          compared = options.columns.filter((c) => !isKey(c));
        } else {
          compared = ls.columns.filter((c) => pick(rs, c.name) && !isKey(c.name)).map((c) => c.name);
        }
        const names = [...keyNames, ...compared];
        leftHashed = names.map((n) => asPartner(pick(ls, n)!, pick(rs, n)!, left.engine, right.engine));
        rightHashed = names.map((n) => asPartner(pick(rs, n)!, pick(ls, n)!, right.engine, left.engine));
        const keyCount = keyNames.length;
        const evenSplits = keyCount === 1 && leftHashed[0]!.kind === 'integer' && rightHashed[0]!.kind === 'integer';
        // Two copies on the same engine order text keys alike; across engines only byte order is common to both.
        const binaryKeyOrder = left.engine !== right.engine;
        const side = (db: Kysely<unknown>, engine: TableEngine, hashed: ColumnShape[]) => {
          const d: SqlDialectOfCompare = { engine, binaryKeyOrder, nativeHash: left.engine === 'postgres' && right.engine === 'postgres' };
          const t: ComparedTable = { name: options.table, keys: hashed.slice(0, keyCount), hashed, evenSplits };
          return sqlRangeChecksummer(db, d, t);
        };
        const result = await bisect(side(leftDb, left.engine, leftHashed), side(rightDb, right.engine, rightHashed), options.bisect);
        const differences = result.differences.map((d) => tableDifference(d, leftHashed, names, keyCount));
        const count = (kind: TableDifference['kind']) => differences.filter((d) => d.kind === kind).length;
        const inserted = count('inserted');
        return {
          table: options.table,
          left: { engine: left.engine, rows: result.leftRows },
          right: { engine: right.engine, rows: result.rightRows },
          key: keyNames,
          columns: compared,
          onlyLeftColumns,
          onlyRightColumns,
          inserted,
          updated: count('updated'),
          deleted: count('deleted'),
          differences,
          rowsCompared: result.leftRows + inserted,
          rangesChecksummed: result.rangesChecksummed,
          rowsFetched: result.rowsFetched,
          levels: result.levels,
          seconds: Math.round(performance.now() - started) / 1000,
        };
      }));
    } finally {
      await right.close();
    }
  } finally {
    await left.close();
  }
}

function tableDifference(d: RowDifference, hashed: ColumnShape[], names: string[], keyCount: number): TableDifference {
  const key = Object.fromEntries(names.slice(0, keyCount).map((n, i) => [n, keyValue(hashed[i]!, d.key[i]!)]));
  if (d.kind !== 'updated') return { kind: d.kind, key };
  const columns = Object.fromEntries((d.columns ?? []).map((i) => [names[keyCount + i]!, { left: d.left?.[i] ?? null, right: d.right?.[i] ?? null }]));
  return { kind: d.kind, key, columns };
}

