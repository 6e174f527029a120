import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { insertNew } from '../store/bulk.ts';
import type { Schema } from '../store/schema.ts';

/**
 * A lease in the database, so two processes (or a scheduler and an operator)
 * never run the same job at once. A holder that dies loses the lease when it
 * expires; a live holder renews it while it works.
 */
export async function acquireLock(db: Kysely<Schema>, job: string, owner: string, ttlMs: number, now = Date.now()): Promise<boolean> {
  const since = new Date(now).toISOString();
  // Take a free lease, else take over an expired one or renew our own: two statements every engine runs the same way.
  if (await insertNew(db, 'job_locks', [{ job, owner, expires_at: now + ttlMs, acquired_at: since }])) return true;
  const res = await db.updateTable('job_locks')
    // acquired_at first: MySQL assigns left to right, and its test must see the old owner.
    .set((eb) => ({ acquired_at: eb.case().when('owner', '=', owner).then(eb.ref('acquired_at')).else(since).end(), owner, expires_at: now + ttlMs }))
    .where('job', '=', job)
    .where((eb) => eb.or([eb('expires_at', '<', now), eb('owner', '=', owner)]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function releaseLock(db: Kysely<Schema>, job: string, owner: string): Promise<void> {
  await db.deleteFrom('job_locks').where('job', '=', job).where('owner', '=', owner).execute();
}

/** Another process holds the job's lease: said in one line, naming the holder and since when. */
export class JobBusy extends Error {
  override name = 'JobBusy';
}

async function busy(db: Kysely<Schema>, job: string): Promise<JobBusy> {
  const held = await db.selectFrom('job_locks').select(['owner', 'acquired_at', 'expires_at']).where('job', '=', job).executeTakeFirst();
  if (!held) return new JobBusy(`${job} is already running`);
  const since = held.acquired_at ? ` since ${held.acquired_at}` : '';
  return new JobBusy(`${job} is already running (held by ${held.owner}${since}; the lease expires at ${new Date(Number(held.expires_at)).toISOString()} unless renewed)`);
}

/**
 * Take over a lease whose holder was a process on this machine that no longer exists
 * (killed with SIGKILL, say): a re-run right after a crash need not wait out the lease.
 * Owners are named `host:pid …`; a holder on another host is left to its lease's expiry.
 */
async function takeOverFromDeadProcess(db: Kysely<Schema>, job: string, owner: string, ttlMs: number): Promise<boolean> {
  const held = await db.selectFrom('job_locks').select('owner').where('job', '=', job).executeTakeFirst();
  const m = held && /^([^:\s]+):(\d+)\b/.exec(held.owner);
  if (!m || m[1] !== hostname() || Number(m[2]) === process.pid || processAlive(Number(m[2]))) return false;
  const now = Date.now();
  const res = await db.updateTable('job_locks').set({ owner, expires_at: now + ttlMs, acquired_at: new Date(now).toISOString() })
    .where('job', '=', job).where('owner', '=', held.owner).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Run `work` holding the leases of every job named (all or none: a run-day holds
 * renew, collect and report-revenue together), renewed every third of their length
 * while it runs, released after.
 */
export async function withLocks<T>(db: Kysely<Schema>, jobs: string[], owner: string, work: () => Promise<T>, ttlMs = 10 * 60_000): Promise<T> {
  const held: string[] = [];
  try {
    for (const job of jobs) {
      if (!(await acquireLock(db, job, owner, ttlMs)) && !(await takeOverFromDeadProcess(db, job, owner, ttlMs))) throw await busy(db, job);
      held.push(job);
    }
  } catch (err) {
    for (const job of held) await releaseLock(db, job, owner);
    throw err;
  }
  const renew = setInterval(() => {
    for (const job of held) void acquireLock(db, job, owner, ttlMs).catch(() => undefined);
  }, ttlMs / 3);
  renew.unref();
  try {
    return await work();
  } finally {
    clearInterval(renew);
    for (const job of held) await releaseLock(db, job, owner);
  }
}

export async function withLock<T>(db: Kysely<Schema>, job: string, owner: string, work: () => Promise<T>, ttlMs?: number): Promise<T> {
  return withLocks(db, [job], owner, work, ttlMs);
}
