import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { followOutbox, type Messaging } from '../messaging/index.ts';
import type { Schema } from '../store/schema.ts';

/**
 * Relay the outbox until SIGINT or SIGTERM (`relay --follow`, `backsync run --follow`): the
 * batch in hand finishes, retries waiting in this process are given up (the events stay
 * unpublished for the next relay), and the count published is returned.
 */
export async function followUntilSignal(db: Kysely<Schema>, messaging: Messaging, relay: { owner: string; batchSize: number; leaseMs: number; pollMs: number }, log: Logger): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => {
    stop.abort();
    messaging.abandonRetries();
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  return followOutbox(db, messaging.transport, { ...relay, signal: stop.signal, log });
}
