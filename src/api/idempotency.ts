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
 * key unanswered then finds the first attempt's record instead of doing it again.
 */
export function requestScopedId(request: FastifyRequest): string | undefined {
  const idem = request.idempotency;
  return idem && createHash('sha256').update(`${idem.apiKeyId}\n${idem.key}`).digest('base64url').slice(0, 22);
}

/**
 * Idempotency-Key on every POST: the first request with a key is handled and
 * its response stored; a retry with the same key and body gets that response
 * again without anything being done twice; the same key with another body is
 * refused. Keys are scoped to the API key that used them.
 *
 * A key whose request never answered (its process was killed) is taken over by a
 * retry once `staleMs` has passed; operations that could repeat money movements
 * name their records after the key (requestScopedId), so the retry finds them.
 */
export function idempotency(db: Kysely<Schema>, staleMs = 60_000) {
  return {
    async before(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      const key = request.headers['idempotency-key'];
      if (key === undefined || request.method !== 'POST' || !request.apiKey) return undefined;
      if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) throw new HttpProblem(400, 'Idempotency-Key must be 1 to 255 visible ASCII characters', 'Idempotency-Key');
      const requestHash = createHash('sha256').update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`).digest('hex');
      const apiKeyId = request.apiKey.id;
      const found = await db.selectFrom('idempotency_keys').selectAll().where('api_key_id', '=', apiKeyId).where('idem_key', '=', key).executeTakeFirst();
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

    /** Keep the answer for replays; a server failure frees the key so the client's retry runs for real. */
    async after(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
      const idem = request.idempotency;
      if (!idem) return;
      request.idempotency = undefined;
      const q = db.updateTable('idempotency_keys').where('api_key_id', '=', idem.apiKeyId).where('idem_key', '=', idem.key);
      if (reply.statusCode >= 500) {
        await db.deleteFrom('idempotency_keys').where('api_key_id', '=', idem.apiKeyId).where('idem_key', '=', idem.key).execute();
        return;
      }
      await q.set({ status_code: reply.statusCode, response: typeof payload === 'string' ? payload : JSON.stringify(payload ?? null) }).execute();
    },
  };
}
