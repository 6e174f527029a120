import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

/**
 * The routing proxy's state, shared by every proxy process through the database:
 * - proxy_routes: per country, where its members' calls go (`legacy`, `frozen`, `tally`) and the
 *   share of its members (by a hash of the member id) sent to Tally first (a canary cohort);
 * - proxy_route_changes: every change of a route, when and by whom (the cut-over's record);
 * - member_directory: member id → country, filled from both sides, so a call naming only a
 *   member id is routed by its country.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await t
    .table('proxy_routes')
    .ifNotExists()
    .addColumn('country', t.varchar(2), (c) => c.primaryKey())
    .addColumn('state', t.varchar(8), (c) => c.notNull())
    .addColumn('canary_percent', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', t.varchar(30), (c) => c.notNull())
    .addColumn('updated_by', t.varchar(200), (c) => c.notNull())
    .execute();
  await t
    .table('proxy_route_changes')
    .ifNotExists()
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('from_state', t.varchar(8))
    .addColumn('to_state', t.varchar(8), (c) => c.notNull())
    .addColumn('canary_percent', 'integer', (c) => c.notNull())
    .addColumn('changed_at', t.varchar(30), (c) => c.notNull())
    .addColumn('changed_by', t.varchar(200), (c) => c.notNull())
    .addColumn('reason', t.varchar(500))
    .execute();
  await t.indexOnce('proxy_route_changes_country', 'proxy_route_changes', ['country', 'id']);
  await t
    .table('member_directory', { clustered: true })
    .ifNotExists()
    .addColumn('member_id', t.varchar(64), (c) => c.primaryKey())
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('seen_in', t.varchar(8), (c) => c.notNull())
    .addColumn('updated_at', t.varchar(30), (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['member_directory', 'proxy_route_changes', 'proxy_routes']) await db.schema.dropTable(table).ifExists().execute();
}
