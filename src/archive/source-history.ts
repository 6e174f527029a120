import { Temporal } from 'temporal-polyfill';
import { InvalidInput } from '../domain/errors.ts';
import type { InvoiceStatus } from '../domain/invoice.ts';
import type { SourceAdapter } from '../migration/migrate-country.ts';
import { invoiceToRow, lineToRow } from '../store/ledger.ts';
import { openParquetWriter } from '../troubleshoot/parquet-writer.ts';
import { ClassRun, finishUnsettled, newClassResult, removeScratch, type ArchiveStores, type ClassResult, type OpenBatch, type RunOptions } from './archive-run.ts';
import { classSpecs } from './data-classes.ts';

/**
 * `tally archive legacy`: the history a migration left in its source — invoices issued before
 * the migration's horizon that no open process needed, with their lines, payments, attempts,
 * refunds and chargebacks — read from the source again, carried through the same pure
 * transform (so every invoice keeps the number the migration gave it), and written into the
 * archive as the `legacy-history` class, where the customer-service view and `archive query`
 * find it next to Tally's own archived history. Nothing is deleted in the source: retiring the
 * legacy is the team's decision once this is done.
 */

export interface SourceHistoryOptions {
  country: string;
  root: string;
  runId: number;
  /** Members read from the source per batch (default 500). */
  pageSize?: number;
  checkpoint?: RunOptions['checkpoint'];
  progress?: (members: number) => void;
}

export interface SourceHistoryResult extends ClassResult {
  country: string;
  members: number;
  invoices: number;
  /** Members whose source history no longer matches what the migration left out (changed since): not archived, listed. */
  changedSinceMigration: string[];
}

/** What the transform leaves out (see legacy-history.ts and killbill-history.ts): settled invoices before the horizon. */
const stillOpen = new Set<InvoiceStatus>(['open', 'past_due', 'uncollectible']);

function horizonOf(options: string): string {
  const o = JSON.parse(options) as { asOf?: string; horizonMonths?: number };
  if (!o.asOf) throw new InvalidInput('migration', 'a migration run of these members recorded no as-of day, so what it left in the source cannot be told; migrate them again with tally migrate');
  return Temporal.PlainDate.from(o.asOf).subtract({ months: o.horizonMonths ?? 24 }).toString();
}

/**
 * `adapter` must transform with a horizon that keeps everything (its history then holds every
 * invoice, numbered as the migration numbered them); which of them the migration left out is
 * decided here from the horizon the member's migration run recorded.
 */
export async function archiveSourceHistory<M>(stores: ArchiveStores, adapter: SourceAdapter<M>, opts: SourceHistoryOptions): Promise<SourceHistoryResult> {
  const { ledger } = stores;
  const cls = classSpecs['legacy-history'];
  const unit = cls.units[0]!;
  const runOpts: RunOptions = { cutoffs: {} as RunOptions['cutoffs'], purgeOnly: new Set(), root: opts.root, runId: opts.runId, checkpoint: opts.checkpoint };
  const result: SourceHistoryResult = { ...newClassResult('legacy-history'), country: opts.country, members: 0, invoices: 0, changedSinceMigration: [] };
  removeScratch(opts.root);
  const writer = await openParquetWriter(opts.root);
  try {
    await finishUnsettled(stores, writer.connection, runOpts, new Map([['legacy-history', result]]));
    const run = new ClassRun(cls, ledger, stores, writer, runOpts);
    const horizons = new Map<number, string>();
    let after = '';
    for (;;) {
      const page = await ledger.selectFrom('migrated_members as m')
        .leftJoin('legacy_history_archived as h', 'h.member_id', 'm.member_id')
        .select(['m.member_id', 'm.run_id', 'm.invoices_left_out'])
        .where('m.source', '=', adapter.source.name).where('m.country', '=', opts.country).where('m.invoices_left_out', '>', 0)
        .where('h.member_id', 'is', null).where('m.member_id', '>', after)
        .orderBy('m.member_id').limit(opts.pageSize ?? 500).execute();
      if (!page.length) break;
      after = page[page.length - 1]!.member_id;
      for (const runId of new Set(page.map((p) => p.run_id))) {
        if (horizons.has(runId)) continue;
        const r = await ledger.selectFrom('migration_runs').select('options').where('id', '=', runId).executeTakeFirstOrThrow();
        horizons.set(runId, horizonOf(r.options));
      }
      const wanted = new Map(page.map((p) => [p.member_id, p]));
      const found = await adapter.source.members(opts.country, page.map((p) => p.member_id));
      const byYear = new Map<number, { invoices: Record<string, unknown>[]; children: Record<string, unknown>[][] }>();
      for (const m of found) {
        const outcome = adapter.transform(m);
        const row = wanted.get(outcome.memberId);
        if (!row || !outcome.history) continue;
        const horizon = horizons.get(row.run_id)!;
        const h = outcome.history;
        const leftOut = h.invoices.filter((i) => i.issuedOn < horizon && !stillOpen.has(i.status));
        if (leftOut.length !== Number(row.invoices_left_out)) {
          // The source changed since the migration (or its horizon): archiving now could disagree with what is hot.
          result.changedSinceMigration.push(outcome.memberId);
          continue;
        }
        const ids = new Set(leftOut.map((i) => i.id));
        const of = <R extends { invoice_id: string }>(rows: readonly R[]) => rows.filter((r) => ids.has(r.invoice_id));
        for (const i of leftOut) {
          const year = Number(i.issuedOn.slice(0, 4));
          const part = byYear.get(year) ?? byYear.set(year, { invoices: [], children: [[], [], [], [], []] }).get(year)!;
          part.invoices.push({ ...invoiceToRow(i) });
          part.children[0]!.push(...i.lines.map((l) => ({ ...lineToRow(i.id, l) })));
        }
        for (const part of byYear.values()) {
          const inPart = new Set(part.invoices.map((i) => String(i.id)));
          const mine = <R extends { invoice_id: string }>(rows: readonly R[]): Record<string, unknown>[] => of(rows).filter((r) => inPart.has(r.invoice_id)).map((r) => ({ ...r }));
          part.children[1]!.push(...mine(h.payments));
          part.children[2]!.push(...mine(h.attempts));
          part.children[3]!.push(...mine(h.refunds));
          part.children[4]!.push(...mine(h.chargebacks));
        }
        result.members++;
        result.invoices += leftOut.length;
      }
      // One batch for the page, a file per table and year: a member is marked archived only once all of its years are verified.
      const name = `${opts.runId}-legacy-${opts.country}-${after}`;
      const files: OpenBatch['files'] = [];
      for (const [year, part] of byYear) {
        const batch = await run.openBatch(unit, opts.country, year, name);
        run.appendToBatch(batch, unit, part.invoices, part.children);
        files.push(...batch.files);
      }
      if (files.length) await run.finishBatch({ name, files, anchorRows: 0 }, unit);
      opts.progress?.(result.members);
    }
    Object.assign(result, { archived: run.result.archived + result.archived, files: run.result.files + result.files, bytes: run.result.bytes + result.bytes });
    return result;
  } finally {
    writer.close();
  }
}
