import { renameSync } from 'node:fs';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { quoteText, type ColumnType } from '../troubleshoot/parquet-writer.ts';
import { nullText, separator } from './row-checksum.ts';

/**
 * An archive file's rows staged in DuckDB until the file is written, each row handed over as
 * the one text the run has already made of it for its checksum (rowText: columns joined by the
 * unit separator, null as \N) and split back into its columns by DuckDB when the file is
 * written. One value crosses into DuckDB per row instead of one per column: a call per value
 * is most of what staging costs. A row whose text would not split back to the same values (a
 * text holding the separator or exactly \N) or that holds anything but text, numbers and
 * booleans is staged column by column instead, exactly as the Parquet writer stages (asText).
 * Both become the one Parquet file, each column cast from text to its declared type; the file
 * is written next to its final name and renamed into place (see parquet-writer.ts).
 */

const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A value whose String() is what the Parquet writer stages for it and splits back unchanged. */
function plain(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
      return v !== nullText && !v.includes(separator);
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'undefined':
      return true;
    default:
      return v === null;
  }
}

/** The Parquet writer's text for a value (see asText there): what a column-by-column row stages. */
function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

let staged = 0;

export class StagedFile {
  private packed: DuckDBAppender | undefined;
  private wide: DuckDBAppender | undefined;
  private readonly names: string[];
  private readonly stage = `archive_stage_${++staged}`;
  rows = 0;

  private constructor(
    private readonly duck: DuckDBConnection,
    private readonly path: string,
    private readonly columns: Readonly<Record<string, ColumnType>>,
  ) {
    this.names = Object.keys(columns);
  }

  /**
   * Staging tables for the file at `path` (absolute), in the writer's DuckDB: temporary, so rows
   * go to no write-ahead log, and spill to DuckDB's temporary folder beyond its memory limit.
   */
  static async open(duck: DuckDBConnection, path: string, columns: Readonly<Record<string, ColumnType>>): Promise<StagedFile> {
    const file = new StagedFile(duck, path, columns);
    await duck.run(`create temp table ${file.stage}_packed (line varchar)`);
    await duck.run(`create temp table ${file.stage}_wide (${file.names.map((n) => `${quoteId(n)} varchar`).join(', ')})`);
    file.packed = await duck.createAppender(`${file.stage}_packed`);
    file.wide = await duck.createAppender(`${file.stage}_wide`);
    return file;
  }

  /** One row, with its rowText over the file's columns in order. */
  append(row: Record<string, unknown>, text: string): void {
    let packable = true;
    for (const n of this.names) {
      if (!plain(row[n])) {
        packable = false;
        break;
      }
    }
    if (packable) {
      this.packed!.appendVarchar(text);
      this.packed!.endRow();
    } else {
      for (const n of this.names) {
        const t = asText(row[n]);
        if (t === null) this.wide!.appendNull();
        else this.wide!.appendVarchar(t);
      }
      this.wide!.endRow();
    }
    this.rows++;
  }

  /** Write the Parquet file (renamed into place once whole) and drop the staging tables. */
  async finish(): Promise<void> {
    this.packed!.closeSync();
    this.wide!.closeSync();
    const cast = (n: string, value: string) => `cast(${value} as ${this.columns[n]}) as ${quoteId(n)}`;
    const fromPacked = this.names.map((n, i) => cast(n, `nullif(p[${i + 1}], ${quoteText(nullText)})`)).join(', ');
    const fromWide = this.names.map((n) => cast(n, quoteId(n))).join(', ');
    const partial = `${this.path}.partial`;
    await this.duck.run(`copy (
      select ${fromPacked} from (select string_split(line, chr(${separator.charCodeAt(0)})) as p from ${this.stage}_packed)
      union all select ${fromWide} from ${this.stage}_wide
    ) to ${quoteText(partial)} (format parquet)`);
    await this.duck.run(`drop table ${this.stage}_packed`);
    await this.duck.run(`drop table ${this.stage}_wide`);
    renameSync(partial, this.path);
  }
}
