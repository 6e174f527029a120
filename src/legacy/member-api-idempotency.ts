import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { Refusal } from './member-api-http.ts';
import { laLocal } from './member-api-views.ts';
import type { LegacySchema } from './schema.ts';

/**
 * Idempotency-Key on every POST, kept in api_idempotency: the first request with a key is
 * handled and its answer stored; a retry with the same key and body gets that answer again
 * (header idempotent-replayed) and nothing is written twice; the same key with another body
 * is refused (422), and one still being answered is busy (409) until it is stale. Keys are
 * per client and forgotten after `ttlMs`. A 5xx frees the key so the retry runs for real.
 */
export interface IdempotencyOptions {
  staleMs?: number;
  ttlMs?: number;
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    legacyIdempotency?: { clientId: string; key: string };
  }
}

/** JSON with object keys sorted at every depth: two bodies that differ only in key order are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** A duplicate primary key, as each engine says it. */
export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.errno === 1062 || e?.code === '23505';
}

export function legacyIdempotency(db: Kysely<LegacySchema>, clientOf: (request: FastifyRequest) => string | undefined, opts: IdempotencyOptions = {}) {
  const staleMs = opts.staleMs ?? 60_000;
  const ttlMs = opts.ttlMs ?? 24 * 3600_000;
  const now = opts.now ?? Date.now;
  const forget = (clientId: string, key: string) => db.deleteFrom('api_idempotency').where('client_id', '=', clientId).where('idem_key', '=', key).execute();
  return {
    async before(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      const key = request.headers['idempotency-key'];
      const clientId = clientOf(request);
      if (key === undefined || !clientId) return undefined;
      if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) throw new Refusal(400, 'Idempotency-Key', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
      const requestHash = createHash('sha256').update(`${request.method} ${request.url}\n${canonicalJson(request.body ?? null)}`).digest('hex');
      const t = now();
      let found = await db.selectFrom('api_idempotency').selectAll().where('client_id', '=', clientId).where('idem_key', '=', key).executeTakeFirst();
      if (found && Number(found.created_ms) < t - ttlMs) {
        // Remembered past its time: the key starts afresh, as if never used.
        await db.deleteFrom('api_idempotency').where('client_id', '=', clientId).where('idem_key', '=', key).where('created_ms', '=', found.created_ms).execute();
        found = undefined;
      }
      if (found) {
        if (found.request_hash !== requestHash) throw new Refusal(422, 'Idempotency-Key', 'this Idempotency-Key was used with a different request');
        if (found.status_cd === null) {
          // A request that never answered (its process died) is taken over once stale, by one retry only.
          const taken = Number(found.created_ms) <= t - staleMs && Number((await db.updateTable('api_idempotency').set({ created_ms: t, created_dt: laLocal(t) })
            .where('client_id', '=', clientId).where('idem_key', '=', key).where('status_cd', 'is', null).where('created_ms', '=', found.created_ms)
            .executeTakeFirst()).numUpdatedRows) === 1;
          if (!taken) throw new Refusal(409, 'Idempotency-Key', 'a request with this Idempotency-Key is still in progress; retry shortly');
          request.legacyIdempotency = { clientId, key };
          return undefined;
        }
        const status = Number(found.status_cd);
        return reply.code(status).header('idempotent-replayed', 'true').type(status >= 400 ? 'application/problem+json' : 'application/json').send(found.response_txt);
      }
      try {
        await db.insertInto('api_idempotency').values({ client_id: clientId, idem_key: key, request_hash: requestHash, status_cd: null, response_txt: null, created_dt: laLocal(t), created_ms: t }).execute();
      } catch (err) {
        if (isDuplicateKey(err)) throw new Refusal(409, 'Idempotency-Key', 'a request with this Idempotency-Key is still in progress; retry shortly');
        throw err;
      }
      request.legacyIdempotency = { clientId, key };
      return undefined;
    },

    async after(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
      const idem = request.legacyIdempotency;
      if (!idem) return;
      request.legacyIdempotency = undefined;
      if (reply.statusCode >= 500) return void (await forget(idem.clientId, idem.key));
      await db.updateTable('api_idempotency').set({ status_cd: reply.statusCode, response_txt: typeof payload === 'string' ? payload : JSON.stringify(payload ?? null) })
        .where('client_id', '=', idem.clientId).where('idem_key', '=', idem.key).execute();
    },

    /** Delete keys past their time; returns how many. */
    async purge(): Promise<number> {
      const res = await db.deleteFrom('api_idempotency').where('created_ms', '<', now() - ttlMs).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
