import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

/**
 * compare_runs: every `tally compare` run — member mode per country, and table mode
 * (country '') — with its status (`running`, `clean`, `differences`, `failed`,
 * `interrupted`), where its report files were written and its counts, so an operator sees
 * every proof run and `tally export` finds a country's latest report.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await t
    .table('compare_runs')
    .ifNotExists()
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('mode', t.varchar(16), (c) => c.notNull())
    .addColumn('source', t.varchar(32), (c) => c.notNull())
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('status', t.varchar(24), (c) => c.notNull())
    .addColumn('started_at', t.varchar(30), (c) => c.notNull())
    .addColumn('finished_at', t.varchar(30))
    .addColumn('report_dir', t.varchar(1000))
    .addColumn('options', t.text, (c) => c.notNull())
    .addColumn('counts', t.text, (c) => c.notNull())
    .addColumn('error', t.text)
    .execute();
  await t.indexOnce('compare_runs_country', 'compare_runs', ['country', 'id']);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('compare_runs').ifExists().execute();
}
