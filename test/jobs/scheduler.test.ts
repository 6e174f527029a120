import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acquireLock, JobBusy, releaseLock, withLock } from '../../src/jobs/job-lock.ts';
import { dailySchedule } from '../../src/jobs/scheduler.ts';
import { listRuns } from '../../src/jobs/run-record.ts';
import { seedDueMembers } from '../support/population.ts';
import { openTestServices } from '../support/engine.ts';

async function fresh() {
  return openTestServices();
}

test('the schedule catches up missed business days one at a time, then bills today and leaves today open', async () => {
  const svc = await fresh();
  await seedDueMembers(svc, 50, '2026-03-03');
  const schedule = dailySchedule(svc, { owner: 'a', firstDay: async () => '2026-03-01', now: () => Date.parse('2026-03-05T08:00:00Z') });
  await schedule.tick();
  const runs = (await listRuns(svc.store.db, 100)).reverse().map((r) => `${r.businessDate} ${r.job}`);
  assert.deepEqual(runs, [
    '2026-03-01 renew', '2026-03-01 collect', '2026-03-01 report-revenue',
    '2026-03-02 renew', '2026-03-02 collect', '2026-03-02 report-revenue',
    '2026-03-03 renew', '2026-03-03 collect', '2026-03-03 report-revenue',
    '2026-03-04 renew', '2026-03-04 collect', '2026-03-04 report-revenue',
    '2026-03-05 renew', '2026-03-05 collect',
  ]);
  const closed = await svc.store.db.selectFrom('revenue_days').select('business_date').orderBy('business_date').execute();
  assert.deepEqual(closed.map((d) => d.business_date), ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']);
  // A second tick the same day only re-runs today's idempotent jobs.
  await schedule.tick();
  assert.equal((await svc.store.db.selectFrom('invoices').select('id').execute()).length, 50);
  await svc.store.close();
});

test('a job never runs twice at once: the lease refuses a second holder until released or expired', async () => {
  const svc = await fresh();
  const { db } = svc.store;
  assert.equal(await acquireLock(db, 'renew', 'p1', 60_000, 1000), true);
  assert.equal(await acquireLock(db, 'renew', 'p2', 60_000, 2000), false);
  assert.equal(await acquireLock(db, 'renew', 'p2', 60_000, 70_000), true, 'an expired lease can be taken over');
  await releaseLock(db, 'renew', 'p2');
  await withLock(db, 'collect', 'p1', async () => {
    await assert.rejects(withLock(db, 'collect', 'p2', async () => undefined), JobBusy);
  });
  await svc.store.close();
});

test('stopping the schedule stops a running job at a safe point and records it as stopped', async () => {
  const svc = await fresh();
  await seedDueMembers(svc, 6000, '2026-03-05');
  const schedule = dailySchedule(svc, { owner: 'a', firstDay: async () => null, now: () => Date.parse('2026-03-05T08:00:00Z') });
  schedule.start();
  await new Promise((r) => setTimeout(r, 30));
  await schedule.stop();
  const runs = await listRuns(svc.store.db);
  assert.ok(runs.every((r) => r.status !== 'running'));
  assert.deepEqual(runs.map((r) => `${r.job} ${r.status}`), ['renew stopped']);
  // Whatever was committed stays; a later run finishes the rest.
  await dailySchedule(svc, { owner: 'b', firstDay: async () => null, now: () => Date.parse('2026-03-05T08:00:00Z') }).tick();
  assert.equal((await svc.store.db.selectFrom('invoices').select('id').execute()).length, 6000);
  await svc.store.close();
});
