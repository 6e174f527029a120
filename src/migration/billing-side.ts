import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';
import { readRoutes } from '../proxy/route-table.ts';
import { decide, unrouted } from '../proxy/routing.ts';

/**
 * Which side bills a member, so that no member is billed by both for the same period. A member
 * Tally got by migration stays the source's to bill and charge until its country is routed to
 * Tally (or the member is in the country's canary cohort): that is the cut-over, and the
 * source's own billing of the country stops at the same step. A member who signed up in Tally
 * was never the source's. The route table is read once per job run: a run that straddles a
 * cut-over bills by the table it started with, and the cut-over's route flip waits for no run
 * (the next run bills the flipped country; the legacy's stop is in the same cut-over).
 */
export async function billedBySource(stores: { store: { db: Kysely<Schema> }; memberStore: { db: Kysely<Schema> } }): Promise<(members: readonly { id: string; country: string }[]) => Promise<Set<string>>> {
  // Tally never migrated anyone (the common case outside a migration): nothing to look up per page.
  if (!(await stores.memberStore.db.selectFrom('migrated_members').select('member_id').limit(1).executeTakeFirst())) return async () => new Set();
  const routes = await readRoutes(stores.store.db);
  return async (members) => {
    // Only members of countries some of whose members the source still holds can be the source's.
    const candidates = members.filter((m) => decide('GET', m.id, routes.get(m.country) ?? unrouted).backend === 'legacy');
    if (!candidates.length) return new Set();
    const out = new Set<string>();
    for (let i = 0; i < candidates.length; i += 1000) {
      const ids = candidates.slice(i, i + 1000).map((m) => m.id);
      for (const r of await stores.memberStore.db.selectFrom('migrated_members').select('member_id').where('member_id', 'in', ids).execute()) out.add(r.member_id);
    }
    return out;
  };
}
