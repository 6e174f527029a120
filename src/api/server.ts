import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pendingMigrations } from '../store/connect.ts';
import { accessControl } from './access.ts';
import { consoleRoutes } from './console.ts';
import { apiKeyVerifier } from './api-keys.ts';
import type { ApiContext } from './context.ts';
import { idempotency } from './idempotency.ts';
import { AccessLog, type ApiLogs } from './logs.ts';
import type { ServiceMetrics } from './metrics.ts';
import { errorHandler, rawProblemResponse, sendProblem } from './problem.ts';
import { rateLimiter } from './rate-limit.ts';
import { backOfficeRoutes } from './routes/back-office-routes.ts';
import { catalogRoutes } from './routes/catalog-routes.ts';
import { csRoutes } from './routes/cs-routes.ts';
import { deadLetterRoutes } from './routes/dead-letter-routes.ts';
import { dvdRoutes } from './routes/dvd-routes.ts';
import { memberRoutes } from './routes/member-routes.ts';
import { migrationRoutes } from './routes/migration-routes.ts';
import { sessionRoutes } from './routes/session-routes.ts';
import { InvoicePage, sharedSchemas } from './schemas.ts';

export interface ApiOptions {
  metrics: ServiceMetrics;
  /** Requests per minute per API key. */
  rateLimit?: number;
  bodyLimit?: number;
  /** How long a verified API key is trusted before the key table is read again (a revocation's delay). */
  keyCacheMs?: number;
  /** Request and access logs (see logs.ts); none when unset. */
  logs?: ApiLogs;
  /** Milliseconds for a whole request, headers and body, to arrive (30 s). */
  requestTimeout?: number;
  /** Open connections at most (1024 by default); beyond it new ones are refused by the server. */
  maxConnections?: number;
  /** How long an Idempotency-Key is remembered (24 hours by default), and how often expired ones are purged (hourly). */
  idempotencyTtlMs?: number;
  idempotencyPurgeMs?: number;
  /** For the DVD partner listener: TLS with client certificates signed by `ca`. */
  https?: { key: string | Buffer; cert: string | Buffer; ca: string | Buffer };
  /** The built operator console (web/dist) to serve at /console; not served when unset. */
  console?: string;
}

// Bodies are checked strictly (no type coercion, no unknown fields silently dropped); query
// strings and path parameters arrive as text and are coerced to their declared types.
const bodyAjv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
const textAjv = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
for (const s of [...sharedSchemas, InvoicePage]) {
  if (s.$id) {
    bodyAjv.addSchema(s);
    textAjv.addSchema(s);
  }
}
bodyAjv.addFormat('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);

function base(api: ApiContext, opts: ApiOptions): FastifyInstance {
  const requestTimeout = opts.requestTimeout ?? 30_000;
  const app = Fastify({
    ...(opts.logs ? { loggerInstance: opts.logs.log as FastifyBaseLogger, logController: new AccessLog(opts.logs.access) } : { logger: false }),
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' && /^[\w.-]{1,64}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID()),
    requestIdHeader: false,
    // Slow and abandoned connections are closed: headers must arrive within the request timeout
    // (a 408), a kept-alive socket goes after 5 s without a request. A body's own deadline is the
    // hook below. No timeout on the answer: a job run by an admin may take minutes to answer.
    requestTimeout,
    // Node checks the request timeout every 30 s unless told otherwise: a 30 s limit would then cut at up to 60 s.
    http: { connectionsCheckingInterval: Math.max(50, Math.min(5_000, requestTimeout / 4)) },
    keepAliveTimeout: 5_000,
    // A malformed URL (GET /v1/members/%ZZ) is a problem+json 400 like every other error.
    frameworkErrors: (error, req, reply) => sendProblem(reply, 400, error.code === 'FST_ERR_BAD_URL' ? `the URL is malformed: ${req.url.split('?')[0]}` : error.message, 'url'),
    // Requests the HTTP parser refuses before Fastify sees them (both Content-Length and
    // Transfer-Encoding, a bad header): answered as problem+json on the raw socket, then closed.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return socket.destroy();
      const code = (err as NodeJS.ErrnoException).code;
      const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(rawProblemResponse(status, `the request could not be parsed (${code ?? 'malformed'})`, 'request'));
    },
    ...(opts.https ? { https: { key: opts.https.key, cert: opts.https.cert, ca: opts.https.ca, requestCert: true, rejectUnauthorized: true } } : {}),
  });
  for (const s of [...sharedSchemas, { ...InvoicePage, $id: 'InvoicePage' }]) app.addSchema(s);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));
  app.setErrorHandler(errorHandler);
  // Bodies are JSON only: text/plain (which Fastify would hand over as a string) is a 415 like any other type.
  app.removeContentTypeParser('text/plain');
  const maxConnections = opts.maxConnections ?? 1024;
  app.addHook('onReady', (done) => {
    app.server.maxConnections = maxConnections;
    done();
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, `no route ${req.method} ${req.url.split('?')[0]}`));
  // Callback hooks, not async ones: they run on every request, and each promise costs there.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    if (req.raw.method !== 'GET') bodyDeadline(req.raw, requestTimeout);
    done();
  });
  app.addHook('onRequest', accessControl(apiKeyVerifier(api.svc.store.db, opts.keyCacheMs ?? 5000), rateLimiter(opts.rateLimit ?? 6000)));
  app.addHook('onResponse', (req, reply, done) => {
    opts.metrics.observeRequest(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  return app;
}

/**
 * A body that stops arriving holds a socket and a parser: it must be whole within the request
 * timeout too, also after an answer given without reading it (a 401, a 415), when Node keeps the
 * socket open waiting for the rest. Reads carry no body and skip this (it is on every request).
 */
function bodyDeadline(raw: IncomingMessage, ms: number): void {
  if (raw.complete || !(raw.headers['content-length'] || raw.headers['transfer-encoding'])) return;
  const deadline = setTimeout(() => {
    if (!raw.complete) raw.socket?.destroy?.();
  }, ms).unref();
  const clear = () => clearTimeout(deadline);
  raw.once('end', clear).once('close', clear);
}

/** Every POST (and PUT) route takes an Idempotency-Key (see idempotency.ts); to be called before the routes are added. */
function idempotentPosts(app: FastifyInstance, api: ApiContext, opts: ApiOptions): void {
  const idem = idempotency(api.svc.store.db, { ttlMs: opts.idempotencyTtlMs });
  // Expired keys are deleted as the service runs, so the table holds about one TTL of requests.
  const purge = setInterval(() => void idem.purge().catch((err: unknown) => app.log.warn({ err }, 'purging expired idempotency keys failed')), opts.idempotencyPurgeMs ?? 3600_000);
  purge.unref();
  app.addHook('onClose', (_app, done) => {
    clearInterval(purge);
    done();
  });
  // Only POST and PUT routes take Idempotency-Key, so only they carry its hooks; reads stay on the short path.
  // A PUT of the catalog is idempotent by content already, but not across versions: a retry after
  // someone else's import would put the older document back in force, where its key replays the answer.
  app.addHook('onRoute', (route) => {
    if (route.method !== 'POST' && route.method !== 'PUT') return;
    route.preHandler = [...[route.preHandler ?? []].flat(), idem.before];
    route.onSend = [...[route.onSend ?? []].flat(), async (req, reply, payload) => {
      await idem.after(req, reply, payload);
      return payload;
    }];
  });
}

/** The main listener: member, customer-service, finance and admin APIs, OpenAPI, health and metrics. */
export async function buildApi(api: ApiContext, opts: ApiOptions): Promise<FastifyInstance> {
  const app = base(api, opts);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Tally billing API', version: '1', description: 'Amounts are integer minor units with an ISO 4217 currency. Every POST and PUT accepts an Idempotency-Key header. Errors are application/problem+json naming the field.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  idempotentPosts(app, api, opts);
  memberRoutes(app, api);
  csRoutes(app, api);
  backOfficeRoutes(app, api);
  catalogRoutes(app, api);
  migrationRoutes(app, api);
  deadLetterRoutes(app, api);
  sessionRoutes(app, api);
  if (opts.console) await consoleRoutes(app, opts.console);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      const pending = await pendingMigrations(api.svc.store.db);
      if (pending.length) return sendProblem(reply, 503, `migrations not applied: ${pending.join(', ')}`);
      return { status: 'ready' };
    } catch (err) {
      return sendProblem(reply, 503, `store not reachable: ${(err as Error).message}`);
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics()));
  return app;
}

/** The DVD partner listener: mutual TLS, and a dvd-partner API key on top. */
export async function buildDvdApi(api: ApiContext, opts: ApiOptions & { https: NonNullable<ApiOptions['https']> }): Promise<FastifyInstance> {
  const app = base(api, opts);
  idempotentPosts(app, api, opts);
  dvdRoutes(app, api);
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
