import type { Kysely, Selectable } from 'kysely';
import { insertNew, upsert } from './bulk.ts';
import type { DeadLetterRow, Schema } from './schema.ts';

/** Has this consumer already handled this event? The check that makes a redelivery or a replay harmless. */
export async function alreadyProcessed(db: Kysely<Schema>, consumer: string, eventId: string): Promise<boolean> {
  const row = await db.selectFrom('processed_events').select('event_id')
    .where('consumer', '=', consumer).where('event_id', '=', eventId).executeTakeFirst();
  return row !== undefined;
}

export async function recordProcessed(db: Kysely<Schema>, consumer: string, eventId: string, now = new Date().toISOString()): Promise<void> {
  await insertNew(db, 'processed_events', [{ consumer, event_id: eventId, processed_at: now }]);
}

export interface Parked {
  consumer: string;
  destination: string;
  eventId: string;
  type: string;
  message: string;
  error: string;
  attempts: number;
}

/** Park a message; a second failure of the same event for the same consumer (a failed replay) updates the one entry. */
export async function parkDeadLetter(db: Kysely<Schema>, p: Parked, now = new Date().toISOString()): Promise<void> {
  await upsert(db, 'dead_letters', ['consumer', 'event_id'], [{
    consumer: p.consumer, destination: p.destination, event_id: p.eventId, type: p.type,
    message: p.message, error: p.error, attempts: p.attempts, failed_at: now,
  }], ['destination', 'message', 'error', 'attempts', 'failed_at']);
}

export async function listDeadLetters(db: Kysely<Schema>, limit: number): Promise<Selectable<DeadLetterRow>[]> {
  return db.selectFrom('dead_letters').selectAll().orderBy('id').limit(limit).execute();
}

export async function findDeadLetter(db: Kysely<Schema>, id: number): Promise<Selectable<DeadLetterRow> | undefined> {
  return db.selectFrom('dead_letters').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function removeDeadLetter(db: Kysely<Schema>, id: number): Promise<void> {
  await db.deleteFrom('dead_letters').where('id', '=', id).execute();
}

export async function purgeDeadLetters(db: Kysely<Schema>): Promise<number> {
  const res = await db.deleteFrom('dead_letters').executeTakeFirst();
  return Number(res.numDeletedRows);
}
