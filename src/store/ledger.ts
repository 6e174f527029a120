import type { Kysely } from 'kysely';
import type { Invoice, InvoiceKind, InvoiceLine, InvoiceStatus } from '../domain/invoice.ts';
import type { JournalLine } from '../domain/journal.ts';
import { recordChanged, recordIssued } from './billing-history.ts';
import { cachedRead, insertNew, upsert } from './bulk.ts';
import type { InvoiceLineRow, InvoiceRow, Schema } from './schema.ts';

export function invoiceToRow(i: Invoice): InvoiceRow {
  return {
    id: i.id, member_id: i.memberId, number: i.number, subscription_id: i.subscriptionId, kind: i.kind, idem_key: i.key,
    country: i.country, region: i.region, currency: i.currency, period_start: i.periodStart, period_end: i.periodEnd,
    issued_on: i.issuedOn, subtotal: i.subtotal, discount: i.discount, tax: i.tax, total: i.total,
    gift_card_applied: i.giftCardApplied, credit_applied: i.creditApplied, amount_due: i.amountDue, charged: i.charged,
    refunded: i.refunded, status: i.status, attempt_count: i.attemptCount, first_failed_on: i.firstFailedOn,
    next_attempt_on: i.nextAttemptOn, catalog_version: i.catalogVersion ?? null,
  };
}

export function rowToInvoice(r: InvoiceRow, lines: InvoiceLine[] = []): Invoice {
  return {
    id: r.id, memberId: r.member_id, number: r.number, subscriptionId: r.subscription_id, kind: r.kind as InvoiceKind,
    key: r.idem_key, country: r.country, region: r.region, currency: r.currency, periodStart: r.period_start,
    periodEnd: r.period_end, issuedOn: r.issued_on, subtotal: r.subtotal, discount: r.discount, tax: r.tax,
    total: r.total, giftCardApplied: r.gift_card_applied, creditApplied: r.credit_applied, amountDue: r.amount_due,
    charged: r.charged, refunded: r.refunded, status: r.status as InvoiceStatus, attemptCount: r.attempt_count,
    firstFailedOn: r.first_failed_on, nextAttemptOn: r.next_attempt_on, catalogVersion: r.catalog_version ?? null, lines,
  };
}

export function lineToRow(invoiceId: string, l: InvoiceLine): InvoiceLineRow {
  return {
    invoice_id: invoiceId, line_no: l.lineNo, kind: l.kind, description: l.description, plan_id: l.planId,
    period_start: l.periodStart, period_end: l.periodEnd, amount: l.amount, discount: l.discount, net: l.net,
    tax: l.tax, total: l.total, tax_rate_ppm: l.taxRatePpm, tax_name: l.taxName,
  };
}

export function rowToLine(r: InvoiceLineRow): InvoiceLine {
  return {
    lineNo: r.line_no, kind: r.kind as InvoiceLine['kind'], description: r.description, planId: r.plan_id,
    periodStart: r.period_start, periodEnd: r.period_end, amount: r.amount, discount: r.discount, net: r.net,
    tax: r.tax, total: r.total, taxRatePpm: r.tax_rate_ppm, taxName: r.tax_name,
  };
}

/** Insert newly issued invoices with their lines; an invoice whose idempotency key exists is skipped. */
export async function insertInvoices(db: Kysely<Schema>, invoices: Invoice[]): Promise<number> {
  const inserted = await insertNew(db, 'invoices', invoices.map(invoiceToRow));
  await insertNew(db, 'invoice_lines', invoices.flatMap((i) => i.lines.map((l) => lineToRow(i.id, l))));
  await recordIssued(db, invoices);
  return inserted;
}

const mutable = ['status', 'charged', 'refunded', 'attempt_count', 'first_failed_on', 'next_attempt_on'];

/** Persist lifecycle changes of invoices already issued. */
export async function saveInvoices(db: Kysely<Schema>, invoices: Invoice[]): Promise<void> {
  await upsert(db, 'invoices', ['id'], invoices.map(invoiceToRow), mutable);
  await recordChanged(db, invoices);
}

export async function insertJournal(db: Kysely<Schema>, lines: JournalLine[]): Promise<void> {
  await insertNew(db, 'journal', lines.map((l) => ({
    entry_key: l.entryKey, business_date: l.businessDate, member_id: l.memberId, country: l.country,
    currency: l.currency, kind: l.kind, account: l.account, debit: l.debit, credit: l.credit,
  })));
}

export interface InvoiceCursor {
  on: string;
  id: string;
}

/** Invoices with a charge attempt due by `date`, in index order after the cursor. */
export async function invoicesDue(db: Kysely<Schema>, date: string, after: InvoiceCursor | null, limit: number): Promise<{ invoices: Invoice[]; cursor: InvoiceCursor | null }> {
  let q = db.selectFrom('invoices').selectAll().where('next_attempt_on', '<=', date);
  if (after) {
    q = q.where((eb) => eb.or([eb('next_attempt_on', '>', after.on), eb.and([eb('next_attempt_on', '=', after.on), eb('id', '>', after.id)])]));
  }
  const rows = await q.orderBy('next_attempt_on').orderBy('id').limit(limit).execute();
  const last = rows.at(-1);
  return {
    invoices: rows.filter((r) => r.status === 'open' || r.status === 'past_due' || r.status === 'uncollectible').map((r) => rowToInvoice(r)),
    cursor: last ? { on: last.next_attempt_on!, id: last.id } : null,
  };
}

async function withLines(db: Kysely<Schema>, rows: InvoiceRow[]): Promise<Invoice[]> {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const lines = await cachedRead(db, `invoice-lines:${ids.length}`, ids, () => db.selectFrom('invoice_lines').selectAll().where('invoice_id', 'in', ids).orderBy('line_no'));
  const byInvoice = new Map<string, InvoiceLine[]>();
  for (const l of lines) {
    const list = byInvoice.get(l.invoice_id) ?? [];
    list.push(rowToLine(l));
    byInvoice.set(l.invoice_id, list);
  }
  return rows.map((r) => rowToInvoice(r, byInvoice.get(r.id) ?? []));
}

export async function memberInvoices(db: Kysely<Schema>, memberId: string): Promise<Invoice[]> {
  return withLines(db, await db.selectFrom('invoices').selectAll().where('member_id', '=', memberId).orderBy('number').execute());
}

/**
 * Render every invoice into the billing history, a chunk at a time in id order; a row
 * already there is kept, so an interrupted run resumes. Fills the read model for
 * invoices issued before it existed.
 */
export async function backfillBillingHistory(db: Kysely<Schema>, chunk = 1000): Promise<number> {
  let after = '';
  let written = 0;
  for (;;) {
    const rows = await db.selectFrom('invoices').selectAll().where('id', '>', after).orderBy('id').limit(chunk).execute();
    if (!rows.length) return written;
    await recordIssued(db, await withLines(db, rows));
    written += rows.length;
    after = rows.at(-1)!.id;
  }
}

export async function invoiceByNumber(db: Kysely<Schema>, memberId: string, number: number): Promise<Invoice | undefined> {
  const row = await db.selectFrom('invoices').selectAll().where('member_id', '=', memberId).where('number', '=', number).executeTakeFirst();
  return row && rowToInvoice(row);
}

export async function invoiceById(db: Kysely<Schema>, id: string): Promise<Invoice | undefined> {
  const row = await db.selectFrom('invoices').selectAll().where('id', '=', id).executeTakeFirst();
  return row && rowToInvoice(row);
}

/** The last closed revenue day: nothing may be booked on or before it any more. */
export async function lastClosedDay(db: Kysely<Schema>): Promise<string | null> {
  const row = await db.selectFrom('revenue_days').select((eb) => eb.fn.max('business_date').as('d')).executeTakeFirst();
  return (row?.d as string | null | undefined) ?? null;
}
