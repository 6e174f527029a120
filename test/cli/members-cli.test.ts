import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createApiKey } from '../../src/api/api-keys.ts';
import { serviceMetrics } from '../../src/api/metrics.ts';
import { buildApi } from '../../src/api/server.ts';
import { dailySchedule } from '../../src/jobs/scheduler.ts';
import { closeServices } from '../../src/jobs/services.ts';
import { openServices } from '../../src/wiring.ts';
import { freshStoreUrl } from '../support/engine.ts';
import { seededLegacy } from '../support/legacy-seed.ts';

const root = join(import.meta.dirname, '..', '..');
const tally = (args: string[], dbUrl: string) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
  encoding: 'utf8', env: { ...process.env, TALLY_DB_URL: dbUrl, TALLY_LOG_LEVEL: 'silent' },
});

test('tally members show: a migrated member as customer service sees it, --json exactly the body of GET /v1/cs/members/{id}; an unknown member one line, exit 2', async () => {
  const legacy = await seededLegacy(40, ['DE'], 14);
  const dbUrl = await freshStoreUrl();
  const migrated = tally(['migrate', '--source', 'legacy', '--from', legacy, '--country', 'DE', '--as-of', '2026-11-28'], dbUrl);
  assert.equal(migrated.status, 0, migrated.stderr);

  const svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  const now = Date.parse('2026-11-28T12:00:00Z');
  const app = await buildApi({ svc, now: () => now, schedule: dailySchedule(svc, { owner: 'test', firstDay: async () => null, now: () => now }) },
    { metrics: serviceMetrics(svc.store.db), keyCacheMs: 0 });
  try {
    const { secret } = await createApiKey(svc.store.db, 'agent', 'cs-agent');
    const id = (await svc.memberStore.db.selectFrom('members').innerJoin('migrated_members', 'migrated_members.member_id', 'members.id')
      .select('members.id').orderBy('members.id').executeTakeFirstOrThrow()).id;
    const api = await app.inject({ method: 'GET', url: `/v1/cs/members/${id}`, headers: { authorization: `Bearer ${secret}` } });
    assert.equal(api.statusCode, 200);

    const json = tally(['members', 'show', id, '--json'], dbUrl);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), api.json());
    assert.ok((api.json() as { invoices: unknown[] }).invoices.length > 0, 'a migrated member with its history');

    const shown = tally(['members', 'show', id], dbUrl);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^member ${id} — .*, DE \\(Europe/Berlin\\), EUR, `));
    assert.match(shown.stdout, /balances: gift card \d+\.\d\d EUR, credit \d+\.\d\d EUR/);

    const unknown = tally(['members', 'show', 'nobody'], dbUrl);
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, 'tally: ID: unknown member "nobody"\n');
    const usage = tally(['members', 'list'], dbUrl);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /^tally: usage: tally members show ID \[--archive\] \[--json\]\n$/);
  } finally {
    await app.close();
    await closeServices(svc);
  }
});
