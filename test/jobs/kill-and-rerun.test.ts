import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { Services } from '../../src/jobs/services.ts';
import { openServices } from '../../src/wiring.ts';
import { seedDueMembers } from '../support/population.ts';
import { billingState } from '../support/state.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tally-kill-'));
const day = '2026-03-15';
const members = 6000;

async function seeded(name: string): Promise<string> {
  const file = join(dir, `${name}.db`);
  const svc = await openServices({ dbUrl: `sqlite:${file}`, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  await seedDueMembers(svc, members, day);
  await svc.store.close();
  return file;
}

function env(file: string) {
  return { ...process.env, TALLY_DB_URL: `sqlite:${file}`, TALLY_LOG_LEVEL: 'silent' };
}

function runDay(file: string): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'run-day', '--date', day], { env: env(file), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/**
 * Start run-day and SIGKILL it `ms` after its first job has started (watched in the store, so
 * process start-up time does not matter): no chance to clean up, exactly like a lost machine.
 */
function killAfter(file: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'run-day', '--date', day], { env: env(file), stdio: 'ignore' });
    let timer: NodeJS.Timeout | undefined;
    const watch = setInterval(() => {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const started = db.prepare("select count(*) as n from job_runs").get() as { n: number };
        if (started.n > 0 && !timer) {
          clearInterval(watch);
          timer = setTimeout(() => child.kill('SIGKILL'), ms);
        }
      } catch {
        // The schema may not exist yet while the child migrates.
      } finally {
        db.close();
      }
    }, 5);
    child.on('exit', (_code, signal) => {
      clearInterval(watch);
      if (timer) clearTimeout(timer);
      resolve(signal === 'SIGKILL');
    });
  });
}

async function state(file: string) {
  const svc: Services = await openServices({ dbUrl: `sqlite:${file}`, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  try {
    const s = await billingState(svc.store.db);
    const runs = await svc.store.db.selectFrom('job_runs').select(['job', 'status']).orderBy('id').execute();
    return { s, runs };
  } finally {
    await svc.store.close();
  }
}

test('run-day killed with SIGKILL at random moments and re-run ends exactly like an uninterrupted run', async () => {
  const reference = await seeded('reference');
  runDay(reference);
  const expected = (await state(reference)).s;
  assert.equal(expected.invoices.length, members);

  let killedMidRun = 0;
  for (const ms of [0, 40, 120, 250, 400, 600]) {
    const file = await seeded(`killed-${ms}`);
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
