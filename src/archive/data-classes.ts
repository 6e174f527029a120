import type { ColumnType } from '../troubleshoot/parquet-writer.ts';
import type { DataClass } from './policy.ts';

/**
 * What each data class of the retention policy is in the store: its tables, keys, the date the
 * policy counts from, which rows an open process still needs (never moved), and how a row finds
 * its country for the archive's partitions. Plain data, read by the run, the purge, the answers
 * from the archive and the forgetting of a member.
 */

export interface TableSpec {
  table: string;
  /** The primary key: what a row is deleted and de-duplicated by. */
  key: readonly string[];
  /** Every column, in file order, with its Parquet type (integers exact, the rest text as stored). */
  columns: Readonly<Record<string, ColumnType>>;
}

/** A table whose rows leave with their parent's (an invoice's lines): archived in a file of their own, deleted by the link. */
export interface ChildSpec extends TableSpec {
  /** child column → parent column */
  link: readonly [string, string];
}

export interface Unit {
  anchor: TableSpec;
  /** The column the policy's age is counted from, and whether it holds a date or a timestamp. */
  date: string;
  dateKind: 'date' | 'timestamp';
  /**
   * SQL over the anchor table (aliased `a`) that a row must meet to leave the hot store: what
   * no open process needs. Re-applied in the delete itself, so a row that became open again
   * between writing and deleting stays hot.
   */
  settled?: string;
  /** Where the row's country comes from: a column of its own, its member's, or none. */
  country: { column: string } | 'member' | 'none';
  children?: readonly ChildSpec[];
  /** Rows derived from the anchor (a member's billing-history page), deleted with it, not archived: the archive holds their source. */
  derived?: { table: string; columns: readonly (readonly [string, string])[] };
}

export interface ClassSpec {
  name: DataClass;
  /** The member store holds members and the audit log; everything else lives in the ledger store. */
  store: 'ledger' | 'member';
  units: readonly Unit[];
  /**
   * Rows that come from a migration's source, not from the hot store (`tally archive legacy`):
   * the run only expires their files; `units` then only describe the files' tables.
   */
  fromSource?: true;
  /** Columns holding a person's data, scrubbed when the member asks to be forgotten. */
  personal?: Readonly<Record<string, readonly string[]>>;
}

const B = 'BIGINT' as const;
const V = 'VARCHAR' as const;

const paymentColumns = { id: V, invoice_id: V, member_id: V, amount: B, currency: V, reference: V, paid_on: V } as const;
const attemptColumns = { idem_key: V, invoice_id: V, member_id: V, attempt_no: B, amount: B, currency: V, status: V, decline_code: V, attempted_on: V, reference: V } as const;
const refundColumns = { id: V, invoice_id: V, member_id: V, amount: B, tax: B, currency: V, reason: V, refunded_on: V, reference: V, status: V } as const;
const chargebackColumns = { id: V, invoice_id: V, member_id: V, amount: B, fee: B, currency: V, received_on: V } as const;

const invoiceColumns = {
  id: V, member_id: V, number: B, subscription_id: V, kind: V, idem_key: V, country: V, region: V, currency: V,
  period_start: V, period_end: V, issued_on: V, subtotal: B, discount: B, tax: B, total: B, gift_card_applied: B,
  credit_applied: B, amount_due: B, charged: B, refunded: B, status: V, attempt_count: B, first_failed_on: V,
  next_attempt_on: V, catalog_version: B,
} as const;

const lineColumns = {
  invoice_id: V, line_no: B, kind: V, description: V, plan_id: V, period_start: V, period_end: V, amount: B,
  discount: B, net: B, tax: B, total: B, tax_rate_ppm: B, tax_name: V,
} as const;

/** Invoices a process still works on: open or in dunning, written off (a late payment may still come), disputed, or with a refund in flight. */
const openInvoiceStatuses = `('open', 'past_due', 'uncollectible', 'disputed')`;
const invoiceSettled = (alias: string) => `${alias}.status not in ${openInvoiceStatuses}`;
const invoiceOfRowSettled = `not exists (select 1 from invoices i where i.id = a.invoice_id and not (${invoiceSettled('i')}))`;

export const classSpecs: Readonly<Record<DataClass, ClassSpec>> = {
  invoices: {
    name: 'invoices',
    store: 'ledger',
    units: [{
      anchor: { table: 'invoices', key: ['id'], columns: invoiceColumns },
      date: 'issued_on',
      dateKind: 'date',
      settled: `${invoiceSettled('a')} and not exists (select 1 from refunds r where r.invoice_id = a.id and r.status = 'pending')`,
      country: { column: 'country' },
      children: [{ table: 'invoice_lines', key: ['invoice_id', 'line_no'], columns: lineColumns, link: ['invoice_id', 'id'] }],
      derived: { table: 'billing_history', columns: [['member_id', 'member_id'], ['number', 'number']] },
    }],
  },
  payments: {
    name: 'payments',
    store: 'ledger',
    units: [
      {
        anchor: { table: 'payments', key: ['id'], columns: paymentColumns },
        date: 'paid_on', dateKind: 'date', settled: invoiceOfRowSettled, country: 'member',
      },
      {
        anchor: { table: 'payment_attempts', key: ['idem_key'], columns: attemptColumns },
        date: 'attempted_on', dateKind: 'date', settled: `a.status <> 'pending' and ${invoiceOfRowSettled}`, country: 'member',
      },
    ],
  },
  'refunds-chargebacks': {
    name: 'refunds-chargebacks',
    store: 'ledger',
    units: [
      {
        anchor: { table: 'refunds', key: ['id'], columns: refundColumns },
        date: 'refunded_on', dateKind: 'date', settled: `a.status <> 'pending' and ${invoiceOfRowSettled}`, country: 'member',
      },
      {
        anchor: { table: 'chargebacks', key: ['id'], columns: chargebackColumns },
        date: 'received_on', dateKind: 'date', settled: invoiceOfRowSettled, country: 'member',
      },
    ],
  },
  journal: {
    name: 'journal',
    store: 'ledger',
    units: [{
      anchor: {
        table: 'journal', key: ['id'],
        columns: { id: B, entry_key: V, business_date: V, member_id: V, country: V, currency: V, kind: V, account: V, debit: B, credit: B },
      },
      date: 'business_date',
      dateKind: 'date',
      // A day's entries leave only once finance has closed the day: its revenue report is what answers for them.
      settled: 'exists (select 1 from revenue_days d where d.business_date = a.business_date)',
      country: { column: 'country' },
    }],
  },
  'revenue-days': {
    name: 'revenue-days',
    store: 'ledger',
    units: [{
      anchor: { table: 'revenue_days', key: ['business_date'], columns: { business_date: V, closed_at: V, report: V } },
      date: 'business_date', dateKind: 'date', country: 'none',
    }],
  },
  audit: {
    name: 'audit',
    store: 'member',
    units: [{
      anchor: {
        table: 'audit_log', key: ['id'],
        columns: { id: B, at: V, actor: V, action: V, member_id: V, reason: V, request: V, before: V, after: V },
      },
      date: 'at', dateKind: 'timestamp', country: 'member',
    }],
    // An agent's free-text reason may quote the member's email.
    personal: { audit_log: ['reason', 'request', 'before', 'after'] },
  },
  outbox: {
    name: 'outbox',
    store: 'ledger',
    units: [{
      anchor: {
        table: 'outbox', key: ['id'],
        columns: { id: B, event_id: V, member_id: V, type: V, occurred_on: V, payload: V, created_at: V, published_at: V },
      },
      // Counted from publishing: an event the relay has not yet delivered is never purged, however old.
      date: 'published_at', dateKind: 'timestamp', settled: 'a.published_at is not null', country: 'none',
    }],
  },
  'processed-events': {
    name: 'processed-events',
    store: 'ledger',
    units: [{
      anchor: { table: 'processed_events', key: ['consumer', 'event_id'], columns: { consumer: V, event_id: V, processed_at: V } },
      date: 'processed_at', dateKind: 'timestamp', country: 'none',
    }],
  },
  'idempotency-keys': {
    name: 'idempotency-keys',
    store: 'ledger',
    units: [{
      anchor: {
        table: 'idempotency_keys', key: ['api_key_id', 'idem_key'],
        columns: { api_key_id: V, idem_key: V, request_hash: V, status_code: B, response: V, created_at: V },
      },
      date: 'created_at', dateKind: 'timestamp', country: 'none',
    }],
  },
  'job-runs': {
    name: 'job-runs',
    store: 'ledger',
    units: [{
      anchor: {
        table: 'job_runs', key: ['id'],
        columns: { id: B, job: V, business_date: V, status: V, started_at: V, finished_at: V, counts: V, errors: V },
      },
      date: 'started_at', dateKind: 'timestamp', settled: `a.status <> 'running'`, country: 'none',
    }],
  },
  quarantine: {
    name: 'quarantine',
    store: 'ledger',
    units: [{
      anchor: {
        table: 'migration_quarantine', key: ['source', 'source_key'],
        columns: { source: V, source_key: V, member_id: V, country: V, run_id: B, reasons: V, quarantined_at: V },
      },
      date: 'quarantined_at', dateKind: 'timestamp', country: { column: 'country' },
    }],
    personal: { migration_quarantine: ['reasons'] },
  },
  'legacy-history': {
    name: 'legacy-history',
    store: 'ledger',
    fromSource: true,
    // One unit: a batch's files are written, verified and marked together; the invoice file carries the dates.
    units: [{
      anchor: { table: 'invoices', key: ['id'], columns: invoiceColumns },
      date: 'issued_on',
      dateKind: 'date',
      country: { column: 'country' },
      children: [
        { table: 'invoice_lines', key: ['invoice_id', 'line_no'], columns: lineColumns, link: ['invoice_id', 'id'] },
        { table: 'payments', key: ['id'], columns: paymentColumns, link: ['invoice_id', 'id'] },
        { table: 'payment_attempts', key: ['idem_key'], columns: attemptColumns, link: ['invoice_id', 'id'] },
        { table: 'refunds', key: ['id'], columns: refundColumns, link: ['invoice_id', 'id'] },
        { table: 'chargebacks', key: ['id'], columns: chargebackColumns, link: ['invoice_id', 'id'] },
      ],
    }],
  },
};

/** Every table the archive can hold, with its spec: the views `tally archive query` offers. */
export function archivedTables(): Map<string, { cls: ClassSpec; spec: TableSpec }> {
  const out = new Map<string, { cls: ClassSpec; spec: TableSpec }>();
  for (const cls of Object.values(classSpecs)) {
    // The source's history shares the tables (and views) of Tally's own classes.
    if (cls.fromSource) continue;
    for (const unit of cls.units) {
      out.set(unit.anchor.table, { cls, spec: unit.anchor });
      for (const child of unit.children ?? []) out.set(child.table, { cls, spec: child });
    }
  }
  return out;
}
