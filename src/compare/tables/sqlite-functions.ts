import type Database from 'better-sqlite3';
import { canonicalValue, rowHash, rowText } from './canonical-value.ts';
import { SQLITE_CANON, SQLITE_ROW_XOR } from './checksum-sql.ts';
import type { ColumnShape } from './table-shape.ts';

/**
 * SQLite has no md5 and keeps whatever type was inserted, so the canonical text and the row
 * hash are JavaScript functions registered on the connection; they run inside SQLite's own
 * scan and GROUP BY. `columns` is read at call time: the functions are registered when the
 * connection opens, before the table's shape is known.
 */
export function registerCompareFunctions(db: Database.Database, columns: () => readonly ColumnShape[]): void {
  const canonical = (value: unknown, i: number) => {
    const c = columns()[i];
    return c ? canonicalValue(value, c.kind, c.scale) : canonicalValue(value, 'text');
  };
  db.function(SQLITE_CANON, { deterministic: true, safeIntegers: true }, (value: unknown, index: unknown) => canonical(value, Number(index)));
  db.aggregate(SQLITE_ROW_XOR, {
    start: () => 0n,
    varargs: true,
    deterministic: true,
    safeIntegers: true,
    step: ((acc: bigint, ...values: unknown[]) => acc ^ rowHash(rowText(values.map((v, i) => canonical(v, i))))) as never,
    result: (acc: bigint) => BigInt.asUintN(64, acc).toString(),
  });
}
