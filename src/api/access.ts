import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKey, Role } from './api-keys.ts';
import { sendProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; a route without it is public (health, metrics, docs). */
    roles?: readonly Role[];
  }
}

/** Role check on every route that declares roles: 401 without a valid key, 403 with the wrong role. */
export function accessControl(verify: (secret: string) => Promise<ApiKey | null>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const roles = request.routeOptions.config.roles;
    if (!roles) return;
    const header = request.headers.authorization;
    const secret = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const key = secret ? await verify(secret) : null;
    if (!key) return sendProblem(reply, 401, 'send a valid API key as "Authorization: Bearer <key>"', 'authorization');
    if (!roles.includes(key.role)) return sendProblem(reply, 403, `role ${key.role} may not call this route`, 'authorization');
    request.apiKey = key;
  };
}
