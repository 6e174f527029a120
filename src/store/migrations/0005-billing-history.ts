import type { Kysely } from 'kysely';
import { backfillBillingHistory } from '../ledger.ts';
import type { Schema } from '../schema.ts';
import { columnTypes } from './column-types.ts';

/**
 * The billing history read model (see store/billing-history.ts), clustered by
 * member and invoice number, filled from the invoices issued so far. Creating the
 * table only if absent and skipping rows already written lets an engine without
 * transactional DDL (MySQL) finish an interrupted run.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await t
    .table('billing_history', { clustered: true })
    .ifNotExists()
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('invoice', t.text, (c) => c.notNull())
    .addColumn('lines', t.text, (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_history_pk', ['member_id', 'number'])
    .execute();
  await backfillBillingHistory(db as Kysely<Schema>);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('billing_history').ifExists().execute();
}
