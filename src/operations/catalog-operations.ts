import type { Kysely } from 'kysely';
import type { IsoDate } from '../domain/calendar.ts';
import { builtInCatalog, catalogIndex, validateCatalog, type Catalog, type CatalogIndex } from '../domain/catalog.ts';
import {
  catalogChanges, catalogDocument, catalogHash, checkKeepsPricesInForce, checkNoOrphans, mayOrphanMembers, priceCount, type CatalogChanges,
} from '../domain/catalog-document.ts';
import { NotFound } from '../domain/errors.ts';
import type { Services } from '../jobs/services.ts';
import { insertCatalogVersion, latestCatalogVersion, loadCatalogVersion, planUsage } from '../store/catalog-versions.ts';
import { storesAreSplit } from '../store/ledger-postings.ts';
import type { Schema } from '../store/schema.ts';

/*
 * The catalog as data. Versions live in the ledger store (beside API keys and the other
 * records every process shares; the member store is partitioned by member and holds no
 * global data), numbered from 1, each whole and never changed. The latest version is the
 * catalog in force; with none stored, the built-in catalog is, as version 0. The built-in
 * catalog is not written into the store on its own: an installation that never imports a
 * catalog keeps the one its release ships, and the first import is an operator's act,
 * recorded with its author like every later one.
 */

/** The catalog in force, with its version (0: the built-in one) and content hash. */
export interface CatalogInForce {
  version: number;
  hash: string;
  catalog: Catalog;
  createdAt: string | null;
  createdBy: string | null;
  reason: string | null;
}

let builtInInForce: CatalogInForce | undefined;
/** The built-in catalog as version 0, checked and hashed once per process. */
const builtIn = (): CatalogInForce => {
  if (!builtInInForce) {
    const catalog = validateCatalog(builtInCatalog);
    builtInInForce = { version: 0, hash: catalogHash(catalog), catalog, createdAt: null, createdBy: null, reason: null };
  }
  return builtInInForce;
};

/** A version by number (0: the built-in catalog), or the one in force when `version` is not given. */
export async function catalogVersion(db: Kysely<Schema>, version?: number): Promise<CatalogInForce> {
  if (version === 0) return builtIn();
  const stored = await loadCatalogVersion(db, version);
  if (!stored) {
    if (version === undefined) return builtIn();
    throw new NotFound('version', `no catalog version ${version} (see tally catalog versions)`, version);
  }
  return { version: stored.version, hash: stored.hash, catalog: stored.catalog, createdAt: stored.createdAt, createdBy: stored.createdBy, reason: stored.reason };
}

/** The lookup index of the catalog in force, tagged with its version so invoices record it. */
export async function catalogInForce(db: Kysely<Schema>): Promise<CatalogIndex> {
  const current = await catalogVersion(db);
  return catalogIndex(current.catalog, current.version);
}

/** Who puts a catalog in force, and why: recorded on the version and in the audit log. */
export interface CatalogAuthor {
  actor: string;
  reason: string;
  /** `cli` or `api`, and what was asked, for the audit row. */
  source: 'cli' | 'api';
}

export interface CatalogImport {
  /** `created`: a new version is in force; `unchanged`: the same content is in force already; `checked`: a dry run that would create one. */
  status: 'created' | 'unchanged' | 'checked';
  /** The version in force after the import (for `checked`, the one it would create). */
  version: number;
  /** The version that was in force before (0: the built-in catalog). */
  previous: number;
  hash: string;
  plans: number;
  prices: number;
  changes: CatalogChanges;
}

/**
 * Put a catalog in force as the next version, after checking it against the one in force:
 * prices already in force stay as they are (checkKeepsPricesInForce, as of `on`), and no
 * member is orphaned (checkNoOrphans: a dropped plan, country or currency a live member
 * still bills in is refused, naming the plan and how many members). The same content as
 * the version in force creates nothing and says so.
 *
 * The version and its audit row commit together when the stores are one; on split stores
 * the version commits first (it names its author itself), then the audit row. Two imports
 * racing for the same number: the loser reads again and decides again (the winner may
 * have put the very same catalog in force).
 *
 * A member who signs up to a plan in the moment between the orphan check and the commit is
 * not seen by the check; renewal then reports that member as an error instead of billing
 * them (see jobs/renew.ts), and the plan can be put back by importing again.
 */
export async function importCatalog(svc: Services, catalog: Catalog, opts: { on: IsoDate; by: CatalogAuthor; dryRun?: boolean }): Promise<CatalogImport> {
  const { db } = svc.store;
  for (let attempt = 1; ; attempt++) {
    const current = await catalogVersion(db);
    const hash = catalogHash(catalog);
    const plans = catalog.plans.length;
    const prices = priceCount(catalog);
    const changes = catalogChanges(current.catalog, catalog);
    const outcome = { previous: current.version, hash, plans, prices, changes };
    if (hash === current.hash) return { status: 'unchanged', version: current.version, ...outcome };
    checkKeepsPricesInForce(current.catalog, catalog, opts.on);
    if (mayOrphanMembers(current.catalog, catalog)) checkNoOrphans(catalog, await planUsage(svc.memberStore.db));
    // The version after the one checked against: if another import took that number meanwhile, the
    // insert below finds it taken and this one is decided again against the new version.
    const version = current.version + 1;
    if (opts.dryRun) return { status: 'checked', version, ...outcome };
    const at = new Date().toISOString();
    const row = {
      version, created_at: at, created_by: opts.by.actor.slice(0, 160), reason: opts.by.reason.slice(0, 500),
      content_hash: hash, plans, prices, // The stored form is the exported form: the document's field order, prices sorted.
      document: JSON.stringify(catalogDocument(catalog)),
    };
    const audit = {
      at, actor: opts.by.actor.slice(0, 160), action: 'catalog.version_created', member_id: '', reason: opts.by.reason.slice(0, 500),
      request: JSON.stringify({ source: opts.by.source, hash, plans, prices }),
      before: JSON.stringify({ version: current.version, hash: current.hash, plans: current.catalog.plans.length, prices: priceCount(current.catalog) }),
      after: JSON.stringify({ version, hash, plans, prices, changes }),
    };
    let created: boolean;
    if (!storesAreSplit(svc)) {
      created = await db.transaction().execute(async (trx) => {
        if (!(await insertCatalogVersion(trx, row))) return false;
        await trx.insertInto('audit_log').values(audit).execute();
        return true;
      });
    } else {
      created = await insertCatalogVersion(db, row);
      if (created) await svc.memberStore.db.insertInto('audit_log').values(audit).execute();
    }
    if (created) {
      useCatalog(svc, catalogIndex(catalog, version));
      svc.log.info({ catalogVersion: version, previous: current.version, hash, actor: opts.by.actor, ...changes }, 'catalog version created');
      return { status: 'created', version, ...outcome };
    }
    if (attempt >= 5) throw new Error(`catalog version ${version} was taken by another import ${attempt} times in a row`);
  }
}

/**
 * Bill with `index` from now on in this process. The whole billing context is replaced, not
 * changed in place: an operation or a job chunk that took `svc.billing` keeps one catalog
 * from start to end, and each invoice records the version it was billed with.
 */
export function useCatalog(svc: Pick<Services, 'billing'>, index: CatalogIndex): void {
  svc.billing = { ...svc.billing, catalog: index };
}

/**
 * How a running service picks up a catalog imported elsewhere (by `tally catalog import`, or
 * a PUT on another instance) without a restart: every `everyMs` it reads the latest version
 * number — one indexed read — and loads the new version when it differs from the one it
 * bills with. An import through this process's own API takes effect at once (useCatalog).
 * A short poll rather than a notification: every engine has it, it needs no broker, and a
 * catalog change that takes a few seconds to reach every instance bills nobody wrongly,
 * since every invoice records the version it was billed with.
 */
export function followCatalog(svc: Services, everyMs: number): { check(): Promise<boolean>; stop(): void } {
  let running: Promise<boolean> | null = null;
  const check = (): Promise<boolean> => {
    running ??= (async () => {
      try {
        const latest = (await latestCatalogVersion(svc.store.db)) ?? 0;
        if (latest === svc.billing.catalog.version) return false;
        const index = await catalogInForce(svc.store.db);
        useCatalog(svc, index);
        svc.log.info({ catalogVersion: index.version }, 'catalog version in force changed');
        return true;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const timer = setInterval(() => {
    check().catch((err: unknown) => svc.log.warn({ err }, 'reading the catalog version failed; billing with the one in force'));
  }, everyMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
