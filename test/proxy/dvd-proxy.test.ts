import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import { apiKeyVerifier } from '../../src/api/api-keys.ts';
import { buildDvdApi } from '../../src/api/server.ts';
import { MemberDirectory, tallyCountries } from '../../src/proxy/member-directory.ts';
import { buildDvdProxy, proxyMetrics } from '../../src/proxy/proxy-server.ts';
import { RouteCache, setRoute } from '../../src/proxy/route-table.ts';
import { testApi } from '../support/api.ts';
import { mutualTlsFixtures, type Pem } from '../support/certificates.ts';

const certs = mutualTlsFixtures();

function call(port: number, method: string, path: string, client: Pem | null, key: string, body?: unknown): Promise<{ status: number; body: string; backend: string | undefined }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({
      host: '127.0.0.1', port, path, method, ca: certs.ca, servername: 'localhost', ...(client ? { key: client.key, cert: client.cert } : {}),
      headers: { authorization: `Bearer ${key}`, ...(payload ? { 'content-type': 'application/json', 'idempotency-key': `k-${Math.random()}` } : {}) },
    }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, backend: res.headers['x-tally-backend'] as string | undefined }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

test('the DVD partner\'s mutual-TLS calls go through the proxy the same way: routed by the member\'s country, frozen writes wait, the proxy presents its own certificate to Tally', async () => {
  const t = await testApi();
  await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: 'u1', country: 'US', region: 'CA', timezone: 'America/Los_Angeles', paymentToken: 'tok_ok', plan: 'basic' } });
  const dvd = await buildDvdApi(t.api, { metrics: t.metrics, keyCacheMs: 0, https: { key: certs.server.key, cert: certs.server.cert, ca: certs.ca } });
  await dvd.listen({ host: '127.0.0.1', port: 0 });
  // The legacy side: a stand-in that says it was reached (the reference legacy has no DVD partner API of its own).
  const legacy = Fastify();
  legacy.all('/*', async (req) => ({ legacyGot: req.url }));
  await legacy.listen({ host: '127.0.0.1', port: 0 });
  const routes = new RouteCache(t.svc.store.db, 20);
  await routes.start();
  const proxy = await buildDvdProxy(
    { routes, metrics: proxyMetrics(routes), keys: apiKeyVerifier(t.svc.store.db, 0), directory: new MemberDirectory(t.svc.store.db, [tallyCountries(t.svc.memberStore.db)]) },
    {
      upstreams: { legacy: `http://127.0.0.1:${(legacy.server.address() as AddressInfo).port}`, tally: `https://127.0.0.1:${(dvd.server.address() as AddressInfo).port}` },
      legacyKey: 'legacy-key', https: { key: certs.server.key, cert: certs.server.cert, ca: certs.ca }, clientTls: { key: certs.partner.key, cert: certs.partner.cert, ca: certs.ca },
    },
  );
  await proxy.listen({ host: '127.0.0.1', port: 0 });
  const port = (proxy.server.address() as AddressInfo).port;
  const key = t.keys['dvd-partner'];
  try {
    let r = await call(port, 'GET', '/v1/dvd/members/u1/billing', certs.partner, key);
    assert.deepEqual([r.status, r.backend], [200, 'legacy'], 'US is still the legacy\'s');
    assert.deepEqual(JSON.parse(r.body), { legacyGot: '/v1/dvd/members/u1/billing' });
    await setRoute(t.svc.store.db, 'US', { state: 'tally', canaryPercent: 0 }, 'test');
    await routes.refresh();
    r = await call(port, 'POST', '/v1/dvd/members/u1/dvd-plan', certs.partner, key, { plan: 'dvd-1' });
    assert.deepEqual([r.status, r.backend], [200, 'tally'], r.body);
    r = await call(port, 'GET', '/v1/dvd/members/u1/billing', certs.partner, key);
    assert.deepEqual([r.status, r.backend], [200, 'tally'], r.body);
    await setRoute(t.svc.store.db, 'US', { state: 'frozen', canaryPercent: 0 }, 'test');
    await routes.refresh();
    r = await call(port, 'POST', '/v1/dvd/members/u1/dvd-plan/cancellation', certs.partner, key, {});
    assert.equal(r.status, 503);
    // The listener is mutual TLS and for the partner's role only.
    await assert.rejects(call(port, 'GET', '/v1/dvd/members/u1/billing', certs.stranger, key));
    assert.equal((await call(port, 'GET', '/v1/dvd/members/u1/billing', certs.partner, t.keys['member-app'])).status, 403);
    assert.equal((await call(port, 'GET', '/v1/members/u1', certs.partner, key)).status, 404);
  } finally {
    await routes.stop();
    await proxy.close();
    await legacy.close();
    await dvd.close();
    await t.close();
  }
});
