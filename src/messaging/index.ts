import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { InvalidInput } from '../domain/errors.ts';
import { wholeSetting } from '../settings.ts';
import type { Schema } from '../store/schema.ts';
import { connectBroker, type ConsumerRun } from './amqp-transport.ts';
import { inProcessBus } from './bus.ts';
import type { Consumer, DeadLetterQueues, Transport } from './message.ts';
import { webhookConsumer } from './webhook.ts';

export { BrokerError } from './amqp-transport.ts';
export type { DeadLetter, DeadLetterQueues, Message, Transport } from './message.ts';
export { followOutbox, outboxLagSeconds, relayOutbox } from './outbox-relay.ts';

type Tuning = Pick<Consumer, 'concurrency' | 'maxAttempts' | 'backoff'>;

export interface MessagingConfig {
  /** RabbitMQ between systems when set; otherwise the in-process bus and the dead_letters table. */
  amqpUrl: string | null;
  amqpPrefix: string;
  webhook: { url: string; secret: string; timeoutMs: number } | null;
  webhookTuning: Tuning;
  changeStreamTuning: Tuning;
  relayBatchSize: number;
  relayPollMs: number;
  relayLeaseMs: number;
}

/** Messaging settings from the environment; a bad value is refused here, before anything starts. */
export function messagingConfigFromEnv(env: NodeJS.ProcessEnv = process.env): MessagingConfig {
  const url = env.TALLY_WEBHOOK_URL || null;
  const secret = env.TALLY_WEBHOOK_SECRET || null;
  if (url && !secret) throw new InvalidInput('TALLY_WEBHOOK_SECRET', 'is required when TALLY_WEBHOOK_URL is set (deliveries are always signed)');
  if (url && !/^https?:\/\/[^/]/.test(url)) throw new InvalidInput('TALLY_WEBHOOK_URL', `must be an http:// or https:// URL, got "${url}"`, url);
  const backoff = { initialMs: wholeSetting(env, 'TALLY_RETRY_INITIAL_MS', 1000), maxMs: wholeSetting(env, 'TALLY_RETRY_MAX_MS', 60_000) };
  return {
    amqpUrl: env.TALLY_AMQP_URL || null,
    amqpPrefix: env.TALLY_AMQP_PREFIX || 'tally',
    webhook: url && secret ? { url, secret, timeoutMs: wholeSetting(env, 'TALLY_WEBHOOK_TIMEOUT_MS', 5000) } : null,
    // Partners' endpoints are slow and rate-limited: few at once, patient retries.
    webhookTuning: { concurrency: wholeSetting(env, 'TALLY_WEBHOOK_CONCURRENCY', 4), maxAttempts: wholeSetting(env, 'TALLY_WEBHOOK_MAX_ATTEMPTS', 8), backoff },
    // Republishing to our own broker is cheap: wide, and a failure is the broker's, so fewer attempts.
    changeStreamTuning: { concurrency: 16, maxAttempts: 5, backoff },
    relayBatchSize: wholeSetting(env, 'TALLY_RELAY_BATCH', 200),
    relayPollMs: wholeSetting(env, 'TALLY_RELAY_POLL_MS', 1000),
    // How long a relay that died keeps others from taking over.
    relayLeaseMs: wholeSetting(env, 'TALLY_RELAY_LEASE_MS', 15_000, 100),
  };
}

export type TransportKind = 'embedded' | 'amqp';

export interface Messaging {
  kind: TransportKind;
  /** Where the relay publishes. */
  transport: Transport;
  consumers: Consumer[];
  deadLetters: DeadLetterQueues;
  /** Start consuming (RabbitMQ); the in-process bus consumes as the relay publishes. */
  start(): Promise<void>;
  /** On shutdown: give up retries waiting in process (their events stay unpublished and come again); the broker keeps its own. */
  abandonRetries(): void;
  /** Stop consumers after the messages in hand, and disconnect. */
  stop(): Promise<void>;
}

/** The transport the configuration names, or the one asked for explicitly (--transport). */
export function transportKind(config: MessagingConfig, asked?: string): TransportKind {
  if (asked === undefined) return config.amqpUrl ? 'amqp' : 'embedded';
  if (asked !== 'embedded' && asked !== 'amqp') throw new InvalidInput('--transport', `must be embedded or amqp, got "${asked}"`, asked);
  if (asked === 'amqp' && !config.amqpUrl) throw new InvalidInput('--transport', 'amqp needs TALLY_AMQP_URL (e.g. amqp://guest:guest@127.0.0.1:5672)');
  return asked;
}

/**
 * Wire the consumers this configuration enables onto the chosen transport, and `more` that
 * the entry point built itself (back-sync, which needs the legacy database opened).
 */
export async function openMessaging(db: Kysely<Schema>, config: MessagingConfig, kind: TransportKind, log: Logger, more: Consumer[] = []): Promise<Messaging> {
  const webhook = [...(config.webhook ? [webhookConsumer(config.webhook, config.webhookTuning)] : []), ...more];
  if (kind === 'embedded') {
    const bus = inProcessBus(db, { log });
    for (const c of webhook) bus.subscribe(c);
    return {
      kind, transport: bus, consumers: webhook, deadLetters: bus.deadLetters,
      start: async () => undefined, abandonRetries: () => bus.stop(), stop: async () => bus.stop(),
    };
  }
  const broker = await connectBroker({ url: config.amqpUrl!, prefix: config.amqpPrefix, log });
  const consumers = [broker.changeStream(config.changeStreamTuning), ...webhook];
  try {
    // Declared before anything is published, so no event reaches an exchange with no queue bound to keep it.
    await broker.declare(consumers);
  } catch (err) {
    await broker.close();
    throw err;
  }
  const runs: ConsumerRun[] = [];
  return {
    kind, transport: broker.transport, consumers, deadLetters: broker.deadLetters(consumers),
    async start() {
      for (const c of consumers) runs.push(await broker.consume(c, db));
    },
    abandonRetries: () => undefined,
    async stop() {
      await Promise.all(runs.splice(0).map((r) => r.stop()));
      await broker.close();
    },
  };
}
