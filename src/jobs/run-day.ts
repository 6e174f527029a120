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

/** The three daily jobs in order: bill, collect, then close the day's revenue. */
export async function runDay(svc: Services, date: string, opts: { renew?: JobOptions; collect?: JobOptions } = {}): Promise<DayResult> {
  const renew = await runRenewal(svc, date, opts.renew);
  const collect = await runCollection(svc, date, opts.collect);
  const revenue = await runRevenueReport(svc, date);
  return { date, renew, collect, revenue };
}
