import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKey, ApiKeyVerifier, Role } from './api-keys.ts';
import { sendProblem } from './problem.ts';
import type { RateLimiter } from './rate-limit.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; a route without it is public (health, metrics, docs). */
    roles?: readonly Role[];
  }
}

/**
 * Role check and rate limit on every request. A route that declares roles needs a
 * valid key (401) with one of them (403); every caller, by key or else by address,
 * gets its budget of requests (429). A callback hook, answered synchronously while
 * the key is cached: it runs on every request, and a promise or a closure per
 * request is measurable there.
 */
export function accessControl(keys: ApiKeyVerifier, limit: RateLimiter) {
  return (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    const roles = request.routeOptions.config.roles;
    if (!roles) return admit(request, reply, done, limit, null, null);
    const header = request.headers.authorization;
    // The scheme is case-insensitive (RFC 9110 §11.1): "bearer" and "BEARER" are "Bearer".
    const scheme = typeof header === 'string' ? /^bearer +(\S+) *$/i.exec(header) : null;
    const secret = scheme ? scheme[1] : undefined;
    const key = secret ? keys.cached(secret) : null;
    if (key !== undefined) return admit(request, reply, done, limit, roles, key);
    keys.verify(secret!).then((k) => admit(request, reply, done, limit, roles, k), done);
  };
}

function admit(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void, limit: RateLimiter, roles: readonly Role[] | null, key: ApiKey | null): void {
  const rate = limit(key ? key.id : request.ip);
  reply.header('x-ratelimit-limit', rate.limit).header('x-ratelimit-remaining', rate.remaining).header('x-ratelimit-reset', rate.resetIn);
  if (!rate.allowed) {
    void sendProblem(reply.header('retry-after', rate.resetIn), 429, `rate limit of ${rate.limit} requests per minute ${key ? 'for this key' : 'from this address'} reached; retry after ${rate.resetIn} s`);
  } else if (roles && !key) {
    void sendProblem(reply, 401, 'send a valid API key as "Authorization: Bearer <key>"', 'authorization');
  } else if (roles && !roles.includes(key!.role)) {
    void sendProblem(reply, 403, `role ${key!.role} may not call this route`, 'authorization');
  } else {
    if (key) request.apiKey = key;
    done();
  }
}
