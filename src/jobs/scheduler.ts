import { addDays, businessDate } from '../domain/calendar.ts';
import { lastClosedDay } from '../store/ledger.ts';
import { runCollection } from './collect.ts';
import { withLock } from './job-lock.ts';
import { runRenewal } from './renew.ts';
import { runRevenueReport } from './revenue-report.ts';
import { renewalDueAgain } from './run-day.ts';
import { JobStopped } from './run-record.ts';
import type { JobOptions, Services } from './services.ts';

export type ScheduledJob = 'renew' | 'collect' | 'report-revenue';

export interface Schedule {
  /** Run one job for one date now, under the job's lock (an operator's trigger or the schedule's own). */
  runJob(job: ScheduledJob, date: string): Promise<unknown>;
  /** Catch up every business day not closed yet, one at a time, then bill and collect today. */
  tick(): Promise<void>;
  start(): void;
  /** Stop at the next safe point (between chunks) and wait for the running job to end. */
  stop(): Promise<void>;
}

/**
 * The daily jobs on a schedule: at each tick, every past business day that is
 * not closed is renewed, collected and reported in order (so a service that
 * was down catches up), then today's renewal and collection run; today is
 * reported once it is over. Each job holds a database lease, so no job ever
 * runs twice at once, even across processes.
 */
export function dailySchedule(svc: Services, opts: {
  owner: string;
  firstDay: () => Promise<string | null>;
  now?: () => number;
  intervalMs?: number;
  onJob?: (job: ScheduledJob, date: string, status: string, seconds: number, counts: Record<string, number>) => void;
}): Schedule {
  const now = opts.now ?? Date.now;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const jobOptions: JobOptions = {
    checkpoint: () => {
      if (stopping) throw new JobStopped('shutting down');
    },
  };

  async function runJob(job: ScheduledJob, date: string): Promise<unknown> {
    return withLock(svc.store.db, job, opts.owner, async () => {
      const t0 = performance.now();
      let status = 'finished';
      let counts: Record<string, number> = {};
      try {
        if (job === 'renew') counts = (await runRenewal(svc, date, jobOptions)).counts;
        else if (job === 'collect') counts = (await runCollection(svc, date, jobOptions)).counts;
        else return await runRevenueReport(svc, date);
        return counts;
      } catch (err) {
        status = err instanceof JobStopped ? 'stopped' : 'failed';
        throw err;
      } finally {
        opts.onJob?.(job, date, status, (performance.now() - t0) / 1000, counts);
      }
    });
  }

  async function tick(): Promise<void> {
    const today = businessDate(now(), svc.reportingTimeZone);
    const closed = await lastClosedDay(svc.store.db);
    let day = closed ? addDays(closed, 1) : (await opts.firstDay()) ?? today;
    for (; day < today && !stopping; day = addDays(day, 1)) {
      await billAndCollect(day);
      await runJob('report-revenue', day);
    }
    if (stopping) return;
    await billAndCollect(today);
  }

  async function billAndCollect(day: string): Promise<void> {
    await runJob('renew', day);
    await runJob('collect', day);
    if (!stopping && (await renewalDueAgain(svc, day))) {
      await runJob('renew', day);
      await runJob('collect', day);
    }
  }

  function loop(): void {
    running = tick().catch((err) => {
      if (!(err instanceof JobStopped)) svc.log.error({ err }, 'scheduled jobs failed; retrying at the next tick');
    }).finally(() => {
      if (!stopping) timer = setTimeout(loop, opts.intervalMs ?? 60_000);
    });
  }

  return {
    runJob,
    tick,
    start: loop,
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
