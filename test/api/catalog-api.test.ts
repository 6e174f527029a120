import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { builtInCatalog, validateCatalog } from '../../src/domain/catalog.ts';
import { catalogDocument, catalogHash } from '../../src/domain/catalog-document.ts';
import { listCatalogVersions } from '../../src/store/catalog-versions.ts';
import { testApi } from '../support/api.ts';

let t: Awaited<ReturnType<typeof testApi>>;
before(async () => {
  t = await testApi({ today: '2026-03-10' });
});
after(() => t.close());

/** The built-in catalog as a document, with basic in Germany at 11.99 EUR from 1 April. */
function aprilPrices() {
  const doc = catalogDocument(validateCatalog(builtInCatalog));
  doc.plans[0]!.prices.push({ country: 'DE', currency: 'EUR', amount: 1199, from: '2026-04-01' });
  return doc;
}

const auditRows = () => t.svc.memberStore.db.selectFrom('audit_log').selectAll().where('action', '=', 'catalog.version_created').orderBy('id').execute();

test('GET: the built-in catalog while none is stored, for admins only', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/v1/admin/catalog', headers: t.auth('admin') });
  assert.equal(r.statusCode, 200);
  const body = r.json();
  assert.equal(body.version, 0);
  assert.equal(body.hash, catalogHash(validateCatalog(builtInCatalog)));
  assert.deepEqual(body.catalog, catalogDocument(validateCatalog(builtInCatalog)));
  for (const role of ['finance', 'cs-agent', 'member-app'] as const) {
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/admin/catalog', headers: t.auth(role) })).statusCode, 403, role);
    assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/admin/catalog', headers: t.auth(role), payload: aprilPrices() })).statusCode, 403, role);
  }
});

test('PUT: a bad document is a 422 problem naming the field, and nothing is written', async () => {
  const cases: [unknown, string][] = [
    [{ plans: [{ id: 'x', product: 'streaming', period: 'month', prices: [{ country: 'US', currency: 'USD', amount: -1 }] }] }, 'catalog.plans[0].prices[0].amount'],
    [{ plans: [{ id: 'x', product: 'streaming', period: 'month', prices: [{ country: 'US', currency: 'USD', price: '7.999' }] }] }, 'catalog.plans[0].prices[0].price'],
    [{ plans: [], taxes: [] }, 'catalog.taxes'],
    [{ ...aprilPrices(), plans: aprilPrices().plans.map((p, i) => (i === 0 ? { ...p, prices: p.prices.map((x) => (x.country === 'US' && !x.from ? { ...x, amount: 849 } : x)) } : p)) }, 'catalog.plans[0].prices[24].amount'], // US: the last of basic's 25 prices as exported (by country)
  ];
  for (const [payload, field] of cases) {
    const r = await t.app.inject({ method: 'PUT', url: '/v1/admin/catalog', headers: t.auth('admin'), payload: payload as object });
    assert.equal(r.statusCode, 422, r.body);
    assert.match(String(r.headers['content-type']), /application\/problem\+json/);
    assert.equal(r.json().field, field, r.body);
  }
  const query = await t.app.inject({ method: 'PUT', url: '/v1/admin/catalog?reason=no', headers: t.auth('admin'), payload: aprilPrices() });
  assert.equal(query.statusCode, 400);
  assert.equal(query.json().field, 'querystring.reason');
  assert.deepEqual(await listCatalogVersions(t.svc.store.db), []);
  assert.deepEqual(await auditRows(), []);
});

test('PUT: a new version (201), audited with who and why; the same again is 200 unchanged; a retry with its Idempotency-Key replays', async () => {
  const put = (headers: Record<string, string> = {}) => t.app.inject({ method: 'PUT', url: '/v1/admin/catalog?reason=April%20prices', headers: { ...t.auth('admin'), ...headers }, payload: aprilPrices() });
  const dry = await t.app.inject({ method: 'PUT', url: '/v1/admin/catalog?dryRun=true', headers: t.auth('admin'), payload: aprilPrices() });
  assert.deepEqual([dry.statusCode, dry.json().status, dry.json().version], [200, 'checked', 1]);
  assert.deepEqual(await listCatalogVersions(t.svc.store.db), []);

  const created = await put({ 'idempotency-key': 'catalog-april' });
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual(created.json(), {
    status: 'created', version: 1, previous: 0, hash: catalogHash(validateCatalog(aprilPrices() as never)), plans: 7, prices: 130,
    changes: { plansAdded: [], plansRemoved: [], pricesAdded: 1, pricesChanged: 0, pricesRemoved: 0 },
  });
  assert.equal(t.svc.billing.catalog.version, 1, 'billed with at once');

  const replay = await put({ 'idempotency-key': 'catalog-april' });
  assert.equal(replay.statusCode, 201);
  assert.equal(replay.headers['idempotent-replayed'], 'true');
  const same = await put();
  assert.deepEqual([same.statusCode, same.json().status, same.json().version], [200, 'unchanged', 1]);

  const audit = await auditRows();
  assert.equal(audit.length, 1);
  assert.match(audit[0]!.actor, /^test admin \([0-9a-f]{12}\)$/);
  assert.equal(audit[0]!.reason, 'April prices');
  assert.deepEqual(JSON.parse(audit[0]!.after!).changes.pricesAdded, 1);

  const got = (await t.app.inject({ method: 'GET', url: '/v1/admin/catalog', headers: t.auth('admin') })).json();
  assert.equal(got.version, 1);
  assert.equal(got.reason, 'April prices');
  assert.deepEqual(got.catalog, catalogDocument(validateCatalog(aprilPrices() as never)));
  // What GET shows, PUT back, is no change.
  const back = await t.app.inject({ method: 'PUT', url: '/v1/admin/catalog', headers: t.auth('admin'), payload: got.catalog });
  assert.equal(back.json().status, 'unchanged');
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/admin/catalog?version=0', headers: t.auth('admin') })).json().version, 0);
  const missing = await t.app.inject({ method: 'GET', url: '/v1/admin/catalog?version=9', headers: t.auth('admin') });
  assert.deepEqual([missing.statusCode, missing.json().field], [404, 'version']);
});

test('invoices show the catalog version they were billed with', async () => {
  const signup = await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: 'de1', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' } });
  assert.equal(signup.statusCode, 201, signup.body);
  await t.schedule.runJob('renew', '2026-03-10');
  t.setToday('2026-04-10');
  await t.schedule.runJob('renew', '2026-04-10');
  const page = (await t.app.inject({ method: 'GET', url: '/v1/members/de1/invoices', headers: t.auth('member-app') })).json();
  // 10 March at the March price (version 1 already in force, its April price not yet); 10 April at 11.99.
  assert.deepEqual(page.invoices.map((i: { number: number; total: { amount: number }; catalogVersion: number }) => [i.number, i.total.amount, i.catalogVersion]), [[2, 1199, 1], [1, 999, 1]]);
  const cs = (await t.app.inject({ method: 'GET', url: '/v1/cs/members/de1', headers: t.auth('cs-agent') })).json();
  assert.deepEqual(cs.invoices.map((i: { catalogVersion: number }) => i.catalogVersion), [1, 1]);
});
