import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

/**
 * Ledger writes decided by a member change and committed with it in the member
 * store, waiting to be applied to a separate ledger store (see ledger-postings.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await t
    .table('ledger_postings')
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('created_at', t.varchar(30), (c) => c.notNull())
    .addColumn('body', t.text, (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ledger_postings').ifExists().execute();
}
