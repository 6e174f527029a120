import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { roles } from '../../src/api/api-keys.ts';
import { messagingConfigFromEnv } from '../../src/messaging/index.ts';
import { encodeMessage } from '../../src/messaging/message.ts';
import { parkDeadLetter } from '../../src/store/deliveries.ts';
import { testApi } from '../support/api.ts';
import { events, webhookReceiver } from '../support/messaging.ts';

type Api = Awaited<ReturnType<typeof testApi>>;
interface DeadLetterView { id: string; consumer: string; eventId: string; type: string; attempts: number; error: string; failedAt: string; message: { id: string; memberId: string } | null }

let partner: Awaited<ReturnType<typeof webhookReceiver>>;
let partnerStatus = 204;
let t: Api;
before(async () => {
  partner = await webhookReceiver(() => partnerStatus);
  // Two quick attempts per replay, so a failing one is parked again in milliseconds.
  const messaging = messagingConfigFromEnv({
    TALLY_WEBHOOK_URL: partner.url, TALLY_WEBHOOK_SECRET: 'whsec_test', TALLY_WEBHOOK_MAX_ATTEMPTS: '2', TALLY_RETRY_INITIAL_MS: '5', TALLY_RETRY_MAX_MS: '10',
  });
  t = await testApi({ messaging });
});
after(async () => {
  await t?.close();
  await partner?.close();
});

/** Park one event for a consumer as the bus does after its last attempt; returns the dead letter's id. */
async function park(api: Api, from: number, consumer = 'member-webhook'): Promise<{ id: string; eventId: string }> {
  const [m] = events(1, 'payment.failed', from);
  await parkDeadLetter(api.svc.store.db, { consumer, destination: `${consumer}.dlq`, eventId: m!.id, type: m!.type, message: encodeMessage(m!), error: `webhook ${partner.url} answered 503`, attempts: 8 });
  const row = await api.svc.store.db.selectFrom('dead_letters').select('id').where('consumer', '=', consumer).where('event_id', '=', m!.id).executeTakeFirstOrThrow();
  return { id: String(row.id), eventId: m!.id };
}

const get = (api: Api, url: string) => api.app.inject({ method: 'GET', url, headers: api.auth('admin') });
const replay = (api: Api, id: string, key?: string) => api.app.inject({ method: 'POST', url: `/v1/admin/dead-letters/${id}/replay`, headers: { ...api.auth('admin'), ...(key ? { 'idempotency-key': key } : {}) } });

test('dead letters: 401 without a key, 403 for every role but admin', async () => {
  const { id } = await park(t, 900);
  const calls = [
    { method: 'GET', url: '/v1/admin/dead-letters' }, { method: 'GET', url: `/v1/admin/dead-letters/${id}` },
    { method: 'POST', url: `/v1/admin/dead-letters/${id}/replay` },
  ] as const;
  for (const c of calls) {
    assert.equal((await t.app.inject(c)).statusCode, 401, c.url);
    for (const role of roles.filter((r) => r !== 'admin')) {
      assert.equal((await t.app.inject({ ...c, headers: { ...t.auth(role), 'idempotency-key': `k-${role}` } })).statusCode, 403, `${role} ${c.method} ${c.url}`);
    }
  }
  assert.equal(partner.received.length, 0);
  await t.svc.store.db.deleteFrom('dead_letters').execute();
});

test('GET /v1/admin/dead-letters lists the parked messages oldest first, up to limit; bad limits are 400 naming the field', async () => {
  assert.deepEqual((await get(t, '/v1/admin/dead-letters')).json(), { transport: 'embedded', deadLetters: [] });
  const a = await park(t, 1);
  const b = await park(t, 2);
  const res = await get(t, '/v1/admin/dead-letters');
  assert.equal(res.statusCode, 200);
  const { deadLetters } = res.json() as { deadLetters: DeadLetterView[] };
  assert.deepEqual(deadLetters.map((d) => [d.id, d.eventId]), [[a.id, a.eventId], [b.id, b.eventId]]);
  assert.deepEqual(deadLetters[0], {
    ...deadLetters[0], consumer: 'member-webhook', type: 'payment.failed', attempts: 8, error: `webhook ${partner.url} answered 503`,
    message: { id: a.eventId, type: 'payment.failed', memberId: 'm1', occurredOn: '2026-03-15', data: { invoice: 'inv-1', attempt: 1 } },
  });
  assert.deepEqual(((await get(t, '/v1/admin/dead-letters?limit=1')).json() as { deadLetters: DeadLetterView[] }).deadLetters.map((d) => d.id), [a.id]);
  for (const bad of ['0', '-1', 'abc', '1.5', '1001']) {
    const r = await get(t, `/v1/admin/dead-letters?limit=${bad}`);
    assert.equal(r.statusCode, 400, bad);
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal((r.json() as { field: string }).field, 'querystring.limit', bad);
  }
  assert.equal((await get(t, '/v1/admin/dead-letters?limits=1')).statusCode, 400, 'an unknown parameter');
  // With RabbitMQ configured the list says so: the broker's queues are not in it.
  const configured = t.api.messaging!;
  t.api.messaging = { ...configured, amqpUrl: 'amqp://guest:guest@127.0.0.1:5672' };
  try {
    assert.equal((await get(t, '/v1/admin/dead-letters')).json<{ transport: string }>().transport, 'amqp');
  } finally {
    t.api.messaging = configured;
  }
  await t.svc.store.db.deleteFrom('dead_letters').execute();
});

test('GET /v1/admin/dead-letters/{id} shows one with its message and error; unknown is 404 naming id, a non-number 400', async () => {
  const { id, eventId } = await park(t, 3);
  const res = await get(t, `/v1/admin/dead-letters/${id}`);
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json<DeadLetterView>(), { ...res.json<DeadLetterView>(), id, eventId, consumer: 'member-webhook', error: `webhook ${partner.url} answered 503` });
  assert.equal(res.json<DeadLetterView>().message?.memberId, 'm3');

  const missing = await get(t, `/v1/admin/dead-letters/${Number(id) + 1000}`);
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(missing.json<{ field: string }>().field, 'id');
  for (const bad of ['abc', '0', '-1', '1e3', '99999999999999999']) {
    const r = await get(t, `/v1/admin/dead-letters/${bad}`);
    assert.equal(r.statusCode, 400, bad);
    assert.equal(r.json<{ field: string }>().field, 'params.id', bad);
  }
  await t.svc.store.db.deleteFrom('dead_letters').execute();
});

test('POST …/replay delivers the message to its consumer once, removes the dead letter and audits it; a retry with the key answers the same', async () => {
  const { id, eventId } = await park(t, 4);
  const other = await park(t, 5);
  const noKey = await replay(t, id);
  assert.equal(noKey.statusCode, 400);
  assert.equal(noKey.json<{ field: string }>().field, 'Idempotency-Key');
  assert.equal(partner.received.length, 0, 'nothing delivered without a key');

  partnerStatus = 204;
  const res = await replay(t, id, 'replay-4');
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { replayed: 1, deadLetter: { ...res.json<{ deadLetter: DeadLetterView }>().deadLetter, id, eventId } });
  assert.deepEqual(partner.received.map((r) => r.eventId), [eventId]);
  assert.equal(JSON.parse(partner.received[0]!.body).memberId, 'm4');
  const left = (await get(t, '/v1/admin/dead-letters')).json<{ deadLetters: DeadLetterView[] }>().deadLetters;
  assert.deepEqual(left.map((d) => d.id), [other.id], 'only the replayed one left the list');
  assert.equal((await get(t, `/v1/admin/dead-letters/${id}`)).statusCode, 404);

  const again = await replay(t, id, 'replay-4');
  assert.equal(again.statusCode, 200);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.equal(partner.received.length, 1, 'the same key does not deliver twice');
  const fresh = await replay(t, id, 'replay-4-again');
  assert.equal(fresh.statusCode, 404);
  assert.equal(fresh.json<{ field: string }>().field, 'id');
  assert.equal(partner.received.length, 1);

  const trail = await t.svc.memberStore.db.selectFrom('audit_log').selectAll().where('member_id', '=', 'm4').execute();
  assert.equal(trail.length, 1);
  assert.equal(trail[0]!.action, 'dead_letter.replayed');
  assert.match(trail[0]!.actor, /^test admin \(/);
  assert.deepEqual(JSON.parse(trail[0]!.request), { deadLetter: id, consumer: 'member-webhook', eventId, type: 'payment.failed' });
  await t.svc.store.db.deleteFrom('dead_letters').execute();
  partner.received.length = 0;
});

test('POST …/replay: a consumer that fails again is 502 with its error, and the dead letter stays parked with the new attempts', async () => {
  const { id, eventId } = await park(t, 6);
  partnerStatus = 500;
  try {
    const res = await replay(t, id, 'replay-6');
    assert.equal(res.statusCode, 502, res.body);
    const problem = res.json<{ field: string; detail: string }>();
    assert.equal(problem.field, 'consumer');
    assert.match(problem.detail, /member-webhook" failed again: webhook .* answered 500.*stays parked \(9 attempts\)/);
    // One attempt while the operator waits, not the relay's schedule of minutes.
    assert.deepEqual(partner.received.map((r) => r.eventId), [eventId], 'one attempt at the webhook');
    const still = (await get(t, `/v1/admin/dead-letters/${id}`)).json<DeadLetterView>();
    assert.deepEqual([still.attempts, still.error], [9, `webhook ${partner.url} answered 500`]);
    const trail = await t.svc.memberStore.db.selectFrom('audit_log').select('action').where('member_id', '=', 'm6').execute();
    assert.deepEqual(trail.map((r) => r.action), ['dead_letter.replay_failed']);
  } finally {
    partnerStatus = 204;
    partner.received.length = 0;
    await t.svc.store.db.deleteFrom('dead_letters').execute();
  }
});

test('POST …/replay: a dead letter whose consumer is not configured here is 503 naming the consumer, and nothing changes', async () => {
  const { id } = await park(t, 7, 'legacy-backsync');
  const res = await replay(t, id, 'replay-7');
  assert.equal(res.statusCode, 503, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(res.json<{ field: string }>().field, 'consumer');
  assert.match(res.json<{ detail: string }>().detail, /"legacy-backsync" is not configured/);
  assert.equal((await get(t, `/v1/admin/dead-letters/${id}`)).json<DeadLetterView>().attempts, 8);
  assert.equal(partner.received.length, 0);

  // And a service with no consumer at all (no webhook, no back-sync) says the same for the webhook's.
  const bare = await testApi({ messaging: messagingConfigFromEnv({}) });
  try {
    const parked = await park(bare, 8);
    const r = await replay(bare, parked.id, 'replay-8');
    assert.equal(r.statusCode, 503);
    assert.match(r.json<{ detail: string }>().detail, /"member-webhook" is not configured/);
    assert.equal((await get(bare, '/v1/admin/dead-letters')).json<{ deadLetters: unknown[] }>().deadLetters.length, 1);
  } finally {
    await bare.close();
  }
  await t.svc.store.db.deleteFrom('dead_letters').execute();
});
