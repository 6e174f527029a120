import { sql, type Kysely } from 'kysely';
import { subRanges, type Key, type KeyRange, type LeafRow, type RangeChecksummer, type RangeSum, type Split } from './bisect.ts';
import { bucketSql, canonicalSql, orderSql, rangeSql, rowXorSql, type SqlDialectOfCompare } from './checksum-sql.ts';
import type { ColumnShape } from './table-shape.ts';

export interface ComparedTable {
  name: string;
  /** The key columns, in key order. */
  keys: ColumnShape[];
  /** Every column a row's checksum covers: the key columns first, then the compared ones. */
  hashed: ColumnShape[];
  /** A single integer key on both sides: split by arithmetic rather than by quantiles. */
  evenSplits: boolean;
}

/** Kept under the engines' 65,535 parameters a statement, and the nested CASE shallow. */
const maxBucketsPerQuery = 1024;

/** One side's table as the bisection sees it: every checksum is an aggregate computed by the database. */
export function sqlRangeChecksummer(db: Kysely<unknown>, d: SqlDialectOfCompare, t: ComparedTable): RangeChecksummer {
  const table = sql.table(t.name);
  const keyCount = t.keys.length;
  const canonicalKeys = sql.join(t.keys.map((c, i) => sql`${canonicalSql(d, c, i)} as ${sql.id(`k${i}`)}`));

  async function sums(range: KeyRange, split: Split, offset: number, out: RangeSum[]): Promise<void> {
    const rows = (await sql<{ b: number | string; n: number | string; h: string | null }>`
      select ${bucketSql(d, t.keys, split, offset)} as b, count(*) as n, ${rowXorSql(d, t.hashed)} as h
      from ${table} where ${rangeSql(d, t.keys, range)} group by 1`.execute(db)).rows;
    for (const r of rows) {
      out[Number(r.b)] = { count: Number(r.n), hash: BigInt.asUintN(64, BigInt(r.h ?? '0')).toString() };
    }
  }

  return {
    async count(range) {
      const row = (await sql<{ n: number | string }>`select count(*) as n from ${table} where ${rangeSql(d, t.keys, range)}`.execute(db)).rows[0];
      return Number(row?.n ?? 0);
    },

    async split(range, rows, parts) {
      if (t.evenSplits) {
        const k = sql.ref(t.keys[0]!.name);
        const text = sql.raw(d.engine === 'mysql' ? 'char' : 'text');
        const r = (await sql<{ lo: string | null; hi: string | null }>`
          select cast(min(${k}) as ${text}) as lo, cast(max(${k}) as ${text}) as hi from ${table} where ${rangeSql(d, t.keys, range)}`.execute(db)).rows[0];
        if (r?.lo != null && r.hi != null) {
          const lo = BigInt(r.lo);
          const span = BigInt(r.hi) - lo + 1n;
          // Sparse keys would leave most arithmetic sub-ranges empty and the rest uneven: quantiles then.
          if (span <= BigInt(rows) * 16n) {
            const width = (span + BigInt(parts) - 1n) / BigInt(parts);
            return { kind: 'even', lo, width: width < 1n ? 1n : width, parts: Number((span + width - 1n) / width) };
          }
        }
      }
      const step = Math.max(1, Math.floor(rows / parts));
      const keyNames = sql.join(t.keys.map((c) => sql.ref(c.name)));
      const found = (await sql<Record<string, string>>`
        select ${canonicalKeys} from (
          select ${keyNames}, row_number() over (order by ${orderSql(d, t.keys)}) as rn
          from ${table} where ${rangeSql(d, t.keys, range)}
        ) q where rn % ${sql.lit(step)} = 0 order by rn`.execute(db)).rows;
      return { kind: 'points', points: found.map((r) => Array.from({ length: keyCount }, (_, i) => String(r[`k${i}`]))) };
    },

    async checksums(range, split) {
      const count = subRanges(range, split).length;
      const out: RangeSum[] = Array.from({ length: count }, () => ({ count: 0, hash: '0' }));
      if (split.kind === 'even' || split.points.length < maxBucketsPerQuery) {
        await sums(range, split, 0, out);
        return out;
      }
      // A long list of points in chunks: each query an index range of the key with its own CASE.
      const per = Math.min(maxBucketsPerQuery, Math.floor(30_000 / keyCount));
      const points = split.points;
      for (let first = 0; first < count; first += per) {
        const last = Math.min(count, first + per) - 1;
        const chunk: KeyRange = { lo: first === 0 ? range.lo : points[first - 1], hi: last === count - 1 ? range.hi : points[last] };
        await sums(chunk, { kind: 'points', points: points.slice(first, last) }, first, out);
      }
      return out;
    },

    async rows(ranges) {
      if (ranges.length === 0) return [];
      const values = sql.join(t.hashed.slice(keyCount).map((c, i) => sql`${canonicalSql(d, c, i + keyCount)} as ${sql.id(`v${i}`)}`));
      const columns = t.hashed.length > keyCount ? sql`${canonicalKeys}, ${values}` : canonicalKeys;
      const where = sql.join(ranges.map((r) => sql`(${rangeSql(d, t.keys, r)})`), sql` or `);
      const rows = (await sql<Record<string, string | null>>`select ${columns} from ${table} where ${where}`.execute(db)).rows;
      return rows.map((r): LeafRow => ({
        key: Array.from({ length: keyCount }, (_, i) => String(r[`k${i}`])) as Key,
        values: t.hashed.slice(keyCount).map((_, i) => r[`v${i}`] ?? null),
      }));
    },
  };
}
