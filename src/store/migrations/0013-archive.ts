import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

/**
 * Purge and archive (see src/archive/):
 * - archive_policy: every retention policy ever set, the latest in force (none: the defaults);
 * - archive_files: the manifest, one row per Parquet file with its rows, checksum and state
 *   (writing → written → verified → archived; or rejected, expired, superseded), so a run killed
 *   at any point knows which files hold rows that are still hot and which answer for rows gone;
 * - legacy_history_archived: the members whose history a migration left in its source (older
 *   than its horizon) is now in the archive, so `tally archive legacy` archives it once;
 * - forgotten_members: who asked to be forgotten, when, and on whose word.
 * And indexes on the dates the policy cuts by where a table had none.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await t
    .table('archive_policy')
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('set_at', t.varchar(30), (c) => c.notNull())
    .addColumn('set_by', t.varchar(160), (c) => c.notNull())
    .addColumn('document', t.text, (c) => c.notNull())
    .execute();
  await t
    .table('archive_files')
    .ifNotExists()
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('batch', t.varchar(120), (c) => c.notNull())
    .addColumn('class', t.varchar(32), (c) => c.notNull())
    .addColumn('table_name', t.varchar(64), (c) => c.notNull())
    .addColumn('country', t.varchar(8), (c) => c.notNull())
    .addColumn('year', 'integer', (c) => c.notNull())
    .addColumn('path', t.varchar(1000), (c) => c.notNull())
    .addColumn('state', t.varchar(16), (c) => c.notNull())
    .addColumn('row_count', 'bigint', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('checksum', t.varchar(64), (c) => c.notNull())
    .addColumn('file_digest', t.varchar(64), (c) => c.notNull())
    .addColumn('min_date', t.varchar(30))
    .addColumn('max_date', t.varchar(30))
    .addColumn('run_id', 'integer', (c) => c.notNull())
    .addColumn('created_at', t.varchar(30), (c) => c.notNull())
    .addColumn('updated_at', t.varchar(30), (c) => c.notNull())
    .addColumn('error', t.text)
    .execute();
  await t.indexOnce('archive_files_class', 'archive_files', ['class', 'state']);
  await t.indexOnce('archive_files_batch', 'archive_files', ['batch']);
  await t
    .table('forgotten_members')
    .ifNotExists()
    .addColumn('member_id', t.varchar(64), (c) => c.primaryKey())
    .addColumn('forgotten_at', t.varchar(30), (c) => c.notNull())
    .addColumn('forgotten_by', t.varchar(160), (c) => c.notNull())
    .addColumn('reason', t.varchar(500), (c) => c.notNull())
    .addColumn('files_rewritten', 'integer', (c) => c.notNull())
    .execute();
  await t
    .table('legacy_history_archived')
    .ifNotExists()
    .addColumn('member_id', t.varchar(64), (c) => c.primaryKey())
    .addColumn('batch', t.varchar(120), (c) => c.notNull())
    .addColumn('invoices', 'integer', (c) => c.notNull())
    .addColumn('archived_at', t.varchar(30), (c) => c.notNull())
    .execute();
  for (const [name, table, columns] of [
    ['invoices_issued', 'invoices', ['issued_on']],
    ['audit_log_at', 'audit_log', ['at']],
    ['outbox_published', 'outbox', ['published_at']],
    ['processed_events_at', 'processed_events', ['processed_at']],
  ] as const) await t.indexOnce(name, table, [...columns]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [name, table] of [['invoices_issued', 'invoices'], ['audit_log_at', 'audit_log'], ['outbox_published', 'outbox'], ['processed_events_at', 'processed_events']] as const) {
    await db.schema.dropIndex(name).on(table).ifExists().execute();
  }
  for (const table of ['legacy_history_archived', 'forgotten_members', 'archive_files', 'archive_policy']) await db.schema.dropTable(table).ifExists().execute();
}
