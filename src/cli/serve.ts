import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createApiKey, listApiKeys } from '../api/api-keys.ts';
import type { ApiContext } from '../api/context.ts';
import { serviceMetrics } from '../api/metrics.ts';
import { apiLogs } from '../api/logs.ts';
import { consoleDist, ensureConsoleBuilt } from '../api/console.ts';
import { buildApi, buildDvdApi } from '../api/server.ts';
import { addDays, businessDate } from '../domain/calendar.ts';
import { dailySchedule } from '../jobs/scheduler.ts';
import type { Services } from '../jobs/services.ts';
import { backsyncLegacyUrl, backsyncStatus, openBacksync, registerBacksyncMetrics, servedCountries } from '../migration/backsync/index.ts';
import { followOutbox, messagingConfigFromEnv, openMessaging, transportKind, type MessagingConfig } from '../messaging/index.ts';
import { wholeSetting } from '../settings.ts';
import { seedDemo } from './demo.ts';

export interface ServeOptions {
  host: string;
  port: number;
  rateLimit: number;
  dvd: { port: number; key: string; cert: string; ca: string } | null;
  demoMembers: number;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlHours: number;
  /** Open connections at most; the idle and request timeouts close slow and abandoned ones. */
  maxConnections: number;
  messaging: MessagingConfig;
}

export function serveOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ServeOptions {
  const tls = env.TALLY_DVD_TLS_KEY && env.TALLY_DVD_TLS_CERT && env.TALLY_DVD_TLS_CA;
  return {
    host: env.TALLY_HOST || '127.0.0.1',
    port: wholeSetting(env, 'TALLY_PORT', 3000, 0, 65535),
    rateLimit: wholeSetting(env, 'TALLY_RATE_LIMIT', 6000),
    dvd: tls ? { port: wholeSetting(env, 'TALLY_DVD_PORT', 3443, 0, 65535), key: env.TALLY_DVD_TLS_KEY!, cert: env.TALLY_DVD_TLS_CERT!, ca: env.TALLY_DVD_TLS_CA! } : null,
    demoMembers: wholeSetting(env, 'TALLY_DEMO_MEMBERS', 10_000, 0),
    idempotencyTtlHours: wholeSetting(env, 'TALLY_IDEMPOTENCY_TTL_HOURS', 24),
    maxConnections: wholeSetting(env, 'TALLY_MAX_CONNECTIONS', 1024),
    messaging: messagingConfigFromEnv(env),
  };
}

/**
 * The service: APIs on the embedded store, the demo population on first start,
 * the daily jobs on a schedule, and (when a broker or a webhook is configured)
 * the outbox relay and the consumers. SIGINT/SIGTERM finish in-flight requests,
 * stop a running job at its next safe point, and let the relay finish its batch.
 */
export async function serve(svc: Services, opts: ServeOptions): Promise<void> {
  const metrics = serviceMetrics(svc.store.db, svc.memberStore.db);
  const today = () => businessDate(Date.now(), svc.reportingTimeZone);
  const members = await svc.memberStore.db.selectFrom('members').select('id').limit(1).execute();
  let firstDay: string | null = null;
  if (!members.length && opts.demoMembers > 0) {
    // A month of history to catch up on, so the first start shows billing, dunning and revenue at once.
    firstDay = addDays(today(), -30);
    svc.log.info({ members: opts.demoMembers, from: firstDay }, 'seeding the demo population');
    await seedDemo(svc, opts.demoMembers, () => undefined, firstDay);
  }
  if (!(await listApiKeys(svc.store.db)).length) {
    const { secret } = await createApiKey(svc.store.db, 'bootstrap admin', 'admin');
    console.log(`first start: an admin API key was created; it is shown only now:\n  ${secret}\ncreate keys for the other roles with: tally keys create --name NAME --role ROLE`);
  }
  const schedule = dailySchedule(svc, {
    owner: `${hostname()}:${process.pid}`,
    firstDay: async () => firstDay,
    intervalMs: 60_000,
    onJob: (job, _date, status, seconds, counts) => metrics.observeJob(job, status, seconds, counts),
  });
  const api: ApiContext = { svc, now: Date.now, schedule, messaging: opts.messaging };
  const logs = apiLogs(svc.log.level);
  const limits = { idempotencyTtlMs: opts.idempotencyTtlHours * 3600_000, maxConnections: opts.maxConnections };
  const consoleBuilt = await ensureConsoleBuilt();
  const app = await buildApi(api, { metrics, rateLimit: opts.rateLimit, logs, ...limits, ...(consoleBuilt ? { console: consoleDist } : {}) });
  const url = await app.listen({ host: opts.host, port: opts.port });
  console.log(`Tally is serving on ${url} (API docs at ${url}/docs, OpenAPI at ${url}/openapi.json${consoleBuilt ? `, operator console at ${url}/console` : ''})`);
  const dvd = opts.dvd
    ? await buildDvdApi(api, { metrics, rateLimit: opts.rateLimit, logs, ...limits, https: { key: readFileSync(opts.dvd.key), cert: readFileSync(opts.dvd.cert), ca: readFileSync(opts.dvd.ca) } })
    : null;
  if (dvd && opts.dvd) console.log(`DVD partner API (mutual TLS) on ${await dvd.listen({ host: opts.host, port: opts.dvd.port })}`);
  else svc.log.warn('DVD partner API disabled: set TALLY_DVD_TLS_KEY, TALLY_DVD_TLS_CERT and TALLY_DVD_TLS_CA');
  schedule.start();

  // Without a broker or a webhook nobody would receive the events: leave them in the outbox rather than mark them published.
  const relayStop = new AbortController();
  let relaying: Promise<unknown> = Promise.resolve();
  // With TALLY_LEGACY_URL, back-sync is one more consumer here (a relay without it would mark events published that it never saw), and its lag is on /metrics.
  const legacyTarget = backsyncLegacyUrl(undefined);
  const backsync = legacyTarget ? await openBacksync(svc, legacyTarget, svc.log) : null;
  if (backsync) {
    const target = backsync;
    registerBacksyncMetrics(metrics.registry, async () => backsyncStatus(svc, {
      countries: await servedCountries(svc.store.db), legacy: target.legacy.db, parked: messaging ? await messaging.deadLetters.list(10_000) : [],
    }));
  }
  const messagingOn = opts.messaging.amqpUrl !== null || opts.messaging.webhook !== null || backsync !== null;
  const messaging = messagingOn ? await openMessaging(svc.store.db, opts.messaging, transportKind(opts.messaging), svc.log, backsync ? [backsync.consumer] : []) : null;
  if (messaging) {
    await messaging.start();
    relaying = followOutbox(svc.store.db, messaging.transport, {
      owner: `${hostname()}:${process.pid}`, batchSize: opts.messaging.relayBatchSize, leaseMs: opts.messaging.relayLeaseMs, pollMs: opts.messaging.relayPollMs, signal: relayStop.signal, log: svc.log,
    });
    console.log(`Messaging: relaying the outbox to ${messaging.kind === 'amqp' ? 'RabbitMQ' : 'the in-process bus'}; consumers: ${messaging.consumers.map((c) => c.name).join(', ') || 'none'}`);
  } else {
    svc.log.warn('messaging off: set TALLY_AMQP_URL, TALLY_WEBHOOK_URL or TALLY_LEGACY_URL (back-sync) to publish the outbox');
  }

  await new Promise<void>((resolve) => {
    const shutdown = async (signal: string) => {
      svc.log.info({ signal }, 'shutting down: finishing requests, stopping jobs at a safe point');
      relayStop.abort();
      messaging?.abandonRetries();
      await Promise.all([app.close(), dvd?.close(), schedule.stop(), relaying]);
      await messaging?.stop();
      await backsync?.close();
      resolve();
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
  });
}
