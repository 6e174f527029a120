import * as crypto from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import type { Engine } from '../store/engines.ts';

/**
 * One checksum of a set of rows, computed the same way from the hot rows as read from the store
 * (here, in JavaScript) and from the rows read back from a Parquet file (in DuckDB's SQL, below):
 * each row's columns as text in file order, null as \N, joined by the unit separator; the row's
 * MD5; the sum of the first 60 bits of every row's MD5. A sum does not depend on row order, so
 * the file may be written sorted differently from how the rows were read. The count rides along.
 */

export const separator = '\x1f';
export const nullText = '\\N';

export function rowText(row: Record<string, unknown>, columns: readonly string[]): string {
  let text = '';
  for (let i = 0; i < columns.length; i++) {
    const v = row[columns[i]!];
    if (i) text += separator;
    text += v === null || v === undefined ? nullText : String(v);
  }
  return text;
}

// The one-shot digest (Node ≥ 20.12) costs a third of a Hash object's per row; the object where it is missing.
const md5Hex: (text: string) => string = typeof (crypto as { hash?: unknown }).hash === 'function'
  ? (text) => crypto.hash('md5', text, 'hex')
  : (text) => crypto.createHash('md5').update(text).digest('hex');

/** The hash of a row's text (rowText): the first 60 bits of its MD5 (15 hex digits: DuckDB casts them to UBIGINT exactly). */
export function textHash(text: string): bigint {
  return BigInt(`0x${md5Hex(text).slice(0, 15)}`);
}

/** The first 60 bits of the row's MD5 (15 hex digits: DuckDB casts them to UBIGINT exactly). */
export function rowHash(row: Record<string, unknown>, columns: readonly string[]): bigint {
  return textHash(rowText(row, columns));
}

export class RowChecksum {
  count = 0;
  sum = 0n;
  add(hash: bigint): void {
    this.count++;
    this.sum += hash;
  }
  toString(): string {
    return `${this.count}:${this.sum}`;
  }
}

const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The same row hash as DuckDB SQL over a relation with these columns. */
export function duckRowHash(columns: readonly string[]): string {
  const parts = columns.map((c) => `coalesce(cast(${quoteId(c)} as varchar), '${nullText}')`);
  return `('0x' || substr(md5(concat_ws(chr(31), ${parts.join(', ')})), 1, 15))::UBIGINT`;
}

/** `count:sum` of a Parquet file's rows, read back with DuckDB: the figure compared with the hot rows'. */
export function duckChecksumSql(fileSql: string, columns: readonly string[]): string {
  return `select count(*)::varchar || ':' || coalesce(sum(${duckRowHash(columns)}), 0)::varchar as checksum from ${fileSql}`;
}

/**
 * The same row hash computed by the store itself over a table aliased `alias`, as the 15 hex
 * digits: MySQL/MariaDB and PostgreSQL write an integer or a text as text exactly as the row's
 * text does here (the classes archive only those), so a row can be compared with a file's without
 * being fetched whole. None on SQLite, which has no MD5: its rows are hashed here (rowHash).
 */
export function storeRowHash(engine: Engine, alias: string, columns: readonly string[]): RawBuilder<string> | undefined {
  if (engine === 'sqlite') return undefined;
  const text = (c: string) => (engine === 'postgres' ? sql`${sql.ref(`${alias}.${c}`)}::text` : sql.ref(`${alias}.${c}`));
  const parts = columns.map((c) => sql`coalesce(${text(c)}, ${nullText})`);
  const glue = engine === 'postgres' ? sql`chr(${separator.charCodeAt(0)})` : sql`${separator}`;
  return sql<string>`substr(md5(concat_ws(${glue}, ${sql.join(parts)})), 1, 15)`;
}
