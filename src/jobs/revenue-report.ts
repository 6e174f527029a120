import { businessDate, parseIsoDate } from '../domain/calendar.ts';
import { InvalidInput } from '../domain/errors.ts';
import { revenueReport, type JournalTotal, type RevenueReport } from '../domain/revenue.ts';
import { recordRun } from './run-record.ts';
import type { Services } from './services.ts';
import { insertNew } from '../store/bulk.ts';
import { applyPendingPostings } from '../store/ledger-postings.ts';

/**
 * Revenue Reporting for a business day. The first report of a day closes it:
 * the figures are stored and every later report of that day returns them
 * unchanged; anything booked afterwards lands on a later day.
 */
export async function runRevenueReport(svc: Services, date: string): Promise<RevenueReport> {
  const { db } = svc.store;
  // Closing a day that is not over would freeze it before its bookings arrive and push every later one past it.
  const today = businessDate((svc.clock ?? Date.now)(), svc.reportingTimeZone);
  if (parseIsoDate(date, 'date') >= today) {
    throw new InvalidInput('date', `business day ${date} is not over yet in ${svc.reportingTimeZone} (today is ${today}); it can be closed once it is over`, date);
  }
  let report: RevenueReport | undefined;
  await recordRun(db, 'report-revenue', date, async () => {
    // Postings a crash left in the member store belong to the journal being closed.
    await applyPendingPostings(svc);
    const closed = await db.selectFrom('revenue_days').select('report').where('business_date', '=', date).executeTakeFirst();
    if (closed) {
      report = JSON.parse(closed.report) as RevenueReport;
      return { counts: { lines: report.lines.length, reused: 1 }, errors: [] };
    }
    const rows = await db
      .selectFrom('journal')
      .select((eb) => ['country', 'currency', 'kind', 'account', eb.fn.sum<number>('debit').as('debit'), eb.fn.sum<number>('credit').as('credit')])
      .where('business_date', '=', date)
      .groupBy(['country', 'currency', 'kind', 'account'])
      .execute();
    const totals = rows.map((r) => ({ ...r, debit: Number(r.debit), credit: Number(r.credit) })) as JournalTotal[];
    const fresh = revenueReport(date, totals);
    await insertNew(db, 'revenue_days', [{ business_date: date, closed_at: new Date().toISOString(), report: JSON.stringify(fresh) }]);
    // Another run may have closed the day first: what is stored is the truth.
    const stored = await db.selectFrom('revenue_days').select('report').where('business_date', '=', date).executeTakeFirstOrThrow();
    report = JSON.parse(stored.report) as RevenueReport;
    if (!report.balanced) svc.log.error({ job: 'report-revenue', date, balances: report.balances }, 'journal does not balance');
    return { counts: { lines: report.lines.length, reused: 0 }, errors: report.balanced ? [] : [{ item: date, message: 'journal does not balance' }] };
  });
  return report!;
}
