import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { InvalidInput, NotFound } from '../domain/errors.ts';
import type { Schema } from '../store/schema.ts';

export const roles = ['member-app', 'cs-agent', 'finance', 'admin', 'dvd-partner'] as const;
export type Role = (typeof roles)[number];

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
}

function hash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function assertRole(role: string): Role {
  if (!(roles as readonly string[]).includes(role)) throw new InvalidInput('role', `unknown role "${role}" (one of ${roles.join(', ')})`, role);
  return role as Role;
}

/** Create a key; the secret is returned once and only its hash is stored. */
export async function createApiKey(db: Kysely<Schema>, name: string, role: string): Promise<{ key: ApiKey; secret: string }> {
  const r = assertRole(role);
  if (!name.trim() || name.length > 120) throw new InvalidInput('name', 'a name of 1 to 120 characters is required', name);
  const id = randomBytes(6).toString('hex');
  const secret = `tly_${id}_${randomBytes(32).toString('base64url')}`;
  const createdAt = new Date().toISOString();
  await db.insertInto('api_keys').values({ id, name, role: r, secret_hash: hash(secret), created_at: createdAt, revoked_at: null }).execute();
  return { key: { id, name, role: r, createdAt, revokedAt: null }, secret };
}

export async function revokeApiKey(db: Kysely<Schema>, id: string): Promise<void> {
  const res = await db.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) throw new NotFound('id', `no active API key "${id}"`, id);
}

export async function listApiKeys(db: Kysely<Schema>): Promise<ApiKey[]> {
  const rows = await db.selectFrom('api_keys').select(['id', 'name', 'role', 'created_at', 'revoked_at']).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, role: r.role as Role, createdAt: r.created_at, revokedAt: r.revoked_at }));
}

export interface ApiKeyVerifier {
  /** The key a secret resolved to within the trust period (null: not a valid key), or undefined when it must be read again. */
  cached(secret: string): ApiKey | null | undefined;
  verify(secret: string): Promise<ApiKey | null>;
}

/**
 * Resolve a presented secret to its key. Results are cached briefly so a
 * busy API does not read the key table on every request; a revocation takes
 * effect within `ttlMs`.
 */
export function apiKeyVerifier(db: Kysely<Schema>, ttlMs = 5000): ApiKeyVerifier {
  const cache = new Map<string, { key: ApiKey | null; until: number }>();
  const cached = (secret: string) => {
    const hit = cache.get(secret);
    return hit && hit.until > Date.now() ? hit.key : undefined;
  };
  return {
    cached,
    async verify(secret: string): Promise<ApiKey | null> {
      const m = /^tly_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(secret);
      if (!m) return null;
      const hit = cached(secret);
      if (hit !== undefined) return hit;
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', m[1]!).executeTakeFirst();
      let key: ApiKey | null = null;
      if (row && !row.revoked_at && timingSafeEqual(Buffer.from(row.secret_hash), Buffer.from(hash(secret)))) {
        key = { id: row.id, name: row.name, role: row.role as Role, createdAt: row.created_at, revokedAt: null };
      }
      if (cache.size > 10_000) cache.clear();
      cache.set(secret, { key, until: Date.now() + ttlMs });
      return key;
    },
  };
}
