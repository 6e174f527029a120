import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

/**
 * The catalog as data (see operations/catalog-operations.ts):
 * - catalog_versions: every catalog ever put in force, whole, numbered from 1. A version is
 *   never updated or deleted: an invoice names the version it was billed with, and that
 *   version must still explain it years later. `content_hash` (SHA-256 of the normalized
 *   document) is how an import of the catalog already in force is recognised and refused as
 *   a no-op; `created_by` and `reason` say who put it in force and why, beside the audit log.
 * - invoices.catalog_version: the version an invoice was billed with; 0 for the built-in
 *   catalog (not stored), null for invoices issued before this migration or carried over
 *   from another system, where no Tally catalog priced them.
 * Each step checks what is there first, so a MySQL run interrupted between two
 * non-transactional DDL statements finishes when it is run again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await t
    .table('catalog_versions')
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('created_at', t.varchar(30), (c) => c.notNull())
    .addColumn('created_by', t.varchar(160), (c) => c.notNull())
    .addColumn('reason', t.varchar(500), (c) => c.notNull())
    .addColumn('content_hash', t.varchar(64), (c) => c.notNull())
    .addColumn('plans', 'integer', (c) => c.notNull())
    .addColumn('prices', 'integer', (c) => c.notNull())
    .addColumn('document', t.text, (c) => c.notNull())
    .execute();
  const invoiceColumns = (await db.introspection.getTables()).find((x) => x.name === 'invoices')?.columns.map((c) => c.name) ?? [];
  if (!invoiceColumns.includes('catalog_version')) {
    await db.schema.alterTable('invoices').addColumn('catalog_version', 'integer').execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const invoiceColumns = (await db.introspection.getTables()).find((x) => x.name === 'invoices')?.columns.map((c) => c.name) ?? [];
  if (invoiceColumns.includes('catalog_version')) await db.schema.alterTable('invoices').dropColumn('catalog_version').execute();
  await db.schema.dropTable('catalog_versions').ifExists().execute();
}
