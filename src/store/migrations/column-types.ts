import { sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely } from 'kysely';
import { engineOf } from '../engines.ts';

/**
 * Column types and table options that give the same behaviour on every engine:
 * text keys compare byte by byte (as JavaScript and SQLite compare them), so
 * keyset pagination, unique codes and sort orders agree everywhere; long text
 * fits a member aggregate on MySQL; surrogate keys count up on their own.
 */
export function columnTypes(db: Kysely<unknown>) {
  const engine = engineOf(db);
  return {
    /** varchar with a length (MySQL cannot index TEXT), binary collation. */
    varchar: (n: number) => (engine === 'postgres' ? sql.raw(`varchar(${n}) collate "C"`) : (`varchar(${n})` as const)),
    /** Unindexed text that may outgrow MySQL's 64 KiB TEXT. */
    text: engine === 'mysql' ? sql.raw('mediumtext') : ('text' as const),
    serial: engine === 'postgres' ? ('serial' as const) : ('integer' as const),
    serialKey: (c: ColumnDefinitionBuilder) => (engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()),
    /** A new table; on MySQL with InnoDB and a binary collation so 'A' and 'a' are different keys. */
    table: (name: string): CreateTableBuilder<string, never> => {
      const t = db.schema.createTable(name);
      return engine === 'mysql' ? t.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`) : t;
    },
  };
}
