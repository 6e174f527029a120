import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { inProcessBus } from '../../src/messaging/bus.ts';
import { verifyWebhookSignature, webhookConsumer, webhookSignature } from '../../src/messaging/webhook.ts';
import { events, freshStore, silent } from '../support/messaging.ts';

const secret = 'whsec_test';

interface Received { headers: IncomingHttpHeaders; body: string }

/** A partner's endpoint: answers with whatever `status` says at the time of the call. */
async function receiver(status: () => number | 'hang') {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const s = status();
      if (s === 'hang') return;
      res.statusCode = s;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/tally`;
  return { url, received, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

test('the signature is HMAC-SHA256 over "timestamp.body" (vector computed with openssl)', () => {
  const body = '{"id":"payment.failed:inv-1:1"}';
  assert.equal(webhookSignature(secret, 1767225600, body), 't=1767225600,v1=7e4e3600ebddc865dd64e3786446cc2d42cf5b1814bae4a3c68ce9383b91105c');
  assert.equal(verifyWebhookSignature(secret, webhookSignature(secret, 1767225600, body), body, 1767225650), true);
  assert.equal(verifyWebhookSignature(secret, webhookSignature(secret, 1767225600, body), body + ' ', 1767225650), false, 'body changed');
  assert.equal(verifyWebhookSignature('other', webhookSignature(secret, 1767225600, body), body, 1767225650), false, 'wrong secret');
  assert.equal(verifyWebhookSignature(secret, webhookSignature(secret, 1767225600, body), body, 1767226000), false, 'too old');
});

test('member notifications arrive signed, with the event id as idempotency key; other events are not sent', async () => {
  const hook = await receiver(() => 204);
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  bus.subscribe(webhookConsumer({ url: hook.url, secret, timeoutMs: 2000 }, { concurrency: 2, maxAttempts: 3, backoff: { initialMs: 5, maxMs: 10 } }));
  await bus.publish([...events(2, 'payment.failed'), ...events(1, 'invoice.paid'), ...events(1, 'subscription.on_hold')]);

  assert.deepEqual(hook.received.map((r) => r.headers['idempotency-key']).sort(),
    ['payment.failed:inv-1:1', 'payment.failed:inv-2:1', 'subscription.on_hold:inv-1:1']);
  for (const r of hook.received) {
    // Checked with our own HMAC here rather than the code under test.
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['tally-signature']))!;
    assert.equal(v1, createHmac('sha256', secret).update(`${t}.${r.body}`).digest('hex'));
    assert.ok(Math.abs(Number(t) - Date.now() / 1000) < 60);
    const body = JSON.parse(r.body);
    assert.equal(body.id, r.headers['idempotency-key']);
    assert.equal(r.headers['tally-event-type'], body.type);
    assert.equal(r.headers['content-type'], 'application/json');
  }
  const first = JSON.parse(hook.received.find((r) => r.headers['idempotency-key'] === 'payment.failed:inv-1:1')!.body);
  assert.deepEqual(first, { id: 'payment.failed:inv-1:1', type: 'payment.failed', memberId: 'm1', occurredOn: '2026-03-15', data: { invoice: 'inv-1', attempt: 1 } });
  await hook.close();
  await store.close();
});

test('a 500 answer is retried, then dead-lettered; replay delivers once the endpoint recovers', async () => {
  let status = 500;
  const hook = await receiver(() => status);
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  bus.subscribe(webhookConsumer({ url: hook.url, secret, timeoutMs: 2000 }, { concurrency: 1, maxAttempts: 4, backoff: { initialMs: 5, maxMs: 10 } }));
  await bus.publish(events(1));
  assert.equal(hook.received.length, 4, 'four attempts');
  const [dead] = await bus.deadLetters.list(10);
  assert.equal(dead?.consumer, 'member-webhook');
  assert.equal(dead?.attempts, 4);
  assert.match(dead!.error, /answered 500/);

  status = 200;
  assert.deepEqual(await bus.deadLetters.replay(dead!.id), { replayed: 1, failed: 0 });
  assert.equal(hook.received.length, 5);
  assert.equal(hook.received[4]!.headers['idempotency-key'], 'payment.failed:inv-1:1');
  await hook.close();
  await store.close();
});

test('an endpoint that does not answer in time is a failure too', async () => {
  const hook = await receiver(() => 'hang');
  const store = await freshStore();
  const bus = inProcessBus(store.db, { log: silent });
  bus.subscribe(webhookConsumer({ url: hook.url, secret, timeoutMs: 100 }, { concurrency: 1, maxAttempts: 2, backoff: { initialMs: 5, maxMs: 5 } }));
  await bus.publish(events(1));
  const [dead] = await bus.deadLetters.list(10);
  assert.match(dead!.error, /no answer within 100 ms/);
  assert.equal(hook.received.length, 2);
  await hook.close();
  await store.close();
});
