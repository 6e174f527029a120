import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { migrate } from '../../src/cli/migrate.ts';
import { closeServices } from '../../src/jobs/services.ts';
import { readRoutes } from '../../src/proxy/route-table.ts';
import { upsert } from '../../src/store/bulk.ts';
import { openServices } from '../../src/wiring.ts';
import { freshStoreUrl } from '../support/engine.ts';
import { seededLegacy } from '../support/legacy-seed.ts';

process.env.TALLY_LOG_LEVEL = 'silent';
const root = join(import.meta.dirname, '..', '..');
const asOf = '2026-11-28';

test('tally cutover killed with SIGKILL while it drains: the same command continues where it stopped (its lease taken over) and finishes', async () => {
  const legacyUrl = await seededLegacy(60, ['DE'], 8, asOf, { warts: false });
  const dbUrl = await freshStoreUrl();
  const svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  // A proxy that still has a write of DE in flight: the drain waits for it.
  let inFlight: Record<string, number> = { DE: 1 };
  const beat = () => upsert(svc.store.db, 'proxy_heartbeats', ['proxy_id'], [{ proxy_id: 'test-proxy', routes_read_at: new Date().toISOString(), in_flight: JSON.stringify(inFlight) }], ['routes_read_at', 'in_flight']);
  const heart = setInterval(() => void beat().catch(() => {}), 100);
  try {
    await migrate(svc, { source: 'legacy', from: legacyUrl, countries: ['DE'], mode: 'load', asOf, horizonMonths: 24 }, () => {});
    const cutover = () => spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'cutover', 'DE', '--from', legacyUrl, '--as-of', asOf, '--json'], {
      env: { ...process.env, TALLY_DB_URL: dbUrl, TALLY_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const first = cutover();
    const exited = new Promise((r) => first.once('exit', r));
    for (let i = 0; i < 400; i++) {
      const drain = await svc.store.db.selectFrom('cutover_steps').select('step').where('step', '=', 'drain').executeTakeFirst();
      if (drain) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill('SIGKILL');
    await exited;
    assert.equal((await readRoutes(svc.store.db)).get('DE')!.state, 'frozen', 'killed while frozen');
    assert.equal((await svc.store.db.selectFrom('cutover_runs').select('status').executeTakeFirstOrThrow()).status, 'running');

    inFlight = {};
    const second = cutover();
    let out = '';
    second.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    let err = '';
    second.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => second.once('exit', r));
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as { status: string; resumed: boolean; steps: { step: string }[]; freezeSeconds: number };
    assert.deepEqual([result.status, result.resumed], ['finished', true]);
    assert.deepEqual(result.steps.map((s) => s.step), ['drain', 'migrate', 'compare', 'route', 'unfreeze', 'backsync', 'legacy-stop'], 'the freeze was not taken again');
    assert.ok(result.freezeSeconds > 0);
    assert.equal((await readRoutes(svc.store.db)).get('DE')!.state, 'tally');
    assert.equal((await svc.store.db.selectFrom('cutover_runs').selectAll().execute()).length, 1);
  } finally {
    clearInterval(heart);
    await closeServices(svc);
  }
});
