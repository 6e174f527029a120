import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type GetMessage, type Message as AmqpMessage, type Options } from 'amqplib';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { NotFound } from '../domain/errors.ts';
import { redactUrl } from '../store/engines.ts';
import type { Schema } from '../store/schema.ts';
import { handleOnce } from './bus.ts';
import {
  backoffDelay, deadLetterOf, decodeMessage, encodeMessage,
  type Backoff, type Consumer, type DeadLetter, type DeadLetterQueues, type Message, type Transport,
} from './message.ts';

/**
 * RabbitMQ as the transport between systems.
 *
 * Topology, for a prefix P (default "tally"):
 *   P.events              topic exchange; the relay publishes every event with its type as routing key
 *   P.<consumer>          durable queue per consumer, bound to P.events by the consumer's topics;
 *                         its dead-letter exchange is P.dead, so a message it rejects lands in its DLQ
 *   P.<consumer>.retry.<ms>ms   durable delay queues, one per backoff step: a message waits out the
 *                         queue's TTL, then the broker dead-letters it back to P.<consumer>
 *   P.dead                direct exchange routing to each consumer's DLQ, P.<consumer>.dlq
 *   P.changes             fanout exchange and durable queue: the change stream for other systems
 *
 * Retries republish the message with an incremented x-tally-failures header rather than
 * counting x-death: the count is ours (the broker's x-death bookkeeping differs between
 * RabbitMQ versions), the delay of each step is exact, and a delay queue per step has no
 * head-of-line blocking (a per-message TTL only expires at the head of a queue). A republish
 * is confirmed by the broker before the original is acked, so a crash in between only
 * duplicates, and consumers deduplicate by event id.
 */

export class BrokerError extends Error {
  override name = 'BrokerError';
}

const failuresHeader = 'x-tally-failures';
const errorHeader = 'x-tally-error';
const failedAtHeader = 'x-tally-failed-at';

/** Refuse a malformed TALLY_AMQP_URL before trying to connect. */
export function checkAmqpUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BrokerError(`TALLY_AMQP_URL "${redactUrl(url)}" is not a URL (expected amqp://USER:PASSWORD@HOST:PORT/VHOST)`);
  }
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') throw new BrokerError(`TALLY_AMQP_URL "${redactUrl(url)}" is not an amqp:// or amqps:// URL`);
  if (!u.hostname) throw new BrokerError(`TALLY_AMQP_URL "${redactUrl(url)}" names no host`);
  return url;
}

export interface BrokerOptions {
  url: string;
  /** Names every exchange and queue; tests use a unique one per run. */
  prefix?: string;
  log?: Logger;
  /** Pause between reconnection attempts when the broker goes away. */
  reconnect?: Backoff;
  connectTimeoutMs?: number;
}

export interface ConsumerRun {
  /** Stop taking messages, let the ones in hand finish (acked), and close the channel: unacked ones go back to the queue. */
  stop(): Promise<void>;
}

export interface Broker {
  /** The relay's transport: every event to P.events, resolved only once the broker confirmed all of them. */
  transport: Transport;
  /** Declare a consumer's queues and bindings, so events published before it first runs wait for it. */
  declare(consumers: Consumer[]): Promise<void>;
  consume(consumer: Consumer, db: Kysely<Schema>): Promise<ConsumerRun>;
  /** The consumers' DLQs on the broker. Entry ids are "<consumer>/<event id>". */
  deadLetters(consumers: Consumer[]): DeadLetterQueues;
  /** A consumer republishing every event to the P.changes stream. */
  changeStream(tuning: Pick<Consumer, 'concurrency' | 'maxAttempts' | 'backoff'>): Consumer;
  names: ReturnType<typeof topologyNames>;
  /** Whether a connection is up right now. */
  connected(): boolean;
  close(): Promise<void>;
}

export function topologyNames(prefix: string) {
  return {
    events: `${prefix}.events`,
    dead: `${prefix}.dead`,
    changes: `${prefix}.changes`,
    queue: (c: Pick<Consumer, 'name'>) => `${prefix}.${c.name}`,
    dlq: (c: Pick<Consumer, 'name' | 'deadLetter'>) => `${prefix}.${deadLetterOf(c)}`,
    retry: (c: Pick<Consumer, 'name'>, ms: number) => `${prefix}.${c.name}.retry.${ms}ms`,
  };
}

/** Every exchange and queue the transport declares for these consumers: for operators and for tests that clean up. */
export function declaredNames(prefix: string, consumers: Consumer[]): { exchanges: string[]; queues: string[] } {
  const n = topologyNames(prefix);
  return {
    exchanges: [n.events, n.dead, n.changes],
    queues: [n.changes, ...consumers.flatMap((c) => [n.queue(c), n.dlq(c), ...retryDelays(c).map((ms) => n.retry(c, ms))])],
  };
}

/** The delays a consumer's retries use: one delay queue each. */
function retryDelays(c: Consumer): number[] {
  const delays = new Set<number>();
  for (let n = 1; n < c.maxAttempts; n++) delays.add(backoffDelay(n, c.backoff));
  return [...delays];
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function publishConfirmed(ch: ConfirmChannel, exchange: string, key: string, content: Buffer, options: Options.Publish): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      ch.publish(exchange, key, content, options, (err) => (err ? reject(err instanceof Error ? err : new BrokerError(String(err))) : resolve()));
    } catch (err) {
      reject(err);
    }
  });
}

function messageOptions(m: Message, headers: Record<string, unknown> = {}): Options.Publish {
  return { persistent: true, messageId: m.id, type: m.type, contentType: 'application/json', timestamp: Math.floor(Date.now() / 1000), headers };
}

/** Our own headers only: the broker's x-death tables are not ours to copy around. */
function tallyHeaders(msg: AmqpMessage): Record<string, unknown> {
  const h = msg.properties.headers ?? {};
  return Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('x-tally-')));
}

/** Connect (a clear one-line error when the broker cannot be reached) and stay connected: reconnect with backoff when it goes away. */
export async function connectBroker(opts: BrokerOptions): Promise<Broker> {
  const url = checkAmqpUrl(opts.url);
  const names = topologyNames(opts.prefix ?? 'tally');
  const reconnect = opts.reconnect ?? { initialMs: 500, maxMs: 30_000 };
  const log = opts.log;
  let model: ChannelModel | null = null;
  let publisher: Promise<ConfirmChannel> | null = null;
  let closing = false;
  let reconnecting: Promise<void> | null = null;
  const runs = new Set<{ start(m: ChannelModel): Promise<void> }>();

  async function open(): Promise<ChannelModel> {
    const m = await amqp.connect(url, { timeout: opts.connectTimeoutMs ?? 5000 });
    // Without a listener an 'error' event would crash the process; 'close' follows it and is where we act.
    m.on('error', (err: Error) => log?.warn({ err: err.message }, 'broker connection error'));
    m.on('close', () => {
      if (model !== m) return;
      model = null;
      publisher = null;
      if (!closing) reconnecting ??= reconnectLoop().finally(() => (reconnecting = null));
    });
    return m;
  }

  /**
   * Until connected with every consumer running again. The connection may drop
   * again while consumers restart; the loop then goes on rather than ending with
   * consumers that are silently gone.
   */
  async function reconnectLoop(): Promise<void> {
    log?.warn('broker connection lost; reconnecting');
    for (let failures = 1; !closing; failures++) {
      await pause(backoffDelay(failures, reconnect));
      if (closing) return;
      if (!model) {
        try {
          model = await open();
        } catch (err) {
          log?.warn({ err: (err as Error).message, failures }, 'broker still unreachable');
          continue;
        }
        log?.info('broker connection restored');
      }
      const m = model;
      let resumed = true;
      for (const run of runs) {
        await run.start(m).catch((err: Error) => {
          resumed = false;
          log?.error({ err: err.message }, 'could not resume a consumer');
        });
      }
      if (resumed && model === m) return;
    }
  }

  try {
    model = await open();
  } catch (err) {
    throw new BrokerError(`TALLY_AMQP_URL "${redactUrl(url)}": broker unreachable (${(err as Error).message})`);
  }

  function current(): ChannelModel {
    if (!model) throw new BrokerError('the broker connection is down; reconnecting');
    return model;
  }

  /** amqplib emits a channel's errors unconditionally: every channel needs a listener or the process dies; the failing call rejects anyway. */
  async function plainChannel(): Promise<Channel> {
    const ch = await current().createChannel();
    ch.on('error', (err: Error) => log?.warn({ err: err.message }, 'broker channel error'));
    return ch;
  }

  async function confirmChannel(): Promise<ConfirmChannel> {
    const ch = await current().createConfirmChannel();
    ch.on('error', (err: Error) => log?.warn({ err: err.message }, 'broker channel error'));
    return ch;
  }

  /** Messages the broker handed back as unroutable, by message id, per publisher channel. */
  const returned = new WeakMap<ConfirmChannel, Map<string, number>>();

  async function publisherChannel(): Promise<ConfirmChannel> {
    if (!publisher) {
      const p: Promise<ConfirmChannel> = confirmChannel().then((ch) => {
        const back = new Map<string, number>();
        returned.set(ch, back);
        ch.on('return', (msg: AmqpMessage) => {
          const id = String(msg.properties.messageId);
          back.set(id, (back.get(id) ?? 0) + 1);
        });
        ch.on('close', () => {
          if (publisher === p) publisher = null;
        });
        return ch;
      });
      publisher = p;
      p.catch(() => {
        if (publisher === p) publisher = null;
      });
    }
    return publisher;
  }

  /**
   * Publish mandatory and confirmed: the broker confirms even a message no queue
   * took, but returns it first, so a confirmed message that was not returned is in
   * at least one durable queue. Anything less is refused, and the relay keeps the
   * event unpublished.
   */
  async function publishDurably(exchange: string, m: Message): Promise<void> {
    const ch = await publisherChannel();
    await publishConfirmed(ch, exchange, m.type, Buffer.from(encodeMessage(m)), { ...messageOptions(m), mandatory: true });
    const back = returned.get(ch);
    const n = back?.get(m.id) ?? 0;
    if (n > 0) {
      if (n === 1) back!.delete(m.id);
      else back!.set(m.id, n - 1);
      throw new BrokerError(`no queue is bound to ${exchange} for ${m.type} (event ${m.id}); it stays unpublished`);
    }
  }

  async function declareCore(ch: Channel): Promise<void> {
    await ch.assertExchange(names.events, 'topic', { durable: true });
    await ch.assertExchange(names.dead, 'direct', { durable: true });
    await ch.assertExchange(names.changes, 'fanout', { durable: true });
    await ch.assertQueue(names.changes, { durable: true });
    await ch.bindQueue(names.changes, names.changes, '');
  }

  async function declareConsumer(ch: Channel, c: Consumer): Promise<void> {
    const queue = names.queue(c);
    const dlq = names.dlq(c);
    await ch.assertQueue(dlq, { durable: true });
    await ch.bindQueue(dlq, names.dead, dlq);
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-dead-letter-exchange': names.dead, 'x-dead-letter-routing-key': dlq } });
    for (const topic of c.topics) await ch.bindQueue(queue, names.events, topic);
    for (const ms of retryDelays(c)) {
      await ch.assertQueue(names.retry(c, ms), {
        durable: true,
        arguments: { 'x-message-ttl': ms, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
      });
    }
  }

  async function declare(consumers: Consumer[]): Promise<void> {
    const ch = await plainChannel();
    try {
      await declareCore(ch);
      for (const c of consumers) await declareConsumer(ch, c);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  async function publishEvents(messages: Message[]): Promise<void> {
    if (!messages.length) return;
    await Promise.all(messages.map((m) => publishDurably(names.events, m)));
  }

  async function consume(c: Consumer, db: Kysely<Schema>): Promise<ConsumerRun> {
    let ch: ConfirmChannel | null = null;
    let tag: string | null = null;
    const inHand = new Set<Promise<void>>();

    async function settle(channel: ConfirmChannel, msg: AmqpMessage): Promise<void> {
      let message: Message;
      try {
        message = decodeMessage(msg.content.toString('utf8'));
      } catch (err) {
        log?.warn({ consumer: c.name, err: (err as Error).message }, 'undecodable message sent to the dead-letter queue');
        // Rejected without requeue: the queue's dead-letter exchange parks it in the DLQ.
        channel.nack(msg, false, false);
        return;
      }
      try {
        await handleOnce(db, c, message);
        channel.ack(msg);
        return;
      } catch (err) {
        const failures = Number(msg.properties.headers?.[failuresHeader] ?? 0) + 1;
        const error = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
        const headers = { ...tallyHeaders(msg), [failuresHeader]: failures, [errorHeader]: error, [failedAtHeader]: new Date().toISOString() };
        const content = msg.content;
        if (failures < c.maxAttempts) {
          await publishConfirmed(channel, '', names.retry(c, backoffDelay(failures, c.backoff)), content, messageOptions(message, headers));
        } else {
          log?.warn({ consumer: c.name, event: message.id, attempts: failures, error }, 'message dead-lettered');
          await publishConfirmed(channel, names.dead, names.dlq(c), content, messageOptions(message, headers));
        }
        channel.ack(msg);
      }
    }

    function resumeLater(channel: ConfirmChannel): void {
      setTimeout(() => {
        if (ch === channel && runs.has(run) && model && !closing) {
          log?.warn({ consumer: c.name }, 'consumer lost its channel or was cancelled by the broker; resuming');
          run.start(model).catch((err: Error) => log?.error({ consumer: c.name, err: err.message }, 'could not resume a consumer'));
        }
      }, reconnect.initialMs).unref();
    }

    const run = {
      async start(m: ChannelModel): Promise<void> {
        // A restart replaces the channel: never two channels consuming for one run.
        const previous = ch;
        ch = null;
        if (previous) await previous.close().catch(() => undefined);
        const channel = await m.createConfirmChannel();
        channel.on('error', (err: Error) => log?.warn({ consumer: c.name, err: err.message }, 'consumer channel error'));
        // A channel can close on its own (a protocol error) while the connection stays up: consume again on a fresh one.
        channel.on('close', () => resumeLater(channel));
        await declareCore(channel);
        await declareConsumer(channel, c);
        // The broker hands over at most `concurrency` unacked messages: that is the consumer's concurrency.
        await channel.prefetch(c.concurrency);
        ch = channel;
        const ok = await channel.consume(names.queue(c), (msg) => {
          // The broker cancelled us (the queue was deleted, a node went away): declare and consume again.
          if (!msg) return resumeLater(channel);
          const p = settle(channel, msg)
            // A channel that closed under us (stop, lost connection): the broker redelivers what was not acked.
            .catch((err: Error) => log?.warn({ consumer: c.name, err: err.message }, 'delivery not settled; the broker will redeliver it'))
            .finally(() => inHand.delete(p));
          inHand.add(p);
        }, { noAck: false });
        tag = ok.consumerTag;
      },
    };
    await run.start(current());
    runs.add(run);
    return {
      async stop() {
        runs.delete(run);
        const channel = ch;
        if (!channel) return;
        if (tag) await channel.cancel(tag).catch(() => undefined);
        await Promise.allSettled([...inHand]);
        await channel.close().catch(() => undefined);
      },
    };
  }

  function deadLetters(consumers: Consumer[]): DeadLetterQueues {
    const byName = new Map(consumers.map((c) => [c.name, c]));

    function view(c: Consumer, msg: GetMessage): DeadLetter {
      const raw = msg.content.toString('utf8');
      let message: Message | null = null;
      try {
        message = decodeMessage(raw);
      } catch {
        // Shown raw, so it can still be inspected and purged.
      }
      const h = msg.properties.headers ?? {};
      const eventId = message?.id ?? String(msg.properties.messageId ?? 'undecodable');
      const death = Array.isArray(h['x-death']) ? (h['x-death'][0] as { reason?: string }) : undefined;
      return {
        id: `${c.name}/${eventId}`, consumer: c.name, eventId, type: message?.type ?? String(msg.properties.type ?? ''),
        attempts: Number(h[failuresHeader] ?? 1),
        error: String(h[errorHeader] ?? (death ? `rejected by the consumer (${death.reason ?? 'dead-lettered'}): not a Tally event` : '')),
        failedAt: String(h[failedAtHeader] ?? ''), message, ...(message ? {} : { raw }),
      };
    }

    /** Take every message of a DLQ without acking it; closing the channel puts back whatever was not acked, in order. */
    async function browse<T>(c: Consumer, limit: number, work: (ch: ConfirmChannel, msgs: GetMessage[]) => Promise<T>): Promise<T> {
      const ch = await confirmChannel();
      try {
        await declareCore(ch);
        await declareConsumer(ch, c);
        const msgs: GetMessage[] = [];
        while (msgs.length < limit) {
          const msg = await ch.get(names.dlq(c), { noAck: false });
          if (!msg) break;
          msgs.push(msg);
        }
        return await work(ch, msgs);
      } finally {
        await ch.close().catch(() => undefined);
      }
    }

    function parseId(id: string): { c: Consumer; eventId: string } {
      const slash = id.indexOf('/');
      const c = slash > 0 ? byName.get(id.slice(0, slash)) : undefined;
      if (!c) throw new NotFound('id', `"${id}" is not <consumer>/<event id> for a configured consumer (${[...byName.keys()].join(', ')})`, id);
      return { c, eventId: id.slice(slash + 1) };
    }

    return {
      async list(limit) {
        const out: DeadLetter[] = [];
        for (const c of consumers) {
          if (out.length >= limit) break;
          out.push(...(await browse(c, limit - out.length, async (_ch, msgs) => msgs.map((m) => view(c, m)))));
        }
        return out;
      },
      async show(id) {
        const { c, eventId } = parseId(id);
        return browse(c, Number.MAX_SAFE_INTEGER, async (_ch, msgs) => msgs.map((m) => view(c, m)).find((d) => d.eventId === eventId));
      },
      async replay(id) {
        const targets = id === 'all' ? consumers.map((c) => ({ c, eventId: null as string | null })) : [parseId(id)];
        let replayed = 0;
        for (const { c, eventId } of targets) {
          replayed += await browse(c, Number.MAX_SAFE_INTEGER, async (ch, msgs) => {
            const chosen = msgs.filter((m) => eventId === null || view(c, m).eventId === eventId);
            // Back to the consumer's own queue only (not the exchange: other consumers already have it), with a fresh retry budget.
            await Promise.all(chosen.map((m) => publishConfirmed(ch, '', names.queue(c), m.content, {
              ...m.properties, persistent: true, headers: { ...tallyHeaders(m), [failuresHeader]: 0 },
            } as Options.Publish)));
            for (const m of chosen) ch.ack(m);
            return chosen.length;
          });
        }
        if (id !== 'all' && replayed === 0) throw new NotFound('id', `no dead letter "${id}"`, id);
        return { replayed, failed: 0 };
      },
      async purge() {
        let purged = 0;
        const ch = await plainChannel();
        try {
          await declareCore(ch);
          for (const c of consumers) {
            await declareConsumer(ch, c);
            purged += (await ch.purgeQueue(names.dlq(c))).messageCount;
          }
        } finally {
          await ch.close().catch(() => undefined);
        }
        return purged;
      },
    };
  }

  function changeStream(tuning: Pick<Consumer, 'concurrency' | 'maxAttempts' | 'backoff'>): Consumer {
    return {
      name: 'change-stream', topics: ['#'], ...tuning,
      async handle(m) {
        await publishDurably(names.changes, m);
      },
    };
  }

  return {
    transport: { publish: publishEvents },
    declare,
    consume,
    deadLetters,
    changeStream,
    names,
    connected: () => model !== null,
    async close() {
      closing = true;
      const m = model;
      model = null;
      publisher = null;
      if (m) await m.close().catch(() => undefined);
    },
  };
}
