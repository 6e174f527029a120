import type { Kysely } from 'kysely';
import { addDays } from '../domain/calendar.ts';
import { lastClosedDay } from '../store/ledger.ts';
import type { Schema } from '../store/schema.ts';

/** The business day to book on: the given day, unless it is closed, then the first open day after the last closed one. */
export async function bookingDate(db: Kysely<Schema>, date: string): Promise<string> {
  const closed = await lastClosedDay(db);
  return closed !== null && date <= closed ? addDays(closed, 1) : date;
}
