import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import { NotFound } from '../domain/errors.ts';
import { alreadyProcessed, findDeadLetter, listDeadLetters, parkDeadLetter, purgeDeadLetters, recordProcessed, removeDeadLetter } from '../store/deliveries.ts';
import type { DeadLetterRow, Schema } from '../store/schema.ts';
import {
  backoffDelay, deadLetterOf, decodeMessage, encodeMessage, topicMatches,
  type Consumer, type DeadLetter, type DeadLetterQueues, type Message, type Transport,
} from './message.ts';

export type Outcome = 'handled' | 'duplicate' | 'dead';

/**
 * Run a consumer's handler unless it already handled this event id, and record
 * that it did. The record is written after the effect, so a crash in between
 * repeats the effect once (at-least-once); consumers with external effects pass
 * the event id on as an idempotency key for that case.
 */
export async function handleOnce(db: Kysely<Schema>, consumer: Consumer, message: Message): Promise<'handled' | 'duplicate'> {
  if (await alreadyProcessed(db, consumer.name, message.id)) return 'duplicate';
  await consumer.handle(message);
  await recordProcessed(db, consumer.name, message.id);
  return 'handled';
}

export class BusStopped extends Error {
  override name = 'BusStopped';
}

export interface Bus extends Transport {
  subscribe(consumer: Consumer): void;
  /** The embedded dead-letter table, replayed through this bus's consumers. */
  deadLetters: DeadLetterQueues;
  /** Abandon retries waiting out their backoff; their messages stay unpublished in the outbox and come again. */
  stop(): void;
}

/** At most `n` calls of `work` at once. */
function limiter(n: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      // Hand the slot straight to the next waiter, so `active` never drops below what is running.
      if (next) next();
      else active--;
    }
  };
}

/**
 * The in-process publish/subscribe channel. `publish` resolves once every
 * subscribed consumer has handled each message or parked it in the dead-letter
 * table: both are durable, so the relay may then mark the outbox rows
 * published without a message ever living only in memory. The price is that a
 * message being retried holds up its batch for at most its consumer's retry
 * schedule.
 */
export function inProcessBus(db: Kysely<Schema>, opts: { log?: Logger } = {}): Bus {
  const consumers = new Map<string, { consumer: Consumer; run: ReturnType<typeof limiter> }>();
  const inFlight = new Map<string, Promise<Outcome>>();
  const stopping = new AbortController();

  function pause(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (stopping.signal.aborted) return reject(new BusStopped('the bus is stopping'));
      const onAbort = () => {
        clearTimeout(timer);
        reject(new BusStopped('the bus is stopping'));
      };
      const timer = setTimeout(() => {
        stopping.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      stopping.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async function attempt(name: string, message: Message, earlierAttempts: number): Promise<Outcome> {
    const entry = consumers.get(name)!;
    const { consumer } = entry;
    let failures = 0;
    for (;;) {
      try {
        return await entry.run(() => handleOnce(db, consumer, message));
      } catch (err) {
        failures++;
        const error = err instanceof Error ? err.message : String(err);
        if (failures >= consumer.maxAttempts) {
          await parkDeadLetter(db, {
            consumer: consumer.name, destination: deadLetterOf(consumer), eventId: message.id, type: message.type,
            message: encodeMessage(message), error, attempts: earlierAttempts + failures,
          });
          opts.log?.warn({ consumer: consumer.name, event: message.id, attempts: earlierAttempts + failures, error }, 'message dead-lettered');
          return 'dead';
        }
        opts.log?.debug({ consumer: consumer.name, event: message.id, failures, error }, 'handler failed; retrying');
        await pause(backoffDelay(failures, consumer.backoff));
      }
    }
  }

  /** One delivery of one message to one consumer; the same event already in flight for it is joined, not run twice. */
  function deliver(name: string, message: Message, earlierAttempts = 0): Promise<Outcome> {
    const key = `${name}\u0000${message.id}`;
    const running = inFlight.get(key);
    if (running) return running;
    const p = attempt(name, message, earlierAttempts).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  }

  function view(row: Selectable<DeadLetterRow>): DeadLetter {
    let message: Message | null = null;
    try {
      message = decodeMessage(row.message);
    } catch {
      // Shown raw: an operator must still be able to see and purge it.
    }
    return {
      id: String(row.id), consumer: row.consumer, eventId: row.event_id, type: row.type, attempts: row.attempts,
      error: row.error, failedAt: row.failed_at, message, ...(message ? {} : { raw: row.message }),
    };
  }

  async function rowById(id: string): Promise<Selectable<DeadLetterRow> | undefined> {
    return /^[1-9]\d{0,15}$/.test(id) ? findDeadLetter(db, Number(id)) : undefined;
  }

  const deadLetters: DeadLetterQueues = {
    async list(limit) {
      return (await listDeadLetters(db, limit)).map(view);
    },
    async show(id) {
      const row = await rowById(id);
      return row && view(row);
    },
    async replay(id) {
      const rows = id === 'all' ? await listDeadLetters(db, Number.MAX_SAFE_INTEGER) : [await rowById(id)];
      if (rows[0] === undefined && id !== 'all') throw new NotFound('id', `no dead letter with id "${id}"`, id);
      // Check everything first, so a replay that cannot run changes nothing.
      for (const row of rows as Selectable<DeadLetterRow>[]) {
        if (!consumers.has(row.consumer)) throw new NotFound('consumer', `dead letter ${row.id} belongs to consumer "${row.consumer}", which is not configured here`, row.consumer);
        decodeMessage(row.message);
      }
      let replayed = 0;
      // In passes, until one makes no progress: an event a consumer holds behind an earlier one of the same member (back-sync)
      // may have been parked first; it goes through once the earlier one has.
      let pending = rows as Selectable<DeadLetterRow>[];
      for (;;) {
        const still: Selectable<DeadLetterRow>[] = [];
        for (const row of pending) {
          const outcome = await deliver(row.consumer, decodeMessage(row.message), row.attempts);
          if (outcome === 'dead') still.push(row);
          else {
            await removeDeadLetter(db, row.id);
            replayed++;
          }
        }
        if (!still.length || still.length === pending.length || id !== 'all') return { replayed, failed: still.length };
        pending = still;
      }
    },
    purge: () => purgeDeadLetters(db),
  };

  return {
    subscribe(consumer) {
      if (consumers.has(consumer.name)) throw new Error(`consumer "${consumer.name}" is already subscribed`);
      if (!(consumer.concurrency >= 1 && consumer.maxAttempts >= 1)) throw new Error(`consumer "${consumer.name}": concurrency and maxAttempts must be at least 1`);
      consumers.set(consumer.name, { consumer, run: limiter(consumer.concurrency) });
    },
    async publish(messages) {
      const deliveries: Promise<Outcome>[] = [];
      for (const message of messages) {
        for (const { consumer } of consumers.values()) {
          if (consumer.topics.some((t) => topicMatches(t, message.type))) deliveries.push(deliver(consumer.name, message));
        }
      }
      const results = await Promise.allSettled(deliveries);
      const failure = results.find((r) => r.status === 'rejected');
      if (failure) throw failure.reason;
    },
    deadLetters,
    stop() {
      stopping.abort();
    },
  };
}
