import type { Kysely } from 'kysely';
import { validateCatalog, type Catalog } from '../domain/catalog.ts';
import type { PlanUsage } from '../domain/catalog-document.ts';
import type { Member } from '../domain/member.ts';
import { insertNew } from './bulk.ts';
import type { CatalogVersionRow, Schema } from './schema.ts';

/** A stored catalog version with its document parsed. */
export interface StoredCatalog {
  version: number;
  createdAt: string;
  createdBy: string;
  reason: string;
  hash: string;
  plans: number;
  prices: number;
  catalog: Catalog;
}

export type CatalogVersionSummary = Omit<StoredCatalog, 'catalog'>;

function summary(r: Omit<CatalogVersionRow, 'document'>): CatalogVersionSummary {
  return { version: r.version, createdAt: r.created_at, createdBy: r.created_by, reason: r.reason, hash: r.content_hash, plans: r.plans, prices: r.prices };
}

/** The number of the latest version, or null when the store holds none (the built-in catalog is in force). */
export async function latestCatalogVersion(db: Kysely<Schema>): Promise<number | null> {
  const row = await db.selectFrom('catalog_versions').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
  const v = row?.v as number | string | null | undefined;
  return v === null || v === undefined ? null : Number(v);
}

/** One version (the latest when `version` is not given), or undefined when there is none such. */
export async function loadCatalogVersion(db: Kysely<Schema>, version?: number): Promise<StoredCatalog | undefined> {
  const wanted = version ?? (await latestCatalogVersion(db));
  if (wanted === null) return undefined;
  const row = await db.selectFrom('catalog_versions').selectAll().where('version', '=', wanted).executeTakeFirst();
  if (!row) return undefined;
  // Stored documents were checked when they were imported; validating again costs little and
  // turns a hand-edited row into a clear error instead of wrong prices.
  return { ...summary(row), catalog: validateCatalog(JSON.parse(row.document) as Catalog) };
}

/** Every version, newest first, without documents. */
export async function listCatalogVersions(db: Kysely<Schema>): Promise<CatalogVersionSummary[]> {
  const rows = await db.selectFrom('catalog_versions')
    .select(['version', 'created_at', 'created_by', 'reason', 'content_hash', 'plans', 'prices'])
    .orderBy('version', 'desc').execute();
  return rows.map(summary);
}

/** Insert a version; false when that number is taken already (another import won the race). */
export async function insertCatalogVersion(db: Kysely<Schema>, row: CatalogVersionRow): Promise<boolean> {
  return (await insertNew(db, 'catalog_versions', [row])) === 1;
}

/**
 * Members whose live subscriptions are on a plan or move to it at their next period, by
 * plan, country and currency: what a catalog must keep selling. A keyset walk over the
 * members who are not cancelled, a page at a time, so it holds one page in memory; it
 * reads every live member, which is why it runs only when a new version drops a plan, a
 * country or a currency (mayOrphanMembers), never on an ordinary price change.
 */
export async function planUsage(db: Kysely<Schema>, pageSize = 2000): Promise<PlanUsage[]> {
  const counts = new Map<string, PlanUsage>();
  let after = '';
  for (;;) {
    const rows = await db.selectFrom('members').select(['id', 'data']).where('status', '<>', 'cancelled').where('id', '>', after).orderBy('id').limit(pageSize).execute();
    for (const row of rows) {
      const m = JSON.parse(row.data) as Pick<Member, 'country' | 'currency' | 'subscriptions'>;
      const plans = new Set<string>();
      for (const s of m.subscriptions) {
        if (s.status === 'cancelled') continue;
        plans.add(s.planId);
        if (s.pendingPlanId) plans.add(s.pendingPlanId);
      }
      for (const plan of plans) {
        const key = `${plan}|${m.country}|${m.currency}`;
        const found = counts.get(key);
        if (found) found.members++;
        else counts.set(key, { plan, country: m.country, currency: m.currency, members: 1 });
      }
    }
    if (rows.length < pageSize) break;
    after = rows.at(-1)!.id;
  }
  return [...counts.values()];
}
