import type { Kysely } from 'kysely';
import type { DomainEvent } from '../domain/events.ts';
import { insertNew } from './bulk.ts';
import type { Schema } from './schema.ts';

/** Append events in the caller's transaction; an event id already there (a re-run) is not appended twice. */
export async function appendEvents(db: Kysely<Schema>, events: DomainEvent[], now = new Date().toISOString()): Promise<void> {
  await insertNew(db, 'outbox', events.map((e) => ({
    event_id: e.id, member_id: e.memberId, type: e.type, occurred_on: e.occurredOn,
    payload: JSON.stringify(e.data), created_at: now, published_at: null,
  })));
}
