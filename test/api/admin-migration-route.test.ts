import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { backsyncConsumerName } from '../../src/migration/backsync/consumer.ts';
import { encodeMessage } from '../../src/messaging/message.ts';
import { setRoute } from '../../src/proxy/route-table.ts';
import { insertReturningId } from '../../src/store/bulk.ts';
import { parkDeadLetter } from '../../src/store/deliveries.ts';
import { testApi } from '../support/api.ts';

let t: Awaited<ReturnType<typeof testApi>>;
before(async () => {
  t = await testApi();
});
after(() => t?.close());

test('GET /v1/admin/migration: 401 without a key, 403 for other roles', async () => {
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/admin/migration' })).statusCode, 401);
  for (const role of ['cs-agent', 'finance'] as const) assert.equal((await t.app.inject({ method: 'GET', url: '/v1/admin/migration', headers: t.auth(role) })).statusCode, 403, role);
});

test('GET /v1/admin/migration: route, compare and shadow runs, back-sync lag and cut-over steps per country', async () => {
  const db = t.svc.store.db;
  assert.deepEqual((await t.app.inject({ method: 'GET', url: '/v1/admin/migration', headers: t.auth('admin') })).json(), { countries: [] });
  await setRoute(db, 'DE', { state: 'tally', canaryPercent: 100 }, 'test', 'route test');
  await setRoute(db, 'FR', { state: 'legacy', canaryPercent: 0 }, 'test');
  const run = { source: 'legacy', country: 'DE', started_at: '2026-03-09T10:00:00.000Z', finished_at: '2026-03-09T10:05:00.000Z', report_dir: null, options: '{}', error: null };
  await db.insertInto('compare_runs').values([
    { ...run, mode: 'members', status: 'differences', counts: '{"members":10,"differing":1}' },
    { ...run, mode: 'members', status: 'clean', counts: '{"members":10,"differing":0}' },
    { ...run, mode: 'shadow', status: 'clean', counts: '{"invoices":4}' },
  ]).execute();
  // No RETURNING on MySQL: the engine-neutral insert gives the new id.
  const cutId = await insertReturningId(db, 'cutover_runs', {
    country: 'DE', cohort_percent: 100, status: 'finished', from_state: 'legacy', from_canary_percent: 0, options: '{}',
    started_at: '2026-03-09T11:00:00.000Z', finished_at: '2026-03-09T11:02:00.000Z', freeze_seconds: 4.5, outcome: '{"ok":true}',
  });
  await db.insertInto('cutover_steps').values([
    { run_id: cutId, step: 'route', started_at: '2026-03-09T11:01:00.000Z', finished_at: '2026-03-09T11:01:01.000Z', detail: null },
    { run_id: cutId, step: 'freeze', started_at: '2026-03-09T11:00:00.000Z', finished_at: '2026-03-09T11:00:01.000Z', detail: '{"proxies":1}' },
  ]).execute();

  const res = await t.app.inject({ method: 'GET', url: '/v1/admin/migration', headers: t.auth('admin') });
  assert.equal(res.statusCode, 200);
  const { countries } = res.json() as { countries: { country: string; route: { state: string; canaryPercent: number; updatedBy: string | null }; lastCompare: { status: string; counts: Record<string, number> } | null; lastShadow: { mode: string } | null; backsync: { waiting: number; parked: number | null } | null; cutovers: { status: string; freezeSeconds: number; steps: { step: string; detail: unknown }[] }[] }[] };
  assert.deepEqual(countries.map((c) => c.country), ['DE', 'FR']);
  const [de, fr] = countries;
  assert.deepEqual(de!.route, { ...de!.route, state: 'tally', canaryPercent: 100, updatedBy: 'test' });
  assert.equal(de!.lastCompare?.status, 'clean', 'the newest compare run');
  assert.deepEqual(de!.lastCompare?.counts, { members: 10, differing: 0 });
  assert.equal(de!.lastShadow?.mode, 'shadow');
  assert.deepEqual(de!.backsync, { waiting: 0, oldestWaitingSeconds: 0, lastAppliedAt: null, parked: 0 });
  assert.equal(de!.cutovers.length, 1);
  assert.equal(de!.cutovers[0]!.freezeSeconds, 4.5);
  assert.deepEqual(de!.cutovers[0]!.steps.map((s) => s.step), ['freeze', 'route'], 'steps in the cut-over order');
  assert.deepEqual(de!.cutovers[0]!.steps[0]!.detail, { proxies: 1 });
  assert.equal(fr!.route.state, 'legacy');
  assert.equal(fr!.backsync, null, 'Tally does not serve FR: no back-sync');
  assert.equal(fr!.lastCompare, null);
});

test('GET /v1/admin/migration: back-sync\'s parked events are counted for their member\'s country', async () => {
  const signUp = await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id: 'de-parked', email: 'p@example.com', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' } });
  assert.equal(signUp.statusCode, 201, signUp.body);
  const event = { id: 'member.updated:de-parked:9', type: 'member.updated', memberId: 'de-parked', occurredOn: '2026-03-10', data: {} };
  await parkDeadLetter(t.svc.store.db, { consumer: backsyncConsumerName, destination: `${backsyncConsumerName}.dlq`, eventId: event.id, type: event.type, message: encodeMessage(event), error: 'the legacy refused it', attempts: 5 });
  // Another consumer's dead letter of the same member is not back-sync's.
  await parkDeadLetter(t.svc.store.db, { consumer: 'member-webhook', destination: 'member-webhook.dlq', eventId: event.id, type: event.type, message: encodeMessage(event), error: 'partner down', attempts: 8 });
  const { countries } = (await t.app.inject({ method: 'GET', url: '/v1/admin/migration', headers: t.auth('admin') })).json() as { countries: { country: string; backsync: { parked: number | null } | null }[] };
  assert.equal(countries.find((c) => c.country === 'DE')!.backsync!.parked, 1);
});
