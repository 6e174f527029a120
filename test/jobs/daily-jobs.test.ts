import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { runCollection } from '../../src/jobs/collect.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import { runRevenueReport } from '../../src/jobs/revenue-report.ts';
import { runDay } from '../../src/jobs/run-day.ts';
import { listRuns } from '../../src/jobs/run-record.ts';
import type { Services } from '../../src/jobs/services.ts';
import * as ops from '../../src/operations/member-operations.ts';
import { seedDueMembers } from '../support/population.ts';
import { engineUnderTest, openTestServices } from '../support/engine.ts';

async function fresh(): Promise<Services> {
  return openTestServices();
}

const member = { id: 'm1', country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_ok' };

test('every job run is recorded with its counts', async () => {
  const svc = await fresh();
  await ops.signupMember(svc, { ...member, plan: 'basic' }, '2026-01-10');
  await runDay(svc, '2026-01-10');
  const runs = await listRuns(svc.store.db);
  assert.deepEqual(runs.map((r) => [r.job, r.status]).reverse(), [['renew', 'finished'], ['collect', 'finished'], ['report-revenue', 'finished']]);
  assert.equal(runs.find((r) => r.job === 'renew')!.counts.invoices, 1);
  assert.equal(runs.find((r) => r.job === 'collect')!.counts.paid, 1);
  assert.ok(runs.every((r) => r.finishedAt! >= r.startedAt));
  await svc.store.close();
});

test('a closed day never changes: a refund on a closed day is booked on the next open day', async () => {
  const svc = await fresh();
  await ops.signupMember(svc, { ...member, plan: 'basic' }, '2026-01-10');
  const closed = (await runDay(svc, '2026-01-10')).revenue;
  await ops.refundMemberInvoice(svc, 'm1', 1, 300, 'goodwill', '2026-01-10');
  assert.deepEqual(await runRevenueReport(svc, '2026-01-10'), closed);
  const next = await runRevenueReport(svc, '2026-01-11');
  assert.equal(next.lines.find((l) => l.country === 'DE')!.refunded, 300);
  assert.ok(next.balanced);
  await svc.store.close();
});

test('re-running a finished day changes nothing', async () => {
  const svc = await fresh();
  await seedDueMembers(svc, 300, '2026-03-15');
  const first = await runDay(svc, '2026-03-15');
  const again = await runDay(svc, '2026-03-15');
  assert.equal(first.renew.counts.invoices, 300);
  assert.equal(again.renew.counts.invoices, 0);
  assert.equal(again.collect.counts.invoices, 0);
  assert.deepEqual(again.revenue, first.revenue);
  await svc.store.close();
});

// The plan is SQLite's; a server engine's planner picks by table statistics, which a test-sized table does not have.
test('renewal finds who is due through the index, not by scanning members', { skip: engineUnderTest !== 'sqlite' }, async () => {
  const svc = await fresh();
  const plan = await sql<{ detail: string }>`explain query plan select id, version, data, next_due from members where next_due <= ${'2026-03-15'} order by next_due, id limit 1000`.execute(svc.store.db);
  assert.match(plan.rows.map((r) => r.detail).join('\n'), /USING (COVERING )?INDEX members_due/);
  const collect = await sql<{ detail: string }>`explain query plan select * from invoices where next_attempt_on <= ${'2026-03-15'} order by next_attempt_on, id limit 1000`.execute(svc.store.db);
  assert.match(collect.rows.map((r) => r.detail).join('\n'), /USING INDEX invoices_collect/);
  await svc.store.close();
});

test('dunning over the days: soft declines retried on days 1, 3 and 7, then held', async () => {
  const svc = await fresh();
  await ops.signupMember(svc, { ...member, paymentToken: 'tok_soft_decline', plan: 'basic' }, '2026-01-10');
  const attemptsOn: string[] = [];
  for (let d = 10; d <= 20; d++) {
    const date = `2026-01-${d}`;
    await runRenewal(svc, date);
    const r = await runCollection(svc, date);
    if (r.counts.invoices) attemptsOn.push(date);
  }
  assert.deepEqual(attemptsOn, ['2026-01-10', '2026-01-11', '2026-01-13', '2026-01-17']);
  const m = await svc.store.db.selectFrom('members').select('status').where('id', '=', 'm1').executeTakeFirstOrThrow();
  assert.equal(m.status, 'on_hold');
  await svc.store.close();
});
