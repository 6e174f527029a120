import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { archivedRevenueDays } from '../../archive/archive-answers.ts';
import { daysBetween, parseIsoDate } from '../../domain/calendar.ts';
import { InvalidInput, NotFound } from '../../domain/errors.ts';
import { revenueCsv, type RevenueReport } from '../../domain/revenue.ts';
import { JobBusy } from '../../jobs/job-lock.ts';
import { listRuns } from '../../jobs/run-record.ts';
import { createApiKey, listApiKeys, revokeApiKey, roles as allRoles } from '../api-keys.ts';
import type { ApiContext } from '../context.ts';
import { HttpProblem } from '../problem.ts';
import { errors, IsoDate } from '../schemas.ts';
import { forgetRoute } from './forget-route.ts';

const JobRun = Type.Object({
  id: Type.Integer(), job: Type.String(), businessDate: IsoDate, status: Type.String(), startedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]), counts: Type.Record(Type.String(), Type.Number()),
  errors: Type.Array(Type.Object({ item: Type.String(), message: Type.String() })),
});
const RunsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }, { additionalProperties: false });
const RevenueQuery = Type.Object({
  date: Type.Optional(IsoDate), from: Type.Optional(IsoDate), to: Type.Optional(IsoDate),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
}, { additionalProperties: false });
const ApiKeyView = Type.Object({ id: Type.String(), name: Type.String(), role: Type.String(), createdAt: Type.String(), revokedAt: Type.Union([Type.String(), Type.Null()]) });

/** Finance and admin APIs: revenue, job runs, job triggers and API keys. */
export function backOfficeRoutes(app: FastifyInstance, api: ApiContext): void {
  const { db } = api.svc.store;

  /**
   * Closed days the archive took answer from there: the hot days in the range, and for every day
   * of it the hot store lacks, the archived report (a day both hot and archived is the hot one).
   * The manifest is asked only when the hot store lacks a day of the range, a file only when
   * its year is in the range.
   */
  const withArchivedDays = async (hot: { business_date: string; report: string }[], from: string, to: string) => {
    if (hot.length === daysBetween(from, to) + 1) return hot;
    const have = new Set(hot.map((d) => d.business_date));
    const archived = (await archivedRevenueDays(db, from, to)).filter((d) => !have.has(d.business_date));
    if (!archived.length) return hot;
    return [...hot, ...archived].sort((a, b) => (a.business_date < b.business_date ? -1 : 1));
  };

  app.get('/v1/finance/revenue', {
    config: { roles: ['finance'] },
    schema: {
      tags: ['finance'], summary: 'Closed revenue days per country and currency, as JSON or CSV', querystring: RevenueQuery,
      response: { 200: Type.Object({ days: Type.Array(Type.Any()) }), ...errors(400, 401, 403, 404, 422, 429) },
    },
  }, async (req, reply) => {
    const q = req.query as Static<typeof RevenueQuery>;
    const from = parseIsoDate(q.date ?? q.from, q.date ? 'date' : 'from');
    const to = parseIsoDate(q.date ?? q.to ?? from, 'to');
    if (to < from) throw new InvalidInput('to', `${to} is before ${from}`);
    if (daysBetween(from, to) > 366) throw new InvalidInput('to', 'a range is at most 366 days');
    // Only closed days are reported here: reading must never close a day early.
    const hot = await db.selectFrom('revenue_days').select(['business_date', 'report']).where('business_date', '>=', from).where('business_date', '<=', to).orderBy('business_date').execute();
    const rows = await withArchivedDays(hot, from, to);
    if (!rows.length) throw new NotFound(q.date ? 'date' : 'from', `no closed revenue day between ${from} and ${to}`);
    const days = rows.map((r) => JSON.parse(r.report) as RevenueReport);
    if (q.format === 'csv') {
      const csv = days.map((d, i) => (i === 0 ? revenueCsv(d) : revenueCsv(d).split('\n').slice(1).join('\n'))).join('');
      return reply.type('text/csv').send(csv);
    }
    return { days };
  });

  for (const [path, role, tag] of [['/v1/finance/job-runs', 'finance', 'finance'], ['/v1/admin/job-runs', 'admin', 'admin']] as const) {
    app.get(path, { config: { roles: [role] }, schema: { tags: [tag], summary: 'Job runs: started, finished, counts, errors', querystring: RunsQuery, response: { 200: Type.Object({ runs: Type.Array(JobRun) }), ...errors(400, 401, 403, 429) } } },
      async (req) => ({ runs: await listRuns(db, (req.query as Static<typeof RunsQuery>).limit ?? 50) }));
  }

  const JobParams = Type.Object({ job: Type.Union([Type.Literal('renew'), Type.Literal('collect'), Type.Literal('report-revenue')]) }, { additionalProperties: false });
  app.post('/v1/admin/jobs/:job/runs', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['admin'], summary: 'Run or re-run a job for a business date', params: JobParams, body: Type.Object({ date: IsoDate }, { additionalProperties: false }),
      response: { 200: Type.Object({ job: Type.String(), date: IsoDate, result: Type.Any() }), ...errors(400, 401, 403, 409, 422, 429) },
    },
  }, async (req) => {
    const { job } = req.params as Static<typeof JobParams>;
    const date = parseIsoDate((req.body as { date: string }).date, 'date');
    try {
      return { job, date, result: await api.schedule.runJob(job, date) };
    } catch (err) {
      if (err instanceof JobBusy) throw new HttpProblem(409, err.message, 'job');
      throw err;
    }
  });

  app.get('/v1/admin/api-keys', { config: { roles: ['admin'] }, schema: { tags: ['admin'], summary: 'API keys (never their secrets)', response: { 200: Type.Object({ keys: Type.Array(ApiKeyView) }), ...errors(401, 403, 429) } } },
    async () => ({ keys: await listApiKeys(db) }));
  app.post('/v1/admin/api-keys', {
    // The secret is in the first answer only: an Idempotency-Key replay answers with the key and a null secret.
    config: { roles: ['admin'], replayWithout: ['secret'] },
    schema: {
      tags: ['admin'], summary: 'Create an API key with one role; the secret is shown once',
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 120 }), role: Type.Union(allRoles.map((r) => Type.Literal(r))) }, { additionalProperties: false }),
      response: { 201: Type.Object({ key: ApiKeyView, secret: Type.Union([Type.String(), Type.Null()], { description: 'shown once: null in an Idempotency-Key replay' }) }), ...errors(400, 401, 403, 422, 429) },
    },
  }, async (req, reply) => {
    const b = req.body as { name: string; role: string };
    return reply.code(201).send(await createApiKey(db, b.name, b.role));
  });
  app.post('/v1/admin/api-keys/:keyId/revocation', {
    config: { roles: ['admin'] },
    schema: { tags: ['admin'], summary: 'Revoke an API key', params: Type.Object({ keyId: Type.String({ pattern: '^[0-9a-f]{12}$' }) }, { additionalProperties: false }), response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) } },
  }, async (req, reply) => {
    await revokeApiKey(db, (req.params as { keyId: string }).keyId);
    return reply.code(204).send();
  });
  forgetRoute(app, api);
}
