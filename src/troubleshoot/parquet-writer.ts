import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';

/**
 * A column's type in the Parquet file. Declared, never inferred: a legacy DECIMAL(12,4) must
 * stay an exact decimal (not the double a number read from SQLite would suggest), a
 * YYYYMMDD text with impossible dates must stay text.
 */
export type ColumnType = 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'BOOLEAN' | 'DATE' | 'TIMESTAMP' | 'JSON' | `DECIMAL(${number},${number})`;

export type Columns<Row> = { [K in keyof Row]: ColumnType };

export interface ParquetTable {
  /** Append a page of rows (each column taken by name; absent is null). */
  append(rows: readonly Record<string, unknown>[]): void;
  /** Write the Parquet file and drop the staging rows; the row count written. */
  finish(): Promise<number>;
}

export interface ParquetWriter {
  table(file: string, columns: Record<string, ColumnType>): Promise<ParquetTable>;
  /** Run SQL in the writer's DuckDB (counting the rows of a Parquet file copied in, say). */
  connection: DuckDBConnection;
  close(): void;
}

const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`;
export const quoteText = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * Every value is staged as text and cast to its declared type only when the file is written:
 * the three engines hand the same column back as a number, a string or a bigint, and a cast
 * from text is exact for decimals, which a JavaScript number is not.
 */
function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/**
 * Pages of rows into Parquet files through DuckDB. Rows are staged in a DuckDB database on
 * disk (a scratch folder removed on close), so a country of any size costs DuckDB's buffer,
 * not the JavaScript heap; each file is written next to its final name and renamed into
 * place, so a killed export never leaves a half-written file that looks whole.
 */
export async function openParquetWriter(dir: string): Promise<ParquetWriter> {
  const scratch = mkdtempSync(join(dir, '.export-'));
  // DuckDB would otherwise size its buffer at most of the machine's memory; staged rows spill to the scratch file instead.
  const instance = await DuckDBInstance.create(join(scratch, 'staging.duckdb'), { memory_limit: '256MB' });
  const connection = await instance.connect();
  let staged = 0;

  return {
    connection,
    async table(file, columns) {
      const names = Object.keys(columns);
      const stage = `stage_${++staged}`;
      await connection.run(`create table ${stage} (${names.map((n) => `${quoteId(n)} varchar`).join(', ')})`);
      const appender: DuckDBAppender = await connection.createAppender(stage);
      let rows = 0;
      return {
        append(page) {
          for (const row of page) {
            for (const n of names) {
              const text = asText(row[n]);
              if (text === null) appender.appendNull();
              else appender.appendVarchar(text);
            }
            appender.endRow();
          }
          rows += page.length;
        },
        async finish() {
          appender.closeSync();
          const target = join(dir, file);
          const partial = `${target}.partial`;
          const select = names.map((n) => `cast(${quoteId(n)} as ${columns[n]}) as ${quoteId(n)}`).join(', ');
          await connection.run(`copy (select ${select} from ${stage}) to ${quoteText(partial)} (format parquet)`);
          await connection.run(`drop table ${stage}`);
          renameSync(partial, target);
          return rows;
        },
      };
    },
    close() {
      connection.closeSync();
      instance.closeSync();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
