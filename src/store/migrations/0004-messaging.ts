import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  const consumer = t.varchar(120);
  const eventId = t.varchar(240);
  const timestamp = t.varchar(30);
  // The relay reads unpublished rows in id order; without this it scans the whole outbox on every pass.
  await db.schema.createIndex('outbox_unpublished').on('outbox').columns(['published_at', 'id']).execute();

  // A consumer's handled events: the primary key is what makes a consumer idempotent across replays and redeliveries.
  await t
    .table('processed_events')
    .addColumn('consumer', consumer, (c) => c.notNull())
    .addColumn('event_id', eventId, (c) => c.notNull())
    .addColumn('processed_at', timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('processed_events_pk', ['consumer', 'event_id'])
    .execute();

  // The embedded dead-letter queue: a message a consumer gave up on, parked until an operator replays or purges it.
  await t
    .table('dead_letters')
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('consumer', consumer, (c) => c.notNull())
    .addColumn('destination', consumer, (c) => c.notNull())
    .addColumn('event_id', eventId, (c) => c.notNull())
    .addColumn('type', t.varchar(64), (c) => c.notNull())
    .addColumn('message', t.text, (c) => c.notNull())
    .addColumn('error', t.text, (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('failed_at', timestamp, (c) => c.notNull())
    .execute();
  // One parked copy per consumer and event: a replay that fails again updates it rather than adding a second.
  await db.schema.createIndex('dead_letters_event').on('dead_letters').columns(['consumer', 'event_id']).unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('dead_letters').ifExists().execute();
  await db.schema.dropTable('processed_events').ifExists().execute();
  await db.schema.dropIndex('outbox_unpublished').on('outbox').ifExists().execute();
}
