import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtInCatalog, validateCatalog, type Catalog } from '../../src/domain/catalog.ts';
import { catalogDocument, catalogHash, catalogText, parseCatalogText } from '../../src/domain/catalog-document.ts';
import { InvalidInput } from '../../src/domain/errors.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { catalogInForce, catalogVersion, followCatalog, importCatalog, useCatalog, type CatalogAuthor } from '../../src/operations/catalog-operations.ts';
import { changeMemberPlan, signupMember } from '../../src/operations/member-operations.ts';
import { billingHistoryPage } from '../../src/store/billing-history.ts';
import { insertCatalogVersion, listCatalogVersions } from '../../src/store/catalog-versions.ts';
import { memberInvoices } from '../../src/store/ledger.ts';
import { freshStoreUrl, openTestServices } from '../support/engine.ts';
import { openServices } from '../../src/wiring.ts';
import { pino } from 'pino';
import { isInvalidInput } from '../support/invalid-input.ts';

const by: CatalogAuthor = { actor: 'test admin (k1)', reason: 'the 2026 spring prices', source: 'cli' };

/** The built-in catalog with one more price: `plan` in `country` at `amount` from `from`. */
function withPrice(plan: string, country: string, currency: string, amount: number, from: string, base: Catalog = builtInCatalog): Catalog {
  const c = structuredClone(validateCatalog(base));
  c.plans.find((p) => p.id === plan)!.prices.push({ country, currency, amount, from });
  return parseCatalogText(JSON.stringify(c), 'json');
}

async function withServices(work: (svc: Services) => Promise<void>, opts: { split?: boolean } = {}) {
  const svc = await openTestServices({}, opts);
  // A server database reused from an earlier test is emptied after the services read its catalog: read it again.
  useCatalog(svc, await catalogInForce(svc.store.db));
  try {
    await work(svc);
  } finally {
    await closeServices(svc);
  }
}

test('an import makes version N+1, the same content again makes none and says so, and an export imports back unchanged', () => withServices(async (svc) => {
  assert.equal(svc.billing.catalog.version, 0, 'nothing stored: the built-in catalog bills');
  assert.deepEqual(await listCatalogVersions(svc.store.db), []);
  // The built-in catalog itself, as exported with nothing stored, is what is in force: no version.
  const builtIn = await importCatalog(svc, parseCatalogText(catalogText(validateCatalog(builtInCatalog), 'yaml'), 'yaml'), { on: '2026-03-10', by });
  assert.equal(builtIn.status, 'unchanged');
  assert.equal(builtIn.version, 0);

  const v1 = withPrice('basic', 'DE', 'EUR', 1199, '2026-04-01');
  const first = await importCatalog(svc, v1, { on: '2026-03-10', by });
  assert.deepEqual({ status: first.status, version: first.version, previous: first.previous, plans: first.plans, prices: first.prices }, { status: 'created', version: 1, previous: 0, plans: 7, prices: 130 });
  assert.deepEqual(first.changes, { plansAdded: [], plansRemoved: [], pricesAdded: 1, pricesChanged: 0, pricesRemoved: 0 });
  assert.equal(svc.billing.catalog.version, 1, 'this process bills with it at once');
  assert.equal(svc.billing.catalog.price('basic', 'DE', '2026-04-01', '2026-01-01').amount, 1199);

  const again = await importCatalog(svc, v1, { on: '2026-03-11', by });
  assert.deepEqual({ status: again.status, version: again.version, previous: again.previous }, { status: 'unchanged', version: 1, previous: 1 });

  const v2 = withPrice('premium', 'DE', 'EUR', 2199, '2026-05-01', v1);
  assert.equal((await importCatalog(svc, v2, { on: '2026-03-12', by: { ...by, reason: 'premium in May' } })).version, 2);

  const versions = await listCatalogVersions(svc.store.db);
  assert.deepEqual(versions.map((v) => [v.version, v.createdBy, v.reason, v.plans, v.prices]), [[2, 'test admin (k1)', 'premium in May', 7, 131], [1, 'test admin (k1)', 'the 2026 spring prices', 7, 130]]);
  assert.equal(versions[1]!.hash, catalogHash(v1));

  // A past version is kept whole; the export of each imports back as no change.
  const one = await catalogVersion(svc.store.db, 1);
  assert.deepEqual(catalogDocument(one.catalog), catalogDocument(v1));
  for (const format of ['yaml', 'json'] as const) {
    const text = catalogText((await catalogVersion(svc.store.db)).catalog, format, ['exported']);
    const back = await importCatalog(svc, parseCatalogText(text, format), { on: '2026-03-13', by });
    assert.deepEqual({ status: back.status, version: back.version }, { status: 'unchanged', version: 2 }, format);
  }
  await assert.rejects(catalogVersion(svc.store.db, 3), isInvalidInput('version', /no catalog version 3/));

  // Every version created is audited with who, why, before and after; the no-ops are not.
  const audit = await svc.memberStore.db.selectFrom('audit_log').selectAll().where('action', '=', 'catalog.version_created').orderBy('id').execute();
  assert.deepEqual(audit.map((a) => [a.actor, a.reason, a.member_id]), [['test admin (k1)', 'the 2026 spring prices', ''], ['test admin (k1)', 'premium in May', '']]);
  assert.deepEqual(JSON.parse(audit[0]!.before!), { version: 0, hash: catalogHash(validateCatalog(builtInCatalog)), plans: 7, prices: 129 });
  assert.equal(JSON.parse(audit[1]!.after!).version, 2);
}));

test('a dry run and a refused import write nothing', () => withServices(async (svc) => {
  const checked = await importCatalog(svc, withPrice('basic', 'DE', 'EUR', 1199, '2026-04-01'), { on: '2026-03-10', by, dryRun: true });
  assert.deepEqual({ status: checked.status, version: checked.version }, { status: 'checked', version: 1 });
  // Rewriting a price in force is refused, naming the field by its place in the document given (DE is basic's fifth price in the built-in list).
  const rewritten = structuredClone(validateCatalog(builtInCatalog));
  rewritten.plans[0]!.prices.find((p) => p.country === 'DE')!.amount = 1099;
  await assert.rejects(importCatalog(svc, parseCatalogText(JSON.stringify(rewritten), 'json'), { on: '2026-03-10', by }), isInvalidInput('catalog.plans[0].prices[4].amount', /plan "basic" in "DE" with no "from".*was 999/));
  assert.deepEqual(await listCatalogVersions(svc.store.db), []);
  assert.equal(svc.billing.catalog.version, 0);
  assert.equal((await svc.memberStore.db.selectFrom('audit_log').select('id').execute()).length, 0);
}));

test('a catalog that would orphan members is refused, naming the plan and how many are on it', () => withServices(async (svc) => {
  for (const id of ['u1', 'u2']) await signupMember(svc, { id, country: 'US', region: 'NY', timezone: 'America/New_York', paymentToken: 'tok_ok', plan: 'dvd-2' }, '2026-03-01');
  await signupMember(svc, { id: 'd1', country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' }, '2026-03-01');
  const withoutDvd2 = validateCatalog(builtInCatalog);
  const catalog = { plans: withoutDvd2.plans.filter((p) => p.id !== 'dvd-2') };
  await assert.rejects(importCatalog(svc, parseCatalogText(JSON.stringify(catalog), 'json'), { on: '2026-03-10', by }),
    (err: unknown) => err instanceof InvalidInput && err.field === 'catalog.plans' && /"dvd-2" \(2 members\)/.test(err.message));
  // Germany dropped from basic while a member there is on it.
  const noGermany = validateCatalog(builtInCatalog);
  noGermany.plans[0]!.prices = noGermany.plans[0]!.prices.filter((p) => p.country !== 'DE');
  await assert.rejects(importCatalog(svc, parseCatalogText(JSON.stringify(noGermany), 'json'), { on: '2026-03-10', by }),
    isInvalidInput('catalog.plans[0].prices', /plan "basic" would no longer be sold in "DE", but 1 member in "DE"/));
  assert.deepEqual(await listCatalogVersions(svc.store.db), []);
  // A plan nobody is on may go.
  const noDvd1 = { plans: withoutDvd2.plans.filter((p) => p.id !== 'dvd-1') };
  assert.equal((await importCatalog(svc, parseCatalogText(JSON.stringify(noDvd1), 'json'), { on: '2026-03-10', by })).status, 'created');
}));

test('an invoice records the catalog version it was billed with, before and after a price change', () => withServices(async (svc) => {
  await signupMember(svc, { id: 'd1', country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' }, '2026-03-01');
  await runRenewal(svc, '2026-03-01');
  // Basic in Germany goes from 9.99 to 11.99 EUR on 1 April; decided on 10 March.
  assert.equal((await importCatalog(svc, withPrice('basic', 'DE', 'EUR', 1199, '2026-04-01'), { on: '2026-03-10', by })).version, 1);
  await runRenewal(svc, '2026-04-01');
  // An upgrade to premium (19.99) on 16 April: 15 of April's 30 days at the difference, (1999 − 1199) × 15 / 30 = 400.
  await changeMemberPlan(svc, 'd1', 'premium', '2026-04-16');
  const invoices = await memberInvoices(svc.store.db, 'd1');
  // German VAT is 19 % and included: tax = total × 19 / 119, rounded half away from zero.
  assert.deepEqual(invoices.map((i) => [i.number, i.kind, i.periodStart, i.total, i.tax, i.catalogVersion]), [
    [1, 'renewal', '2026-03-01', 999, 160, 0], // 999 × 19 / 119 = 159.50…
    [2, 'renewal', '2026-04-01', 1199, 191, 1], // 1199 × 19 / 119 = 191.43…
    [3, 'proration', '2026-04-16', 400, 64, 1], // 400 × 19 / 119 = 63.87…
  ]);
  const page = await billingHistoryPage(svc.store, 'd1', null, 10);
  assert.deepEqual(page.invoices.map((j) => (JSON.parse(j) as { catalogVersion: number }).catalogVersion), [1, 1, 0]);
  // The version that billed invoice 1 still explains it.
  assert.equal((await catalogVersion(svc.store.db, invoices[0]!.catalogVersion!)).catalog.plans[0]!.prices.find((p) => p.country === 'DE')!.amount, 999);
}));

test('split stores: the version goes to the ledger store, its audit row to the member store', () => withServices(async (svc) => {
  const created = await importCatalog(svc, withPrice('basic', 'DE', 'EUR', 1199, '2026-04-01'), { on: '2026-03-10', by });
  assert.equal(created.version, 1);
  assert.equal((await listCatalogVersions(svc.store.db)).length, 1);
  assert.equal((await listCatalogVersions(svc.memberStore.db)).length, 0);
  assert.equal((await svc.memberStore.db.selectFrom('audit_log').select('action').execute())[0]?.action, 'catalog.version_created');
}, { split: true }));

test('a running service follows a version created by another process, and a process started after it bills with it', async () => {
  const url = await freshStoreUrl();
  const open = () => openServices({ dbUrl: url, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  const svc = await open();
  const follower = followCatalog(svc, 60_000);
  try {
    assert.equal(await follower.check(), false, 'nothing new');
    const v1 = withPrice('basic', 'DE', 'EUR', 1199, '2026-04-01');
    // As another process's import would leave it: a row in the store this process has not seen.
    assert.ok(await insertCatalogVersion(svc.store.db, {
      version: 1, created_at: '2026-03-10T09:00:00.000Z', created_by: 'elsewhere', reason: 'test', content_hash: catalogHash(v1), plans: 7, prices: 130, document: JSON.stringify(v1),
    }));
    assert.equal(svc.billing.catalog.version, 0);
    assert.equal(await follower.check(), true);
    assert.equal(svc.billing.catalog.version, 1);
    assert.equal(svc.billing.catalog.price('basic', 'DE', '2026-04-01', '2026-01-01').amount, 1199);
    assert.equal(await follower.check(), false);
    const later = await open();
    assert.equal(later.billing.catalog.version, 1);
    await closeServices(later);
  } finally {
    follower.stop();
    await closeServices(svc);
  }
});

test('two imports racing: each is decided against the version the other made, and the same content is created once', () => withServices(async (svc) => {
  const april = withPrice('basic', 'DE', 'EUR', 1199, '2026-04-01');
  const may = withPrice('premium', 'DE', 'EUR', 2199, '2026-05-01');
  const raced = await Promise.all([importCatalog(svc, april, { on: '2026-03-10', by }), importCatalog(svc, may, { on: '2026-03-10', by })]);
  assert.deepEqual(raced.map((r) => r.status), ['created', 'created']);
  assert.deepEqual(raced.map((r) => r.version).sort(), [1, 2]);
  // The later one was checked against the earlier one: it drops the other's price, which had not started yet.
  const second = raced.find((r) => r.version === 2)!;
  assert.equal(second.previous, 1);
  assert.equal(second.changes.pricesRemoved, 1);
  // Either of the two may have won version 2: the content raced twice is new whichever did.
  const june = withPrice('basic', 'DE', 'EUR', 1299, '2026-06-01');
  const twice = await Promise.all([importCatalog(svc, june, { on: '2026-03-10', by }), importCatalog(svc, june, { on: '2026-03-10', by })]);
  assert.deepEqual(twice.map((r) => r.status).sort(), ['created', 'unchanged']);
  assert.deepEqual((await listCatalogVersions(svc.store.db)).map((v) => v.version), [3, 2, 1]);
}));
