import type { DomainEvent } from '../domain/events.ts';

/** What travels between the outbox, the bus, the broker and consumers: a committed domain event. */
export type Message = DomainEvent;

/** The one wire format, shared by the broker, the dead-letter table and the change stream. */
export function encodeMessage(m: Message): string {
  return JSON.stringify({ id: m.id, type: m.type, memberId: m.memberId, occurredOn: m.occurredOn, data: m.data });
}

export class MalformedMessage extends Error {
  override name = 'MalformedMessage';
}

export function decodeMessage(text: string): Message {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new MalformedMessage(`not JSON: ${text.slice(0, 80)}`);
  }
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== 'object' || typeof o.id !== 'string' || typeof o.type !== 'string' || typeof o.memberId !== 'string'
    || typeof o.occurredOn !== 'string' || !o.data || typeof o.data !== 'object') {
    throw new MalformedMessage(`not a Tally event: ${text.slice(0, 80)}`);
  }
  return { id: o.id, type: o.type, memberId: o.memberId, occurredOn: o.occurredOn, data: o.data as Record<string, unknown> };
}

/**
 * AMQP topic semantics, so a consumer's subscription means the same on the
 * in-process bus and on RabbitMQ: words split by '.', '*' is exactly one word,
 * '#' is zero or more.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  const p = pattern.split('.');
  const t = topic.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === t.length;
    if (p[i] === '#') return match(i + 1, j) || (j < t.length && match(i, j + 1));
    if (j === t.length) return false;
    return (p[i] === '*' || p[i] === t[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Delay before retry number `failures` (1 after the first failure): doubling, capped so a long outage is retried at a steady pace. */
export function backoffDelay(failures: number, b: Backoff): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, failures - 1));
}

/** A consumer and its own tuning: the same definition runs on the in-process bus and on RabbitMQ. */
export interface Consumer {
  /** Stable name: keys its processed events, its queue and its dead letters. */
  name: string;
  /** Event types or AMQP-style patterns ('subscription.*', '#'). */
  topics: string[];
  /** Handlers running at once for this consumer. */
  concurrency: number;
  /** Attempts in all, the first included, before the message is dead-lettered. */
  maxAttempts: number;
  backoff: Backoff;
  /** Where a message goes after the last attempt; defaults to `${name}.dlq`. */
  deadLetter?: string;
  /** Throws to refuse the message (it is retried); resolves once the effect is done. */
  handle(message: Message): Promise<void>;
}

export function deadLetterOf(c: Pick<Consumer, 'name' | 'deadLetter'>): string {
  return c.deadLetter ?? `${c.name}.dlq`;
}

/** Where the relay hands messages; resolves only once every message is safely accepted. */
export interface Transport {
  publish(messages: Message[]): Promise<void>;
}

/** An entry of a dead-letter queue, embedded or on the broker, as an operator sees it. */
export interface DeadLetter {
  id: string;
  consumer: string;
  eventId: string;
  type: string;
  attempts: number;
  error: string;
  failedAt: string;
  message: Message | null;
  /** The body as stored, for a message that could not even be decoded. */
  raw?: string;
}

/** The operator's view of dead letters, the same on both transports. */
export interface DeadLetterQueues {
  list(limit: number): Promise<DeadLetter[]>;
  show(id: string): Promise<DeadLetter | undefined>;
  /** Redeliver to the consumer that gave up: one id, or all. Returns how many were redelivered. */
  replay(id: string | 'all'): Promise<{ replayed: number; failed: number }>;
  purge(): Promise<number>;
}
