import replyFrom from '@fastify/reply-from';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiKey, ApiKeyVerifier } from '../api/api-keys.ts';
import { sendProblem } from '../api/problem.ts';
import type { MemberDirectory } from './member-directory.ts';
import type { RouteCache } from './route-table.ts';
import { decide, memberOfPath, unrouted, type Backend } from './routing.ts';

export interface ProxyOptions {
  /** Base URLs of the two member APIs, e.g. http://127.0.0.1:3100 (legacy) and http://127.0.0.1:3000 (Tally). */
  upstreams: Record<Backend, string>;
  /** The proxy's own member-app key on the legacy API: callers hold Tally keys, which the legacy does not know. */
  legacyKey: string;
  /** Seconds a client is told to wait before retrying a write refused while its country is frozen. */
  retryAfterSeconds?: number;
  /** Upstream answer timeout (headers and body), ms. */
  timeoutMs?: number;
  /** Keep-alive connections per upstream. */
  connections?: number;
}

/** Writes forwarded and not yet answered, per country: what a freeze must wait for before the data moves. */
export class WritesInFlight {
  private readonly counts = new Map<string, number>();
  begin(country: string): () => void {
    this.counts.set(country, (this.counts.get(country) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.counts.get(country) ?? 1) - 1;
      if (n > 0) this.counts.set(country, n);
      else this.counts.delete(country);
    };
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

export interface ProxyDeps {
  routes: RouteCache;
  writes?: WritesInFlight;
  directory: MemberDirectory;
  keys: ApiKeyVerifier;
  metrics: ProxyMetrics;
}

/** Prometheus metrics of a proxy process. */
export function proxyMetrics(routes?: RouteCache) {
  const registry = new Registry();
  const requests = new Counter({ name: 'tally_proxy_requests_total', help: 'Calls answered, by backend, country and status', labelNames: ['backend', 'country', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'tally_proxy_request_duration_seconds', help: 'Time from the call to its answer, by backend', labelNames: ['backend'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const frozen = new Counter({ name: 'tally_proxy_frozen_writes_total', help: 'Writes refused with 503 and Retry-After while their country was frozen', labelNames: ['country'], registers: [registry] });
  const upstreamErrors = new Counter({ name: 'tally_proxy_upstream_errors_total', help: 'Calls a backend did not answer (502 refused or failed, 504 timed out)', labelNames: ['backend', 'status'], registers: [registry] });
  new Gauge({
    name: 'tally_proxy_route_table_age_seconds', help: 'Seconds since the route table was last read', registers: [registry],
    collect() {
      if (routes?.lastRead) this.set((Date.now() - routes.lastRead) / 1000);
    },
  });
  new Gauge({
    name: 'tally_proxy_route_state', help: 'Countries by route state (legacy, frozen, tally) and with a canary share', labelNames: ['state'], registers: [registry],
    collect() {
      this.reset();
      for (const r of routes?.all().values() ?? []) {
        this.inc({ state: r.state });
        if (r.canaryPercent > 0 && r.state !== 'tally') this.inc({ state: 'canary' });
      }
    },
  });
  return { registry, requests, latency, frozen, upstreamErrors };
}
export type ProxyMetrics = ReturnType<typeof proxyMetrics>;

declare module 'fastify' {
  interface FastifyRequest {
    proxied?: { backend: Backend; country: string };
    caller?: ApiKey;
  }
}

/** The status a failed forward is answered with: 504 when the backend took too long, 502 when it refused or broke off. */
function failureStatus(error: { statusCode?: number; code?: string; cause?: { code?: string } }): 502 | 504 {
  const code = error.cause?.code ?? error.code ?? '';
  return error.statusCode === 504 || /TIMEOUT/.test(code) ? 504 : 502;
}

/**
 * The routing proxy in front of both member APIs: each call goes to the legacy or to Tally by
 * its member's country (the route table, refreshed from the database) and canary cohort; a
 * frozen country's writes get 503 problem+json with Retry-After (delayed, never lost), its reads
 * are answered. Forwarding is @fastify/reply-from on undici (keep-alive pools per upstream,
 * streaming); a backend that is down answers 502/504 problem+json for its countries only.
 */
export async function buildProxy(deps: ProxyDeps, opts: ProxyOptions): Promise<FastifyInstance> {
  return proxyApp(deps, opts, { role: 'member-app', api: 'member', signups: true });
}

/** TLS material: PEM text or its bytes. */
export interface TlsFiles {
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
}

/**
 * The DVD partner's listener of the proxy: mutual TLS as on Tally's own DVD listener (a client
 * certificate signed by the partner CA, and a dvd-partner key on top), each call routed by its
 * member's country like the member API's; Tally's side is its DVD listener, reached over mutual
 * TLS with the proxy's own client certificate (`clientTls`).
 */
export async function buildDvdProxy(deps: ProxyDeps, opts: ProxyOptions & { https: TlsFiles; clientTls: TlsFiles }): Promise<FastifyInstance> {
  return proxyApp(deps, opts, { role: 'dvd-partner', api: 'DVD partner', signups: false, https: opts.https, clientTls: opts.clientTls });
}

interface Listener {
  role: 'member-app' | 'dvd-partner';
  api: string;
  /** POST /v1/members (routed by the body's country). */
  signups: boolean;
  https?: TlsFiles;
  clientTls?: TlsFiles;
}

async function proxyApp(deps: ProxyDeps, opts: ProxyOptions, listener: Listener): Promise<FastifyInstance> {
  const { routes, directory, keys, metrics } = deps;
  const retryAfter = String(opts.retryAfterSeconds ?? 5);
  const app = Fastify({
    logger: false, bodyLimit: 64 * 1024, requestTimeout: 30_000, keepAliveTimeout: 65_000,
    ...(listener.https ? { https: { key: listener.https.key, cert: listener.https.cert, ca: listener.https.ca, requestCert: true, rejectUnauthorized: true } } : {}),
  });
  await app.register(replyFrom, {
    undici: {
      connections: opts.connections ?? 128, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: opts.timeoutMs ?? 10_000, bodyTimeout: opts.timeoutMs ?? 10_000,
      ...(listener.clientTls ? { connect: { key: listener.clientTls.key, cert: listener.clientTls.cert, ca: listener.clientTls.ca, rejectUnauthorized: true } } : {}),
    },
    // A write is never sent twice by the proxy: the client's retry, with its Idempotency-Key, is the only retry.
    retryMethods: [],
    disableRequestLogging: true,
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, `no route ${req.method} ${req.url.split('?')[0]} (the proxy serves the ${listener.api} API's member routes)`));
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return sendProblem(reply, status, status === 500 ? 'the proxy failed to route this call' : err.message);
  });

  app.get('/healthz', async () => ({ status: 'ok', routeTableAgeSeconds: routes.lastRead ? (Date.now() - routes.lastRead) / 1000 : null }));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.addHook('onResponse', async (req, reply) => {
    if (!req.proxied) return;
    metrics.requests.inc({ backend: req.proxied.backend, country: req.proxied.country, status: String(reply.statusCode) });
    metrics.latency.observe({ backend: req.proxied.backend }, reply.elapsedTime / 1000);
  });

  /** Only the listener's role may call its API, through the proxy as directly. */
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization;
    const secret = typeof header === 'string' ? /^bearer +(\S+) *$/i.exec(header)?.[1] : undefined;
    const key = secret ? keys.cached(secret) ?? (await keys.verify(secret)) : null;
    if (!key) return sendProblem(reply, 401, 'send a valid API key as "Authorization: Bearer <key>"', 'authorization');
    if (key.role !== listener.role) return sendProblem(reply, 403, `role ${key.role} may not call the ${listener.api} API`, 'authorization');
    req.caller = key;
  };

  const forward = async (req: FastifyRequest, reply: FastifyReply, memberId: string | null, country: string | null) => {
    const route = country ? routes.get(country) : unrouted;
    const decision = decide(req.method, memberId, route);
    const where = country ?? '??';
    req.proxied = { backend: decision.backend, country: where };
    if (decision.frozen) {
      metrics.frozen.inc({ country: where });
      reply.header('retry-after', retryAfter).header('x-tally-backend', 'frozen');
      return sendProblem(reply, 503, `${where} is moving to Tally: writes are paused for a few minutes; retry after ${retryAfter} s with the same Idempotency-Key`);
    }
    const backend = decision.backend;
    if (deps.writes && !['GET', 'HEAD', 'OPTIONS'].includes(req.method)) {
      const end = deps.writes.begin(where);
      reply.raw.once('close', end);
      reply.raw.once('finish', end);
    }
    return reply.from(`${opts.upstreams[backend]}${req.url}`, {
      // Which side answered, for the client's logs and the operator's curl.
      rewriteHeaders: (headers) => ({ ...headers, 'x-tally-backend': backend }),
      rewriteRequestHeaders: (_req, headers) => {
        if (backend === 'tally') return headers;
        // The legacy knows its own keys only; its idempotency keys are kept per client, so each caller keeps its own namespace.
        const out: Record<string, string | string[] | undefined> = { ...headers, authorization: `Bearer ${opts.legacyKey}` };
        const idem = headers['idempotency-key'];
        if (typeof idem === 'string') out['idempotency-key'] = `${req.caller!.id}:${idem}`;
        return out as typeof headers;
      },
      onError: (r, { error }) => {
        const status = failureStatus(error as never);
        r.header('x-tally-backend', backend);
        metrics.upstreamErrors.inc({ backend, status: String(status) });
        void sendProblem(r as FastifyReply, status, status === 504
          ? `the ${backend} billing API did not answer in time for ${where}; the call may have been applied: retry it with the same Idempotency-Key`
          : `the ${backend} billing API is unreachable for ${where} (${(error as { cause?: { code?: string } }).cause?.code ?? 'failed'}); retry later`);
      },
    });
  };

  const memberPaths = listener.role === 'dvd-partner' ? ['/v1/dvd/members/:id', '/v1/dvd/members/:id/*'] : ['/v1/members/:id', '/v1/members/:id/*'];
  for (const url of memberPaths) {
    app.route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], url, onRequest: authenticate,
      handler: async (req, reply) => {
        const memberId = memberOfPath(req.url.split('?')[0]!);
        if (memberId === null) return sendProblem(reply, 400, 'the member id in the path is malformed', 'id');
        return forward(req, reply, memberId, await directory.countryOf(memberId));
      },
    });
  }
  // A sign-up names its country: routed by it, and the member entered in the directory once a backend has it.
  if (listener.signups) app.post('/v1/members', { onRequest: authenticate }, async (req, reply) => {
    const body = (req.body ?? {}) as { id?: unknown; country?: unknown };
    const country = typeof body.country === 'string' ? body.country : '';
    if (!/^[A-Z]{2}$/.test(country)) return sendProblem(reply, 400, 'a sign-up names the member\'s country (ISO 3166 alpha-2): the proxy routes it by that', 'body.country');
    const memberId = typeof body.id === 'string' ? body.id : null;
    reply.raw.once('finish', () => {
      if (memberId && (reply.statusCode === 201 || reply.statusCode === 200)) void directory.record(memberId, country, 'signup').catch(() => {});
    });
    return forward(req, reply, memberId, country);
  });
  return app;
}
