import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';
import { defaultPolicy, parsePolicy, policyDocument, type Policy } from './policy.ts';

/** The policy in force: the latest one set, or the defaults while none has been. */
export async function policyInForce(db: Kysely<Schema>): Promise<{ policy: Policy; version: number; setAt: string | null; setBy: string | null }> {
  const row = await db.selectFrom('archive_policy').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst();
  if (!row) return { policy: defaultPolicy, version: 0, setAt: null, setBy: null };
  return { policy: parsePolicy(row.document, defaultPolicy), version: row.version, setAt: row.set_at, setBy: row.set_by };
}

/** Validate a policy document and put it in force as the next version; the stored document is the whole policy, every class written out. */
export async function setPolicy(db: Kysely<Schema>, text: string, setBy: string): Promise<{ policy: Policy; version: number }> {
  const policy = parsePolicy(text, (await policyInForce(db)).policy);
  const document = policyDocument(policy);
  return db.transaction().execute(async (tx) => {
    const last = await tx.selectFrom('archive_policy').select('version').orderBy('version', 'desc').limit(1).executeTakeFirst();
    const version = (last?.version ?? 0) + 1;
    await tx.insertInto('archive_policy').values({ version, set_at: new Date().toISOString(), set_by: setBy, document }).execute();
    return { policy, version };
  });
}
