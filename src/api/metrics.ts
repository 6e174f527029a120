import type { Kysely } from 'kysely';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { archiveMetrics } from '../archive/archive-status.ts';
import { registerOutboxLag } from '../messaging/outbox-relay.ts';
import type { Schema } from '../store/schema.ts';

/** Prometheus metrics for the service: requests per route, job runs, outbox lag, the archive (`memberDb`: the member store, when split off). */
export function serviceMetrics(db: Kysely<Schema>, memberDb: Kysely<Schema> = db) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tally_' });
  const requests = new Counter({ name: 'tally_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'tally_http_request_duration_seconds', help: 'HTTP request latency by route', labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const jobRuns = new Counter({ name: 'tally_job_runs_total', help: 'Job runs by job and outcome', labelNames: ['job', 'status'], registers: [registry] });
  const jobDuration = new Histogram({ name: 'tally_job_duration_seconds', help: 'Job run duration', labelNames: ['job'], buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900], registers: [registry] });
  const jobItems = new Counter({ name: 'tally_job_items_total', help: 'Items a job handled (members, invoices)', labelNames: ['job', 'count'], registers: [registry] });
  new Gauge({
    name: 'tally_outbox_lag', help: 'Events committed to the outbox but not yet published', registers: [registry],
    async collect() {
      const row = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('published_at', 'is', null).executeTakeFirst();
      this.set(Number(row?.n ?? 0));
    },
  });
  registerOutboxLag(registry, db);
  archiveMetrics(registry, { ledger: db, member: memberDb });
  const requestSeries = new Map<string, { count: Counter.Internal; latency: Histogram.Internal<string> }>();
  return {
    registry,
    observeRequest(route: string, method: string, status: number, seconds: number) {
      // One labelled child per route, method and status, found by a string key: prom-client
      // would otherwise hash the label object on every request.
      const key = `${method} ${status} ${route}`;
      let series = requestSeries.get(key);
      if (!series) requestSeries.set(key, (series = { count: requests.labels(route, method, String(status)), latency: latency.labels(route, method) }));
      series.count.inc();
      series.latency.observe(seconds);
    },
    observeJob(job: string, status: string, seconds: number, counts: Record<string, number>) {
      jobRuns.inc({ job, status });
      jobDuration.observe({ job }, seconds);
      for (const [count, n] of Object.entries(counts)) jobItems.inc({ job, count }, n);
    },
  };
}

export type ServiceMetrics = ReturnType<typeof serviceMetrics>;
