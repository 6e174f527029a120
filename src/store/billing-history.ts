import { sql, type Kysely } from 'kysely';
import { invoiceHeadView, invoiceLinesView } from '../domain/invoice-view.ts';
import type { Invoice } from '../domain/invoice.ts';
import { insertNew, upsert } from './bulk.ts';
import type { Store } from './connect.ts';
import type { BillingHistoryRow, Schema } from './schema.ts';

/*
 * The billing history read model: each invoice's public JSON, kept per member in
 * invoice-number order beside the relational invoice it renders. A member's
 * billing-history page is the API's hottest read; served from here it is one
 * range read on the member's key and a string join, where rebuilding it from
 * invoices and lines costs two reads, an object per field and a serialization.
 * The ledger writes it in the same transaction as the invoices it derives from.
 */

/**
 * JSON with every non-ASCII character written as a \u escape (the same JSON value):
 * the text then stays one byte per character from the store to the socket, with no
 * UTF-8 decoding and encoding on every request for a line description's en dash.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function historyRow(i: Invoice): BillingHistoryRow {
  return { member_id: i.memberId, number: i.number, invoice: asciiJson(invoiceHeadView(i)), lines: asciiJson(invoiceLinesView(i.lines, i.currency)) };
}

/** Newly issued invoices, lines included; an invoice already recorded is left as it is. */
export async function recordIssued(db: Kysely<Schema>, invoices: readonly Invoice[]): Promise<void> {
  await insertNew(db, 'billing_history', invoices.map(historyRow));
}

/**
 * Lifecycle changes of issued invoices: only the invoice part is rewritten. Callers
 * may hold an invoice without its lines (collection reads none), so the lines of
 * an update row are never written over a recorded invoice's.
 */
export async function recordChanged(db: Kysely<Schema>, invoices: readonly Invoice[]): Promise<void> {
  await upsert(db, 'billing_history', ['member_id', 'number'], invoices.map(historyRow), ['invoice']);
}

/** An invoice as the API shows it: its stored parts joined into one JSON object, lines last. */
export function invoiceJson(row: Pick<BillingHistoryRow, 'invoice' | 'lines'>): string {
  return `${row.invoice.slice(0, -1)},"lines":${row.lines}}`;
}

/**
 * A page of a member's billing history, newest first, as JSON texts ready to send;
 * the cursor is the last invoice number on the page.
 */
export async function billingHistoryPage({ db, read }: Pick<Store, 'db' | 'read'>, memberId: string, before: number | null, limit: number): Promise<{ invoices: string[]; nextCursor: string | null }> {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`page size must be a positive whole number, got ${limit}`);
  const params = before === null ? [memberId] : [memberId, before];
  // The page size is written into the statement, not bound: SQLite plans a bound LIMIT
  // without knowing it is small, and the same read then costs more than twice as much.
  const rows = await read(`billing-history:${before === null ? 'first' : 'next'}:${limit}`, params, () => {
    let q = db.selectFrom('billing_history').select(['number', 'invoice', 'lines']).where('member_id', '=', memberId);
    if (before !== null) q = q.where('number', '<', before);
    return q.orderBy('number', 'desc').limit(sql.lit(limit + 1));
  });
  const page = rows.length > limit ? rows.slice(0, limit) : rows;
  return { invoices: page.map(invoiceJson), nextCursor: rows.length > limit ? String(page.at(-1)!.number) : null };
}
