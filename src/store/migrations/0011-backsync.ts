import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

/**
 * Back-sync applies a member's events in outbox order: before writing an event into the legacy it
 * looks up the member's previous event, which without this index is a scan of the whole outbox
 * per event.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await columnTypes(db).indexOnce('outbox_member', 'outbox', ['member_id', 'id']);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('outbox_member').on('outbox').ifExists().execute();
}
