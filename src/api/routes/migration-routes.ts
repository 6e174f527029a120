import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { inProcessBus } from '../../messaging/bus.ts';
import { transportKind } from '../../messaging/index.ts';
import { backsyncStatus, servedCountries } from '../../migration/backsync/status.ts';
import { cutoverHistory } from '../../migration/cutover/cutover.ts';
import { messagingOf, type ApiContext } from '../context.ts';
import { errors } from '../schemas.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const CompareRun = Type.Object({
  id: Type.Integer(), mode: Type.String({ description: 'members, tables or shadow' }), source: Type.String(),
  status: Type.String({ description: 'running, clean, differences, failed or interrupted' }),
  startedAt: Type.String(), finishedAt: Nullable(Type.String()), counts: Type.Record(Type.String(), Type.Unknown()), error: Nullable(Type.String()),
});
const CutoverRun = Type.Object({
  runId: Type.Integer(), cohortPercent: Type.Number(), status: Type.String(),
  from: Type.Object({ state: Nullable(Type.String()), canaryPercent: Nullable(Type.Number()) }),
  startedAt: Type.String(), finishedAt: Nullable(Type.String()), freezeSeconds: Nullable(Type.Number()), outcome: Type.Unknown(),
  steps: Type.Array(Type.Object({ step: Type.String(), startedAt: Nullable(Type.String()), finishedAt: Nullable(Type.String()), detail: Type.Unknown() })),
});
const CountryView = Type.Object({
  country: Type.String(),
  route: Type.Object({
    state: Type.String({ description: 'legacy, frozen or tally' }), canaryPercent: Type.Number(),
    updatedAt: Nullable(Type.String()), updatedBy: Nullable(Type.String()),
  }),
  lastCompare: Nullable(CompareRun), lastShadow: Nullable(CompareRun),
  backsync: Nullable(Type.Object({
    waiting: Type.Integer(), oldestWaitingSeconds: Type.Number(), lastAppliedAt: Nullable(Type.String()),
    parked: Nullable(Type.Integer({ description: 'back-sync\'s dead letters of the country (the embedded transport\'s dead_letters table); null with RabbitMQ, whose dead-letter queues the API process does not read (tally dlq list --transport amqp)' })),
  }, { description: 'null for a country Tally does not serve' })),
  cutovers: Type.Array(CutoverRun, { description: 'the latest runs, newest first' }),
});

/**
 * The migration at a glance, for the console: every country with a route or a compare run, its
 * route, the last compare and shadow run, back-sync's lag (from Tally's store; the legacy's own
 * record and the dead letters are not read here) and its cut-over runs. Read-only.
 */
export function migrationRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get('/v1/admin/migration', {
    config: { roles: ['admin'] },
    schema: { tags: ['admin'], summary: 'Migration state per country: route, last compare and shadow runs, back-sync lag, cut-over runs', response: { 200: Type.Object({ countries: Type.Array(CountryView) }), ...errors(401, 403, 429) } },
  }, async () => {
    const db = api.svc.store.db;
    const routes = await db.selectFrom('proxy_routes').selectAll().execute();
    const compares = await db.selectFrom('compare_runs').selectAll().where('country', '!=', '').orderBy('id', 'desc').execute();
    const cutoverCountries = await db.selectFrom('cutover_runs').select('country').distinct().execute();
    const countries = [...new Set([...routes.map((r) => r.country), ...compares.map((c) => c.country), ...cutoverCountries.map((c) => c.country)])].sort();
    // Parked events are counted where the API can read them: the embedded transport's table.
    const embedded = transportKind(messagingOf(api)) === 'embedded';
    const parked = embedded ? await inProcessBus(db).deadLetters.list(Number.MAX_SAFE_INTEGER) : undefined;
    const lag = new Map((await backsyncStatus(api.svc, { countries: await servedCountries(db), parked })).map((l) => [l.country, l]));
    const view = (c: (typeof compares)[number] | undefined) => c ? {
      id: Number(c.id), mode: c.mode, source: c.source, status: c.status, startedAt: c.started_at, finishedAt: c.finished_at,
      counts: JSON.parse(c.counts || '{}') as Record<string, unknown>, error: c.error,
    } : null;
    const out = [];
    for (const country of countries) {
      const r = routes.find((x) => x.country === country);
      const l = lag.get(country);
      out.push({
        country,
        route: r ? { state: r.state, canaryPercent: Number(r.canary_percent), updatedAt: r.updated_at, updatedBy: r.updated_by } : { state: 'legacy', canaryPercent: 0, updatedAt: null, updatedBy: null },
        lastCompare: view(compares.find((c) => c.country === country && c.mode !== 'shadow')),
        lastShadow: view(compares.find((c) => c.country === country && c.mode === 'shadow')),
        backsync: l ? { waiting: l.waiting, oldestWaitingSeconds: l.oldestWaitingSeconds, lastAppliedAt: l.lastAppliedAt, parked: embedded ? l.parked : null } : null,
        cutovers: await cutoverHistory(db, country, 5),
      });
    }
    return { countries: out };
  });
}
