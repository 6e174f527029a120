import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createApiKey } from '../../src/api/api-keys.ts';
import { serviceMetrics } from '../../src/api/metrics.ts';
import { apiLogger, buildApi } from '../../src/api/server.ts';
import { dailySchedule } from '../../src/jobs/scheduler.ts';
import { openTestServices } from '../support/engine.ts';

test('request logs are JSON with a request id, and carry no API key or payment token', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  const svc = await openTestServices();
  const api = { svc, now: () => Date.parse('2026-03-10T12:00:00Z'), schedule: dailySchedule(svc, { owner: 't', firstDay: async () => null }) };
  const app = await buildApi(api, { metrics: serviceMetrics(svc.store.db), logger: apiLogger('info', sink), keyCacheMs: 0 });
  const { secret } = await createApiKey(svc.store.db, 'app', 'member-app');
  const r = await app.inject({
    method: 'POST', url: '/v1/members', headers: { authorization: `Bearer ${secret}`, 'x-request-id': 'req-42' },
    payload: { id: 'm1', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_timeout', plan: 'basic' },
  });
  assert.equal(r.statusCode, 201);
  assert.equal(r.headers['x-request-id'], 'req-42');
  await app.close();
  await svc.store.close();
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(parsed.some((l) => l.reqId === 'req-42'), 'the request id is in the logs');
  const all = lines.join('\n');
  assert.ok(!all.includes(secret.slice(4)), 'no API key in the logs');
  assert.ok(!all.includes('tok_timeout'), 'no payment token in the logs');
});
