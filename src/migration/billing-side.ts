import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';
import { readRoutes } from '../proxy/route-table.ts';
import { decide } from '../proxy/routing.ts';

/**
 * Which side bills a member, so that no member is billed by both for the same period.
 * - A country with a route (one the cut-over manages): the route decides for every member of
 *   it, migrated or signed up in Tally — `tally` or the member's canary cohort: Tally; else the
 *   source. So after an abort routes a country back, Tally stops billing all of it, the members
 *   who signed up in Tally meanwhile included (back-sync gave the source their rows).
 * - A country without a route: Tally bills its own members, and leaves the ones it got by
 *   migration to the source (a migration loads a country long before its cut-over).
 * The route table is read once per job run: a run that straddles a cut-over bills by the table
 * it started with; the source's own billing stops at the cut-over's last step.
 */
export async function billedBySource(stores: { store: { db: Kysely<Schema> }; memberStore: { db: Kysely<Schema> } }): Promise<(members: readonly { id: string; country: string }[]) => Promise<Set<string>>> {
  const routes = await readRoutes(stores.store.db);
  // Tally never migrated anyone and routes nothing (the common case outside a migration): nothing to look up per page.
  if (!routes.size && !(await stores.memberStore.db.selectFrom('migrated_members').select('member_id').limit(1).executeTakeFirst())) return async () => new Set();
  return async (members) => {
    const out = new Set<string>();
    const unrouted: string[] = [];
    for (const m of members) {
      const route = routes.get(m.country);
      if (!route) unrouted.push(m.id);
      else if (decide('GET', m.id, route).backend === 'legacy') out.add(m.id);
    }
    for (let i = 0; i < unrouted.length; i += 1000) {
      const ids = unrouted.slice(i, i + 1000);
      for (const r of await stores.memberStore.db.selectFrom('migrated_members').select('member_id').where('member_id', 'in', ids).execute()) out.add(r.member_id);
    }
    return out;
  };
}
