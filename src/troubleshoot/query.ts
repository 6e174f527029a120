import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection, type Json } from '@duckdb/node-api';
import { InvalidInput } from '../domain/errors.ts';
import { quoteText, type ColumnType } from './parquet-writer.ts';

export type QueryFormat = 'table' | 'csv' | 'json';
export const queryFormats: readonly QueryFormat[] = ['table', 'csv', 'json'];

/** Rows an aligned table shows unless --limit says otherwise: it must hold every row to size its columns. */
export const tableRowCap = 1000;

export interface QueryOutput {
  /** Write text; resolves when the stream can take more (a slow pipe holds the query back, not memory). */
  write(text: string): Promise<void>;
  note(line: string): void;
}

const integerTypes = new Set<DuckDBTypeId>([DuckDBTypeId.BIGINT, DuckDBTypeId.HUGEINT, DuckDBTypeId.UBIGINT, DuckDBTypeId.UHUGEINT]);
const numericTypes = new Set<DuckDBTypeId>([
  ...integerTypes, DuckDBTypeId.TINYINT, DuckDBTypeId.SMALLINT, DuckDBTypeId.INTEGER, DuckDBTypeId.UTINYINT, DuckDBTypeId.USMALLINT, DuckDBTypeId.UINTEGER,
  DuckDBTypeId.FLOAT, DuckDBTypeId.DOUBLE, DuckDBTypeId.DECIMAL,
]);

/** DuckDB's message up to its first blank line: the error and its hint, without the caret drawing under the SQL. */
function firstLines(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split(/\n\s*\n/)[0]!.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
}

/** The Parquet files of an export folder, by view name (the file's stem). */
export function exportViews(dir: string): Map<string, string> {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new InvalidInput('query', `no such folder ${dir}`, dir);
  }
  if (!isDir) throw new InvalidInput('query', `${dir} is not a folder`, dir);
  const files = readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort();
  if (!files.length) throw new InvalidInput('query', `${dir} holds no Parquet files (make them with tally export --country XX --to ${dir})`, dir);
  return new Map(files.map((f) => [basename(f, '.parquet'), resolve(join(dir, f))]));
}

/**
 * What one view reads: Parquet files, or rows handed over in memory. With `columns` the view has
 * exactly those columns, cast to their types, and is empty (not an error) when there are no files
 * yet. With `key`, a key found in several files is answered once, from the latest in the list.
 */
export type ViewSource =
  | { files: readonly string[]; columns?: Readonly<Record<string, ColumnType>>; key?: readonly string[] }
  | { rows: readonly Record<string, unknown>[]; columns: Readonly<Record<string, ColumnType>> };

const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`;

function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

async function createView(connection: DuckDBConnection, view: string, source: ViewSource, seq: number): Promise<void> {
  const name = quoteId(view);
  if ('rows' in source) {
    const names = Object.keys(source.columns);
    const stage = `__rows_${seq}`;
    await connection.run(`create table ${stage} (${names.map((n) => `${quoteId(n)} varchar`).join(', ')})`);
    const appender = await connection.createAppender(stage);
    for (const row of source.rows) {
      for (const n of names) {
        const text = asText(row[n]);
        if (text === null) appender.appendNull();
        else appender.appendVarchar(text);
      }
      appender.endRow();
    }
    appender.closeSync();
    await connection.run(`create view ${name} as select ${names.map((n) => `cast(${quoteId(n)} as ${source.columns[n]}) as ${quoteId(n)}`).join(', ')} from ${stage}`);
    return;
  }
  const { files, columns, key } = source;
  if (!columns) {
    await connection.run(`create view ${name} as select * from read_parquet(${files.length === 1 ? quoteText(files[0]!) : `[${files.map(quoteText).join(', ')}]`})`);
    return;
  }
  const names = Object.keys(columns);
  const typed = names.map((n) => `cast(${quoteId(n)} as ${columns[n]}) as ${quoteId(n)}`).join(', ');
  if (!files.length) {
    await connection.run(`create view ${name} as select ${names.map((n) => `cast(null as ${columns[n]}) as ${quoteId(n)}`).join(', ')} where false`);
    return;
  }
  const read = `read_parquet([${files.map(quoteText).join(', ')}]${key && files.length > 1 ? ', filename = true' : ''})`;
  if (!key || files.length < 2) {
    await connection.run(`create view ${name} as select ${typed} from ${read}`);
    return;
  }
  // Files are ranked by their place in the list; a key in two files is answered by the later one.
  const ranks = `__ranks_${seq}`;
  await connection.run(`create table ${ranks} as select * from (values ${files.map((f, i) => `(${quoteText(f)}, ${i})`).join(', ')}) r(filename, rank)`);
  await connection.run(`create view ${name} as select ${typed} from (
    select f.*, row_number() over (partition by ${key.map((k) => `f.${quoteId(k)}`).join(', ')} order by r.rank desc) as __answer
    from ${read} f join ${ranks} r on r.filename = f.filename) where __answer = 1`);
}

async function connectTo(views: ReadonlyMap<string, ViewSource>): Promise<{ connection: DuckDBConnection; close: () => void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const close = () => { connection.closeSync(); instance.closeSync(); };
  try {
    let seq = 0;
    for (const [view, source] of views) {
      try {
        await createView(connection, view, source, ++seq);
      } catch (err) {
        // A file gone or unreadable: named, one line, before any SQL of the user's runs.
        throw new InvalidInput('query', `view ${view}: ${firstLines(err)}`, view);
      }
    }
  } catch (err) {
    close();
    throw err;
  }
  return { connection, close };
}

function csvField(value: Json): string {
  if (value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function cell(value: Json): string {
  if (value === null) return 'NULL';
  // One row, one line: a newline inside a value would break the columns.
  return (typeof value === 'object' ? JSON.stringify(value) : String(value)).replace(/\r?\n/g, '\\n');
}

export interface QueryOptions {
  format: QueryFormat;
  limit?: number;
  /** The command named in notes (default `tally query`). */
  command?: string;
}

/** Run DuckDB SQL over an export folder, every Parquet file a view named by its stem. */
export function queryExport(dir: string, sqlText: string, opts: QueryOptions, out: QueryOutput): Promise<{ rows: number; more: boolean }> {
  return queryViews(new Map([...exportViews(dir)].map(([view, file]) => [view, { files: [file] }])), sqlText, opts, out);
}

/**
 * Run DuckDB SQL over named views of Parquet files (or rows given in memory). CSV and JSON Lines
 * stream chunk by chunk (all rows unless --limit); the aligned table holds its rows to size the
 * columns, so it shows at most --limit (default tableRowCap) and says what it left. Values are
 * DuckDB's JSON forms: decimals stay exact text, 64-bit integers become numbers when they fit a
 * double exactly. Bad SQL is InvalidInput (field `query`) with DuckDB's first lines.
 */
export async function queryViews(views: ReadonlyMap<string, ViewSource>, sqlText: string, opts: QueryOptions, out: QueryOutput): Promise<{ rows: number; more: boolean }> {
  const { connection, close } = await connectTo(views);
  try {
    let result;
    try {
      result = await connection.stream(sqlText);
    } catch (err) {
      throw new InvalidInput('query', firstLines(err), sqlText);
    }
    const names = result.deduplicatedColumnNames();
    const types = result.columnTypes().map((t) => t.typeId);
    const fix = (row: Json[]): Json[] => row.map((v, i) => (typeof v === 'string' && integerTypes.has(types[i]!) && Number.isSafeInteger(Number(v)) ? Number(v) : v));
    const cap = opts.limit ?? (opts.format === 'table' ? tableRowCap : Infinity);
    let rows = 0;
    let more = false;
    const held: string[][] = [];
    if (opts.format === 'csv') await out.write(`${names.map(csvField).join(',')}\n`);
    try {
      outer: for await (const chunk of result.yieldRowsJson()) {
        let text = '';
        for (const raw of chunk) {
          if (rows >= cap) {
            more = true;
            break outer;
          }
          const row = fix(raw);
          rows++;
          if (opts.format === 'csv') text += `${row.map(csvField).join(',')}\n`;
          else if (opts.format === 'json') text += `${JSON.stringify(Object.fromEntries(names.map((n, i) => [n, row[i]!])))}\n`;
          else held.push(row.map(cell));
        }
        if (text) await out.write(text);
      }
    } catch (err) {
      throw new InvalidInput('query', firstLines(err), sqlText);
    }
    if (opts.format === 'table') await out.write(alignedTable(names, held, types.map((t) => numericTypes.has(t))));
    if (more) out.note(`${opts.command ?? 'tally query'}: the first ${rows} rows shown; there are more (--limit N, or --format csv|json to stream them all)`);
    return { rows, more };
  } finally {
    close();
  }
}

function alignedTable(names: string[], rows: string[][], right: boolean[]): string {
  const widths = names.map((n, i) => Math.max(n.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const head = [line(names), widths.map((w) => '-'.repeat(w)).join('  ')];
  return `${[...head, ...rows.map(line)].join('\n')}\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
}
