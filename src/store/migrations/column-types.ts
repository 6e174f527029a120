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
    /**
     * Create an index unless it exists, so a migration interrupted between statements finishes
     * when run again. MySQL 8 has no CREATE INDEX IF NOT EXISTS: there an index already made is
     * the error to pass over.
     */
    indexOnce: async (name: string, table: string, columns: string[]): Promise<void> => {
      const index = db.schema.createIndex(name).on(table).columns(columns);
      if (engine !== 'mysql') await index.ifNotExists().execute();
      else await index.execute().catch((err: unknown) => {
        if ((err as { errno?: number }).errno !== 1061) throw err;
      });
    },
    serialKey: (c: ColumnDefinitionBuilder) => (engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()),
    /**
     * A new table; on MySQL with InnoDB and a binary collation so 'A' and 'a' are different keys.
     * `clustered`: rows stored in primary-key order (InnoDB always does; SQLite needs WITHOUT ROWID),
     * so a range of the key is one B-tree walk instead of an index walk plus a lookup per row.
     */
    table: (name: string, opts: { clustered?: boolean } = {}): CreateTableBuilder<string, never> => {
      const t = db.schema.createTable(name);
      if (engine === 'mysql') return t.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`);
      return engine === 'sqlite' && opts.clustered ? t.modifyEnd(sql`without rowid`) : t;
    },
  };
}
