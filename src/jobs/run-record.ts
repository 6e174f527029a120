import type { Kysely } from 'kysely';
import { insertReturningId } from '../store/bulk.ts';
import type { Schema } from '../store/schema.ts';
import type { JobResult } from './services.ts';

export type JobName = 'renew' | 'collect' | 'report-revenue' | 'archive';

/** Thrown from a job's checkpoint when the process is shutting down: the run stops at a safe point and is recorded as stopped. */
export class JobStopped extends Error {
  override name = 'JobStopped';
}

/**
 * Record a job run: started, finished, counts and errors. A run that dies
 * stays `running` until the next run of the same job and date marks it
 * `interrupted`, so an operator sees every crash.
 */
export async function recordRun(db: Kysely<Schema>, job: JobName, businessDate: string, work: () => Promise<JobResult>): Promise<JobResult & { runId: number }> {
  await db.updateTable('job_runs').set({ status: 'interrupted' }).where('job', '=', job).where('business_date', '=', businessDate).where('status', '=', 'running').execute();
  const runId = await insertReturningId(db, 'job_runs', {
    job, business_date: businessDate, status: 'running', started_at: new Date().toISOString(), finished_at: null, counts: '{}', errors: '[]',
  });
  try {
    const result = await work();
    await db.updateTable('job_runs').set({
      status: result.errors.length ? 'finished_with_errors' : 'finished',
      finished_at: new Date().toISOString(),
      counts: JSON.stringify(result.counts),
      errors: JSON.stringify(result.errors.slice(0, 1000)),
    }).where('id', '=', runId).execute();
    return { ...result, runId };
  } catch (err) {
    await db.updateTable('job_runs').set({
      status: err instanceof JobStopped ? 'stopped' : 'failed', finished_at: new Date().toISOString(),
      errors: JSON.stringify([{ item: '*', message: err instanceof Error ? err.message : String(err) }]),
    }).where('id', '=', runId).execute().catch(() => undefined);
    throw err;
  }
}

export interface JobRun {
  id: number;
  job: string;
  businessDate: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  counts: Record<string, number>;
  errors: { item: string; message: string }[];
}

export async function listRuns(db: Kysely<Schema>, limit = 50): Promise<JobRun[]> {
  const rows = await db.selectFrom('job_runs').selectAll().orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({
    id: r.id, job: r.job, businessDate: r.business_date, status: r.status, startedAt: r.started_at,
    finishedAt: r.finished_at, counts: JSON.parse(r.counts), errors: JSON.parse(r.errors),
  }));
}
