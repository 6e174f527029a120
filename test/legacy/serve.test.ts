import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { InvoiceView, MemberView, Money } from '../../src/api/schemas.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import {
  buildLegacyApi, createLegacyApiKey, dec4, legacyMinorUnits, openLegacy, runLegacyDay, seedLegacy, type LegacyDb,
} from '../../src/legacy/index.ts';
import { referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';
import { openStore } from '../../src/store/connect.ts';
import { testApi } from '../support/api.ts';
import { freshStoreUrl } from '../support/engine.ts';

/**
 * The legacy member API against the new platform's: the same routes, JSON, keys and
 * problems, answered from legacy rows, each write landing in the legacy tables.
 */
const root = join(import.meta.dirname, '..', '..');
const today = '2026-11-28';
// 12:00 UTC: 04:00 in Los Angeles, the same calendar day for the legacy's clock and a member in LA.
const now = Date.parse(`${today}T12:00:00Z`);

let legacy: LegacyDb;
let base: string;
let close: () => Promise<void>;
let memberKey: string;
let adminKey: string;
let tally: Awaited<ReturnType<typeof testApi>>;

before(async () => {
  legacy = await openLegacy(await freshStoreUrl());
  await seedLegacy(legacy.db, { members: 40, seed: 7, asOf: today, countries: ['US', 'JP', 'KW', 'DE'] });
  const app = await buildLegacyApi(legacy, { planNames: referenceLegacyPlans, now: () => now, keyCacheMs: 0 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  memberKey = (await createLegacyApiKey(legacy.db, 'member app', 'member-app')).secret;
  adminKey = (await createLegacyApiKey(legacy.db, 'operators', 'admin')).secret;
  tally = await testApi({ today });
  close = async () => {
    await app.close();
    await legacy.close();
    await tally.close();
  };
});
after(() => close());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${memberKey}` }) {
  const text = typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body);
  const res = await fetch(`${base}${path}`, { method, headers: { ...headers, ...(text === undefined ? {} : { 'content-type': 'application/json' }) }, body: text });
  return { status: res.status, type: res.headers.get('content-type') ?? '', headers: res.headers, body: await res.json() as Record<string, unknown> };
}

async function callTally(method: string, path: string, body?: unknown, headers: Record<string, string> = tally.auth('member-app')) {
  const text = typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body);
  const res = await tally.app.inject({ method: method as 'GET', url: path, headers: { ...headers, ...(text === undefined ? {} : { 'content-type': 'application/json' }) }, payload: text });
  return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), body: res.json() as Record<string, unknown> };
}

/** The keys at every depth (arrays by their elements): what a client reading the JSON relies on. */
function keysOf(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => keysOf(v, `${path}[]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [`${path}.${k}`, ...keysOf(v, `${path}.${k}`)]);
  return [];
}
const sameKeys = (a: unknown, b: unknown) => assert.deepEqual([...new Set(keysOf(a))].sort(), [...new Set(keysOf(b))].sort());

const ajv = new Ajv({ strict: false });
ajv.addSchema(Money);
ajv.addSchema(MemberView);
const validMember: ValidateFunction = ajv.compile(MemberView);
const validInvoice: ValidateFunction = ajv.compile({ ...InvoiceView, $id: undefined });
function assertValid(check: ValidateFunction, value: unknown) {
  assert.ok(check(value), `${JSON.stringify(check.errors)} in ${JSON.stringify(value)}`);
}

async function legacyRow(key: string) {
  const customer = await legacy.db.selectFrom('customer').selectAll().where('acct_no', '=', key).executeTakeFirstOrThrow();
  const account = await legacy.db.selectFrom('account').selectAll().where('cust_id', '=', customer.cust_id).executeTakeFirstOrThrow();
  const subs = await legacy.db.selectFrom('subscription').selectAll().where('acct_id', '=', account.acct_id).orderBy('sub_id').execute();
  const history = subs.length ? await legacy.db.selectFrom('subscription_history').selectAll().where('sub_id', 'in', subs.map((s) => s.sub_id)).orderBy('sub_hist_id').execute() : [];
  return { customer, account, subs, history };
}

test('a member\'s life on both sides: sign-up, plan change, cancel, reactivate, card, gift card answer the same JSON, and land in the legacy tables', async () => {
  const signup = { id: 'lg-wa-1', email: 'ana@example.com', country: 'US', region: 'WA', timezone: 'America/Los_Angeles', paymentToken: 'tok_ok', plan: 'standard' };
  const steps: [string, string, unknown, number][] = [
    ['POST', '/v1/members', signup, 201],
    ['GET', '/v1/members/lg-wa-1', undefined, 200],
    ['POST', '/v1/members/lg-wa-1/plan-change', { plan: 'premium' }, 200],
    ['POST', '/v1/members/lg-wa-1/cancellation', {}, 200],
    ['POST', '/v1/members/lg-wa-1/cancellation', { product: 'streaming' }, 200],
    ['POST', '/v1/members/lg-wa-1/reactivation', {}, 200],
    ['POST', '/v1/members/lg-wa-1/payment-method', { paymentToken: 'tok_soft_decline' }, 200],
    ['POST', '/v1/members/lg-wa-1/gift-cards', { code: 'LEGACY-GC-0001', amount: 2500, currency: 'USD' }, 200],
  ];
  for (const [method, path, body, status] of steps) {
    const [ours, theirs] = [await call(method, path, body), await callTally(method, path, body)];
    assert.equal(theirs.status, status, `Tally ${method} ${path}: ${JSON.stringify(theirs.body)}`);
    assert.equal(ours.status, status, `legacy ${method} ${path}: ${JSON.stringify(ours.body)}`);
    assert.match(ours.type, /^application\/json/);
    assertValid(validMember, ours.body);
    assert.deepEqual(ours.body, theirs.body, `${method} ${path}`);
  }
  const { customer, account, subs, history } = await legacyRow('lg-wa-1');
  assert.equal(customer.country_cd, 'US');
  assert.equal(account.currency_cd, 'USD');
  assert.equal(account.tz_nm, 'America/Los_Angeles');
  assert.equal(String(customer.updated_dt).slice(0, 19), '2026-11-28 04:00:00', 'updated_dt in Los Angeles time, without a zone');
  assert.equal(subs.length, 1);
  assert.equal(subs[0]!.plan_cd, 'STRM_PRE_M');
  assert.equal(subs[0]!.status_cd, 1);
  assert.equal(subs[0]!.cancel_eop_flg, 'N');
  assert.equal(String(subs[0]!.next_bill_dt).slice(0, 10), today);
  assert.deepEqual(history.map((h) => [h.event_cd, h.old_plan_cd, h.new_plan_cd]), [
    ['NEW', null, 'STRM_STD_M'], ['CHG', 'STRM_STD_M', 'STRM_PRE_M'], ['CREQ', 'STRM_PRE_M', null], ['CWDR', null, 'STRM_PRE_M'],
  ], 'one history row per change; cancelling twice is one change');
  assert.ok(history.every((h) => String(h.event_dt).startsWith('2026-11-28 04:00:00') && h.event_yyyymmdd === '20261128'));
  const cards = await legacy.db.selectFrom('payment_method').select(['token', 'status_cd', 'deleted_flg']).where('acct_id', '=', account.acct_id).orderBy('pm_id').execute();
  assert.deepEqual(cards.map((c) => [c.token, c.status_cd, c.deleted_flg]), [['tok_ok', 'R', 'N'], ['tok_soft_decline', 'A', 'N']], 'the replaced card is kept, marked R');
  const gift = await legacy.db.selectFrom('gift_card').selectAll().where('gc_code', '=', 'LEGACY-GC-0001').execute();
  assert.equal(gift.length, 1);
  assert.equal(dec4(gift[0]!.orig_amt), 250_000n, '2500 cents are 25.0000 dollars');
  assert.equal(Number(gift[0]!.redeemed_acct_id), Number(account.acct_id));

  // The legacy's own nightly run bills the new member, and the invoice reads like the other side's.
  await runLegacyDay(legacy.db, today);
  await runRenewal(tally.svc, today);
  const [ours, theirs] = [await call('GET', '/v1/members/lg-wa-1/invoices'), await callTally('GET', '/v1/members/lg-wa-1/invoices')];
  assert.equal(ours.status, 200);
  assert.equal((theirs.body.invoices as unknown[]).length, 1);
  sameKeys(ours.body, theirs.body);
  const invoice = (ours.body.invoices as Record<string, unknown>[])[0]!;
  assertValid(validInvoice, invoice);
  // Premium in the US is 17.99, WA streaming tax 6.5% on the total: 1.16935 → 1.17, half to even; the 25.00 gift card covers it.
  assert.deepEqual([invoice.id, invoice.number, invoice.subscription, invoice.status, invoice.periodStart, invoice.periodEnd],
    ['lg-wa-1#1', 1, 'lg-wa-1-s1', 'paid', today, '2026-12-28']);
  assert.deepEqual([invoice.subtotal, invoice.tax, invoice.total, invoice.balanceApplied, invoice.charged],
    [{ amount: 1799, currency: 'USD' }, { amount: 117, currency: 'USD' }, { amount: 1916, currency: 'USD' }, { amount: 1916, currency: 'USD' }, { amount: 0, currency: 'USD' }]);
  const line = (invoice.lines as Record<string, unknown>[])[0]!;
  assert.deepEqual([line.plan, line.net, line.tax, line.total, line.taxRatePpm], ['premium', { amount: 1799, currency: 'USD' }, { amount: 117, currency: 'USD' }, { amount: 1916, currency: 'USD' }, 65_000]);
  const member = await call('GET', '/v1/members/lg-wa-1');
  assert.deepEqual(member.body.giftCardBalance, { amount: 584, currency: 'USD' });
  assert.deepEqual((member.body.subscriptions as Record<string, unknown>[])[0]!.periodStart, today);
});

test('zero- and three-decimal currencies: minor units exactly, both ways', async () => {
  for (const [id, country, timezone, amount, currency, stored] of [
    ['lg-jp-1', 'JP', 'Asia/Tokyo', 3000, 'JPY', 30_000_000n],
    ['lg-kw-1', 'KW', 'Asia/Kuwait', 12_345, 'KWD', 123_450n],
  ] as const) {
    const created = await call('POST', '/v1/members', { id, country, timezone, paymentToken: 'tok_ok', plan: 'basic' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.currency, currency);
    const redeemed = await call('POST', `/v1/members/${id}/gift-cards`, { code: `GC-${id}`, amount, currency });
    assert.deepEqual(redeemed.body.giftCardBalance, { amount, currency });
    const card = await legacy.db.selectFrom('gift_card').select('orig_amt').where('gc_code', '=', `GC-${id}`).executeTakeFirstOrThrow();
    assert.equal(dec4(card.orig_amt), stored);
  }
  // Every seeded invoice in yen and dinars reads back as its decimal's exact minor units.
  for (const [currency, factor] of [['JPY', 10_000n], ['KWD', 10n]] as const) {
    const inv = await legacy.db.selectFrom('invoice_header').innerJoin('account', 'account.acct_id', 'invoice_header.acct_id').innerJoin('customer', 'customer.cust_id', 'account.cust_id')
      .select(['customer.acct_no', 'invoice_header.inv_id', 'invoice_header.total_amt', 'invoice_header.tax_amt']).where('invoice_header.currency_cd', '=', currency).where('customer.deleted_flg', '=', 'N')
      .orderBy('invoice_header.inv_id', 'desc').executeTakeFirstOrThrow();
    const page = await call('GET', `/v1/members/${inv.acct_no}/invoices?limit=1`);
    const shown = (page.body.invoices as Record<string, { amount: number }>[])[0]!;
    assert.equal(BigInt(shown.total!.amount) * factor, dec4(inv.total_amt), `${currency} invoice ${inv.inv_id}`);
    assert.equal(BigInt(shown.tax!.amount) * factor, dec4(inv.tax_amt));
  }
  // Sub-cent digits (old rows' x.xx50) read as the legacy's statements showed them: half to even.
  assert.equal(legacyMinorUnits(dec4('9.9950'), 2), 1000);
  assert.equal(legacyMinorUnits(dec4('9.9850'), 2), 998);
  assert.equal(legacyMinorUnits(dec4('1490'), 0), 1490);
  assert.equal(legacyMinorUnits(dec4('2.7500'), 3), 2750);
});

test('a seeded member reads in Tally\'s shapes, and its billing history pages newest first like Tally\'s', async () => {
  const seeded = await legacy.db.selectFrom('customer').innerJoin('account', 'account.cust_id', 'customer.cust_id').innerJoin('invoice_header', 'invoice_header.acct_id', 'account.acct_id')
    .select((eb) => ['customer.acct_no', eb.fn.countAll<number>().as('n')]).where('customer.deleted_flg', '=', 'N').groupBy('customer.acct_no').orderBy('customer.acct_no').execute();
  const many = seeded.find((s) => Number(s.n) >= 5)!;
  const theirs = await callTally('GET', '/v1/members/lg-wa-1');
  const ours = await call('GET', `/v1/members/${many.acct_no}`);
  assert.equal(ours.status, 200);
  assertValid(validMember, ours.body);
  sameKeys(ours.body, theirs.body);
  for (const s of seeded) assertValid(validMember, (await call('GET', `/v1/members/${s.acct_no}`)).body);

  const numbers: number[] = [];
  let cursor: string | null = null;
  do {
    const page = await call('GET', `/v1/members/${many.acct_no}/invoices?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200);
    for (const inv of page.body.invoices as Record<string, unknown>[]) {
      assertValid(validInvoice, inv);
      assert.equal(inv.member, many.acct_no);
      numbers.push(inv.number as number);
    }
    cursor = page.body.nextCursor as string | null;
    if (cursor) assert.equal(cursor, String(numbers.at(-1)));
  } while (cursor);
  assert.deepEqual(numbers, Array.from({ length: Number(many.n) }, (_, i) => Number(many.n) - i), 'every invoice once, newest first, numbered from 1');
  const empty = await call('GET', `/v1/members/${many.acct_no}/invoices?cursor=1`);
  assert.deepEqual(empty.body, { invoices: [], nextCursor: null });
});

test('keys: none, a bad one or another role\'s is refused exactly as Tally refuses it; unknown members are 404 naming the id', async () => {
  for (const headers of [{} as Record<string, string>, { authorization: 'Bearer lgy_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, { authorization: 'Basic abc' }]) {
    const [ours, theirs] = [await call('GET', '/v1/members/lg-wa-1', undefined, headers), await callTally('GET', '/v1/members/lg-wa-1', undefined, headers)];
    assert.equal(ours.status, 401);
    assert.match(ours.type, /^application\/problem\+json/);
    assert.deepEqual(ours.body, theirs.body);
  }
  const posted = await call('POST', '/v1/members/lg-wa-1/cancellation', {}, { authorization: 'Bearer nope' });
  assert.equal(posted.status, 401);
  const admin = await call('GET', '/v1/members/lg-wa-1', undefined, { authorization: `Bearer ${adminKey}` });
  const tallyAdmin = await callTally('GET', '/v1/members/lg-wa-1', undefined, tally.auth('admin'));
  assert.equal(admin.status, 403);
  assert.deepEqual(admin.body, tallyAdmin.body);
  // The same key works in any case of the scheme; a revoked one stops working.
  assert.equal((await call('GET', '/v1/members/lg-wa-1', undefined, { authorization: `bearer ${memberKey}` })).status, 200);
  const revoked = await createLegacyApiKey(legacy.db, 'old app', 'member-app');
  await legacy.db.updateTable('api_client').set({ revoked_dt: '2026-11-28 00:00:00' }).where('client_id', '=', revoked.client.id).execute();
  assert.equal((await call('GET', '/v1/members/lg-wa-1', undefined, { authorization: `Bearer ${revoked.secret}` })).status, 401);

  for (const [method, path, body] of [
    ['GET', '/v1/members/nobody', undefined], ['GET', '/v1/members/nobody/invoices', undefined],
    ['POST', '/v1/members/nobody/cancellation', {}], ['POST', '/v1/members/nobody/plan-change', { plan: 'premium' }],
  ] as const) {
    const [ours, theirs] = [await call(method, path, body), await callTally(method, path, body)];
    assert.equal(ours.status, 404, path);
    assert.deepEqual(ours.body, theirs.body, path);
  }
  // A soft-deleted customer is no member.
  const deleted = await legacy.db.selectFrom('customer').select('acct_no').where('deleted_flg', '=', 'Y').executeTakeFirst();
  if (deleted) assert.equal((await call('GET', `/v1/members/${deleted.acct_no}`)).status, 404);
});

test('bad bodies are 400 naming the field as Tally names it; impossible requests 422 naming the field', async () => {
  for (const [path, body] of [
    ['/v1/members/lg-wa-1/plan-change', {}],
    ['/v1/members/lg-wa-1/plan-change', { plan: 'premium', extra: 1 }],
    ['/v1/members/lg-wa-1/gift-cards', { code: 'GOOD-CODE', amount: '25', currency: 'USD' }],
    ['/v1/members/lg-wa-1/gift-cards', { code: 'GOOD-CODE', amount: 0, currency: 'USD' }],
    ['/v1/members/lg-wa-1/cancellation', { product: 'vhs' }],
    ['/v1/members', { id: 'lg-x', country: 'us', timezone: 'UTC', paymentToken: 'tok_ok', plan: 'basic' }],
    ['/v1/members', { id: 'bad id!', country: 'US', timezone: 'UTC', paymentToken: 'tok_ok', plan: 'basic' }],
    ['/v1/members/lg-wa-1/payment-method', 'not json{'],
  ] as const) {
    const [ours, theirs] = [await call('POST', path, body), await callTally('POST', path, body)];
    assert.equal(ours.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(ours.body)}`);
    assert.match(ours.type, /^application\/problem\+json/);
    assert.deepEqual(ours.body, theirs.body, `${path} ${JSON.stringify(body)}`);
  }
  assert.equal((await call('GET', '/v1/members/lg-wa-1/invoices?limit=500')).body.field, 'querystring.limit');
  for (const [path, body, field] of [
    ['/v1/members/lg-wa-1/plan-change', { plan: 'platinum' }, 'plan'],
    ['/v1/members/lg-wa-1/plan-change', { plan: 'premium' }, 'plan'],
    ['/v1/members/lg-wa-1/plan-change', { plan: 'dvd-1' }, 'plan'],
    ['/v1/members/lg-wa-1/reactivation', {}, 'member'],
    ['/v1/members/lg-wa-1/payment-method', { paymentToken: 'tok_unknown' }, 'payment'],
    ['/v1/members/lg-wa-1/gift-cards', { code: 'LEGACY-GC-0001', amount: 100, currency: 'USD' }, 'code'],
    ['/v1/members/lg-wa-1/gift-cards', { code: 'OTHER-CODE', amount: 100, currency: 'EUR' }, 'currency'],
    ['/v1/members', { id: 'lg-wa-1', country: 'US', timezone: 'America/Los_Angeles', paymentToken: 'tok_ok', plan: 'basic' }, 'plan'],
    ['/v1/members', { id: 'lg-zz', country: 'ZZ', timezone: 'UTC', paymentToken: 'tok_ok', plan: 'basic' }, 'country'],
    ['/v1/members', { id: 'lg-tz', country: 'US', timezone: 'Mars/Olympus', paymentToken: 'tok_ok', plan: 'basic' }, 'timezone'],
  ] as const) {
    const [ours, theirs] = [await call('POST', path, body), await callTally('POST', path, body)];
    assert.equal(ours.status, 422, `${path} ${JSON.stringify(body)}: ${JSON.stringify(ours.body)}`);
    assert.equal(theirs.status, 422, `Tally ${path} ${JSON.stringify(body)}: ${JSON.stringify(theirs.body)}`);
    assert.equal(ours.body.field, field, JSON.stringify(ours.body));
    // Tally names the sign-up's zone "timeZone" (its calendar's parameter), not the body's "timezone": the legacy names the body's field.
    assert.equal(theirs.body.field, field === 'timezone' ? 'timeZone' : field, JSON.stringify(theirs.body));
  }
  // Nothing of a refused sign-up was written.
  assert.equal((await legacy.db.selectFrom('customer').select('cust_id').where('acct_no', 'in', ['lg-zz', 'lg-tz', 'lg-x']).execute()).length, 0);
});

test('Idempotency-Key: a replay answers the first answer and writes nothing; the key with another body is refused', async () => {
  const created = await call('POST', '/v1/members', { id: 'lg-idem', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' });
  assert.equal(created.status, 201);
  const before = await legacyRow('lg-idem');
  const headers = { authorization: `Bearer ${memberKey}`, 'idempotency-key': 'redeem-1' };
  const body = { code: 'IDEM-CODE-1', amount: 1000, currency: 'EUR' };
  const first = await call('POST', '/v1/members/lg-idem/gift-cards', body, headers);
  const again = await call('POST', '/v1/members/lg-idem/gift-cards', { currency: 'EUR', amount: 1000, code: 'IDEM-CODE-1' }, headers);
  assert.equal(first.status, 200);
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(again.body, first.body);
  assert.deepEqual(first.body.giftCardBalance, { amount: 1000, currency: 'EUR' });
  const txns = await legacy.db.selectFrom('gift_card_txn').selectAll().where('acct_id', '=', before.account.acct_id).execute();
  assert.equal(txns.length, 1, 'one redemption for two requests');
  const other = await call('POST', '/v1/members/lg-idem/gift-cards', { ...body, amount: 2000 }, headers);
  assert.equal(other.status, 422);
  assert.equal(other.body.field, 'Idempotency-Key');
  // A plan change replayed: one history row.
  const change = { authorization: `Bearer ${memberKey}`, 'idempotency-key': 'change-1' };
  assert.equal((await call('POST', '/v1/members/lg-idem/plan-change', { plan: 'standard' }, change)).status, 200);
  assert.equal((await call('POST', '/v1/members/lg-idem/plan-change', { plan: 'standard' }, change)).status, 200);
  const after = await legacyRow('lg-idem');
  assert.deepEqual(after.history.map((h) => h.event_cd), ['NEW', 'CHG']);
  // A refused request is remembered as refused.
  const refusedKey = { authorization: `Bearer ${memberKey}`, 'idempotency-key': 'refused-1' };
  const refused = await call('POST', '/v1/members/lg-idem/reactivation', {}, refusedKey);
  const refusedAgain = await call('POST', '/v1/members/lg-idem/reactivation', {}, refusedKey);
  assert.equal(refused.status, 422);
  assert.deepEqual([refusedAgain.status, refusedAgain.headers.get('idempotent-replayed')], [422, 'true']);
});

test('concurrent writers: sign-ups racing for the legacy\'s max+1 keys all land; two members racing for one gift card, one wins', async () => {
  const ids = Array.from({ length: 6 }, (_, i) => `lg-race-${i}`);
  const made = await Promise.all(ids.map((id) => call('POST', '/v1/members', { id, country: 'US', timezone: 'America/New_York', paymentToken: 'tok_ok', plan: 'basic' })));
  assert.deepEqual(made.map((r) => r.status), ids.map(() => 201), JSON.stringify(made.filter((r) => r.status !== 201).map((r) => r.body)));
  const custIds = await legacy.db.selectFrom('customer').select('cust_id').where('acct_no', 'in', ids).execute();
  assert.equal(new Set(custIds.map((c) => Number(c.cust_id))).size, ids.length);
  const raced = await Promise.all(ids.slice(0, 2).map((id) => call('POST', `/v1/members/${id}/gift-cards`, { code: 'RACE-CODE-1', amount: 500, currency: 'USD' })));
  assert.deepEqual(raced.map((r) => r.status).sort(), [200, 422]);
  assert.equal((await legacy.db.selectFrom('gift_card_txn').innerJoin('gift_card', 'gift_card.gc_id', 'gift_card_txn.gc_id').select('gc_txn_id').where('gift_card.gc_code', '=', 'RACE-CODE-1').execute()).length, 1);
});

test('a write moves the customer\'s and account\'s updated_dt, the mark a migration re-reads changed members by', async () => {
  const seeded = await legacy.db.selectFrom('customer').innerJoin('account', 'account.cust_id', 'customer.cust_id').innerJoin('subscription', 'subscription.acct_id', 'account.acct_id')
    .select(['customer.acct_no', 'customer.updated_dt', 'subscription.sub_id']).where('subscription.status_cd', '=', 1).where('subscription.cancel_eop_flg', '=', 'N')
    .where('customer.deleted_flg', '=', 'N').orderBy('customer.cust_id').executeTakeFirstOrThrow();
  assert.ok(String(seeded.updated_dt) < '2026-11-28 04:00:00');
  const res = await call('POST', `/v1/members/${seeded.acct_no}/cancellation`, {});
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const row = await legacyRow(seeded.acct_no);
  assert.equal(String(row.customer.updated_dt).slice(0, 19), '2026-11-28 04:00:00');
  assert.equal(String(row.account.updated_dt).slice(0, 19), '2026-11-28 04:00:00');
  const sub = row.subs.find((s) => s.sub_id === seeded.sub_id)!;
  assert.equal(sub.cancel_eop_flg, 'Y');
  assert.equal(String(sub.updated_dt).slice(0, 19), '2026-11-28 04:00:00');
});

test('tally legacy keys create prints a working secret once; legacy serve refuses bad input in one line', async () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'legacy', ...args], { encoding: 'utf8', env: { ...process.env, TALLY_LOG_LEVEL: 'silent' } });
  const url = await freshStoreUrl();
  const seeded = await openLegacy(url);
  try {
    await seedLegacy(seeded.db, { members: 2, seed: 1, asOf: today, countries: ['GB'] });
  } finally {
    await seeded.close();
  }
  const made = run('keys', 'create', '--url', url, '--name', 'app', '--role', 'member-app');
  assert.equal(made.status, 0, made.stderr);
  const printed = JSON.parse(made.stdout) as { id: string; role: string; secret: string };
  assert.equal(printed.role, 'member-app');
  assert.match(printed.secret, /^lgy_[0-9a-f]{12}_/);
  for (const [args, message] of [
    [['keys', 'create', '--url', url, '--name', 'x', '--role', 'finance'], /--role must be one of member-app, admin/],
    [['serve', '--url', url, '--port', 'http'], /--port must be a port number/],
    [['serve'], /--url is required/],
    [['serve', '--url', 'ftp://x'], /not a database URL/],
    [['keys'], /usage: tally legacy/],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  // A database that is not the legacy's (Tally's own store) is named by what it lacks; a missing file is said so.
  const notLegacy = await freshStoreUrl();
  await (await openStore(notLegacy)).close();
  const r = run('serve', '--url', notLegacy, '--port', '0');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /not the legacy schema: it has no table country/);
  const missing = run('serve', '--url', 'sqlite:/nonexistent/legacy.db', '--port', '0');
  assert.equal(missing.status, 2, missing.stderr);
  assert.equal(missing.stderr, 'tally: --url: there is no legacy database at /nonexistent/legacy.db\n');

  // The real command: it says where it listens, answers with the printed key, and stops cleanly on SIGTERM.
  const server = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'legacy', 'serve', '--url', url], { env: { ...process.env, TALLY_LEGACY_PORT: '0' } });
  try {
    const where = await new Promise<string>((resolve, reject) => {
      let err = '';
      server.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      server.once('exit', () => reject(new Error(`exited: ${err}`)));
    });
    const member = await fetch(`${where}/v1/members/A000000001`, { headers: { authorization: `Bearer ${printed.secret}` } });
    assert.equal(member.status, 200);
    assert.equal(((await member.json()) as { country: string }).country, 'GB');
    assert.equal((await fetch(`${where}/v1/members/A000000001`)).status, 401);
  } finally {
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});
