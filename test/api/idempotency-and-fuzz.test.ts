import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { testApi } from '../support/api.ts';
import { billingState } from '../support/state.ts';

let t: Awaited<ReturnType<typeof testApi>>;
before(async () => {
  t = await testApi();
  await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: 'm1', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' } });
  await t.schedule.runJob('renew', '2026-03-10');
  await t.schedule.runJob('collect', '2026-03-10');
});
after(() => t.close());

const signup = { id: 'idem1', country: 'FR', timezone: 'Europe/Paris', paymentToken: 'tok_ok', plan: 'basic' };

test('a retry with the same Idempotency-Key and body returns the original response and does nothing again', async () => {
  const headers = { ...t.auth('member-app'), 'idempotency-key': 'signup-idem1' };
  const first = await t.app.inject({ method: 'POST', url: '/v1/members', headers, payload: signup });
  assert.equal(first.statusCode, 201, first.body);
  const events = await t.svc.store.db.selectFrom('outbox').select('id').execute();
  const retry = await t.app.inject({ method: 'POST', url: '/v1/members', headers, payload: signup });
  assert.equal(retry.statusCode, 201);
  assert.equal(retry.body, first.body);
  assert.equal(retry.headers['idempotent-replayed'], 'true');
  assert.equal((await t.svc.store.db.selectFrom('outbox').select('id').execute()).length, events.length);
  // Without the key the same call is a second sign-up attempt, refused by the rules.
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: signup })).statusCode, 422);
});

test('a refund retried with its key refunds once', async () => {
  const headers = { ...t.auth('cs-agent'), 'idempotency-key': 'refund-1' };
  const body = { invoice: 1, amount: 300, currency: 'EUR', reason: 'double streaming' };
  const a = await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/refunds', headers, payload: body });
  const b = await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/refunds', headers, payload: body });
  assert.equal(a.statusCode, 200, a.body);
  assert.equal(b.body, a.body);
  const refunds = await t.svc.store.db.selectFrom('refunds').selectAll().where('member_id', '=', 'm1').execute();
  assert.equal(refunds.length, 1);
  assert.equal((await t.svc.store.db.selectFrom('audit_log').selectAll().where('action', '=', 'invoice.refunded').execute()).length, 1);
});

test('a key whose request died before answering is taken over by a retry after a minute, and a credit or refund it made is not made again', async () => {
  const { db } = t.svc.store;
  const headers = (key: string) => ({ ...t.auth('cs-agent'), 'idempotency-key': key });
  const credit = { amount: 250, currency: 'EUR', reason: 'outage goodwill' };
  const refund = { invoice: 1, amount: 100, currency: 'EUR', reason: 'price promise' };
  const balance = async () => (await t.app.inject({ method: 'GET', url: '/v1/members/m1', headers: t.auth('member-app') })).json().creditBalance.amount as number;
  // The process is killed after the operation committed and before its answer was stored: the key stays "in progress".
  const dieBeforeAnswering = (key: string, agoMs: number) => db.updateTable('idempotency_keys')
    .set({ status_code: null, response: null, created_at: new Date(Date.now() - agoMs).toISOString() }).where('idem_key', '=', key).execute();

  const before = await balance();
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/credits', headers: headers('lost-credit'), payload: credit })).statusCode, 200);
  await dieBeforeAnswering('lost-credit', 5_000);
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/credits', headers: headers('lost-credit'), payload: credit })).statusCode, 409, 'a key in progress for seconds may still be answered');
  await dieBeforeAnswering('lost-credit', 120_000);
  const retried = await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/credits', headers: headers('lost-credit'), payload: credit });
  assert.equal(retried.statusCode, 422, retried.body);
  assert.match(retried.json().detail, /already granted/);
  assert.equal(await balance(), before + 250, 'credited once');
  // The refusal is the key's answer from now on.
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/credits', headers: headers('lost-credit'), payload: credit })).headers['idempotent-replayed'], 'true');

  const refunds = async () => (await db.selectFrom('refunds').select('id').where('member_id', '=', 'm1').execute()).length;
  const refundsBefore = await refunds();
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/refunds', headers: headers('lost-refund'), payload: refund })).statusCode, 200);
  await dieBeforeAnswering('lost-refund', 120_000);
  const again = await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/refunds', headers: headers('lost-refund'), payload: refund });
  assert.equal(again.statusCode, 422, again.body);
  assert.equal(await refunds(), refundsBefore + 1, 'refunded once');

  // A request that died before doing anything is simply done by the retry: its key's row (made here
  // from another key's, for the same request) is in progress, and no credit carries the key's name.
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/credits', headers: headers('template'), payload: credit })).statusCode, 200);
  await dieBeforeAnswering('template', 120_000);
  await db.updateTable('idempotency_keys').set({ idem_key: 'died-early' }).where('idem_key', '=', 'template').execute();
  const beforeEarly = await balance();
  const fresh = await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/credits', headers: headers('died-early'), payload: credit });
  assert.equal(fresh.statusCode, 200, fresh.body);
  assert.equal(await balance(), beforeEarly + 250);
});

test('the same key with a different body is refused with 422 naming the header', async () => {
  const headers = { ...t.auth('member-app'), 'idempotency-key': 'k-2' };
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/members/m1/gift-cards', headers, payload: { code: 'GIFT-AAAA', amount: 500, currency: 'EUR' } })).statusCode, 200);
  const other = await t.app.inject({ method: 'POST', url: '/v1/members/m1/gift-cards', headers, payload: { code: 'GIFT-BBBB', amount: 500, currency: 'EUR' } });
  assert.equal(other.statusCode, 422);
  assert.equal(other.json().field, 'Idempotency-Key');
});

test('keys belong to the API key that used them', async () => {
  const headers = (role: 'member-app' | 'cs-agent') => ({ ...t.auth(role), 'idempotency-key': 'shared' });
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/members/m1/payment-method', headers: headers('member-app'), payload: { paymentToken: 'tok_ok' } })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/cs/members/m1/credits', headers: headers('cs-agent'), payload: { amount: 5, currency: 'EUR', reason: 'goodwill' } })).statusCode, 200);
});

// Every write route with a body that is anything but what it expects: always a 4xx problem, never a 500, never a write.
const writeRoutes: [string, string, 'member-app' | 'cs-agent' | 'admin'][] = [
  ['/v1/members', 'POST', 'member-app'],
  ['/v1/members/m1/plan-change', 'POST', 'member-app'],
  ['/v1/members/m1/payment-method', 'POST', 'member-app'],
  ['/v1/members/m1/gift-cards', 'POST', 'member-app'],
  ['/v1/members/nobody/gift-cards', 'POST', 'member-app'],
  ['/v1/members/m1/cancellation', 'POST', 'member-app'],
  ['/v1/cs/members/m1/credits', 'POST', 'cs-agent'],
  ['/v1/cs/members/m1/refunds', 'POST', 'cs-agent'],
  ['/v1/cs/members/ghost/refunds', 'POST', 'cs-agent'],
  ['/v1/admin/jobs/renew/runs', 'POST', 'admin'],
  ['/v1/admin/api-keys', 'POST', 'admin'],
];

const hostileValue = fc.oneof(
  fc.integer({ min: -1e6, max: -1 }), fc.double({ noInteger: true, noNaN: true }), fc.constant(2 ** 63), fc.constant(1e308),
  fc.constant(Number.MAX_SAFE_INTEGER + 2), fc.string({ maxLength: 20 }), fc.constant('2026-02-30'), fc.constant('2026-13-01'),
  fc.constant(null), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.constant({}), fc.constant('tok_stolen'),
  fc.constant('XYZ'), fc.constant('USD'), fc.constant('nobody'), fc.constant('platinum'), fc.constant('ZZ'), fc.constant('Mars/Olympus'),
);
const fields = ['id', 'country', 'region', 'timezone', 'paymentToken', 'plan', 'code', 'amount', 'currency', 'reason', 'invoice', 'date', 'name', 'role', 'product', 'extra', '__proto__'];
const hostileBody = fc.oneof(
  fc.dictionary(fc.constantFrom(...fields), hostileValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('{', '[]', 'null', '"x"', '{"amount":1e999}', '{"amount":-0}', '{"a":'.repeat(50), 'x'.repeat(70_000), JSON.stringify({ reason: 'r'.repeat(70_000) })),
);

test('fuzz: malformed, mistyped, oversized and out-of-range input is always a 4xx problem and writes nothing', async () => {
  const before = await billingState(t.svc);
  const keysBefore = (await t.svc.store.db.selectFrom('api_keys').select('id').execute()).length;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...writeRoutes), hostileBody, fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'), async ([url, method, role], body, type) => {
      const r = await t.app.inject({ method: method as 'POST', url, headers: { ...t.auth(role), 'content-type': type }, payload: body });
      if (r.statusCode >= 200 && r.statusCode < 300) return; // a valid request the fuzzer happened to build
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${url} ${body.slice(0, 80)} → ${r.statusCode} ${r.body.slice(0, 200)}`);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
      const problem = r.json();
      assert.equal(problem.status, r.statusCode);
      assert.ok(problem.field, `no field named in ${r.body}`);
    }),
    { numRuns: 400, seed: 7 },
  );
  // Valid requests are possible in principle (e.g. a cancellation with {}), so compare only what a refused request could corrupt.
  const afterState = await billingState(t.svc);
  assert.deepEqual(afterState.invoices.map((i) => [i.id, i.refunded]), before.invoices.map((i) => [i.id, i.refunded]));
  assert.deepEqual(afterState.refunds, before.refunds);
  assert.ok((await t.svc.store.db.selectFrom('api_keys').select('id').execute()).length >= keysBefore);
});

test('fuzz: query strings and path parameters', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('/v1/members/', '/v1/cs/members/', '/v1/members/m1/invoices?limit=', '/v1/members/m1/invoices?cursor=', '/v1/finance/revenue?date=', '/v1/cs/search?email='), fc.string({ maxLength: 30 }), async (prefix, junk) => {
      const role = prefix.startsWith('/v1/cs') ? 'cs-agent' : prefix.startsWith('/v1/finance') ? 'finance' : 'member-app';
      const r = await t.app.inject({ method: 'GET', url: prefix + encodeURIComponent(junk), headers: t.auth(role) });
      assert.ok(r.statusCode < 500, `${prefix}${junk} → ${r.statusCode} ${r.body}`);
      if (r.statusCode >= 400) assert.match(String(r.headers['content-type']), /application\/problem\+json/);
    }),
    { numRuns: 300, seed: 11 },
  );
});
