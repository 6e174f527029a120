import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createApiKey } from '../../src/api/api-keys.ts';
import { serviceMetrics } from '../../src/api/metrics.ts';
import { buildApi } from '../../src/api/server.ts';
import { dailySchedule } from '../../src/jobs/scheduler.ts';
import { closeServices } from '../../src/jobs/services.ts';
import { buildLegacyApi, createLegacyApiKey, openLegacy } from '../../src/legacy/index.ts';
import { referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';
import { setRoute } from '../../src/proxy/route-table.ts';
import { openServices } from '../../src/wiring.ts';
import { freshStoreUrl } from '../support/engine.ts';
import { seededLegacy } from '../support/legacy-seed.ts';

const root = join(import.meta.dirname, '..', '..');
const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as AddressInfo;
    s.close(() => resolve(port));
  });
});

test('the proxy restarted under traffic (SIGTERM, then SIGKILL): every sign-up lands once on its side, none lost, none twice', async () => {
  const legacyUrl = await seededLegacy(20, ['US'], 3);
  const dbUrl = await freshStoreUrl();
  const svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  const tallyApi = await buildApi({ svc, now: Date.now, schedule: dailySchedule(svc, { owner: 'test', firstDay: async () => null }) }, { metrics: serviceMetrics(svc.store.db), rateLimit: 1_000_000, keyCacheMs: 0 });
  await tallyApi.listen({ host: '127.0.0.1', port: 0 });
  const legacy = await openLegacy(legacyUrl);
  const legacyApi = await buildLegacyApi(legacy, { planNames: referenceLegacyPlans });
  await legacyApi.listen({ host: '127.0.0.1', port: 0 });
  const { secret: memberKey } = await createApiKey(svc.store.db, 'app', 'member-app');
  const { secret: legacyKey } = await createLegacyApiKey(legacy.db, 'proxy', 'member-app');
  await setRoute(svc.store.db, 'DE', { state: 'tally', canaryPercent: 0 }, 'test');
  const port = await freePort();
  const env = {
    ...process.env, TALLY_DB_URL: dbUrl, TALLY_LOG_LEVEL: 'silent', TALLY_PROXY_PORT: String(port), TALLY_PROXY_LEGACY_KEY: legacyKey,
    TALLY_PROXY_LEGACY_URL: `http://127.0.0.1:${(legacyApi.server.address() as AddressInfo).port}`, TALLY_PROXY_TALLY_URL: `http://127.0.0.1:${(tallyApi.server.address() as AddressInfo).port}`,
  };
  let proxy: ChildProcess | null = null;
  const start = () => new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'proxy'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('routing the member API')) resolve(); });
    child.once('exit', (code) => { if (proxy === child) reject(new Error(`proxy exited with ${code}`)); });
    proxy = child;
  });
  const stop = async (signal: NodeJS.Signals) => {
    const child = proxy!;
    proxy = null;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };

  /** A client that keeps retrying a write, with its Idempotency-Key, until it is answered: what a member app does. */
  const signup = async (id: string, country: 'DE' | 'US') => {
    const body = JSON.stringify({ id, email: `${id.toLowerCase()}@example.com`, country, timezone: country === 'DE' ? 'Europe/Berlin' : 'America/New_York', paymentToken: 'tok_ok', plan: 'standard' });
    for (let attempt = 1; attempt <= 400; attempt++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v1/members`, { method: 'POST', body, headers: { authorization: `Bearer ${memberKey}`, 'content-type': 'application/json', 'idempotency-key': `signup-${id}` } });
        if (r.status === 201) return attempt;
        if (![409, 502, 503, 504].includes(r.status)) assert.fail(`${id}: ${r.status} ${await r.text()}`);
      } catch {
        // The proxy is down or restarting: the connection is refused or cut; try again.
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return assert.fail(`${id} never answered`);
  };

  try {
    await start();
    const ids = Array.from({ length: 60 }, (_, i) => ({ id: `RS${String(i).padStart(5, '0')}`, country: (i % 2 ? 'US' : 'DE') as 'DE' | 'US' }));
    let done = 0;
    const restarts = (async () => {
      while (done < 15) await new Promise((r) => setTimeout(r, 5));
      await stop('SIGTERM');
      await start();
      while (done < 35) await new Promise((r) => setTimeout(r, 5));
      await stop('SIGKILL');
      await start();
    })();
    const queue = [...ids];
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        await signup(next.id, next.country);
        done++;
      }
    }));
    await restarts;
    const inTally = (await svc.memberStore.db.selectFrom('members').select('id').where('id', 'like', 'RS%').orderBy('id').execute()).map((r) => r.id);
    const inLegacy = (await legacy.db.selectFrom('customer').select('acct_no').where('acct_no', 'like', 'RS%').orderBy('acct_no').execute()).map((r) => r.acct_no);
    assert.deepEqual(inTally, ids.filter((x) => x.country === 'DE').map((x) => x.id));
    assert.deepEqual(inLegacy, ids.filter((x) => x.country === 'US').map((x) => x.id));
  } finally {
    if (proxy) await stop('SIGTERM');
    await tallyApi.close();
    await legacyApi.close();
    await legacy.close();
    await closeServices(svc);
  }
});
