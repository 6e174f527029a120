import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
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
