import type { AddressInfo } from 'node:net';
import { createApiKey, roles, type Role } from '../../src/api/api-keys.ts';
import type { ApiContext } from '../../src/api/context.ts';
import { serviceMetrics } from '../../src/api/metrics.ts';
import { buildApi, type ApiOptions } from '../../src/api/server.ts';
import { dailySchedule } from '../../src/jobs/scheduler.ts';
import type { Services } from '../../src/jobs/services.ts';
import type { MessagingConfig } from '../../src/messaging/index.ts';
import { openTestServices } from './engine.ts';

/**
 * A service on a fresh in-memory store (or on `svc`, for a test that also runs the CLI on the
 * same store) with one key per role, and a clock the test controls.
 */
export async function testApi(opts: { rateLimit?: number; today?: string; server?: Partial<ApiOptions>; svc?: Services; messaging?: MessagingConfig } = {}) {
  const svc = opts.svc ?? await openTestServices();
  let now = Date.parse(`${opts.today ?? '2026-03-10'}T12:00:00Z`);
  svc.clock = () => now;
  const schedule = dailySchedule(svc, { owner: 'test', firstDay: async () => null, now: () => now });
  const api: ApiContext = { svc, now: () => now, schedule, ...(opts.messaging ? { messaging: opts.messaging } : {}) };
  const metrics = serviceMetrics(svc.store.db);
  const app = await buildApi(api, { metrics, rateLimit: opts.rateLimit ?? 100_000, keyCacheMs: 0, ...opts.server });
  const keys = {} as Record<Role, string>;
  for (const role of roles) keys[role] = (await createApiKey(svc.store.db, `test ${role}`, role)).secret;
  return {
    svc, app, api, metrics, keys, schedule,
    setToday(date: string) { now = Date.parse(`${date}T12:00:00Z`); },
    auth: (role: Role) => ({ authorization: `Bearer ${keys[role]}` }),
    /** Listen on a loopback port for real parallel requests; returns the base URL. */
    async listen() {
      await app.listen({ host: '127.0.0.1', port: 0 });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
    async close() { await app.close(); await svc.store.close(); },
  };
}
