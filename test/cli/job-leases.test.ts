import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApiKey } from '../../src/api/api-keys.ts';
import type { ApiContext } from '../../src/api/context.ts';
import { serviceMetrics } from '../../src/api/metrics.ts';
import { buildApi } from '../../src/api/server.ts';
import { dailySchedule } from '../../src/jobs/scheduler.ts';
import { acquireLock } from '../../src/jobs/job-lock.ts';
import type { Services } from '../../src/jobs/services.ts';
import { openServices } from '../../src/wiring.ts';
import { freshStoreUrl } from '../support/engine.ts';
import { journalImbalance, moneyMovedOnce } from '../support/money-checks.ts';
import { seedDueMembers } from '../support/population.ts';

const root = join(import.meta.dirname, '..', '..');
const day = '2026-03-15';

async function seeded(members: number): Promise<{ url: string; svc: Services }> {
  const url = await freshStoreUrl();
  const svc = await openServices({ dbUrl: url, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  await seedDueMembers(svc, members, day);
  return { url, svc };
}

const tally = (url: string, ...args: string[]) => spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
  env: { ...process.env, TALLY_DB_URL: url, TALLY_LOG_LEVEL: 'silent' },
});

function finished(child: ReturnType<typeof tally>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

test('a job whose lease another process holds is refused in one line naming the holder and since when; nothing runs', async () => {
  const { url, svc } = await seeded(20);
  try {
    assert.ok(await acquireLock(svc.store.db, 'renew', 'billing-2:4242 (tally renew)', 60_000));
    for (const args of [['renew', '--date', day], ['run-day', '--date', day]]) {
      const r = await finished(tally(url, ...args));
      assert.equal(r.status, 75, r.stderr);
      assert.match(r.stderr, /^tally: renew is already running \(held by billing-2:4242 \(tally renew\) since \d{4}-\d\d-\d\dT[\d:.]+Z; the lease expires at .*\)\n$/);
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
    }
    assert.deepEqual(await svc.store.db.selectFrom('job_runs').select('id').execute(), [], 'no run started');
    // run-day took none of its other leases either.
    assert.deepEqual((await svc.store.db.selectFrom('job_locks').select('job').execute()).map((l) => l.job), ['renew']);
  } finally {
    await svc.store.close();
  }
});

test('a lease left by a process on this machine that no longer exists is taken over at once', async () => {
  const { url, svc } = await seeded(20);
  try {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    assert.ok(await acquireLock(svc.store.db, 'collect', `${hostname()}:${dead} (tally collect)`, 600_000));
    const r = await finished(tally(url, 'collect', '--date', day));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await svc.store.db.selectFrom('job_locks').select('job').execute(), [], 'released after the run');
  } finally {
    await svc.store.close();
  }
});

test('two run-days for the same date at once: one runs, the other is refused or finds nothing left; counts add up to what was done once', async () => {
  const { url, svc } = await seeded(1500);
  try {
    const runs = await Promise.all([finished(tally(url, 'run-day', '--date', day)), finished(tally(url, 'run-day', '--date', day))]);
    for (const r of runs) {
      assert.ok(r.status === 0 || r.status === 75, `exit ${r.status}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const ran = runs.filter((r) => r.status === 0).map((r) => JSON.parse(r.stdout) as { renew: { invoices: number }; collect: { paid: number } });
    assert.ok(ran.length >= 1, runs.map((r) => r.stderr).join(' | '));
    const { db } = svc.store;
    const invoices = (await db.selectFrom('invoices').select('id').execute()).length;
    const paid = (await db.selectFrom('payments').select('id').execute()).length;
    assert.equal(ran.reduce((n, r) => n + r.renew.invoices, 0), invoices, 'invoices reported once');
    assert.equal(ran.reduce((n, r) => n + r.collect.paid, 0), paid, 'payments reported once');
    await moneyMovedOnce(svc);
    assert.deepEqual(await journalImbalance(svc), []);
  } finally {
    await svc.store.close();
  }
});

test('run-day in another process racing 300 member requests on the same store: no 500, the job finishes, every due member billed once', async () => {
  const { url, svc } = await seeded(1500);
  const metrics = serviceMetrics(svc.store.db);
  const now = () => Date.parse(`${day}T12:00:00Z`);
  const api: ApiContext = { svc, now, schedule: dailySchedule(svc, { owner: 'test', firstDay: async () => null, now }) };
  const app = await buildApi(api, { metrics, rateLimit: 1_000_000, keyCacheMs: 60_000 });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const keys = { 'member-app': (await createApiKey(svc.store.db, 'app', 'member-app')).secret, 'cs-agent': (await createApiKey(svc.store.db, 'agent', 'cs-agent')).secret };
    const { db } = svc.store;
    const members = await svc.memberStore.db.selectFrom('members').select(['id', 'data']).orderBy('id').limit(150).execute();
    const job = finished(tally(url, 'run-day', '--date', day));
    // Fire once the job has started (process start-up takes a while), so the requests land inside its run.
    for (let i = 0; i < 300 && !(await db.selectFrom('job_runs').select('id').executeTakeFirst()); i++) await new Promise((r) => setTimeout(r, 20));
    const answers = await Promise.all(Array.from({ length: 300 }, async (_, i) => {
      const m = members[i % members.length]!;
      const currency = (JSON.parse(m.data) as { currency: string }).currency;
      const [path, role, body] = i % 2
        ? [`/v1/cs/members/${m.id}/credits`, 'cs-agent' as const, { amount: 10, currency, reason: 'while billing runs' }]
        : [`/v1/members/${m.id}/plan-change`, 'member-app' as const, { plan: 'premium' }];
      const r = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${keys[role]}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, body: await r.text() };
    }));
    const run = await job;
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(answers.filter((a) => a.status !== 200 && a.status !== 422), [], 'every answer 200 or 422');
    const renewals = await db.selectFrom('invoices').select(['member_id', 'period_start']).where('kind', '=', 'renewal').execute();
    const seen = new Set<string>();
    for (const r of renewals) {
      const k = `${r.member_id} ${r.period_start}`;
      assert.ok(!seen.has(k), `${k} billed twice`);
      seen.add(k);
    }
    await moneyMovedOnce(svc);
    assert.deepEqual(await journalImbalance(svc), []);
  } finally {
    await app.close();
    await svc.store.close();
  }
});
