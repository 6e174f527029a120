import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv } from 'ajv';
import { InvoicePage, sharedSchemas } from '../../src/api/schemas.ts';
import { roles, type Role } from '../../src/api/api-keys.ts';
import { testApi } from '../support/api.ts';
import { builtInCatalog } from '../../src/domain/catalog.ts';
import { catalogDocument } from '../../src/domain/catalog-document.ts';

let t: Awaited<ReturnType<typeof testApi>>;
before(async () => {
  t = await testApi();
  const r = await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: 'm1', email: 'm1@example.com', country: 'US', region: 'WA', timezone: 'America/Los_Angeles', paymentToken: 'tok_ok', plan: 'basic' } });
  assert.equal(r.statusCode, 201, r.body);
  // A member who left, to be forgotten (a member still subscribed is refused).
  const m3 = { id: 'm3', email: 'm3@example.com', country: 'US', region: 'WA', timezone: 'America/Los_Angeles', paymentToken: 'tok_ok', plan: 'basic' };
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: m3 })).statusCode, 201);
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/members/m3/cancellation', headers: t.auth('member-app'), payload: {} })).statusCode, 200);
  await t.schedule.runJob('renew', '2026-03-10');
  await t.schedule.runJob('collect', '2026-03-10');
  // A day is reported once it is over.
  t.setToday('2026-03-11');
  await t.schedule.runJob('report-revenue', '2026-03-10');
  t.setToday('2026-03-10');
});
after(() => t.close());

// The specification of who may call what: one role per API, least privilege.
const routes: [string, string, Role[], unknown?][] = [
  ['GET', '/v1/members/m1', ['member-app']],
  ['GET', '/v1/members/m1/invoices', ['member-app']],
  ['POST', '/v1/members', ['member-app'], { id: 'm2', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' }],
  ['POST', '/v1/members/m1/plan-change', ['member-app'], { plan: 'standard' }],
  ['POST', '/v1/members/m1/cancellation', ['member-app'], {}],
  ['POST', '/v1/members/m1/reactivation', ['member-app'], {}],
  ['POST', '/v1/members/m1/payment-method', ['member-app'], { paymentToken: 'tok_ok' }],
  ['POST', '/v1/members/m1/gift-cards', ['member-app'], { code: 'GIFT-0001', amount: 500, currency: 'USD' }],
  ['GET', '/v1/whoami', [...roles]],
  ['GET', '/v1/cs/members/m1', ['cs-agent']],
  ['GET', '/v1/cs/search?email=m1@example.com', ['cs-agent']],
  ['POST', '/v1/cs/members/m1/credits', ['cs-agent'], { amount: 100, currency: 'USD', reason: 'outage goodwill' }],
  ['POST', '/v1/cs/members/m1/refunds', ['cs-agent'], { invoice: 1, amount: 1, currency: 'USD', reason: 'price promise' }],
  ['GET', '/v1/finance/revenue?date=2026-03-10', ['finance']],
  ['GET', '/v1/finance/job-runs', ['finance']],
  ['GET', '/v1/admin/job-runs', ['admin']],
  ['POST', '/v1/admin/jobs/renew/runs', ['admin'], { date: '2026-03-10' }],
  ['GET', '/v1/admin/api-keys', ['admin']],
  ['POST', '/v1/admin/api-keys', ['admin'], { name: 'ops', role: 'finance' }],
  ['GET', '/v1/admin/catalog', ['admin']],
  ['GET', '/v1/admin/migration', ['admin']],
  ['GET', '/v1/admin/dead-letters', ['admin']],
  // The catalog in force put again: a no-op (200 unchanged), whoever tries.
  ['PUT', '/v1/admin/catalog', ['admin'], catalogDocument(builtInCatalog)],
  ['POST', '/v1/admin/members/m3/forget', ['admin'], { reason: 'access test' }],
];

test('every route answers 401 without a key, 403 to every other role, and serves its own role', async () => {
  for (const [method, url, allowed, payload] of routes) {
    const anon = await t.app.inject({ method: method as 'GET', url, payload: payload as object });
    assert.equal(anon.statusCode, 401, `${method} ${url} without a key`);
    assert.match(String(anon.headers['content-type']), /application\/problem\+json/);
    for (const role of roles) {
      const r = await t.app.inject({ method: method as 'GET', url, headers: t.auth(role), payload: payload as object });
      if (allowed.includes(role)) assert.ok(r.statusCode < 300, `${role} on ${method} ${url}: ${r.statusCode} ${r.body}`);
      else assert.equal(r.statusCode, 403, `${role} on ${method} ${url}`);
    }
  }
});

test('whoami names the key, its role and the time zone business days are counted in', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/v1/whoami', headers: t.auth('finance') });
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(r.json(), { name: 'test finance', role: 'finance', reportingTimeZone: 'UTC' });
});

test('every route of the OpenAPI document is in the access specification', async () => {
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  const specified = new Set(routes.map(([m, url]) => `${m} ${url.split('?')[0]!.replace(/\/m[13]\b/, '/{id}').replace('/renew/', '/{job}/')}`));
  specified.add('POST /v1/admin/api-keys/{keyId}/revocation');
  // Need a parked message and a consumer to answer 2xx; admin-dead-letters.test.ts checks their roles.
  specified.add('GET /v1/admin/dead-letters/{id}');
  specified.add('POST /v1/admin/dead-letters/{id}/replay');
  for (const route of documented) assert.ok(specified.has(route), `${route} has no role specification`);
});

test('a revoked key is refused', async () => {
  const created = (await t.app.inject({ method: 'POST', url: '/v1/admin/api-keys', headers: t.auth('admin'), payload: { name: 'temp', role: 'finance' } })).json() as { key: { id: string }; secret: string };
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/finance/job-runs', headers: { authorization: `Bearer ${created.secret}` } })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'POST', url: `/v1/admin/api-keys/${created.key.id}/revocation`, headers: t.auth('admin') })).statusCode, 204);
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/finance/job-runs', headers: { authorization: `Bearer ${created.secret}` } })).statusCode, 401);
});

test('keys are stored hashed, never in clear', async () => {
  const stored = await t.svc.store.db.selectFrom('api_keys').select('secret_hash').execute();
  for (const key of Object.values(t.keys)) assert.ok(stored.every((s) => s.secret_hash !== key && !key.includes(s.secret_hash)));
});

test('the OpenAPI document is valid OpenAPI 3 and the docs page is served', async () => {
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  await SwaggerParser.validate(structuredClone(doc));
  assert.equal((await t.app.inject({ method: 'GET', url: '/docs/' })).statusCode, 200);
});

test('health, readiness and Prometheus metrics', async () => {
  assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).json().status, 'ready');
  const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /tally_http_requests_total\{route="\/v1\/members\/:id",method="GET",status="200"\}/);
  assert.match(metrics, /tally_http_request_duration_seconds_bucket/);
  assert.match(metrics, /tally_outbox_lag \d+/);
});

test('billing history is newest first with a cursor', async () => {
  for (const plan of ['premium']) await t.app.inject({ method: 'POST', url: '/v1/members/m1/plan-change', headers: t.auth('member-app'), payload: { plan } });
  const first = (await t.app.inject({ method: 'GET', url: '/v1/members/m1/invoices?limit=1', headers: t.auth('member-app') })).json();
  assert.equal(first.invoices.length, 1);
  assert.ok(first.nextCursor);
  const secondReply = await t.app.inject({ method: 'GET', url: `/v1/members/m1/invoices?limit=1&cursor=${first.nextCursor}`, headers: t.auth('member-app') });
  const second = secondReply.json();
  assert.ok(second.invoices[0].number < first.invoices[0].number);
  // The page is sent as stored JSON, not through the serializer: it must still be what the schema promises.
  assert.match(String(secondReply.headers['content-type']), /^application\/json/);
  const ajv = new Ajv({ strict: false });
  for (const s of sharedSchemas) ajv.addSchema(s);
  const validPage = ajv.compile(InvoicePage);
  for (const page of [first, second]) assert.ok(validPage(page), JSON.stringify(validPage.errors));
  const all = (await t.app.inject({ method: 'GET', url: '/v1/members/m1/invoices', headers: t.auth('member-app') })).json();
  const numbers = all.invoices.map((i: { number: number }) => i.number);
  assert.deepEqual(numbers.slice(0, 2), [first.invoices[0].number, second.invoices[0].number]);
  assert.deepEqual(numbers, [...numbers].sort((a: number, b: number) => b - a));
  assert.ok(validPage(all), JSON.stringify(validPage.errors));
  assert.equal(all.nextCursor, null);
});

test('customer-service actions are audited with who, why, before and after', async () => {
  const r = await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/credits', headers: t.auth('cs-agent'), payload: { amount: 250, currency: 'USD', reason: 'late delivery' } });
  assert.equal(r.statusCode, 200, r.body);
  const view = (await t.app.inject({ method: 'GET', url: '/v1/cs/members/m1', headers: t.auth('cs-agent') })).json();
  const entry = view.audit.at(-1);
  assert.equal(entry.action, 'credit.granted');
  assert.equal(entry.reason, 'late delivery');
  assert.match(entry.actor, /test cs-agent/);
  assert.equal(entry.after.creditBalance.amount - entry.before.creditBalance.amount, 250);
  const noReason = await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/credits', headers: t.auth('cs-agent'), payload: { amount: 250, currency: 'USD' } });
  assert.equal(noReason.statusCode, 400);
  assert.equal(noReason.json().field, 'body.reason');
});

test('a rate limit per key', async () => {
  const limited = await testApi({ rateLimit: 3 });
  try {
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await limited.app.inject({ method: 'GET', url: '/v1/finance/job-runs', headers: limited.auth('finance') })).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    const refused = await limited.app.inject({ method: 'GET', url: '/v1/finance/job-runs', headers: limited.auth('finance') });
    assert.equal(refused.statusCode, 429);
    assert.match(String(refused.headers['content-type']), /application\/problem\+json/);
    assert.match(refused.json().detail, /rate limit of 3 requests per minute for this key/);
    assert.ok(Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= 60);
    assert.equal(refused.headers['x-ratelimit-remaining'], '0');
    // Another key has its own budget.
    assert.equal((await limited.app.inject({ method: 'GET', url: '/v1/admin/job-runs', headers: limited.auth('admin') })).statusCode, 200);
    // Without a valid key the address is the caller: guessing keys and public routes have a budget too.
    const guesses = [];
    for (let i = 0; i < 4; i++) guesses.push((await limited.app.inject({ method: 'GET', url: '/v1/finance/job-runs', headers: { authorization: 'Bearer tly_000000000000_guess' }, remoteAddress: '10.0.0.9' })).statusCode);
    assert.deepEqual(guesses, [401, 401, 401, 429]);
    assert.equal((await limited.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.0.0.9' })).statusCode, 429);
    assert.equal((await limited.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.0.0.10' })).statusCode, 200);
  } finally {
    await limited.close();
  }
});
