import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

/**
 * What `tally migrate` keeps about its own work:
 * - migration_runs: every run (country, source, mode), its cursor committed with each
 *   chunk it loads, so a killed run is seen and resumed from where it stopped;
 * - migrated_members: which member each source member became, the high-water mark of its
 *   source rows (for --since-last), a hash of what was loaded (a re-run of an unchanged
 *   member writes nothing) and the version written (a member Tally has changed since is
 *   never overwritten or cleared);
 * - migration_quarantine: source members not loaded, with the reasons and source keys.
 * And indexes on member_id where a member's rows are read or cleared by member (the
 * customer-service view read these tables by member without one), plus refunds.status
 * for the settlement of pending refund intents.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await t
    .table('migration_runs')
    .ifNotExists()
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('source', t.varchar(32), (c) => c.notNull())
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('mode', t.varchar(16), (c) => c.notNull())
    .addColumn('status', t.varchar(24), (c) => c.notNull())
    .addColumn('started_at', t.varchar(30), (c) => c.notNull())
    .addColumn('finished_at', t.varchar(30))
    .addColumn('cursor', t.varchar(200))
    .addColumn('options', t.text, (c) => c.notNull())
    .addColumn('counts', t.text, (c) => c.notNull())
    .addColumn('errors', t.text, (c) => c.notNull())
    .execute();
  await t
    .table('migrated_members')
    .ifNotExists()
    .addColumn('member_id', t.varchar(64), (c) => c.primaryKey())
    .addColumn('source', t.varchar(32), (c) => c.notNull())
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('source_key', t.varchar(64), (c) => c.notNull())
    .addColumn('source_mark', t.varchar(30), (c) => c.notNull())
    .addColumn('content_hash', t.varchar(64), (c) => c.notNull())
    .addColumn('member_version', 'integer', (c) => c.notNull())
    .addColumn('invoices_left_out', 'integer', (c) => c.notNull())
    .addColumn('run_id', 'integer', (c) => c.notNull())
    .addColumn('migrated_at', t.varchar(30), (c) => c.notNull())
    .execute();
  await t
    .table('migration_quarantine')
    .ifNotExists()
    .addColumn('source', t.varchar(32), (c) => c.notNull())
    .addColumn('source_key', t.varchar(64), (c) => c.notNull())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('run_id', 'integer', (c) => c.notNull())
    .addColumn('reasons', t.text, (c) => c.notNull())
    .addColumn('quarantined_at', t.varchar(30), (c) => c.notNull())
    .addPrimaryKeyConstraint('migration_quarantine_pk', ['source', 'source_key'])
    .execute();
  for (const [name, table, columns] of [
    ['migrated_members_country', 'migrated_members', ['country', 'member_id']],
    ['migration_quarantine_country', 'migration_quarantine', ['country', 'source_key']],
    ['migration_runs_country', 'migration_runs', ['country', 'id']],
    ['payments_member', 'payments', ['member_id']],
    ['payment_attempts_member', 'payment_attempts', ['member_id']],
    ['refunds_member', 'refunds', ['member_id']],
    ['refunds_status', 'refunds', ['status']],
    ['chargebacks_member', 'chargebacks', ['member_id']],
    ['credits_member', 'credits', ['member_id']],
    ['gift_cards_member', 'gift_cards', ['member_id']],
    ['journal_member', 'journal', ['member_id', 'kind']],
  ] as const) await t.indexOnce(name, table, [...columns]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['migration_runs', 'migrated_members', 'migration_quarantine']) await db.schema.dropTable(table).ifExists().execute();
}
