import { sql, type RawBuilder } from 'kysely';
import type { Key, KeyRange, Split } from './bisect.ts';
import type { ColumnShape, TableEngine } from './table-shape.ts';

/**
 * The SQL each engine runs for the compare: a column's canonical text (canonical-value.ts says
 * what it must be), a row's 64-bit hash, the XOR of a range's hashes, bucket numbers for a
 * split, and key-range predicates. On SQLite the canonical text and the hash come from
 * functions registered on the connection (sqlite-functions.ts), so the query still aggregates
 * inside the database.
 */
export interface SqlDialectOfCompare {
  engine: TableEngine;
  /** Compare text keys byte for byte rather than by the column's collation (the two engines' orders differ). */
  binaryKeyOrder: boolean;
  /**
   * Both sides PostgreSQL: hash rows with its built-in 64-bit hashtextextended, several times
   * cheaper than md5, which only matters for agreeing with another engine.
   */
  nativeHash?: boolean;
}

type Sql = RawBuilder<unknown>;

export const SQLITE_CANON = 'tally_compare_canon';
export const SQLITE_ROW_XOR = 'tally_compare_row_xor';

const col = (c: ColumnShape): Sql => sql.ref(c.name);

/** Canonical text of column `index` of the hashed columns. */
export function canonicalSql(d: SqlDialectOfCompare, c: ColumnShape, index: number): Sql {
  const v = col(c);
  if (d.engine === 'sqlite') return sql`${sql.raw(SQLITE_CANON)}(${v}, ${sql.lit(index)})`;
  if (d.engine === 'postgres') {
    switch (c.kind) {
      case 'decimal': return sql`trim_scale(${v})::text`;
      case 'boolean': return sql`${v}::int::text`;
      case 'timestamp': return c.zoned ? sql`(${v} at time zone 'UTC')::text` : sql`${v}::text`;
      case 'binary': return sql`encode(${v}, 'hex')`;
      default: return sql`${v}::text`;
    }
  }
  const trimFraction = (e: Sql) => sql`trim(trailing '.' from trim(trailing '0' from ${e}))`;
  switch (c.kind) {
    case 'decimal': return (c.scale ?? 0) > 0 ? trimFraction(sql`cast(${v} as char)`) : sql`cast(${v} as char)`;
    case 'timestamp': return (c.scale ?? 0) > 0 ? trimFraction(sql`cast(${v} as char)`) : sql`cast(${v} as char)`;
    case 'binary': return sql`lower(hex(${v}))`;
    case 'text': return c.convert ? sql`convert(${v} using utf8mb4)` : v;
    default: return sql`cast(${v} as char)`;
  }
}

/** The XOR of the 64-bit hashes of the rows of a group, as decimal text of the unsigned value (or a signed one, read modulo 2^64). */
export function rowXorSql(d: SqlDialectOfCompare, columns: ColumnShape[]): Sql {
  if (d.engine === 'sqlite') return sql`${sql.raw(SQLITE_ROW_XOR)}(${sql.join(columns.map(col))})`;
  if (d.engine === 'postgres') {
    const text = sql.join(columns.map((c, i) => sql`coalesce(${canonicalSql(d, c, i)}, chr(30))`), sql` || chr(31) || `);
    if (d.nativeHash) return sql`bit_xor(hashtextextended(${text}, 0))::text`;
    return sql`bit_xor(('x' || substr(md5(${text}), 1, 16))::bit(64)::bigint)::text`;
  }
  const text = sql`concat_ws(char(31 using utf8mb4), ${sql.join(columns.map((c, i) => sql`coalesce(${canonicalSql(d, c, i)}, char(30 using utf8mb4))`))})`;
  return sql`cast(bit_xor(cast(conv(substr(md5(${text}), 1, 16), 16, 10) as unsigned)) as char)`;
}

/** A key column as it is ordered and compared. */
function keyExpr(d: SqlDialectOfCompare, c: ColumnShape): Sql {
  if (!d.binaryKeyOrder || c.kind !== 'text') return col(c);
  if (d.engine === 'postgres') return sql`(${col(c)} collate "C")`;
  if (d.engine === 'mysql') return sql`(convert(${col(c)} using utf8mb4) collate utf8mb4_bin)`;
  return sql`(${col(c)} collate binary)`;
}

/** A key's canonical text as the parameter an engine compares the column with. */
function keyParam(c: ColumnShape, text: string): Sql {
  if (c.kind === 'integer' && /^-?\d+$/.test(text)) {
    // Inlined: SQLite would bind a JavaScript number as a REAL, and a bigint past 2^53 must stay exact.
    return sql.raw(String(BigInt(text)));
  }
  return sql`${text}`;
}

/** key < bound (strict) or key >= bound, lexicographically over the key columns. */
export function compareKey(d: SqlDialectOfCompare, keys: ColumnShape[], bound: Key, op: '<' | '>='): Sql {
  if (keys.length === 1) return sql`${keyExpr(d, keys[0]!)} ${sql.raw(op)} ${keyParam(keys[0]!, bound[0]!)}`;
  if (d.engine !== 'mysql') {
    return sql`(${sql.join(keys.map((c) => keyExpr(d, c)))}) ${sql.raw(op)} (${sql.join(keys.map((c, i) => keyParam(c, bound[i]!)))})`;
  }
  // MariaDB's range optimizer reads the expanded form, not a row comparison.
  const strict = op === '<' ? '<' : '>';
  const terms = keys.map((c, i) => {
    const equal = keys.slice(0, i).map((p, j) => sql`${keyExpr(d, p)} = ${keyParam(p, bound[j]!)}`);
    const last = i === keys.length - 1 ? op : strict;
    return sql.join([...equal, sql`${keyExpr(d, c)} ${sql.raw(last)} ${keyParam(c, bound[i]!)}`], sql` and `);
  });
  return sql`(${sql.join(terms.map((t) => sql`(${t})`), sql` or `)})`;
}

export function rangeSql(d: SqlDialectOfCompare, keys: ColumnShape[], range: KeyRange): Sql {
  const parts: Sql[] = [];
  if (range.lo) parts.push(compareKey(d, keys, range.lo, '>='));
  if (range.hi) parts.push(compareKey(d, keys, range.hi, '<'));
  return parts.length === 0 ? sql`1 = 1` : sql.join(parts, sql` and `);
}

export function orderSql(d: SqlDialectOfCompare, keys: ColumnShape[]): Sql {
  return sql.join(keys.map((c) => keyExpr(d, c)));
}

/**
 * The sub-range number (0-based) a row falls in. `even`: arithmetic on the integer key, the
 * first and last sub-ranges taking whatever lies outside; `points`: a binary search written as
 * nested CASEs (log2 of the points comparisons a row).
 */
export function bucketSql(d: SqlDialectOfCompare, keys: ColumnShape[], split: Split, offset = 0): Sql {
  if (split.kind === 'even') {
    const k = col(keys[0]!);
    const last = split.parts - 1;
    if (last === 0) return sql.lit(0);
    const div = d.engine === 'mysql' ? sql`(${k} - ${sql.raw(String(split.lo))}) div ${sql.raw(String(split.width))}`
      : d.engine === 'postgres' ? sql`(${k} - ${sql.raw(String(split.lo))}::bigint) / ${sql.raw(String(split.width))}::bigint`
        : sql`(${k} - ${sql.raw(String(split.lo))}) / ${sql.raw(String(split.width))}`;
    return sql`case when ${k} < ${sql.raw(String(split.lo + split.width))} then 0 when ${k} >= ${sql.raw(String(split.lo + BigInt(last) * split.width))} then ${sql.lit(last)} else ${div} end`;
  }
  const points = split.points;
  const search = (from: number, to: number): Sql => {
    if (from === to) return sql.lit(from + offset);
    const mid = (from + to) >> 1;
    return sql`case when ${compareKey(d, keys, points[mid]!, '<')} then ${search(from, mid)} else ${search(mid + 1, to)} end`;
  };
  return search(0, points.length);
}
