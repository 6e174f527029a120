import type { IsoDate } from './calendar.ts';

/**
 * Something that happened to a member's billing. Events are written to the
 * outbox in the same transaction as the state that produced them, so every
 * consumer sees exactly the changes that were committed.
 */
export interface DomainEvent {
  /** Deterministic id, so a re-run that re-derives the same change emits the same event id and consumers can deduplicate. */
  id: string;
  type: string;
  memberId: string;
  occurredOn: IsoDate;
  data: Record<string, unknown>;
}

export function event(
  type: string,
  memberId: string,
  occurredOn: IsoDate,
  key: string,
  data: Record<string, unknown> = {},
): DomainEvent {
  return { id: `${type}:${key}`, type, memberId, occurredOn, data };
}
