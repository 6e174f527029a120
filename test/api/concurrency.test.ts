import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Role } from '../../src/api/api-keys.ts';
import { testApi } from '../support/api.ts';
import { journalImbalance, moneyMovedOnce } from '../support/money-checks.ts';

/**
 * Hostile clients, real parallel requests: the service listens on a loopback port and
 * many requests are in flight at once (on PostgreSQL and MariaDB they overlap in the
 * server for real; SQLite's synchronous driver serializes them). Whatever the
 * interleaving: no 500, money moves once, the journal balances.
 */
let t: Awaited<ReturnType<typeof testApi>>;
let base: string;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(method: string, path: string, role: Role, body?: unknown, key?: string): Promise<Answer> {
  const headers: Record<string, string> = { ...t.auth(role), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(key ? { 'idempotency-key': key } : {}) };
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : {} };
}

const signup = (id: string, plan = 'basic') => call('POST', '/v1/members', 'member-app', { id, country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan });

function statuses(answers: Answer[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const a of answers) out[a.status] = (out[a.status] ?? 0) + 1;
  return out;
}

function onlyExpected(answers: Answer[], allowed: number[]): void {
  const bad = answers.filter((a) => !allowed.includes(a.status));
  assert.deepEqual(bad, [], `unexpected answers: ${JSON.stringify(statuses(answers))}`);
}

before(async () => {
  t = await testApi({ today: '2026-02-10' });
  base = await t.listen();
  for (const id of ['refund-me', 'gift-a', 'gift-b', 'credit-me', 'busy']) assert.equal((await signup(id)).status, 201);
  for (let i = 0; i < 120; i++) assert.equal((await signup(`due-${i}`)).status, 201);
  await t.schedule.runJob('renew', '2026-02-10');
  await t.schedule.runJob('collect', '2026-02-10');
  t.setToday('2026-03-10');
});
after(() => t.close());

test('20 parallel partial refunds of one paid invoice: the gateway pays out exactly what the ledger books, never more than was paid', async () => {
  const { db } = t.svc.store;
  const invoice = await db.selectFrom('invoices').selectAll().where('member_id', '=', 'refund-me').where('number', '=', 1).executeTakeFirstOrThrow();
  assert.equal(invoice.status, 'paid');
  const amount = Math.floor(invoice.charged / 3) - 1;
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call('POST', '/v1/cs/members/refund-me/refunds', 'cs-agent',
    { invoice: 1, amount, currency: 'EUR', reason: 'parallel refund probe' }, `refund-probe-${i}`)));
  onlyExpected(answers, [200, 422]);
  assert.equal(statuses(answers)[200], 3, JSON.stringify(statuses(answers)));
  await moneyMovedOnce(t.svc);
  const after = await db.selectFrom('invoices').select(['refunded', 'status']).where('id', '=', invoice.id).executeTakeFirstOrThrow();
  assert.equal(after.refunded, 3 * amount);

  // What is left can still be refunded, under a fresh id: no orphan gateway refund is adopted.
  const rest = invoice.charged - 3 * amount;
  const last = await call('POST', '/v1/cs/members/refund-me/refunds', 'cs-agent', { invoice: 1, amount: rest, currency: 'EUR', reason: 'the rest' });
  assert.equal(last.status, 200, JSON.stringify(last.body));
  await moneyMovedOnce(t.svc);
  assert.equal((await db.selectFrom('invoices').select('status').where('id', '=', invoice.id).executeTakeFirstOrThrow()).status, 'refunded');
  assert.deepEqual(await journalImbalance(t.svc), []);
});

test('one gift-card code redeemed 20 times at once by two members is credited once', async () => {
  const { db } = t.svc.store;
  const code = 'RACE-CODE-0001';
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call('POST', `/v1/members/${i % 2 ? 'gift-b' : 'gift-a'}/gift-cards`, 'member-app', { code, amount: 5000, currency: 'EUR' })));
  onlyExpected(answers, [200, 422]);
  assert.equal(statuses(answers)[200], 1, JSON.stringify(statuses(answers)));
  for (const refused of answers.filter((a) => a.status === 422)) assert.equal(refused.body.field, 'code');
  const balances = await Promise.all(['gift-a', 'gift-b'].map(async (id) => ((await call('GET', `/v1/members/${id}`, 'member-app')).body.giftCardBalance as { amount: number }).amount));
  assert.equal(balances[0]! + balances[1]!, 5000, `balances ${balances}`);
  assert.equal((await db.selectFrom('gift_cards').select('code').where('code', '=', code).execute()).length, 1);
  const booked = await db.selectFrom('journal').select('member_id').where('entry_key', 'like', `%${code}%`).execute();
  assert.ok(booked.length > 0);
  assert.equal(new Set(booked.map((b) => b.member_id)).size, 1, 'booked for one member only');
  assert.deepEqual(await journalImbalance(t.svc), []);
});

test('50 parallel credits on one member: every one answered 200 and credited once', async () => {
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => call('POST', '/v1/cs/members/credit-me/credits', 'cs-agent', { amount: 100, currency: 'EUR', reason: 'contention probe' }, `credit-probe-${i}`)));
  onlyExpected(answers, [200]);
  const member = await call('GET', '/v1/members/credit-me', 'member-app');
  assert.equal((member.body.creditBalance as { amount: number }).amount, 5000);
  const { db } = t.svc.store;
  assert.equal((await db.selectFrom('credits').select('id').where('member_id', '=', 'credit-me').execute()).length, 50);
  assert.equal((await t.svc.memberStore.db.selectFrom('audit_log').select('id').where('member_id', '=', 'credit-me').execute()).length, 50);
});

test('50 parallel operations of every kind on one member: no 500, each answer 2xx, 409 or 422; money moved once', async () => {
  const kinds = [
    (i: number) => call('POST', '/v1/members/busy/plan-change', 'member-app', { plan: ['premium', 'standard', 'basic'][i % 3] }),
    () => call('POST', '/v1/members/busy/cancellation', 'member-app', {}),
    () => call('POST', '/v1/members/busy/reactivation', 'member-app', {}),
    (i: number) => call('POST', '/v1/members/busy/gift-cards', 'member-app', { code: `BUSY-${i}`, amount: 100, currency: 'EUR' }),
    (i: number) => call('POST', '/v1/cs/members/busy/credits', 'cs-agent', { amount: 7, currency: 'EUR', reason: 'mixed probe' }, `busy-credit-${i}`),
    (i: number) => call('POST', '/v1/cs/members/busy/refunds', 'cs-agent', { invoice: 1, amount: 50, currency: 'EUR', reason: 'mixed probe' }, `busy-refund-${i}`),
    (i: number) => call('POST', '/v1/members/busy/payment-method', 'member-app', { paymentToken: i % 2 ? 'tok_ok' : 'tok_timeout' }),
    // The same key twice at once: one runs, the other is told it is in progress (409) or gets the replay.
    () => call('POST', '/v1/cs/members/busy/credits', 'cs-agent', { amount: 3, currency: 'EUR', reason: 'same key' }, 'busy-same-key'),
  ];
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => kinds[i % kinds.length]!(i)));
  onlyExpected(answers, [200, 409, 422]);
  await moneyMovedOnce(t.svc);
  assert.deepEqual(await journalImbalance(t.svc), []);
});

test('renewal and collection racing 240 member requests: every due member billed once, no 500, the journal balances', async () => {
  const ops = Array.from({ length: 240 }, (_, i) => {
    const id = `due-${i % 120}`;
    return i % 2
      ? call('POST', `/v1/cs/members/${id}/credits`, 'cs-agent', { amount: 10, currency: 'EUR', reason: 'during renewal' }, `race-${i}`)
      : call('POST', `/v1/members/${id}/plan-change`, 'member-app', { plan: 'standard' });
  });
  const jobs = (async () => {
    await t.schedule.runJob('renew', '2026-03-10');
    await t.schedule.runJob('collect', '2026-03-10');
  })();
  const [answers] = await Promise.all([Promise.all(ops), jobs]);
  onlyExpected(answers, [200, 422]);
  // A late upgrade may leave a member due again today: bill it, as the schedule does.
  await t.schedule.runJob('renew', '2026-03-10');
  await t.schedule.runJob('collect', '2026-03-10');
  const { db } = t.svc.store;
  const renewals = await db.selectFrom('invoices').select(['member_id', 'period_start']).where('member_id', 'like', 'due-%').where('kind', '=', 'renewal').execute();
  const perPeriod = new Map<string, number>();
  for (const r of renewals) perPeriod.set(`${r.member_id} ${r.period_start}`, (perPeriod.get(`${r.member_id} ${r.period_start}`) ?? 0) + 1);
  assert.deepEqual([...perPeriod].filter(([, n]) => n > 1), [], 'a period billed twice');
  const due = await t.svc.memberStore.db.selectFrom('members').select('id').where('id', 'like', 'due-%').where('next_due', '<=', '2026-03-10').execute();
  assert.deepEqual(due, [], 'every due member renewed');
  await moneyMovedOnce(t.svc);
  assert.deepEqual(await journalImbalance(t.svc), []);
});
