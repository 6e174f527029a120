import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { apiKeyVerifier } from '../../src/api/api-keys.ts';
import { buildLegacyApi, createLegacyApiKey, openLegacy } from '../../src/legacy/index.ts';
import { migrateCountry } from '../../src/migration/migrate-country.ts';
import { referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';
import { legacyAdapter } from '../../src/migration/sources/legacy-adapter.ts';
import { openLegacySource } from '../../src/migration/sources/legacy-source.ts';
import { legacyCountries, MemberDirectory, syncDirectory, tallyCountries } from '../../src/proxy/member-directory.ts';
import { buildProxy, proxyMetrics } from '../../src/proxy/proxy-server.ts';
import { RouteCache, setRoute } from '../../src/proxy/route-table.ts';
import { cohortOf } from '../../src/proxy/routing.ts';
import { testApi } from '../support/api.ts';
import { seededLegacy } from '../support/legacy-seed.ts';

const asOf = '2026-11-28';
const base = (app: FastifyInstance) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

/** Both member APIs and the proxy in front of them, on loopback ports; DE migrated to Tally, US only on the legacy. */
async function stage() {
  const legacyUrl = await seededLegacy(80, ['US', 'DE'], 21);
  const tally = await testApi({ today: asOf });
  const source = await openLegacySource(legacyUrl);
  try {
    const adapter = legacyAdapter(source, { catalog: tally.svc.billing.catalog, plans: referenceLegacyPlans, ...(await source.reference()), asOf, horizonMonths: 24 });
    await migrateCountry(tally.svc, adapter, { country: 'DE', asOf, mode: 'load', options: {} });
  } finally {
    await source.close();
  }
  const legacy = await openLegacy(legacyUrl);
  const legacyApi = await buildLegacyApi(legacy, { planNames: referenceLegacyPlans, now: () => Date.parse(`${asOf}T12:00:00Z`) });
  await legacyApi.listen({ host: '127.0.0.1', port: 0 });
  await tally.listen();
  const { secret: legacyKey } = await createLegacyApiKey(legacy.db, 'proxy', 'member-app');
  const routes = new RouteCache(tally.svc.store.db, 50);
  await routes.start();
  const directory = new MemberDirectory(tally.svc.store.db, [tallyCountries(tally.svc.memberStore.db), legacyCountries(legacy)]);
  const metrics = proxyMetrics(routes);
  const proxy = await buildProxy({ routes, directory, metrics, keys: apiKeyVerifier(tally.svc.store.db, 0) }, { upstreams: { legacy: base(legacyApi), tally: base(tally.app) }, legacyKey, retryAfterSeconds: 7, timeoutMs: 2000 });
  await proxy.listen({ host: '127.0.0.1', port: 0 });
  const ids = async (country: string) => (await legacy.db.selectFrom('customer').select('acct_no').where('country_cd', '=', country).orderBy('acct_no').execute()).map((r) => r.acct_no);
  const migrated = (await tally.svc.memberStore.db.selectFrom('members').select('id').where('country', '=', 'DE').orderBy('id').execute()).map((r) => r.id);
  return {
    tally, legacy, legacyApi, proxy, routes, directory, metrics, url: base(proxy), us: await ids('US'), de: migrated,
    call: (path: string, init: RequestInit & { key?: string } = {}) => fetch(`${base(proxy)}${path}`, {
      ...init, headers: { authorization: `Bearer ${init.key ?? tally.keys['member-app']}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) },
    }),
    async close() {
      await routes.stop();
      await proxy.close();
      await legacyApi.close().catch(() => {});
      await legacy.close().catch(() => {});
      await tally.close();
    },
  };
}

/** Wait until `check` holds (a route change is seen on the proxy's next refresh), at most a second. */
async function within1s(check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 1000) assert.fail('not seen within a second');
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

test('the proxy routes by the member\'s country: legacy by default, Tally once routed (seen within a second), canary cohorts by hash', async () => {
  const s = await stage();
  try {
    const [usMember] = s.us;
    const [deMember] = s.de;
    assert.ok(usMember && deMember);
    let r = await s.call(`/v1/members/${usMember}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-tally-backend'), 'legacy');
    const fromLegacy = await r.json() as { id: string; country: string };
    assert.deepEqual([fromLegacy.id, fromLegacy.country], [usMember, 'US']);
    r = await s.call(`/v1/members/${deMember}`);
    assert.equal(r.headers.get('x-tally-backend'), 'legacy', 'DE is migrated but not routed yet');
    const beforeFlip = await r.json();

    await setRoute(s.tally.svc.store.db, 'DE', { state: 'tally', canaryPercent: 0 }, 'test', 'cut-over');
    await within1s(async () => (await s.call(`/v1/members/${deMember}`)).headers.get('x-tally-backend') === 'tally');
    r = await s.call(`/v1/members/${deMember}/invoices?limit=2`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-tally-backend'), 'tally');
    const fromTally = await (await s.call(`/v1/members/${deMember}`)).json() as { id: string; subscriptions: unknown[] };
    assert.equal(fromTally.id, deMember);
    assert.equal(fromTally.subscriptions.length, (beforeFlip as { subscriptions: unknown[] }).subscriptions.length, 'the same member on either side');

    // A 30% canary of US: exactly the members whose cohort is below 30 go to Tally (which does not have them: 404 from Tally).
    await setRoute(s.tally.svc.store.db, 'US', { state: 'legacy', canaryPercent: 30 }, 'test');
    await s.routes.refresh();
    for (const id of s.us.slice(0, 12)) {
      const res = await s.call(`/v1/members/${id}`);
      assert.equal(res.headers.get('x-tally-backend'), cohortOf(id) < 30 ? 'tally' : 'legacy', id);
    }
    const changes = await s.tally.svc.store.db.selectFrom('proxy_route_changes').select(['country', 'from_state', 'to_state', 'canary_percent', 'reason']).orderBy('id').execute();
    assert.deepEqual(changes, [
      { country: 'DE', from_state: null, to_state: 'tally', canary_percent: 0, reason: 'cut-over' },
      { country: 'US', from_state: null, to_state: 'legacy', canary_percent: 30, reason: null },
    ]);
  } finally {
    await s.close();
  }
});

test('a frozen country: reads answered, writes refused with 503 problem+json and Retry-After (counted), then applied once on retry after the thaw', async () => {
  const s = await stage();
  try {
    const [id] = s.us;
    await setRoute(s.tally.svc.store.db, 'US', { state: 'frozen', canaryPercent: 0 }, 'test');
    await s.routes.refresh();
    assert.equal((await s.call(`/v1/members/${id}`)).status, 200);
    const write = () => s.call(`/v1/members/${id}/plan-change`, { method: 'POST', body: JSON.stringify({ plan: 'premium' }), headers: { 'idempotency-key': 'move-up-1' } });
    const refused = await write();
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '7');
    assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const problem = await refused.json() as { status: number; detail: string };
    assert.equal(problem.status, 503);
    assert.match(problem.detail, /^US is moving to Tally: writes are paused/);
    assert.match(await s.metrics.registry.metrics(), /tally_proxy_frozen_writes_total\{country="US"\} 1/);

    await setRoute(s.tally.svc.store.db, 'US', { state: 'legacy', canaryPercent: 0 }, 'test');
    await s.routes.refresh();
    const applied = await write();
    assert.equal(applied.status, 200, await applied.clone().text());
    assert.equal(applied.headers.get('x-tally-backend'), 'legacy');
    const again = await write();
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), await applied.json(), 'the retry replays the answer: applied once');
  } finally {
    await s.close();
  }
});

test('sign-ups are routed by the country in their body and enter the directory; keys and bad input are checked; a backend that is down fails only its countries', async () => {
  const s = await stage();
  try {
    await setRoute(s.tally.svc.store.db, 'DE', { state: 'tally', canaryPercent: 0 }, 'test');
    await s.routes.refresh();
    const signup = { id: 'NEWDE00001', email: 'new@example.de', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'standard' };
    const r = await s.call('/v1/members', { method: 'POST', body: JSON.stringify(signup), headers: { 'idempotency-key': 'signup-1' } });
    assert.equal(r.status, 201, await r.clone().text());
    assert.equal(r.headers.get('x-tally-backend'), 'tally');
    await within1s(async () => !!(await s.tally.svc.store.db.selectFrom('member_directory').select('seen_in').where('member_id', '=', 'NEWDE00001').executeTakeFirst()));
    assert.equal((await s.call('/v1/members/NEWDE00001')).headers.get('x-tally-backend'), 'tally');

    const noCountry = await s.call('/v1/members', { method: 'POST', body: JSON.stringify({ ...signup, country: undefined }) });
    assert.equal(noCountry.status, 400);
    assert.equal((await noCountry.json() as { field: string }).field, 'body.country');
    assert.equal((await s.call(`/v1/members/${s.us[0]}`, { key: 'tly_nonsense' })).status, 401);
    assert.equal((await s.call(`/v1/members/${s.us[0]}`, { key: s.tally.keys['cs-agent'] })).status, 403);
    assert.equal((await s.call('/v1/finance/revenue')).status, 404);

    // The directory can be filled ahead from both sides.
    const synced = await syncDirectory(s.tally.svc.store.db, [tallyCountries(s.tally.svc.memberStore.db), legacyCountries(s.legacy)], 7);
    assert.equal(synced.legacy, s.us.length + (await s.legacy.db.selectFrom('customer').select('acct_no').where('country_cd', '!=', 'US').execute()).length);

    await s.legacyApi.close();
    const down = await s.call(`/v1/members/${s.us[0]}`);
    assert.equal(down.status, 502);
    assert.equal(down.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.match((await down.json() as { detail: string }).detail, /^the legacy billing API is unreachable for US/);
    assert.equal((await s.call(`/v1/members/${s.de[0]}`)).status, 200, 'Tally\'s countries are served');
    assert.match(await s.metrics.registry.metrics(), /tally_proxy_upstream_errors_total\{backend="legacy",status="502"\} 1/);
  } finally {
    await s.close();
  }
});
