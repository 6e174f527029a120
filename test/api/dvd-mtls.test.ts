import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { buildDvdApi } from '../../src/api/server.ts';
import { testApi } from '../support/api.ts';
import { mutualTlsFixtures, type Pem } from '../support/certificates.ts';

const certs = mutualTlsFixtures();
let t: Awaited<ReturnType<typeof testApi>>;
let dvd: Awaited<ReturnType<typeof buildDvdApi>>;
let port: number;

before(async () => {
  t = await testApi();
  await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: 'u1', country: 'US', region: 'CA', timezone: 'America/Los_Angeles', paymentToken: 'tok_ok', plan: 'basic' } });
  dvd = await buildDvdApi(t.api, { metrics: t.metrics, keyCacheMs: 0, https: { key: certs.server.key, cert: certs.server.cert, ca: certs.ca } });
  await dvd.listen({ host: '127.0.0.1', port: 0 });
  port = (dvd.server.address() as AddressInfo).port;
});
after(async () => {
  await dvd.close();
  await t.close();
});

function call(method: string, path: string, client: Pem | null, key: string | null, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({
      host: '127.0.0.1', port, path, method, ca: certs.ca, servername: 'localhost',
      ...(client ? { key: client.key, cert: client.cert } : {}),
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

test('a partner with a client certificate from the configured CA and a dvd-partner key adds, reads and removes the DVD plan', async () => {
  const add = await call('POST', '/v1/dvd/members/u1/dvd-plan', certs.partner, t.keys['dvd-partner'], { plan: 'dvd-1' });
  assert.equal(add.status, 200, add.body);
  assert.ok(JSON.parse(add.body).subscriptions.some((s: { product: string }) => s.product === 'dvd'));
  const billing = await call('GET', '/v1/dvd/members/u1/billing', certs.partner, t.keys['dvd-partner']);
  assert.equal(billing.status, 200);
  const removed = await call('POST', '/v1/dvd/members/u1/dvd-plan/cancellation', certs.partner, t.keys['dvd-partner']);
  assert.equal(removed.status, 200, removed.body);
  const streaming = await call('POST', '/v1/dvd/members/u1/dvd-plan', certs.partner, t.keys['dvd-partner'], { plan: 'premium' });
  assert.equal(streaming.status, 422);
});

test('no client certificate: the TLS handshake is refused', async () => {
  await assert.rejects(call('GET', '/v1/dvd/members/u1/billing', null, t.keys['dvd-partner']));
});

test('a client certificate signed by another CA is refused', async () => {
  await assert.rejects(call('GET', '/v1/dvd/members/u1/billing', certs.stranger, t.keys['dvd-partner']));
});

test('a valid certificate with another role\'s key is forbidden', async () => {
  assert.equal((await call('GET', '/v1/dvd/members/u1/billing', certs.partner, t.keys['member-app'])).status, 403);
  assert.equal((await call('GET', '/v1/dvd/members/u1/billing', certs.partner, null)).status, 401);
});

test('the DVD routes do not exist on the plain listener', async () => {
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/dvd/members/u1/billing', headers: t.auth('dvd-partner') })).statusCode, 404);
});
