import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LegacyError } from './connect.ts';
import { laLocal } from './member-api-views.ts';
import { createLegacySchema, type LegacySchema } from './schema.ts';

/**
 * The member API's clients: a Bearer secret per client, only its SHA-256 kept (api_client).
 * member-app calls the member routes; admin is for the legacy's operators and the
 * back-sync writer, and, as on the new platform, may not act as the member app.
 */
export const legacyApiRoles = ['member-app', 'admin'] as const;
export type LegacyApiRole = (typeof legacyApiRoles)[number];

export interface LegacyApiClient { id: string; name: string; role: LegacyApiRole }

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');
const secretShape = /^lgy_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

/** Create a client; its secret is returned this once and only its hash is stored. */
export async function createLegacyApiKey(db: Kysely<LegacySchema>, name: string, role: string, now = Date.now()): Promise<{ client: LegacyApiClient; secret: string }> {
  if (!(legacyApiRoles as readonly string[]).includes(role)) throw new LegacyError(`--role must be one of ${legacyApiRoles.join(', ')}, got "${role}"`);
  if (!name.trim() || name.length > 120) throw new LegacyError('--name must be 1 to 120 characters');
  await createLegacySchema(db);
  const id = randomBytes(6).toString('hex');
  const secret = `lgy_${id}_${randomBytes(32).toString('base64url')}`;
  await db.insertInto('api_client').values({ client_id: id, client_nm: name, role_cd: role, secret_hash: hash(secret), created_dt: laLocal(now), revoked_dt: null }).execute();
  return { client: { id, name, role: role as LegacyApiRole }, secret };
}

/**
 * The client a presented secret belongs to, or null. Verified clients are trusted for
 * `ttlMs` before the table is read again (a revocation's delay), so a busy API does not
 * read it on every request.
 */
export function legacyKeyVerifier(db: Kysely<LegacySchema>, ttlMs = 5000) {
  const cache = new Map<string, { client: LegacyApiClient | null; until: number }>();
  return async (secret: string | undefined): Promise<LegacyApiClient | null> => {
    const m = secret ? secretShape.exec(secret) : null;
    if (!m) return null;
    const hit = cache.get(secret!);
    if (hit && hit.until > Date.now()) return hit.client;
    const row = await db.selectFrom('api_client').selectAll().where('client_id', '=', m[1]!).executeTakeFirst();
    const client = row && row.revoked_dt === null && timingSafeEqual(Buffer.from(row.secret_hash), Buffer.from(hash(secret!)))
      ? { id: row.client_id, name: row.client_nm, role: row.role_cd as LegacyApiRole } : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(secret!, { client, until: Date.now() + ttlMs });
    return client;
  };
}
