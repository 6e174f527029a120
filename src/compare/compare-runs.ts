import type { Kysely } from 'kysely';
import { insertReturningId } from '../store/bulk.ts';
import type { Schema } from '../store/schema.ts';

export type CompareMode = 'members' | 'tables' | 'shadow';
export type CompareStatus = 'clean' | 'differences';

/** A finished compare run as `tally export` and the console find it. */
export interface CompareRunRecord {
  runId: number;
  mode: CompareMode;
  source: string;
  country: string;
  status: CompareStatus;
  startedAt: string;
  finishedAt: string;
  /** The folder holding report.jsonl, report.parquet and summary.json. */
  reportDir: string;
  counts: Record<string, unknown>;
}

/**
 * Record a compare run: started, finished, status, report folder, counts, or the error. A
 * run that dies stays `running` until the next run of the same mode and country marks it
 * `interrupted`.
 */
export async function recordCompareRun<T extends { status: CompareStatus; counts: object }>(
  db: Kysely<Schema>,
  run: { mode: CompareMode; source: string; country: string; reportDir: string; options: Record<string, unknown> },
  work: () => Promise<T>,
): Promise<T & { runId: number }> {
  await db.updateTable('compare_runs').set({ status: 'interrupted' })
    .where('mode', '=', run.mode).where('country', '=', run.country).where('status', '=', 'running').execute();
  const runId = await insertReturningId(db, 'compare_runs', {
    mode: run.mode, source: run.source, country: run.country, status: 'running', started_at: new Date().toISOString(), finished_at: null,
    report_dir: run.reportDir, options: JSON.stringify(run.options), counts: '{}', error: null,
  });
  try {
    const result = await work();
    await db.updateTable('compare_runs').set({ status: result.status, finished_at: new Date().toISOString(), counts: JSON.stringify(result.counts) })
      .where('id', '=', runId).execute();
    return { ...result, runId };
  } catch (err) {
    await db.updateTable('compare_runs').set({ status: 'failed', finished_at: new Date().toISOString(), error: err instanceof Error ? err.message : String(err) })
      .where('id', '=', runId).execute().catch(() => undefined);
    throw err;
  }
}

/** The latest finished compare run of a mode for a country (table mode: country ''), or undefined. */
export async function latestCompareRun(db: Kysely<Schema>, country: string, mode: CompareMode = 'members'): Promise<CompareRunRecord | undefined> {
  const row = await db.selectFrom('compare_runs').selectAll()
    .where('country', '=', country).where('mode', '=', mode).where('status', 'in', ['clean', 'differences'])
    .orderBy('id', 'desc').limit(1).executeTakeFirst();
  if (!row) return undefined;
  return {
    runId: row.id, mode: row.mode as CompareMode, source: row.source, country: row.country, status: row.status as CompareStatus,
    startedAt: row.started_at, finishedAt: row.finished_at ?? row.started_at, reportDir: row.report_dir ?? '', counts: JSON.parse(row.counts) as Record<string, unknown>,
  };
}
