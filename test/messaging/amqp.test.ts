import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, mock, test } from 'node:test';
import amqp from 'amqplib';
import { main } from '../../src/cli/main.ts';
import { messagingConfigFromEnv, openMessaging } from '../../src/messaging/index.ts';
import { openStore } from '../../src/store/connect.ts';
import { BrokerError, connectBroker, type Broker } from '../../src/messaging/amqp-transport.ts';
import type { Consumer } from '../../src/messaging/message.ts';
import { relayOutbox } from '../../src/messaging/outbox-relay.ts';
import { appendEvents } from '../../src/store/outbox.ts';
import { amqpUrl, brokerSkipReason, cuttableLink, dropTopology, uniquePrefix } from '../support/broker.ts';
import { countingConsumer, eventually, events, freshStore, silent } from '../support/messaging.ts';

const skip = await brokerSkipReason();
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A broker session under a prefix of its own, torn down (connection and every queue) after the file. */
async function session(name: string, consumers: Consumer[], url = amqpUrl): Promise<Broker> {
  const prefix = uniquePrefix(name);
  const broker = await connectBroker({ url, prefix, log: silent, reconnect: { initialMs: 50, maxMs: 200 } });
  cleanups.push(async () => {
    await broker.close();
    await dropTopology(prefix, consumers);
  });
  return broker;
}

test('a malformed URL and an unreachable broker are one readable line', { skip }, async () => {
  await assert.rejects(connectBroker({ url: 'rabbit:/nowhere' }), (err: Error) =>
    err instanceof BrokerError && /TALLY_AMQP_URL "rabbit:\/nowhere" is not an amqp:\/\/ or amqps:\/\/ URL/.test(err.message));
  await assert.rejects(connectBroker({ url: 'amqp://guest:secret@127.0.0.1:1' }), (err: Error) =>
    err instanceof BrokerError && /^TALLY_AMQP_URL "amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1": broker unreachable \(.+\)$/.test(err.message) && !err.message.includes('\n'));
});

test('an event no queue would take is refused, not confirmed into the void', { skip }, async () => {
  const broker = await session('unroutable', []);
  await broker.declare([]);
  const [m] = events(1);
  await assert.rejects(broker.transport.publish([m!]), /no queue is bound to tally-test-unroutable-\S+\.events for payment\.failed \(event payment\.failed:inv-1:1\)/);
  const store = await freshStore();
  await appendEvents(store.db, [m!]);
  await assert.rejects(relayOutbox(store.db, broker.transport, { owner: 't' }), /no queue is bound/);
  assert.equal((await store.db.selectFrom('outbox').select('id').where('published_at', 'is', null).execute()).length, 1, 'the relay left it unpublished');
  await store.close();
});

test('a poison message is retried to the limit, parked in the DLQ, and replay delivers it once the consumer is fixed', { skip }, async () => {
  const store = await freshStore();
  const c = countingConsumer('billing-mail', { concurrency: 2, maxAttempts: 3, backoff: { initialMs: 40, maxMs: 80 } });
  const [good1, poison, good2] = events(3);
  c.state.broken = (m) => m.id === poison!.id;
  const broker = await session('poison', [c.consumer]);
  const run = await broker.consume(c.consumer, store.db);
  await broker.transport.publish([good1!, poison!, good2!]);

  const dlq = broker.deadLetters([c.consumer]);
  await eventually(async () => (await dlq.list(10)).length === 1, 'the poison message in the DLQ');
  assert.equal(c.calls.filter((x) => x.id === poison!.id).length, 3, 'three attempts, then parked');
  const retries = c.calls.filter((x) => x.id === poison!.id).map((x) => x.at);
  assert.ok(retries[1]! - retries[0]! >= 39 && retries[2]! - retries[1]! >= 79, 'each retry waited out its delay queue');
  assert.deepEqual([...c.handled].sort(), [[good1!.id, 1], [good2!.id, 1]]);
  const [entry] = await dlq.list(10);
  assert.equal(entry!.id, `billing-mail/${poison!.id}`);
  assert.equal(entry!.attempts, 3);
  assert.equal(entry!.error, 'consumer billing-mail is broken');
  assert.deepEqual((await dlq.show(entry!.id))?.message, poison);
  assert.equal((await dlq.list(10)).length, 1, 'browsing leaves the entry where it was');

  c.state.broken = false;
  assert.deepEqual(await dlq.replay(entry!.id), { replayed: 1, failed: 0 });
  await eventually(() => c.handled.get(poison!.id) === 1, 'the replayed message handled');
  assert.equal((await dlq.list(10)).length, 0);
  await assert.rejects(dlq.replay(entry!.id), /no dead letter/);
  await run.stop();
  await store.close();
});

test('a consumer stopped mid-stream loses nothing: relay N through the broker, stop, restart, each handled exactly once', { skip }, async () => {
  const store = await freshStore();
  const n = 150;
  await appendEvents(store.db, events(n));
  const c = countingConsumer('ledger-sync', { concurrency: 4 });
  const slow = { ...c.consumer, handle: async (m: Parameters<Consumer['handle']>[0]) => { await new Promise((r) => setTimeout(r, 10)); await c.consumer.handle(m); } };
  const broker = await session('stop', [slow]);
  let run = await broker.consume(slow, store.db);
  // Publisher confirms: the relay marks rows published only once the broker took them.
  assert.deepEqual(await relayOutbox(store.db, broker.transport, { owner: 'test', batchSize: 40 }), { published: n, busy: false });

  await eventually(() => c.handled.size >= 30, 'some messages handled');
  await run.stop();
  const atStop = c.handled.size;
  assert.ok(atStop < n, `stopped mid-stream (${atStop} of ${n} handled)`);
  run = await broker.consume(slow, store.db);
  await eventually(() => c.handled.size === n, `all ${n} handled`);
  await run.stop();
  assert.deepEqual(new Set(c.handled.values()), new Set([1]));
  const processed = await store.db.selectFrom('processed_events').select('event_id').where('consumer', '=', 'ledger-sync').execute();
  assert.equal(processed.length, n);
  await store.close();
});

test('when the broker goes away the transport reconnects and consumers resume, losing nothing', { skip }, async () => {
  const store = await freshStore();
  const link = await cuttableLink();
  cleanups.push(link.close);
  const c = countingConsumer('reconnect', { concurrency: 2 });
  const broker = await session('reconnect', [c.consumer], link.url);
  const run = await broker.consume(c.consumer, store.db);
  await broker.transport.publish(events(10));
  await eventually(() => c.handled.size === 10, 'first ten handled');

  link.cut();
  await eventually(() => !broker.connected(), 'the loss noticed');
  await eventually(() => broker.connected(), 'reconnected');
  // The relay's view: a publish refused while down is simply retried.
  await eventually(async () => broker.transport.publish(events(10, 'payment.failed', 11)).then(() => true, () => false), 'published after reconnecting');
  await eventually(() => c.handled.size === 20, 'all twenty handled');
  assert.deepEqual(new Set(c.handled.values()), new Set([1]));
  await run.stop();
  await store.close();
});

test('a consumer whose queue is deleted under it declares it again and goes on consuming', { skip }, async () => {
  const store = await freshStore();
  const c = countingConsumer('resilient');
  const broker = await session('cancelled', [c.consumer]);
  const run = await broker.consume(c.consumer, store.db);
  await broker.transport.publish(events(3));
  await eventually(() => c.handled.size === 3, 'first three handled');

  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  await ch.deleteQueue(broker.names.queue(c.consumer));
  await conn.close();
  // Events published before the queue is back have nowhere to go (as with any unbound exchange); wait until it is.
  await eventually(async () => {
    const probe = await amqp.connect(amqpUrl);
    const pch = await probe.createChannel();
    pch.on('error', () => undefined);
    const back = await pch.checkQueue(broker.names.queue(c.consumer)).then((q) => q.consumerCount === 1, () => false);
    await probe.close().catch(() => undefined);
    return back;
  }, 'the queue declared again with its consumer');
  await broker.transport.publish(events(3, 'payment.failed', 4));
  await eventually(() => c.handled.size === 6, 'the next three handled');
  await run.stop();
  await store.close();
});

test('the change stream republishes every event to P.changes for other systems', { skip }, async () => {
  const store = await freshStore();
  const tuning = { concurrency: 2, maxAttempts: 3, backoff: { initialMs: 10, maxMs: 20 } };
  const prefix = uniquePrefix('changes');
  const broker = await connectBroker({ url: amqpUrl, prefix, log: silent });
  const changes = broker.changeStream(tuning);
  cleanups.push(async () => {
    await broker.close();
    await dropTopology(prefix, [changes]);
  });
  const run = await broker.consume(changes, store.db);
  const sent = [...events(2, 'invoice.issued'), ...events(1, 'subscription.on_hold')];
  await broker.transport.publish(sent);
  await eventually(async () => (await store.db.selectFrom('processed_events').select('event_id').execute()).length === 3, 'three republished');
  await run.stop();

  // Read the stream as another system would.
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  const got: unknown[] = [];
  for (let m = await ch.get(broker.names.changes, { noAck: true }); m; m = await ch.get(broker.names.changes, { noAck: true })) got.push(JSON.parse(m.content.toString()));
  await conn.close();
  assert.equal(broker.names.changes, `${prefix}.changes`);
  // Republished by two workers at once: every event, each once, in no promised order across members.
  const byId = (list: unknown[]) => [...list].sort((a, b) => ((a as { id: string }).id < (b as { id: string }).id ? -1 : 1));
  assert.deepEqual(byId(got), byId(sent));
  await store.close();
});

test('a message that is not a Tally event is rejected straight into the DLQ, shown raw, and purged', { skip }, async () => {
  const store = await freshStore();
  const c = countingConsumer('strict', { maxAttempts: 3 });
  const broker = await session('undecodable', [c.consumer]);
  const run = await broker.consume(c.consumer, store.db);
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createConfirmChannel();
  ch.publish(broker.names.events, 'payment.failed', Buffer.from('{"half": '), { messageId: 'foreign-1', persistent: true });
  await ch.waitForConfirms();
  await conn.close();

  const dlq = broker.deadLetters([c.consumer]);
  await eventually(async () => (await dlq.list(10)).length === 1, 'the undecodable message in the DLQ');
  const [entry] = await dlq.list(10);
  assert.equal(entry!.id, 'strict/foreign-1');
  assert.equal(entry!.message, null);
  assert.equal(entry!.raw, '{"half": ');
  assert.match(entry!.error, /not a Tally event/);
  assert.equal(c.calls.length, 0, 'the handler never saw it');
  assert.equal(await dlq.purge(), 1);
  assert.equal((await dlq.list(10)).length, 0);
  await run.stop();
  await store.close();
});

test('tally relay and tally dlq on RabbitMQ: a failing webhook dead-letters, replay --all delivers once it recovers', { skip }, async () => {

  let status = 503;
  const keys: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => { keys.push(String(req.headers['idempotency-key'])); res.statusCode = status; res.end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));

  const file = join(mkdtempSync(join(tmpdir(), 'tally-amqp-cli-')), 'store.db');
  const prefix = uniquePrefix('cli');
  const env: Record<string, string> = {
    TALLY_DB_URL: `sqlite:${file}`, TALLY_LOG_LEVEL: 'silent', TALLY_AMQP_URL: amqpUrl, TALLY_AMQP_PREFIX: prefix,
    TALLY_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, TALLY_WEBHOOK_SECRET: 'whsec',
    TALLY_WEBHOOK_MAX_ATTEMPTS: '2', TALLY_RETRY_INITIAL_MS: '20', TALLY_RETRY_MAX_MS: '20',
  };
  Object.assign(process.env, env);
  const store = await openStore(env.TALLY_DB_URL!);
  await appendEvents(store.db, [...events(2, 'payment.failed'), ...events(3, 'invoice.paid')]);
  // The consumers as `tally serve` runs them.
  const messaging = await openMessaging(store.db, messagingConfigFromEnv(), 'amqp', silent);
  cleanups.push(async () => {
    for (const k of Object.keys(env)) delete process.env[k];
    await dropTopology(prefix, messaging.consumers);
  });
  await messaging.start();

  const cli = async (args: string[]) => {
    const log = mock.method(console, 'log', () => undefined);
    try {
      assert.equal(await main(args), 0);
      return JSON.parse(String(log.mock.calls[0]!.arguments[0]));
    } finally {
      log.mock.restore();
    }
  };
  assert.deepEqual(await cli(['relay']), { transport: 'amqp', published: 5, busy: false });
  await eventually(async () => (await cli(['dlq', 'list'])).length === 2, 'both notifications dead-lettered');
  const listed = await cli(['dlq', 'list']);
  assert.deepEqual(listed.map((d: { id: string }) => d.id).sort(), ['member-webhook/payment.failed:inv-1:1', 'member-webhook/payment.failed:inv-2:1']);
  assert.equal(keys.length, 4);

  status = 200;
  assert.deepEqual(await cli(['dlq', 'replay', '--all']), { replayed: 2, failed: 0 });
  await eventually(() => keys.length === 6, 'both delivered after the replay');
  assert.deepEqual(keys.slice(4).sort(), ['payment.failed:inv-1:1', 'payment.failed:inv-2:1']);
  assert.deepEqual(await cli(['dlq', 'list']), []);
  await eventually(async () => (await store.db.selectFrom('processed_events').select('event_id').where('consumer', '=', 'change-stream').execute()).length === 5, 'the change stream got all five');
  await messaging.stop();
  await store.close();
});
