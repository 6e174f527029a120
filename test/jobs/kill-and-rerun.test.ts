import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Services } from '../../src/jobs/services.ts';
import { openStore } from '../../src/store/connect.ts';
import { openServices } from '../../src/wiring.ts';
import { engineUnderTest, freshStoreUrl } from '../support/engine.ts';
import { seedDueMembers } from '../support/population.ts';
import { billingState } from '../support/state.ts';

const root = join(import.meta.dirname, '..', '..');
const day = '2026-03-15';
const members = 6000;

async function seeded(): Promise<string> {
  const url = await freshStoreUrl();
  const svc = await openServices({ dbUrl: url, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  await seedDueMembers(svc, members, day);
  await svc.store.close();
  return url;
}

function env(url: string) {
  return { ...process.env, TALLY_DB_URL: url, TALLY_LOG_LEVEL: 'silent' };
}

function runDay(file: string): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'run-day', '--date', day], { env: env(file), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/**
 * Start run-day and SIGKILL it `ms` after its first job has started (watched in the store, so
 * process start-up time does not matter): no chance to clean up, exactly like a lost machine.
 */
async function killAfter(url: string, ms: number): Promise<boolean> {
  const watcher = await openStore(url);
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'run-day', '--date', day], { env: env(url), stdio: 'ignore' });
  const exited = new Promise<boolean>((resolve) => child.on('exit', (_code, signal) => resolve(signal === 'SIGKILL')));
  let running = true;
  void exited.then(() => { running = false; });
  try {
    while (running) {
      const started = await watcher.db.selectFrom('job_runs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      if (Number(started.n) > 0) {
        const timer = setTimeout(() => child.kill('SIGKILL'), ms);
        void exited.then(() => clearTimeout(timer));
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return await exited;
  } finally {
    await watcher.close();
  }
}

async function state(url: string) {
  const svc: Services = await openServices({ dbUrl: url, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  try {
    const s = await billingState(svc);
    const runs = await svc.store.db.selectFrom('job_runs').select(['job', 'status']).orderBy('id').execute();
    return { s, runs };
  } finally {
    await svc.store.close();
  }
}

test('run-day killed with SIGKILL at random moments and re-run ends exactly like an uninterrupted run', async () => {
  const reference = await seeded();
  runDay(reference);
  const expected = (await state(reference)).s;
  assert.equal(expected.invoices.length, members);

  let killedMidRun = 0;
  // Every moment on the embedded engine; a server engine, where each seeded store and run cost seconds, samples four of them.
  const moments = engineUnderTest === 'sqlite' ? [0, 40, 120, 250, 400, 600] : [0, 120, 250, 600];
  for (const ms of moments) {
    const file = await seeded();
    await killAfter(file, ms);
    runDay(file);
    const { s, runs } = await state(file);
    assert.deepEqual(s, expected, `after a kill at ${ms} ms`);
    // A killed run is not forgotten: the re-run marks it interrupted, and nothing is left "running".
    assert.ok(!runs.some((r) => r.status === 'running'), JSON.stringify(runs));
    if (runs.some((r) => r.status === 'interrupted')) killedMidRun++;
  }
  assert.ok(killedMidRun >= 3, `only ${killedMidRun} kills landed before the run finished`);
});
