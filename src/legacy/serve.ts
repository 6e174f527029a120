import type { Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { LegacyError, type LegacyDb } from './connect.ts';
import {
  errorHandler, GiftCardBody, MemberParams, PageQuery, PaymentMethodBody, PlanBody, ProductBody, sendProblem, SignupBody,
} from './member-api-http.ts';
import { legacyIdempotency } from './member-api-idempotency.ts';
import { legacyKeyVerifier, type LegacyApiClient } from './member-api-keys.ts';
import {
  addMemberApiCodes, cancel, changePlan, getMember, inTransaction, invoicePage, loadReference, reactivate, redeemGiftCard, replacePaymentMethod, signup,
  type ActionContext,
} from './member-api-store.ts';
import type { MemberView } from './member-api-views.ts';
import { createLegacySchema, legacyTables } from './schema.ts';

/**
 * `tally legacy serve`: the member API answered from the legacy schema — the same routes,
 * JSON, Bearer keys, problem+json errors and Idempotency-Key as the new platform's member
 * API — so a routing proxy can send each member's calls to whichever side holds the member.
 * A member is the customer's account number, the id the migration gives it on the other side.
 */
export interface LegacyApiOptions {
  /** legacy plan code → the plan id the API shows and accepts (the migration's mapping); without it the legacy's own codes. */
  planNames?: ReadonlyMap<string, string>;
  /** The clock (tests move it). */
  now?: () => number;
  /** How long a verified key is trusted before api_client is read again (a revocation's delay). */
  keyCacheMs?: number;
  idempotencyTtlMs?: number;
  bodyLimit?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    legacyClient?: LegacyApiClient;
  }
}

// Bodies are checked strictly (no coercion, no unknown field dropped); path and query text is coerced to its declared types.
const bodyAjv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
const textAjv = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
bodyAjv.addFormat('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);

/** Refuse a database that is not the legacy's, naming what it lacks; add the member API's own tables and codes. */
async function prepare(legacy: LegacyDb): Promise<void> {
  const present = new Set((await legacy.db.introspection.getTables()).map((t) => t.name));
  const missing = legacyTables.filter((t) => !present.has(t));
  if (missing.length) throw new LegacyError(`--url: the database is not the legacy schema: it has no table ${missing.join(', ')}`);
  await createLegacySchema(legacy.db);
  await addMemberApiCodes(legacy.db);
}

export async function buildLegacyApi(legacy: LegacyDb, opts: LegacyApiOptions = {}): Promise<FastifyInstance> {
  await prepare(legacy);
  const { db } = legacy;
  const now = opts.now ?? Date.now;
  const ref = await loadReference(db, opts.planNames ?? new Map());
  const verify = legacyKeyVerifier(db, opts.keyCacheMs ?? 5000);
  const idem = legacyIdempotency(db, (req) => req.legacyClient?.id, { now, ttlMs: opts.idempotencyTtlMs });

  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? 64 * 1024, requestTimeout: 30_000, keepAliveTimeout: 5_000,
    frameworkErrors: (error, req, reply) => sendProblem(reply, 400, error.code === 'FST_ERR_BAD_URL' ? `the URL is malformed: ${req.url.split('?')[0]}` : error.message, 'url') });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));
  app.setErrorHandler(errorHandler);
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, `no route ${req.method} ${req.url.split('?')[0]}`));

  // Every member route needs a member-app key: 401 without a valid one, 403 for another role.
  const memberApp = async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization;
    const scheme = typeof header === 'string' ? /^bearer +(\S+) *$/i.exec(header) : null;
    const client = await verify(scheme?.[1]);
    if (!client) return sendProblem(reply, 401, 'send a valid API key as "Authorization: Bearer <key>"', 'authorization');
    if (client.role !== 'member-app') return sendProblem(reply, 403, `role ${client.role} may not call this route`, 'authorization');
    req.legacyClient = client;
  };
  const ctx = (): ActionContext => ({ now: now(), ref });
  type Params = Static<typeof MemberParams>;

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/v1/members/:id', { onRequest: memberApp, schema: { params: MemberParams } }, async (req) => getMember(db, (req.params as Params).id, ref));
  app.get('/v1/members/:id/invoices', { onRequest: memberApp, schema: { params: MemberParams, querystring: PageQuery } }, async (req) => {
    const q = req.query as Static<typeof PageQuery>;
    return invoicePage(db, (req.params as Params).id, q.cursor ? Number(q.cursor) : null, q.limit ?? 20, ref);
  });

  // Every POST takes an Idempotency-Key: checked once the key and body are known, the answer kept as it is sent.
  const post = (path: string, body: object, run: (req: FastifyRequest) => Promise<MemberView>, status = 200) => {
    app.post(path, {
      onRequest: memberApp, preHandler: idem.before, schema: { ...(path.includes(':id') ? { params: MemberParams } : {}), body },
      onSend: async (req, reply, payload) => {
        await idem.after(req, reply, payload);
        return payload;
      },
    }, async (req, reply) => reply.code(status).send(await run(req)));
  };
  const id = (req: FastifyRequest) => (req.params as Params).id;
  post('/v1/members', SignupBody, (req) => inTransaction(db, (trx) => signup(trx, req.body as Static<typeof SignupBody>, ctx())), 201);
  post('/v1/members/:id/plan-change', PlanBody, (req) => inTransaction(db, (trx) => changePlan(trx, id(req), (req.body as Static<typeof PlanBody>).plan, ctx())));
  post('/v1/members/:id/cancellation', ProductBody, (req) => inTransaction(db, (trx) => cancel(trx, id(req), (req.body as Static<typeof ProductBody>).product, ctx())));
  post('/v1/members/:id/reactivation', ProductBody, (req) => inTransaction(db, (trx) => reactivate(trx, id(req), (req.body as Static<typeof ProductBody>).product, ctx())));
  post('/v1/members/:id/payment-method', PaymentMethodBody, (req) => inTransaction(db, (trx) => replacePaymentMethod(trx, id(req), (req.body as Static<typeof PaymentMethodBody>).paymentToken, ctx())));
  post('/v1/members/:id/gift-cards', GiftCardBody, (req) => {
    const b = req.body as Static<typeof GiftCardBody>;
    return inTransaction(db, (trx) => redeemGiftCard(trx, id(req), b.code, b.amount, b.currency, ctx()));
  });

  // Expired idempotency keys are deleted as the service runs.
  const purge = setInterval(() => void idem.purge().catch(() => {}), 3600_000);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));
  return app;
}

/** Serve the legacy member API on host:port until the process is stopped; returns the listening app. */
export async function serveLegacy(legacy: LegacyDb, listen: { host: string; port: number }, opts: LegacyApiOptions = {}): Promise<FastifyInstance> {
  const app = await buildLegacyApi(legacy, opts);
  app.addHook('onClose', async () => legacy.close());
  await app.listen(listen);
  return app;
}
