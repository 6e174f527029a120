import { hostname } from 'node:os';
import { archiveSourceHistory, type SourceHistoryResult } from '../archive/source-history.ts';
import { InvalidInput } from '../domain/errors.ts';
import { withLocks } from '../jobs/job-lock.ts';
import { recordRun } from '../jobs/run-record.ts';
import { closeServices } from '../jobs/services.ts';
import { configFromEnv, openServices } from '../wiring.ts';
import { archiveRoot, writableRoot } from './archive.ts';
import { openSource } from './migrate.ts';
import { jobProgress } from './progress.ts';

const usageLine = 'usage: tally archive legacy --source legacy|killbill --from URL --country XX[,YY] [--plans FILE] [--tenant T] [--to DIR]';
const text = (values: Record<string, unknown>, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

/**
 * `tally archive legacy`: the history each country's migration left in its source, into the
 * archive. One JSON line per country; members whose source changed since their migration are
 * listed and left (re-migrate them first), exit 1 if any.
 */
export async function archiveLegacyCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  if (rest.length) throw usageError(`archive legacy takes no arguments, got "${rest[0]}"; ${usageLine}`);
  const source = text(values, 'source');
  if (source !== 'legacy' && source !== 'killbill') throw usageError(source ? `--source must be legacy or killbill, got "${source}"` : `--source is required; ${usageLine}`);
  const from = text(values, 'from');
  if (!from) throw usageError(`--from is required (the source database URL); ${usageLine}`);
  const countries = (text(values, 'country') ?? '').split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
  if (!countries.length) throw usageError(`--country is required; ${usageLine}`);
  const bad = countries.find((c) => !/^[A-Z]{2}$/.test(c));
  if (bad) throw new InvalidInput('--country', `takes ISO 3166 alpha-2 codes, got "${bad}"`, bad);
  const root = archiveRoot(values);
  writableRoot(root);
  const svc = await openServices(configFromEnv());
  try {
    const today = new Date().toISOString().slice(0, 10);
    // The transform keeps every invoice (a horizon of 100 years); which ones the migration left out is the migration's recorded horizon.
    const { source: opened, adapter } = await openSource(svc, { source, from, tenant: text(values, 'tenant'), countries, plansFile: text(values, 'plans'), mode: 'load', asOf: today, horizonMonths: 1200 });
    const results: SourceHistoryResult[] = [];
    try {
      await withLocks(svc.store.db, ['archive'], `${hostname()}:${process.pid} (tally archive legacy)`, () => recordRun(svc.store.db, 'archive', today, async () => {
        const run = await svc.store.db.selectFrom('job_runs').select('id').where('job', '=', 'archive').where('status', '=', 'running').orderBy('id', 'desc').executeTakeFirstOrThrow();
        for (const country of countries) {
          const progress = jobProgress(svc.log, 'archive legacy', country);
          const r = await archiveSourceHistory({ ledger: svc.store.db, member: svc.memberStore.db }, adapter, { country, root, runId: run.id, progress: progress.tick }).finally(progress.stop);
          results.push(r);
          console.log(JSON.stringify({ job: 'archive legacy', source, country, members: r.members, invoices: r.invoices, rows: r.archived, files: r.files, bytes: r.bytes, changedSinceMigration: r.changedSinceMigration }));
        }
        const counts: Record<string, number> = {};
        for (const r of results) Object.assign(counts, { [`${r.country}.members`]: r.members, [`${r.country}.invoices`]: r.invoices, [`${r.country}.rows`]: r.archived });
        return { counts, errors: results.flatMap((r) => r.changedSinceMigration.map((m) => ({ item: m, message: 'source history changed since the migration: re-migrate the member, then archive again' }))) };
      }));
    } finally {
      await opened.close();
    }
    const changed = results.flatMap((r) => r.changedSinceMigration);
    if (changed.length) process.stderr.write(`tally: archive legacy: ${changed.length} member(s) changed in the source since their migration were left (${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', …' : ''}); re-migrate them with --since-last, then run again\n`);
    return changed.length ? 1 : 0;
  } finally {
    await closeServices(svc);
  }
}
