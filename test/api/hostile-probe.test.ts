import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { canonicalJson, idempotency } from '../../src/api/idempotency.ts';
import { MAX_MINOR_UNITS } from '../../src/domain/money.ts';
import { testApi } from '../support/api.ts';

/** The findings of a hostile probe of the service, one test each. */
let t: Awaited<ReturnType<typeof testApi>>;
let base: string;

before(async () => {
  t = await testApi({ today: '2026-03-10', server: { requestTimeout: 400, maxConnections: 50 } });
  base = await t.listen();
  const r = await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: 'p1', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' } });
  assert.equal(r.statusCode, 201, r.body);
});
after(() => t.close());

/** Send raw bytes and read the answer until the server closes the connection. */
function raw(request: string, opts: { endAfterMs?: number } = {}): Promise<string> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(request);
    if (opts.endAfterMs !== undefined) setTimeout(() => socket.destroy(), opts.endAfterMs);
  });
}

function problemOf(answer: string): { status: number; contentType: string; body: Record<string, unknown> } {
  const [head, body] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head!)?.[1]);
  const contentType = /content-type: ([^\r\n]+)/i.exec(head!)?.[1] ?? '';
  return { status, contentType, body: body ? JSON.parse(body) : {} };
}

test('a revenue day closes only once it is over: a future date or today is a 422 naming the field, nothing closed', async () => {
  const admin = { ...t.auth('admin'), 'content-type': 'application/json' };
  for (const date of ['9999-12-31', '2027-01-31', '2026-03-11', '2026-03-10']) {
    const r = await t.app.inject({ method: 'POST', url: '/v1/admin/jobs/report-revenue/runs', headers: admin, payload: { date } });
    assert.equal(r.statusCode, 422, `${date}: ${r.body}`);
    assert.equal(r.json().field, 'date');
    assert.match(r.json().detail, /not over yet/);
  }
  assert.deepEqual(await t.svc.store.db.selectFrom('revenue_days').select('business_date').execute(), []);
  const yesterday = await t.app.inject({ method: 'POST', url: '/v1/admin/jobs/report-revenue/runs', headers: admin, payload: { date: '2026-03-09' } });
  assert.equal(yesterday.statusCode, 200, yesterday.body);
  // Bookings go on as before: a credit today lands on today.
  const credit = await t.app.inject({ method: 'POST', url: '/v1/cs/members/p1/credits', headers: t.auth('cs-agent'), payload: { amount: 100, currency: 'EUR', reason: 'after close' } });
  assert.equal(credit.statusCode, 200, credit.body);
  const booked = await t.svc.store.db.selectFrom('journal').select('business_date').where('kind', '=', 'credit_granted').where('member_id', '=', 'p1').execute();
  assert.deepEqual(booked.map((b) => b.business_date), ['2026-03-10', '2026-03-10']);
});

test('money is bounded: an amount past 10^12 minor units is refused, and so is a balance it would take past the bound', async () => {
  const gift = (code: string, amount: number) => t.app.inject({ method: 'POST', url: '/v1/members/p1/gift-cards', headers: t.auth('member-app'), payload: { code, amount, currency: 'EUR' } });
  const huge = await gift('HUGE-0001', 9007199254740991);
  assert.equal(huge.statusCode, 400, huge.body);
  assert.equal(huge.json().field, 'body.amount');
  assert.equal((await gift('BIG-0001', 600_000_000_000)).statusCode, 200);
  const past = await gift('BIG-0002', 600_000_000_000);
  assert.equal(past.statusCode, 422, past.body);
  assert.equal(past.json().field, 'amount');
  assert.match(past.json().detail, /past the maximum/);
  const m = (await t.app.inject({ method: 'GET', url: '/v1/members/p1', headers: t.auth('member-app') })).json();
  assert.equal(m.giftCardBalance.amount, 600_000_000_000);
  assert.ok(m.giftCardBalance.amount + 1 <= MAX_MINOR_UNITS && Number.isSafeInteger(MAX_MINOR_UNITS * 4096), 'sums of balances stay exact');
  // The refused card was not claimed: the code is still free.
  assert.equal((await t.svc.memberStore.db.selectFrom('member_claims').select('claim').where('claim', '=', 'BIG-0002').execute()).length, 0);
});

test('a new API key\'s secret is never kept for replays: the replay answers with the key and a null secret', async () => {
  const headers = { ...t.auth('admin'), 'idempotency-key': 'new-key-1' };
  const first = await t.app.inject({ method: 'POST', url: '/v1/admin/api-keys', headers, payload: { name: 'reporting', role: 'finance' } });
  assert.equal(first.statusCode, 201, first.body);
  const secret = first.json().secret as string;
  assert.match(secret, /^tly_/);
  const stored = await t.svc.store.db.selectFrom('idempotency_keys').select('response').where('idem_key', '=', 'new-key-1').executeTakeFirstOrThrow();
  assert.ok(!stored.response!.includes(secret), 'the secret is stored');
  assert.ok(!stored.response!.includes('tly_'));
  const replay = await t.app.inject({ method: 'POST', url: '/v1/admin/api-keys', headers, payload: { role: 'finance', name: 'reporting' } });
  assert.equal(replay.statusCode, 201, replay.body);
  assert.equal(replay.headers['idempotent-replayed'], 'true', 'the same body in another key order is the same request');
  assert.equal(replay.json().secret, null);
  assert.equal(replay.json().key.id, first.json().key.id);
});

test('idempotency keys expire after their time and are purged; a credit named after a key is still never made twice', async () => {
  const { db } = t.svc.store;
  const age = (key: string) => db.updateTable('idempotency_keys').set({ created_at: new Date(Date.now() - 24 * 3600_000 - 60_000).toISOString() }).where('idem_key', '=', key).execute();
  const plan = (key: string, to: string) => t.app.inject({ method: 'POST', url: '/v1/members/p1/plan-change', headers: { ...t.auth('member-app'), 'idempotency-key': key }, payload: { plan: to } });
  assert.equal((await plan('old-change', 'standard')).statusCode, 200);
  assert.equal((await plan('old-change', 'premium')).statusCode, 422, 'within its day the key is bound to its request');
  // A day and a minute later the key is forgotten: the same key is a new request.
  await age('old-change');
  const again = await plan('old-change', 'premium');
  assert.equal(again.statusCode, 200, again.body);
  assert.equal(again.headers['idempotent-replayed'], undefined);

  const credit = (amount: number) => t.app.inject({ method: 'POST', url: '/v1/cs/members/p1/credits', headers: { ...t.auth('cs-agent'), 'idempotency-key': 'old-credit' }, payload: { amount, currency: 'EUR', reason: 'expiry probe' } });
  assert.equal((await credit(5)).statusCode, 200);
  await age('old-credit');
  const reused = await credit(6);
  assert.equal(reused.statusCode, 422, 'the credit is named after the key: reusing it never credits twice');
  assert.match(reused.json().detail, /already granted/);

  await db.insertInto('idempotency_keys').values({ api_key_id: 'x', idem_key: 'ancient', request_hash: 'h', status_code: 200, response: '{}', created_at: '2026-01-01T00:00:00.000Z' }).execute();
  assert.equal(await idempotency(db).purge(), 1);
  assert.equal((await db.selectFrom('idempotency_keys').select('idem_key').where('idem_key', '=', 'ancient').execute()).length, 0);
});

test('canonical JSON: key order does not matter, at any depth', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
});

test('a malformed URL is a problem+json 400', async () => {
  const r = await fetch(`${base}/v1/members/%ZZ`, { headers: t.auth('member-app') });
  assert.equal(r.status, 400);
  assert.match(r.headers.get('content-type')!, /application\/problem\+json/);
  assert.equal((await r.json()).field, 'url');
});

test('a request with both Content-Length and Transfer-Encoding is a problem+json 400, and the connection is closed', async () => {
  const answer = await raw('POST /v1/members HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  const p = problemOf(answer);
  assert.equal(p.status, 400, answer);
  assert.equal(p.contentType, 'application/problem+json');
  assert.equal(p.body.status, 400);
  assert.equal(p.body.field, 'request');
});

test('a body that is not JSON is a 415', async () => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    const r = await t.app.inject({ method: 'POST', url: '/v1/members/p1/cancellation', headers: { ...t.auth('member-app'), 'content-type': type }, payload: 'product=streaming' });
    assert.equal(r.statusCode, 415, `${type}: ${r.body}`);
    assert.equal(r.json().field, 'content-type');
  }
});

test('the Bearer scheme is case-insensitive', async () => {
  const secret = t.auth('member-app').authorization.slice('Bearer '.length);
  for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
    const r = await t.app.inject({ method: 'GET', url: '/v1/members/p1', headers: { authorization: `${scheme} ${secret}` } });
    assert.equal(r.statusCode, 200, `${scheme}: ${r.body}`);
  }
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/members/p1', headers: { authorization: `Basic ${secret}` } })).statusCode, 401);
});

test('an unknown region of a country with regional tax is a 422, not 0% tax', async () => {
  for (const [country, region] of [['US', 'ZZ'], ['US', 'XX'], ['CA', 'ZZ']] as const) {
    const r = await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: `r-${country}-${region}`, country, region, timezone: 'America/New_York', paymentToken: 'tok_ok', plan: 'basic' } });
    assert.equal(r.statusCode, 422, `${country}-${region}: ${r.body}`);
    assert.equal(r.json().field, 'region');
  }
  const known = await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: 'r-us-or', country: 'US', region: 'OR', timezone: 'America/Los_Angeles', paymentToken: 'tok_ok', plan: 'basic' } });
  assert.equal(known.statusCode, 201, known.body);
  assert.equal((await t.svc.memberStore.db.selectFrom('members').select('id').where('id', 'like', 'r-%').execute()).length, 1);
});

test('a DVD plan cannot be added through the member API', async () => {
  const signup = await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: 'dvd-by-app', country: 'US', region: 'NY', timezone: 'America/New_York', paymentToken: 'tok_ok', plan: 'dvd-1' } });
  assert.equal(signup.statusCode, 422, signup.body);
  assert.equal(signup.json().field, 'plan');
  assert.match(signup.json().detail, /DVD partner API/);
  const change = await t.app.inject({ method: 'POST', url: '/v1/members/r-us-or/plan-change', headers: t.auth('member-app'), payload: { plan: 'dvd-2' } });
  assert.equal(change.statusCode, 422, change.body);
  assert.equal(change.json().field, 'plan');
});

test('slow and idle connections are closed: headers that never finish get a problem+json 408, a body that stops is cut off', async () => {
  let started = Date.now();
  const slowHeaders = await raw('POST /v1/members HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n', { endAfterMs: 5000 });
  assert.ok(Date.now() - started < 4000, 'closed by the server');
  const p = problemOf(slowHeaders);
  assert.equal(p.status, 408, slowHeaders);
  assert.equal(p.contentType, 'application/problem+json');
  started = Date.now();
  await raw('POST /v1/members HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":', { endAfterMs: 5000 });
  assert.ok(Date.now() - started < 4000, 'a stopped body is cut off by the server');
  // A connection that never says anything is closed too.
  started = Date.now();
  await raw('', { endAfterMs: 5000 });
  assert.ok(Date.now() - started < 4000, 'a silent connection is closed by the server');
});

test('the server has a connection limit', () => {
  assert.equal(t.app.server.maxConnections, 50);
  assert.ok(t.app.server.keepAliveTimeout > 0 && t.app.server.requestTimeout > 0);
});
