import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';
import { HttpProblem } from './problem.ts';
import { insertNew } from '../store/bulk.ts';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { apiKeyId: string; key: string };
  }
}

/**
 * A name for what one request does, derived from its Idempotency-Key, for operations
 * that record their own ids (a credit, a refund): a retry after a crash that left the
 * key unanswered then finds the first attempt's record instead of doing it again. The
 * name outlives the key's expiry on purpose: a credit or refund is never made twice
 * under one key, even when the key is reused a day later.
 */
export function requestScopedId(request: FastifyRequest): string | undefined {
  const idem = request.idempotency;
  return idem && createHash('sha256').update(`${idem.apiKeyId}\n${idem.key}`).digest('base64url').slice(0, 22);
}

/** JSON with object keys sorted at every depth: two bodies that differ only in key order are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What of a response may be kept for replays. A route whose answer holds a secret
     * (a new API key's) names the fields to drop: a replay answers without them.
     */
    replayWithout?: readonly string[];
  }
}

export interface IdempotencyOptions {
  /** A key whose request never answered is taken over by a retry after this long. */
  staleMs?: number;
  /** A key is remembered this long (24 hours by default); after that the same key is a new request. */
  ttlMs?: number;
}

/**
 * Idempotency-Key on every POST and PUT: the first request with a key is handled and
 * its response stored; a retry with the same key and body gets that response
 * again without anything being done twice; the same key with another body is
 * refused. Keys are scoped to the API key that used them and expire after
 * `ttlMs`; `purge` deletes the expired ones.
 *
 * A key whose request never answered (its process was killed) is taken over by a
 * retry once `staleMs` has passed; operations that could repeat money movements
 * name their records after the key (requestScopedId), so the retry finds them.
 */
export function idempotency(db: Kysely<Schema>, opts: IdempotencyOptions = {}) {
  const staleMs = opts.staleMs ?? 60_000;
  const ttlMs = opts.ttlMs ?? 24 * 3600_000;
  const expiredBefore = () => new Date(Date.now() - ttlMs).toISOString();
  return {
    async before(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      const key = request.headers['idempotency-key'];
      if (key === undefined || (request.method !== 'POST' && request.method !== 'PUT') || !request.apiKey) return undefined;
      if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) throw new HttpProblem(400, 'Idempotency-Key must be 1 to 255 visible ASCII characters', 'Idempotency-Key');
      const requestHash = createHash('sha256').update(`${request.method} ${request.url}\n${canonicalJson(request.body ?? null)}`).digest('hex');
      const apiKeyId = request.apiKey.id;
      let found = await db.selectFrom('idempotency_keys').selectAll().where('api_key_id', '=', apiKeyId).where('idem_key', '=', key).executeTakeFirst();
      if (found && found.created_at < expiredBefore()) {
        // Remembered past its time: the key starts afresh, as if never used.
        await db.deleteFrom('idempotency_keys').where('api_key_id', '=', apiKeyId).where('idem_key', '=', key).where('created_at', '=', found.created_at).execute();
        found = undefined;
      }
      if (found) {
        if (found.request_hash !== requestHash) throw new HttpProblem(422, 'this Idempotency-Key was used with a different request', 'Idempotency-Key');
        if (found.status_code === null) {
          const abandoned = Date.parse(found.created_at) <= Date.now() - staleMs
            && Number((await db.updateTable('idempotency_keys').set({ created_at: new Date().toISOString() })
              .where('api_key_id', '=', apiKeyId).where('idem_key', '=', key).where('status_code', 'is', null).where('created_at', '=', found.created_at)
              .executeTakeFirst()).numUpdatedRows) === 1;
          if (!abandoned) throw new HttpProblem(409, 'a request with this Idempotency-Key is still in progress; retry shortly', 'Idempotency-Key');
          request.idempotency = { apiKeyId, key };
          return undefined;
        }
        return reply.code(found.status_code).header('idempotent-replayed', 'true').type(found.status_code >= 400 ? 'application/problem+json' : 'application/json').send(found.response);
      }
      const inserted = await insertNew(db, 'idempotency_keys', [
        { api_key_id: apiKeyId, idem_key: key, request_hash: requestHash, status_code: null, response: null, created_at: new Date().toISOString() },
      ]);
      if (inserted === 0) throw new HttpProblem(409, 'a request with this Idempotency-Key is still in progress; retry shortly', 'Idempotency-Key');
      request.idempotency = { apiKeyId, key };
      return undefined;
    },

    /** Keep the answer for replays (less what the route keeps secret); a server failure frees the key so the client's retry runs for real. */
    async after(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
      const idem = request.idempotency;
      if (!idem) return;
      request.idempotency = undefined;
      const q = db.updateTable('idempotency_keys').where('api_key_id', '=', idem.apiKeyId).where('idem_key', '=', idem.key);
      if (reply.statusCode >= 500) {
        await db.deleteFrom('idempotency_keys').where('api_key_id', '=', idem.apiKeyId).where('idem_key', '=', idem.key).execute();
        return;
      }
      let response = typeof payload === 'string' ? payload : JSON.stringify(payload ?? null);
      const secret = request.routeOptions.config.replayWithout;
      if (secret?.length && reply.statusCode < 300) response = withoutFields(response, secret);
      await q.set({ status_code: reply.statusCode, response }).execute();
    },

    /** Delete keys past their time; returns how many. */
    async purge(): Promise<number> {
      const res = await db.deleteFrom('idempotency_keys').where('created_at', '<', expiredBefore()).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}

/** The stored answer with the named top-level fields set to null: what a replay may show. */
function withoutFields(json: string, fields: readonly string[]): string {
  const body = JSON.parse(json) as Record<string, unknown>;
  for (const f of fields) if (f in body) body[f] = null;
  return JSON.stringify(body);
}
