import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { latestCompareRun, type CompareRunRecord } from '../compare/compare-runs.ts';
import { reportFiles, type Difference } from '../compare/report-format.ts';
import { InvalidInput } from '../domain/errors.ts';
import type { Services } from '../jobs/services.ts';
import { openLegacyTables } from '../migration/sources/legacy-source.ts';
import { exportLegacyCountry, legacyCustomerCount, type ExportedFile } from './legacy-export.ts';
import { openParquetWriter, quoteText, type Columns } from './parquet-writer.ts';
import { exportTallyCountry, tallyMemberCount } from './tally-export.ts';
import { redactUrl } from '../store/engines.ts';

export interface CountryExportRequest {
  country: string;
  /** The folder to write into (made if missing; files of an earlier export are replaced). */
  to: string;
  /** The legacy's URL; absent: the one recorded by the country's latest migration. */
  from?: string;
  /** Customers (legacy) and members (Tally) read per page; what memory holds at once. */
  pageSize?: number;
}

export interface CountryExport {
  country: string;
  to: string;
  files: ExportedFile[];
  compareRun: number | null;
  seconds: number;
}

/** The report's columns when there is no report to copy: its row format, every value text. */
const emptyReportColumns: Columns<Difference> = {
  source: 'VARCHAR', country: 'VARCHAR', member: 'VARCHAR', kind: 'VARCHAR', field: 'VARCHAR', source_value: 'VARCHAR', tally_value: 'VARCHAR', rule: 'VARCHAR', detail: 'VARCHAR',
};


/**
 * The legacy's URL: `--from`, else the `from` the country's latest legacy migration recorded.
 * A recorded URL had its password replaced by *** (migrate never stores one), so it cannot be
 * used; the operator is asked for --from rather than being refused by the server later.
 */
export async function legacyUrlFor(svc: Services, country: string, from: string | undefined): Promise<{ url: string; how: string }> {
  if (from) return { url: from, how: '--from' };
  const runs = await svc.store.db.selectFrom('migration_runs').select(['id', 'options']).where('source', '=', 'legacy').where('country', '=', country)
    .orderBy('id', 'desc').execute();
  for (const run of runs) {
    let recorded: unknown;
    try {
      recorded = (JSON.parse(run.options) as { from?: unknown }).from;
    } catch {
      continue;
    }
    if (typeof recorded !== 'string' || !recorded) continue;
    if (recorded.includes(':***@')) {
      throw new InvalidInput('--from', `the legacy URL recorded by migration run ${run.id} of ${country} has its password redacted (${recorded}); give it with --from URL`);
    }
    return { url: recorded, how: `migration run ${run.id}` };
  }
  throw new InvalidInput('--from', `no migration of ${country} records the legacy's URL; give it with --from URL`);
}


/**
 * `tally export`: a country's legacy rows, Tally's rows and its latest compare report as
 * Parquet files in one folder, with a manifest.json of each file's rows and origin, so legacy
 * × Tally × report join in one DuckDB query (`tally query`). Read through our own connections
 * a page at a time (DuckDB's database scanners are extensions it would download).
 */
export async function exportCountry(
  svc: Services, req: CountryExportRequest,
  opts: { onProgress?: (done: number, total: number) => void; note?: (line: string) => void } = {},
): Promise<CountryExport> {
  const started = Date.now();
  const country = req.country;
  const { url, how } = await legacyUrlFor(svc, country, req.from);
  const legacy = await openLegacyTables(url);
  try {
    const [customers, members] = [await legacyCustomerCount(legacy, country), await tallyMemberCount(svc, country)];
    if (customers === 0 && members === 0) throw new InvalidInput('--country', `neither the legacy nor Tally has members in "${country}"`, country);
    const to = resolve(req.to);
    try {
      mkdirSync(to, { recursive: true });
    } catch (err) {
      throw new InvalidInput('--to', `cannot make the folder ${req.to}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, req.to);
    }
    // A manifest is the mark of a whole export: an export that fails part way must not leave the last one's.
    rmSync(join(to, 'manifest.json'), { force: true });
    const total = customers + members;
    const writer = await openParquetWriter(to);
    try {
      const files = [
        ...(await exportLegacyCountry(legacy, country, writer, { pageSize: req.pageSize, onCustomers: (n) => opts.onProgress?.(n, total) })),
        ...(await exportTallyCountry(svc, country, writer, { pageSize: req.pageSize, onMembers: (n) => opts.onProgress?.(customers + n, total) })),
      ];
      const run = await latestCompareRun(svc.store.db, country);
      const report = join(run?.reportDir ?? '', reportFiles.parquet);
      if (run && existsSync(report)) {
        copyFileSync(report, join(to, 'report.parquet'));
        const counted = await writer.connection.runAndReadAll(`select count(*)::bigint as n from read_parquet(${quoteText(join(to, 'report.parquet'))})`);
        files.push({ file: 'report.parquet', rows: Number(counted.getRowsJS()[0]![0]), from: `compare run ${run.runId} (${run.status}, finished ${run.finishedAt}): ${report}` });
      } else {
        opts.note?.(run
          ? `tally export: the latest compare run of ${country} (${run.runId}) has no ${report}; report.parquet is empty`
          : `tally export: no compare of ${country} has run yet; report.parquet is empty (run tally compare --country ${country})`);
        const empty = await writer.table('report.parquet', emptyReportColumns);
        files.push({ file: 'report.parquet', rows: await empty.finish(), from: run ? `compare run ${run.runId}: report missing, empty` : 'no compare run yet: empty' });
      }
      writeFileSync(join(to, 'manifest.json'), `${JSON.stringify(manifest(country, url, how, run, files), null, 2)}\n`);
      return { country, to, files, compareRun: run?.runId ?? null, seconds: Math.round((Date.now() - started) / 100) / 10 };
    } finally {
      writer.close();
    }
  } finally {
    await legacy.close();
  }
}

function manifest(country: string, url: string, how: string, run: CompareRunRecord | undefined, files: ExportedFile[]) {
  return {
    country,
    exportedAt: new Date().toISOString(),
    legacy: { url: redactUrl(url), from: how },
    compareRun: run ? { runId: run.runId, status: run.status, finishedAt: run.finishedAt, reportDir: run.reportDir } : null,
    files: files.map((f) => ({ file: f.file, view: f.file.replace(/\.parquet$/, ''), rows: f.rows, from: f.from })),
  };
}
