import { archiveViews } from '../archive/archive-answers.ts';
import type { Services } from '../jobs/services.ts';
import { queryViews } from '../troubleshoot/query.ts';
import { queryOptions, stdoutQueryOutput } from './export.ts';

const usageLine = 'usage: tally archive query "SQL" [--format table|csv|json] [--limit N]';

/**
 * `tally archive query "SQL"`: DuckDB over the archive, a view per archived table (invoices,
 * invoice_lines, payments, journal, revenue_days, audit_log, …) over the files that answer for
 * it, and `manifest`. The hot store is not in it: this is what the archive alone holds.
 */
export async function archiveQueryCommand(svc: Services, args: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  const [sqlText, extra] = args;
  if (!sqlText?.trim()) throw usageError(`archive query needs an SQL statement; ${usageLine}`);
  if (extra !== undefined) throw usageError(`archive query takes one SQL argument (quote it), got also "${extra}"; ${usageLine}`);
  const opts = queryOptions(values, usageError);
  await queryViews(await archiveViews(svc.store.db), sqlText, { ...opts, command: 'tally archive query' }, stdoutQueryOutput);
  return 0;
}
