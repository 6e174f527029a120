import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { acquireLock } from '../../src/jobs/job-lock.ts';
import { inProcessBus } from '../../src/messaging/bus.ts';
import type { Message, Transport } from '../../src/messaging/message.ts';
import { outboxLagSeconds, registerOutboxLag, relayOutbox } from '../../src/messaging/outbox-relay.ts';
import { appendEvents } from '../../src/store/outbox.ts';
import { countingConsumer, events, freshStore, silent } from '../support/messaging.ts';

/** Records every message handed over, and can be slow, like a broker round trip. */
function recordingTransport(delayMs = 0) {
  const published: string[] = [];
  const transport: Transport = {
    async publish(messages: Message[]) {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      published.push(...messages.map((m) => m.id));
    },
  };
  return { transport, published };
}

async function unpublished(db: Awaited<ReturnType<typeof freshStore>>['db']): Promise<number> {
  return (await db.selectFrom('outbox').select('id').where('published_at', 'is', null).execute()).length;
}

test('the relay publishes unpublished events in outbox order, in batches, and marks them published', async () => {
  const store = await freshStore();
  await appendEvents(store.db, [...events(3, 'invoice.issued'), ...events(2, 'payment.failed')]);
  const t = recordingTransport();
  const sizes: number[] = [];
  const transport: Transport = { publish: async (ms) => { sizes.push(ms.length); await t.transport.publish(ms); } };
  assert.deepEqual(await relayOutbox(store.db, transport, { owner: 'a', batchSize: 2 }), { published: 5, busy: false });
  assert.deepEqual(t.published, ['invoice.issued:inv-1:1', 'invoice.issued:inv-2:1', 'invoice.issued:inv-3:1', 'payment.failed:inv-1:1', 'payment.failed:inv-2:1']);
  assert.deepEqual(sizes, [2, 2, 1]);
  assert.equal(await unpublished(store.db), 0);
  assert.deepEqual(await relayOutbox(store.db, transport, { owner: 'a' }), { published: 0, busy: false }, 'a second run has nothing to do');
  await store.close();
});

test('a transport that refuses leaves the batch unpublished for the next run', async () => {
  const store = await freshStore();
  await appendEvents(store.db, events(3));
  const refusing: Transport = { publish: async () => { throw new Error('broker unreachable'); } };
  await assert.rejects(relayOutbox(store.db, refusing, { owner: 'a' }), /broker unreachable/);
  assert.equal(await unpublished(store.db), 3);
  const t = recordingTransport();
  assert.equal((await relayOutbox(store.db, t.transport, { owner: 'b' })).published, 3, 'the lease was released on failure');
  await store.close();
});

test('relay killed at every crash point and re-run: every event published at least once, each consumer handles each exactly once', async () => {
  const store = await freshStore();
  await appendEvents(store.db, events(40));
  const bus = inProcessBus(store.db, { log: silent });
  const webhook = countingConsumer('webhook', { concurrency: 3 });
  const changes = countingConsumer('changes', { concurrency: 1 });
  bus.subscribe(webhook.consumer);
  bus.subscribe(changes.consumer);
  const publishes = new Map<string, number>();
  const transport: Transport = {
    async publish(ms) {
      for (const m of ms) publishes.set(m.id, (publishes.get(m.id) ?? 0) + 1);
      await bus.publish(ms);
    },
  };
  // Crash plan per run: after the transport accepted a batch but before it was marked (the at-least-once window),
  // after marking, or not at all. Runs 1 and 3 die in the window; run 2 dies after a mark.
  const plan: ('published' | 'marked' | null)[] = ['published', 'marked', 'published', null];
  let crashes = 0;
  for (const [run, point] of plan.entries()) {
    let batches = 0;
    try {
      await relayOutbox(store.db, transport, {
        owner: `relay-${run}`, batchSize: 7,
        checkpoint: (p) => {
          if (p === 'published') batches++;
          if (p === point && batches === 2) throw new Error('killed');
        },
      });
    } catch (err) {
      assert.equal((err as Error).message, 'killed');
      crashes++;
    }
  }
  assert.equal(crashes, 3);
  assert.equal(await unpublished(store.db), 0);
  assert.equal(publishes.size, 40, 'every event published');
  const twice = [...publishes.values()].filter((n) => n > 1).length;
  // Runs 1 and 3 each died with a 7-event batch accepted but not marked: those 14 went out twice.
  assert.equal(twice, 14);
  for (const c of [webhook, changes]) {
    assert.equal(c.handled.size, 40);
    assert.deepEqual(new Set(c.handled.values()), new Set([1]), 'no event handled twice');
  }
  await store.close();
});

test('two relays at once never publish the same batch twice: the second finds the lease taken', async () => {
  const store = await freshStore();
  await appendEvents(store.db, events(30));
  const t = recordingTransport(5);
  const [a, b] = await Promise.all([
    relayOutbox(store.db, t.transport, { owner: 'a', batchSize: 4 }),
    relayOutbox(store.db, t.transport, { owner: 'b', batchSize: 4 }),
  ]);
  assert.deepEqual([a.busy, b.busy].sort(), [false, true]);
  assert.equal(a.published + b.published, 30);
  assert.equal(t.published.length, 30);
  assert.equal(new Set(t.published).size, 30);
  await store.close();
});

test('a relay that died holding the lease keeps others out until the lease expires', async () => {
  const store = await freshStore();
  await appendEvents(store.db, events(2));
  await acquireLock(store.db, 'outbox-relay', 'dead-host:123', 60_000, 1_000_000);
  const t = recordingTransport();
  assert.deepEqual(await relayOutbox(store.db, t.transport, { owner: 'b', now: () => 1_030_000 }), { published: 0, busy: true });
  assert.deepEqual(await relayOutbox(store.db, t.transport, { owner: 'b', now: () => 1_060_001 }), { published: 2, busy: false });
  await store.close();
});

test('outbox lag is the age of the oldest unpublished event, on /metrics too', async () => {
  const store = await freshStore();
  const now = Date.now();
  await appendEvents(store.db, events(1), new Date(now - 90_000).toISOString());
  await appendEvents(store.db, events(1, 'invoice.paid'), new Date(now - 5_000).toISOString());
  assert.equal(await outboxLagSeconds(store.db, now), 90);
  const registry = new Registry();
  registerOutboxLag(registry, store.db);
  const text = await registry.metrics();
  const value = Number(/^tally_outbox_lag_seconds (\S+)$/m.exec(text)?.[1]);
  assert.ok(value >= 90 && value < 120, `gauge reads ${value}`);
  await relayOutbox(store.db, recordingTransport().transport, { owner: 'a' });
  assert.equal(await outboxLagSeconds(store.db, now), 0);
  await store.close();
});

test('a relay whose batch outlasts the lease keeps it by renewing, so a second relay stays out', async () => {
  const store = await freshStore();
  await appendEvents(store.db, events(2));
  const t = recordingTransport(250);
  const first = relayOutbox(store.db, t.transport, { owner: 'a', leaseMs: 60 });
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(await relayOutbox(store.db, t.transport, { owner: 'b', leaseMs: 60 }), { published: 0, busy: true });
  assert.deepEqual(await first, { published: 2, busy: false });
  assert.deepEqual(t.published, ['payment.failed:inv-1:1', 'payment.failed:inv-2:1']);
  await store.close();
});
