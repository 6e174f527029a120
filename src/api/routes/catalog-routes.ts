import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { businessDate } from '../../domain/calendar.ts';
import { catalogDocument, readCatalogDocument } from '../../domain/catalog-document.ts';
import { catalogVersion, importCatalog } from '../../operations/catalog-operations.ts';
import type { ApiContext } from '../context.ts';
import { Currency, errors, IsoDate, Product } from '../schemas.ts';

const strict = { additionalProperties: false } as const;
const Country = Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' });
const Period = Type.Union([Type.Literal('month'), Type.Literal('year')]);
const PlanId = Type.String({ minLength: 1, maxLength: 64 });
const Effective = {
  from: Type.Optional(Type.String({ pattern: IsoDate.pattern, description: 'in force from this day (inclusive) until the next price of the plan in the country starts; absent: since ever' })),
  grandfatherUntil: Type.Optional(Type.String({ pattern: IsoDate.pattern, description: 'members who subscribed before `from` keep the previous price until this day (exclusive)' })),
};

/** The catalog document as PUT takes it: `amount` in minor units, or `price` in major units (checked against the currency's exponent). */
const CatalogBody = Type.Object({
  plans: Type.Array(Type.Object({
    id: PlanId, name: Type.Optional(Type.String()), product: Product, period: Period, trialDays: Type.Optional(Type.Integer({ minimum: 0 })),
    prices: Type.Array(Type.Object({
      country: Country, currency: Currency,
      amount: Type.Optional(Type.Integer({ minimum: 0, description: 'minor units (799 for 7.99 USD)' })),
      price: Type.Optional(Type.Union([Type.String(), Type.Number()], { description: 'major units ("7.99"), instead of amount' })),
      ...Effective,
    }, strict), { minItems: 1 }),
  }, strict)),
}, { ...strict, description: 'the same document as `tally catalog import` reads (YAML there, JSON here)' });

/** The catalog document as GET shows it (and `tally catalog export` writes it): amounts in minor units, prices by country and start. */
const CatalogOut = Type.Object({
  plans: Type.Array(Type.Object({
    id: Type.String(), name: Type.Optional(Type.String()), product: Product, period: Period, trialDays: Type.Integer(),
    prices: Type.Array(Type.Object({ country: Country, currency: Currency, amount: Type.Integer(), ...Effective })),
  })),
});

const VersionView = Type.Object({
  version: Type.Integer({ description: '0: the built-in catalog (no version stored)' }), hash: Type.String({ description: 'SHA-256 of the normalized document' }),
  createdAt: Type.Union([Type.String(), Type.Null()]), createdBy: Type.Union([Type.String(), Type.Null()]), reason: Type.Union([Type.String(), Type.Null()]),
  catalog: CatalogOut,
});

const ImportView = Type.Object({
  status: Type.Union([Type.Literal('created'), Type.Literal('unchanged'), Type.Literal('checked')]),
  version: Type.Integer(), previous: Type.Integer(), hash: Type.String(), plans: Type.Integer(), prices: Type.Integer(),
  changes: Type.Object({
    plansAdded: Type.Array(Type.String()), plansRemoved: Type.Array(Type.String()),
    pricesAdded: Type.Integer(), pricesChanged: Type.Integer(), pricesRemoved: Type.Integer(),
  }),
});

const GetQuery = Type.Object({ version: Type.Optional(Type.Integer({ minimum: 0, maximum: 999_999_999, description: 'a past version; 0 the built-in catalog' })) }, strict);
const PutQuery = Type.Object({
  reason: Type.Optional(Type.String({ minLength: 3, maxLength: 500, description: 'why, for the version and the audit log' })),
  dryRun: Type.Optional(Type.Boolean({ description: 'check only: answer what would be created, write nothing' })),
}, strict);

// Query strings arrive as text and are coerced, as on every other route (see server.ts).
const queryAjv = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });

/**
 * The catalog as data over HTTP, for admins: GET the version in force (or a past one), PUT
 * a new one. Admin only, as every /v1/admin route: a catalog sets what every member pays.
 * Invoices carry their `catalogVersion`, which is what customer service and finance need
 * to explain a charge; reading whole catalogs is an operator's task.
 */
export function catalogRoutes(app: FastifyInstance, api: ApiContext): void {
  const tags = ['admin'];

  app.get('/v1/admin/catalog', {
    config: { roles: ['admin'] },
    schema: { tags, summary: 'The catalog in force, or a past version', querystring: GetQuery, response: { 200: VersionView, ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => {
    const found = await catalogVersion(api.svc.store.db, (req.query as Static<typeof GetQuery>).version);
    return { version: found.version, hash: found.hash, createdAt: found.createdAt, createdBy: found.createdBy, reason: found.reason, catalog: catalogDocument(found.catalog) };
  });

  app.put('/v1/admin/catalog', {
    config: { roles: ['admin'] },
    // A catalog of 190 countries with years of price history outgrows the 64 KiB other bodies are held to.
    bodyLimit: 4 * 1024 * 1024,
    // The body is checked by the catalog's own reader, not by the schema (which documents it): an error
    // then names the same field (catalog.plans[1].prices[0].amount) as `tally catalog import` does.
    validatorCompiler: ({ schema, httpPart }) => (httpPart === 'body' ? () => true : queryAjv.compile(schema)),
    schema: {
      tags, summary: 'Put a catalog in force as the next version (audited; the same content as in force is a no-op)',
      description: 'Prices in force on today\'s business date must stay as they are (a change is a new price with a later `from`), and a plan, country or currency that live members are billed in cannot be dropped (422 names the plan and how many members). 201 with the new version, 200 when the content is already in force. Accepts an Idempotency-Key.',
      querystring: PutQuery, body: CatalogBody, response: { 200: ImportView, 201: ImportView, ...errors(400, 401, 403, 404, 409, 413, 422, 429) },
    },
  }, async (req, reply) => {
    const q = req.query as Static<typeof PutQuery>;
    const catalog = readCatalogDocument(req.body);
    const key = req.apiKey!;
    const result = await importCatalog(api.svc, catalog, {
      on: businessDate(api.now(), api.svc.reportingTimeZone),
      by: { actor: `${key.name} (${key.id})`, reason: q.reason ?? 'put through the admin API', source: 'api' },
      dryRun: q.dryRun === true,
    });
    return reply.code(result.status === 'created' ? 201 : 200).send(result);
  });
}
