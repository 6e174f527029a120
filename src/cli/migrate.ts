import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { IsoDate } from '../domain/calendar.ts';
import { InvalidInput } from '../domain/errors.ts';
import { withLocks } from '../jobs/job-lock.ts';
import type { Services } from '../jobs/services.ts';
import { clearCountry, type CountryCleared } from '../migration/clear.ts';
import { checkSourceCountry, dryRunCountry, type CountryDryRun } from '../migration/dry-run.ts';
import { migrateCountry, type CountryMigration, type MigrateMode, type SourceAdapter } from '../migration/migrate-country.ts';
import { parsePlanMapping, referenceLegacyPlans, type PlanMapping } from '../migration/plan-mapping.ts';
import { legacyAdapter } from '../migration/sources/legacy-adapter.ts';
import { openLegacySource } from '../migration/sources/legacy-source.ts';
import { killBillAdapter } from '../migration/sources/killbill-adapter.ts';
import { openKillBillSource } from '../migration/sources/killbill-source.ts';
import type { MigrationSource } from '../migration/source.ts';
import { logger } from '../wiring.ts';
import { jobProgress } from './progress.ts';
import { redactUrl } from '../store/engines.ts';

function readMapping(file: string | undefined): PlanMapping {
  if (!file) return referenceLegacyPlans;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInput('--plans', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parsePlanMapping(text, file.endsWith('.json') ? 'json' : 'yaml');
}

const log = (): Logger => logger(process.env.TALLY_LOG_LEVEL || 'info');

/** Two migrations of one country at once would load the same members twice over: each takes the country's lease. */
function leased<T>(svc: Services, country: string, what: string, work: () => Promise<T>): Promise<T> {
  return withLocks(svc.store.db, [`migrate:${country}`], `${hostname()}:${process.pid} (tally migrate ${what})`, work);
}

interface Opened {
  source: MigrationSource<unknown>;
  adapter: SourceAdapter<unknown>;
  plans: PlanMapping;
  /** What the run records of the source besides its URL. */
  recorded: Record<string, unknown>;
}

/**
 * The source a request names, opened, with its adapter over Tally's catalog. Kill Bill's
 * catalog is XML outside its database, so its plan mapping is always the user's file.
 */
export async function openSource(svc: Services, req: MigrateRequest): Promise<Opened> {
  const catalog = svc.billing.catalog;
  const base = { catalog, asOf: req.asOf, horizonMonths: req.horizonMonths };
  if (req.source === 'killbill') {
    if (!req.plansFile) throw new InvalidInput('--plans', 'is required with --source killbill: Kill Bill keeps its catalog outside its database, so say which Tally plan each Kill Bill plan becomes (plans: { <Kill Bill plan>: <Tally plan id> })');
    const plans = readMapping(req.plansFile);
    const source = await openKillBillSource(req.from, { tenant: req.tenant, asOf: req.asOf });
    return { source, plans, adapter: killBillAdapter(source, { ...base, plans }) as SourceAdapter<unknown>, recorded: { tenant: source.tenant.recordId } };
  }
  if (req.tenant !== undefined) throw new InvalidInput('--tenant', 'is for --source killbill only (the reference legacy has no tenants)');
  const plans = readMapping(req.plansFile);
  const source = await openLegacySource(req.from);
  return { source, plans, adapter: legacyAdapter(source, { ...base, plans, ...(await source.reference()) }) as SourceAdapter<unknown>, recorded: {} };
}

/** `tally migrate --dry-run`: each country checked and counted against the catalog Tally bills with, nothing written. */
export async function dryRun(svc: Services, req: MigrateRequest): Promise<CountryDryRun[]> {
  const { source, adapter, plans } = await openSource(svc, req);
  try {
    const out: CountryDryRun[] = [];
    for (const country of req.countries) {
      const progress = jobProgress(log(), 'migrate --dry-run', country);
      out.push(await dryRunCountry(adapter, country, { catalog: svc.billing.catalog, plans }, { pageSize: req.pageSize, onProgress: progress.tick }).finally(progress.stop));
    }
    return out;
  } finally {
    await source.close();
  }
}

export interface MigrateRequest {
  source: 'legacy' | 'killbill';
  from: string;
  /** Kill Bill: the tenant (record id, API key or external key); default the only one. */
  tenant?: string;
  countries: string[];
  plansFile?: string;
  mode: MigrateMode;
  asOf: IsoDate;
  horizonMonths: number;
  pageSize?: number;
  /** Mode `members`: only these members (a compare report's). */
  members?: string[];
}

/**
 * `tally migrate`: every country is checked first (known to the source, every plan it uses
 * mapped to a plan Tally has), so a mistake in any of them writes nothing of any; then
 * each country is migrated under its lease, one JSON line each.
 */
export async function migrate(svc: Services, req: MigrateRequest, emit: (line: CountryMigration) => void): Promise<void> {
  const { source, adapter, plans, recorded } = await openSource(svc, req);
  try {
    const known = await source.countries();
    const catalog = svc.billing.catalog;
    for (const country of req.countries) await checkSourceCountry(source, known, country, { catalog, plans });
    for (const country of req.countries) {
      const total = req.members?.length ?? known.find((c) => c.country === country)!.members;
      const progress = jobProgress(log(), 'migrate', country, total);
      const result = await leased(svc, country, country, () => migrateCountry(svc, adapter, {
        country, asOf: req.asOf, mode: req.mode, pageSize: req.pageSize, onProgress: progress.tick, ...(req.members ? { members: req.members } : {}),
        options: { from: redactUrl(req.from), ...recorded, plans: req.plansFile ?? '(reference mapping)', asOf: req.asOf, horizonMonths: req.horizonMonths },
      })).finally(progress.stop);
      svc.log.info({ job: 'migrate', ...result }, 'country migrated');
      emit(result);
    }
  } finally {
    await source.close();
  }
}

/** `tally migrate --clear`: each country's migration undone, under the country's lease. */
export async function clear(svc: Services, countries: string[], asOf: IsoDate, emit: (line: CountryCleared) => void): Promise<void> {
  for (const country of countries) {
    const progress = jobProgress(log(), 'migrate --clear', country);
    emit(await leased(svc, country, `--clear ${country}`, () => clearCountry(svc, country, asOf, { onProgress: progress.tick })).finally(progress.stop));
  }
}
