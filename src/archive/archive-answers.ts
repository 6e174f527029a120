import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { Kysely, Selectable } from 'kysely';
import type { ArchiveFileRow, AuditRow, ChargebackRow, InvoiceLineRow, InvoiceRow, PaymentAttemptRow, PaymentRow, RefundRow, Schema } from '../store/schema.ts';
import { quoteText, type ColumnType } from '../troubleshoot/parquet-writer.ts';
import type { ViewSource } from '../troubleshoot/query.ts';
import { archivedTables, classSpecs, type TableSpec } from './data-classes.ts';

/**
 * Answers from the archive: which Parquet files answer for a table (the manifest's `verified` and
 * `archived` files), the views `tally archive query` runs over, and the narrow reads the
 * customer-service member view and the finance revenue route make. The hot store is not read
 * here: callers put hot rows first and take from the archive only keys the hot store lacks (a
 * `verified` file's rows may still be hot, and the hot row is the one a later change touched).
 * Among files, a key held twice (a row kept hot because it changed after its file was written,
 * archived again by a later run) is answered by the file entered in the manifest last.
 */

/** A file in these states holds rows no longer (or soon no longer) hot: it answers for them. */
export const answeringStates = ['verified', 'archived'] as const;

export interface AnsweringFile {
  id: number;
  table_name: string;
  country: string;
  year: number;
  path: string;
}

export interface FileFilter {
  countries?: readonly string[];
  /** Calendar years of the partition, inclusive. */
  years?: readonly [number, number];
}

/** The answering files of a table, in manifest order (so a later file's row wins). */
export async function answeringFiles(ledger: Kysely<Schema>, table: string, filter: FileFilter = {}): Promise<AnsweringFile[]> {
  let q = ledger.selectFrom('archive_files').select(['id', 'table_name', 'country', 'year', 'path'])
    .where('table_name', '=', table).where('state', 'in', [...answeringStates]);
  if (filter.countries) q = q.where('country', 'in', [...filter.countries]);
  if (filter.years) q = q.where('year', '>=', filter.years[0]).where('year', '<=', filter.years[1]);
  return q.orderBy('id').execute();
}

/** The manifest's columns as `tally archive query` shows them (a column added to the manifest later joins the view when listed here). */
const manifestColumns: Partial<Record<keyof ArchiveFileRow, ColumnType>> = {
  id: 'BIGINT', batch: 'VARCHAR', class: 'VARCHAR', table_name: 'VARCHAR', country: 'VARCHAR', year: 'BIGINT', path: 'VARCHAR',
  state: 'VARCHAR', row_count: 'BIGINT', bytes: 'BIGINT', checksum: 'VARCHAR', min_date: 'VARCHAR', max_date: 'VARCHAR',
  run_id: 'BIGINT', created_at: 'VARCHAR', updated_at: 'VARCHAR', error: 'VARCHAR',
};

/**
 * `tally archive query`'s views: one per table the archive can hold, over its answering files (a
 * table nothing was archived from yet is an empty view with its columns, so a query written today
 * runs the same once there is history), and `manifest`, every manifest row in any state.
 */
export async function archiveViews(ledger: Kysely<Schema>): Promise<Map<string, ViewSource>> {
  const manifest = await ledger.selectFrom('archive_files').selectAll().orderBy('id').execute();
  const answering = new Set<string>(answeringStates);
  const views = new Map<string, ViewSource>();
  for (const [table, { spec }] of archivedTables()) {
    const files = manifest.filter((f) => f.table_name === table && answering.has(f.state)).map((f) => f.path);
    views.set(table, { files, columns: spec.columns, key: spec.key });
  }
  views.set('manifest', { rows: manifest, columns: manifestColumns as Record<string, ColumnType> });
  return views;
}

type Row = Record<string, unknown>;

const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * One table's rows from these files meeting `where` (SQL over the file's columns, `$1`… bound to
 * `values`), each key once, typed as the hot store hands rows back: integers as numbers.
 */
async function readRows(duck: DuckDBConnection, spec: TableSpec, files: readonly AnsweringFile[], where: string, values: DuckDBValue[]): Promise<Row[]> {
  if (!files.length) return [];
  const names = Object.keys(spec.columns);
  const select = names.map((n) => `cast(${quoteId(n)} as ${spec.columns[n]}) as ${quoteId(n)}`).join(', ');
  const reader = await duck.runAndReadAll(
    `select ${select}, filename as __file from read_parquet([${files.map((f) => quoteText(f.path)).join(', ')}], filename = true) where ${where}`, values);
  const rank = new Map(files.map((f) => [f.path, f.id]));
  const byKey = new Map<string, { rank: number; row: Row }>();
  for (const raw of reader.getRowObjects()) {
    const row: Row = {};
    for (const n of names) row[n] = typeof raw[n] === 'bigint' ? Number(raw[n]) : raw[n];
    const key = spec.key.map((k) => String(row[k])).join('\x1f');
    const r = rank.get(String(raw.__file)) ?? -1;
    const held = byKey.get(key);
    if (!held || held.rank < r) byKey.set(key, { rank: r, row });
  }
  return [...byKey.values()].map((v) => v.row);
}

async function withDuck<T>(work: (duck: DuckDBConnection) => Promise<T>): Promise<T> {
  // One per answer, inside the API's process: a member's or a range's files are few and small, and
  // DuckDB would otherwise take every core and most of the memory for each concurrent request.
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '256MB' });
  const duck = await instance.connect();
  try {
    return await work(duck);
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
}

const tableSpec = (table: string): TableSpec => archivedTables().get(table)!.spec;

/** What the archive holds of one member, as the hot store's rows. */
export interface ArchivedHistory {
  invoices: Selectable<InvoiceRow>[];
  /** The lines of the archived invoices above. */
  lines: Selectable<InvoiceLineRow>[];
  attempts: Selectable<PaymentAttemptRow>[];
  payments: Selectable<PaymentRow>[];
  refunds: Selectable<RefundRow>[];
  chargebacks: Selectable<ChargebackRow>[];
  audit: Selectable<AuditRow>[];
}

const memberTables = ['invoices', 'payment_attempts', 'payments', 'refunds', 'chargebacks', 'audit_log'] as const;

/**
 * A member's rows in the archive. Only the member's country partition is read (and `_`, where a
 * row whose member was unknown when archived went): an invoice carries the member's country, and
 * payments, refunds, chargebacks and audit entries were filed under it. No file, no DuckDB.
 */
export async function archivedMemberHistory(ledger: Kysely<Schema>, member: { id: string; country: string }): Promise<ArchivedHistory> {
  const countries = [member.country, '_'];
  const files = new Map(await Promise.all(memberTables.map(async (t) => [t, await answeringFiles(ledger, t, { countries })] as const)));
  const lineFiles = await answeringFiles(ledger, 'invoice_lines', { countries });
  const empty: ArchivedHistory = { invoices: [], lines: [], attempts: [], payments: [], refunds: [], chargebacks: [], audit: [] };
  if (![...files.values()].some((f) => f.length)) return empty;
  return withDuck(async (duck) => {
    const of = async <T>(table: (typeof memberTables)[number]) => (await readRows(duck, tableSpec(table), files.get(table)!, 'member_id = $1', [member.id])) as T[];
    const invoices = await of<Selectable<InvoiceRow>>('invoices');
    const ids = invoices.map((i) => i.id);
    const lines = ids.length ? await readRows(duck, tableSpec('invoice_lines'), lineFiles, `invoice_id in (${ids.map(quoteText).join(', ')})`, []) : [];
    return {
      invoices,
      lines: lines as Selectable<InvoiceLineRow>[],
      attempts: await of<Selectable<PaymentAttemptRow>>('payment_attempts'),
      payments: await of<Selectable<PaymentRow>>('payments'),
      refunds: await of<Selectable<RefundRow>>('refunds'),
      chargebacks: await of<Selectable<ChargebackRow>>('chargebacks'),
      audit: await of<Selectable<AuditRow>>('audit_log'),
    };
  });
}

/** Closed revenue days from `from` to `to` (inclusive) the archive holds, by date. */
export async function archivedRevenueDays(ledger: Kysely<Schema>, from: string, to: string): Promise<{ business_date: string; report: string }[]> {
  const spec = classSpecs['revenue-days'].units[0]!.anchor;
  const files = await answeringFiles(ledger, spec.table, { years: [Number(from.slice(0, 4)), Number(to.slice(0, 4))] });
  if (!files.length) return [];
  const rows = await withDuck((duck) => readRows(duck, spec, files, 'business_date between $1 and $2', [from, to]));
  return (rows as { business_date: string; report: string }[]).sort((a, b) => (a.business_date < b.business_date ? -1 : 1));
}
