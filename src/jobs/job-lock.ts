import type { Kysely } from 'kysely';
import { insertNew } from '../store/bulk.ts';
import type { Schema } from '../store/schema.ts';

/**
 * A lease in the database, so two processes (or a scheduler and an operator)
 * never run the same job at once. A holder that dies loses the lease when it
 * expires.
 */
export async function acquireLock(db: Kysely<Schema>, job: string, owner: string, ttlMs: number, now = Date.now()): Promise<boolean> {
  // Take a free lease, else take over an expired one or renew our own: two statements every engine runs the same way.
  if (await insertNew(db, 'job_locks', [{ job, owner, expires_at: now + ttlMs }])) return true;
  const res = await db.updateTable('job_locks').set({ owner, expires_at: now + ttlMs })
    .where('job', '=', job)
    .where((eb) => eb.or([eb('expires_at', '<', now), eb('owner', '=', owner)]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function releaseLock(db: Kysely<Schema>, job: string, owner: string): Promise<void> {
  await db.deleteFrom('job_locks').where('job', '=', job).where('owner', '=', owner).execute();
}

export class JobBusy extends Error {
  override name = 'JobBusy';
}

export async function withLock<T>(db: Kysely<Schema>, job: string, owner: string, work: () => Promise<T>, ttlMs = 30 * 60_000): Promise<T> {
  if (!(await acquireLock(db, job, owner, ttlMs))) throw new JobBusy(`${job} is already running`);
  try {
    return await work();
  } finally {
    await releaseLock(db, job, owner);
  }
}
