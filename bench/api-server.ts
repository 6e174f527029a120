/** The server side of bench/api.ts, in its own process: the real service, or a bare handler on the same framework. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { pino } from 'pino';
import { serviceMetrics } from '../src/api/metrics.ts';
import { apiLogs } from '../src/api/logs.ts';
import { buildApi } from '../src/api/server.ts';
import { dailySchedule } from '../src/jobs/scheduler.ts';
import { openServices } from '../src/wiring.ts';

const { values } = parseArgs({ options: { db: { type: 'string' }, port: { type: 'string' }, mode: { type: 'string' }, payload: { type: 'string' }, 'log-level': { type: 'string' } } });
const port = Number(values.port);

if (values.mode === 'bare') {
  // Same framework, same payload size, no auth, validation, store or idempotency: the ceiling.
  const payload = readFileSync(values.payload!, 'utf8');
  const app = Fastify({ logger: false });
  app.get('/bare/:id', async (_req, reply) => reply.type('application/json').send(payload));
  app.post('/bare/:id', async (_req, reply) => reply.type('application/json').send(payload));
  await app.listen({ host: '127.0.0.1', port });
} else {
  const svc = await openServices({ dbUrl: values.db!, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  const schedule = dailySchedule(svc, { owner: 'bench', firstDay: async () => null });
  // Logged as `tally serve` logs (one access line per request at info), formatted and written, to /dev/null.
  const app = await buildApi({ svc, now: () => Date.parse('2026-03-20T12:00:00Z'), schedule }, { metrics: serviceMetrics(svc.store.db), rateLimit: 100_000_000, logs: apiLogs(values['log-level'] ?? 'info', pino.destination('/dev/null')) });
  await app.listen({ host: '127.0.0.1', port });
}
console.log('ready');
// Exit cleanly on a signal so a --cpu-prof run writes its profile.
process.once('SIGINT', () => process.exit(0));
