import { sql, type Kysely } from 'kysely';
import type { ColumnKind } from './canonical-value.ts';

export type TableEngine = 'sqlite' | 'mysql' | 'postgres';

/** A column as the compare needs it: how its values become canonical text on its engine. */
export interface ColumnShape {
  name: string;
  /** The type as the engine declares it (for messages). */
  type: string;
  kind: ColumnKind;
  /** Decimals: digits after the point. Timestamps: fractional-second digits. */
  scale?: number;
  /** PostgreSQL timestamptz / MySQL TIMESTAMP: rendered in UTC. */
  zoned?: boolean;
  /** MySQL text in a character set other than UTF-8: converted before hashing so the bytes agree. */
  convert?: boolean;
}

export interface TableShape {
  columns: ColumnShape[];
  primaryKey: string[];
}

/** A table that is not there, or a column it does not have: bad input, not a failure. */
export class TableShapeError extends Error {
  override name = 'TableShapeError';
}

function kindOf(type: string): ColumnKind {
  const t = type.toLowerCase();
  if (/bool/.test(t) || t === 'tinyint(1)' || t === 'bit(1)') return 'boolean';
  if (/int|serial/.test(t)) return 'integer';
  if (/dec|numeric|money/.test(t)) return 'decimal';
  if (/real|floa|doub/.test(t)) return 'float';
  if (/^date$/.test(t)) return 'date';
  if (/timestamp|datetime/.test(t)) return 'timestamp';
  if (/blob|bytea|binary/.test(t)) return 'binary';
  return 'text';
}

function scaleOf(type: string): number | undefined {
  const m = /\(\s*\d+\s*,\s*(\d+)\s*\)/.exec(type);
  return m ? Number(m[1]) : undefined;
}

/** Columns and primary key of a table, or TableShapeError naming it if there is no such table. */
export async function tableShape(db: Kysely<unknown>, engine: TableEngine, table: string): Promise<TableShape> {
  let columns: ColumnShape[];
  let primaryKey: string[];
  if (engine === 'sqlite') {
    const rows = (await sql<{ name: string; type: string; pk: number }>`select name, type, pk from pragma_table_info(${table})`.execute(db)).rows;
    columns = rows.map((r) => ({ name: r.name, type: r.type, kind: kindOf(r.type), scale: scaleOf(r.type) }));
    primaryKey = rows.filter((r) => r.pk > 0).sort((a, b) => a.pk - b.pk).map((r) => r.name);
  } else if (engine === 'mysql') {
    const rows = (await sql<{ name: string; data_type: string; column_type: string; scale: number | null; fsp: number | null; charset: string | null }>`
      select column_name as name, data_type, column_type, numeric_scale as scale, datetime_precision as fsp, character_set_name as charset
      from information_schema.columns where table_schema = database() and table_name = ${table} order by ordinal_position`.execute(db)).rows;
    columns = rows.map((r) => {
      const kind = kindOf(r.column_type === 'tinyint(1)' ? 'tinyint(1)' : r.data_type);
      return {
        name: r.name, type: r.column_type, kind: kind === 'boolean' ? 'integer' : kind,
        scale: kind === 'timestamp' ? Number(r.fsp ?? 0) : r.scale === null ? undefined : Number(r.scale),
        zoned: r.data_type.toLowerCase() === 'timestamp',
        convert: kind === 'text' && r.charset !== null && !/^(utf8|utf8mb3|utf8mb4|ascii)$/i.test(r.charset),
      };
    });
    primaryKey = (await sql<{ name: string }>`
      select column_name as name from information_schema.key_column_usage
      where table_schema = database() and table_name = ${table} and constraint_name = 'PRIMARY' order by ordinal_position`.execute(db)).rows.map((r) => r.name);
  } else {
    const [schema, name] = table.includes('.') ? table.split('.', 2) as [string, string] : [undefined, table];
    const rows = (await sql<{ name: string; data_type: string; scale: number | null }>`
      select column_name as name, data_type, numeric_scale as scale from information_schema.columns
      where table_schema = coalesce(${schema ?? null}, current_schema()) and table_name = ${name} order by ordinal_position`.execute(db)).rows;
    columns = rows.map((r) => ({
      name: r.name, type: r.data_type, kind: kindOf(r.data_type), scale: r.scale === null ? undefined : Number(r.scale),
      zoned: r.data_type === 'timestamp with time zone',
    }));
    primaryKey = columns.length === 0 ? [] : (await sql<{ name: string }>`
      select a.attname as name from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = ${sql.lit(quotePgName(schema, name))}::regclass and i.indisprimary
      order by array_position(i.indkey::int2[], a.attnum)`.execute(db)).rows.map((r) => r.name);
  }
  if (columns.length === 0) throw new TableShapeError(`no table "${table}"`);
  return { columns, primaryKey };
}

function quotePgName(schema: string | undefined, name: string): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return schema ? `${q(schema)}.${q(name)}` : q(name);
}
