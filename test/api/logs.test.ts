import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createApiKey } from '../../src/api/api-keys.ts';
import { serviceMetrics } from '../../src/api/metrics.ts';
import { apiLogs } from '../../src/api/logs.ts';
import { buildApi } from '../../src/api/server.ts';
import { dailySchedule } from '../../src/jobs/scheduler.ts';
import { openTestServices } from '../support/engine.ts';

test('request logs are JSON with a request id, and carry no API key or payment token', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  const svc = await openTestServices();
  const api = { svc, now: () => Date.parse('2026-03-10T12:00:00Z'), schedule: dailySchedule(svc, { owner: 't', firstDay: async () => null }) };
  const app = await buildApi(api, { metrics: serviceMetrics(svc.store.db), logs: apiLogs('info', sink), keyCacheMs: 0 });
  const { secret } = await createApiKey(svc.store.db, 'app', 'member-app');
  const r = await app.inject({
    method: 'POST', url: '/v1/members', headers: { authorization: `Bearer ${secret}`, 'x-request-id': 'req-42' },
    payload: { id: 'm1', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_timeout', plan: 'basic' },
  });
  assert.equal(r.statusCode, 201);
  assert.equal(r.headers['x-request-id'], 'req-42');
  const cs = await createApiKey(svc.store.db, 'agent', 'cs-agent');
  const search = await app.inject({ method: 'GET', url: '/v1/cs/search?email=someone@example.com', headers: { authorization: `Bearer ${cs.secret}`, 'x-request-id': 'req-43' } });
  assert.equal(search.statusCode, 200);
  await app.close();
  await svc.store.close();
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(parsed.some((l) => l.reqId === 'req-42'), 'the request id is in the logs');
  // One access line per request, with what an operator needs and nothing a query string carried.
  const access = parsed.filter((l) => l.msg === 'request completed');
  assert.deepEqual(access.map((l) => [l.reqId, l.method, l.route, l.path, l.status]), [
    ['req-42', 'POST', '/v1/members', '/v1/members', 201],
    ['req-43', 'GET', '/v1/cs/search', '/v1/cs/search', 200],
  ]);
  assert.ok(access.every((l) => typeof l.ms === 'number' && typeof l.key === 'string'));
  assert.ok(!parsed.some((l) => l.msg === 'incoming request'));
  const all = lines.join('\n');
  assert.ok(!all.includes(secret.slice(4)), 'no API key in the logs');
  assert.ok(!all.includes('tok_timeout'), 'no payment token in the logs');
  assert.ok(!all.includes('someone@example.com'), 'no query string in the logs');
});
