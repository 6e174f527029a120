import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotFound } from '../../src/domain/errors.ts';
import { inProcessBus } from '../../src/messaging/bus.ts';
import { backoffDelay, encodeMessage, topicMatches } from '../../src/messaging/message.ts';
import { parkDeadLetter } from '../../src/store/deliveries.ts';
import { countingConsumer, events, freshStore, silent } from '../support/messaging.ts';

test('backoff doubles from the initial delay and stops at the cap', () => {
  const b = { initialMs: 100, maxMs: 1000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, b)), [100, 200, 400, 800, 1000, 1000]);
});

test('topics match like AMQP topic bindings', () => {
  assert.equal(topicMatches('payment.failed', 'payment.failed'), true);
  assert.equal(topicMatches('payment.failed', 'payment.failed.late'), false);
  assert.equal(topicMatches('subscription.*', 'subscription.on_hold'), true);
  assert.equal(topicMatches('subscription.*', 'subscription'), false);
  assert.equal(topicMatches('#', 'invoice.paid'), true);
  assert.equal(topicMatches('invoice.#', 'invoice'), true);
  assert.equal(topicMatches('*.paid', 'payment.failed'), false);
});

test('a failing handler is retried with backoff, then parked in the dead-letter table after max attempts', async () => {
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  const c = countingConsumer('webhook', { maxAttempts: 3, backoff: { initialMs: 30, maxMs: 40 } });
  c.state.broken = true;
  bus.subscribe(c.consumer);
  const [m] = events(1);
  await bus.publish([m!]);

  assert.equal(c.calls.length, 3, 'three attempts in all');
  const gaps = [c.calls[1]!.at - c.calls[0]!.at, c.calls[2]!.at - c.calls[1]!.at];
  // 30 ms after the first failure, then 60 ms capped at 40; a timer may fire a fraction of a millisecond early.
  assert.ok(gaps[0]! >= 29, `first retry waited ${gaps[0]} ms`);
  assert.ok(gaps[1]! >= 39, `second retry waited ${gaps[1]} ms`);

  const dead = await store.db.selectFrom('dead_letters').selectAll().execute();
  assert.equal(dead.length, 1);
  assert.equal(dead[0]!.consumer, 'webhook');
  assert.equal(dead[0]!.destination, 'webhook.dlq');
  assert.equal(dead[0]!.event_id, 'payment.failed:inv-1:1');
  assert.equal(dead[0]!.attempts, 3);
  assert.equal(dead[0]!.error, 'consumer webhook is broken');
  assert.equal((await store.db.selectFrom('processed_events').selectAll().execute()).length, 0);
  await store.close();
});

test('replay delivers a dead letter once the handler is fixed, and removes it; a second replay finds nothing', async () => {
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  const c = countingConsumer('webhook', { maxAttempts: 2, backoff: { initialMs: 1, maxMs: 1 } });
  c.state.broken = true;
  bus.subscribe(c.consumer);
  await bus.publish(events(2));
  // Both fail at once, so which is parked first is up to the scheduler: compare them in event order.
  const listed = (await bus.deadLetters.list(10)).sort((a, b) => a.eventId.localeCompare(b.eventId));
  assert.deepEqual(listed.map((d) => [d.eventId, d.attempts]), [['payment.failed:inv-1:1', 2], ['payment.failed:inv-2:1', 2]]);

  // Still broken: the replay fails, the entry stays with its attempts added up.
  assert.deepEqual(await bus.deadLetters.replay(listed[0]!.id), { replayed: 0, failed: 1 });
  assert.equal((await bus.deadLetters.show(listed[0]!.id))?.attempts, 4);

  c.state.broken = false;
  assert.deepEqual(await bus.deadLetters.replay(listed[0]!.id), { replayed: 1, failed: 0 });
  assert.deepEqual([...c.handled], [['payment.failed:inv-1:1', 1]]);
  assert.equal(await bus.deadLetters.show(listed[0]!.id), undefined);
  await assert.rejects(bus.deadLetters.replay(listed[0]!.id), NotFound);
  assert.deepEqual(await bus.deadLetters.replay('all'), { replayed: 1, failed: 0 });
  assert.deepEqual([...c.handled].sort(), [['payment.failed:inv-1:1', 1], ['payment.failed:inv-2:1', 1]]);
  assert.equal((await bus.deadLetters.list(10)).length, 0);
  await store.close();
});

test('a replay for a consumer that is not configured changes nothing', async () => {
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  const [m] = events(1);
  await parkDeadLetter(store.db, { consumer: 'gone', destination: 'gone.dlq', eventId: m!.id, type: m!.type, message: encodeMessage(m!), error: 'x', attempts: 1 });
  await assert.rejects(bus.deadLetters.replay('all'), /consumer "gone"/);
  assert.equal((await bus.deadLetters.list(10)).length, 1);
  await store.close();
});

test('a consumer handles an event id once: duplicates in a batch, a republish, and a replay of something it already handled', async () => {
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  const c = countingConsumer('changes', { concurrency: 4 });
  bus.subscribe(c.consumer);
  const batch = events(3);
  await bus.publish([...batch, batch[0]!, batch[1]!]);
  await bus.publish(batch);
  const [m] = batch;
  // A stale copy parked before the consumer handled the event (e.g. by an earlier, broken deployment).
  await parkDeadLetter(store.db, { consumer: 'changes', destination: 'changes.dlq', eventId: m!.id, type: m!.type, message: encodeMessage(m!), error: 'old', attempts: 3 });
  assert.deepEqual(await bus.deadLetters.replay('all'), { replayed: 1, failed: 0 });
  assert.deepEqual([...c.handled.values()], [1, 1, 1]);
  assert.equal(c.calls.length, 3, 'the handler itself ran three times, once per event');
  await store.close();
});

test('each consumer runs at most its own concurrency, and does use it', async () => {
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  const peaks: Record<string, { active: number; peak: number }> = {};
  for (const [name, concurrency] of [['wide', 3], ['narrow', 1]] as const) {
    peaks[name] = { active: 0, peak: 0 };
    bus.subscribe({
      name, topics: ['payment.*'], concurrency, maxAttempts: 1, backoff: { initialMs: 1, maxMs: 1 },
      async handle() {
        const p = peaks[name]!;
        p.peak = Math.max(p.peak, ++p.active);
        await new Promise((r) => setTimeout(r, 15));
        p.active--;
      },
    });
  }
  await bus.publish(events(9));
  assert.equal(peaks.wide!.peak, 3);
  assert.equal(peaks.narrow!.peak, 1);
  const handled = await store.db.selectFrom('processed_events').select(['consumer']).execute();
  assert.equal(handled.filter((r) => r.consumer === 'wide').length, 9);
  assert.equal(handled.filter((r) => r.consumer === 'narrow').length, 9);
  await store.close();
});

test('a consumer only receives the topics it subscribed to', async () => {
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  const c = countingConsumer('holds', { topics: ['subscription.on_hold'] });
  bus.subscribe(c.consumer);
  await bus.publish([...events(2, 'payment.failed'), ...events(1, 'subscription.on_hold')]);
  assert.deepEqual([...c.handled.keys()], ['subscription.on_hold:inv-1:1']);
  await store.close();
});

test('stopping the bus abandons a retry waiting out its backoff, and parks nothing', async () => {
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  const c = countingConsumer('webhook', { maxAttempts: 5, backoff: { initialMs: 60_000, maxMs: 60_000 } });
  c.state.broken = true;
  bus.subscribe(c.consumer);
  const publishing = bus.publish(events(1));
  setTimeout(() => bus.stop(), 20);
  await assert.rejects(publishing, /stopping/);
  assert.equal((await bus.deadLetters.list(10)).length, 0);
  await store.close();
});
