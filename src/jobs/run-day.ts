import type { RevenueReport } from '../domain/revenue.ts';
import { runCollection } from './collect.ts';
import { runRenewal } from './renew.ts';
import { runRevenueReport } from './revenue-report.ts';
import type { JobOptions, JobResult, Services } from './services.ts';

export interface DayResult {
  date: string;
  renew: JobResult;
  collect: JobResult;
  revenue: RevenueReport;
}

/**
 * Whether renewal has work for `date` after collection ran: a member back from hold (a new card
 * paid what was owed) starts a fresh period today, to be billed today rather than tomorrow.
 */
export async function renewalDueAgain(svc: Services, date: string): Promise<boolean> {
  return (await svc.memberStore.db.selectFrom('members').select('id').where('next_due', '<=', date).limit(1).execute()).length > 0;
}

function merged(a: JobResult, b: JobResult): JobResult {
  const counts = { ...a.counts };
  for (const [k, v] of Object.entries(b.counts)) counts[k] = (counts[k] ?? 0) + v;
  return { counts, errors: [...a.errors, ...b.errors] };
}

/** The three daily jobs in order: bill, collect, then close the day's revenue. */
export async function runDay(svc: Services, date: string, opts: { renew?: JobOptions; collect?: JobOptions } = {}): Promise<DayResult> {
  let renew = await runRenewal(svc, date, opts.renew);
  let collect = await runCollection(svc, date, opts.collect);
  if (await renewalDueAgain(svc, date)) {
    renew = merged(renew, await runRenewal(svc, date, opts.renew));
    collect = merged(collect, await runCollection(svc, date, opts.collect));
  }
  const revenue = await runRevenueReport(svc, date);
  return { date, renew, collect, revenue };
}
