import assert from 'node:assert/strict';
import type { Stores } from '../../src/store/ledger-postings.ts';

/** Currencies whose journal debits and credits differ (empty when the journal balances). */
export async function journalImbalance({ store: { db } }: Stores): Promise<{ currency: string; debit: number; credit: number }[]> {
  const rows = await db.selectFrom('journal')
    .select((eb) => ['currency', eb.fn.sum<number>('debit').as('debit'), eb.fn.sum<number>('credit').as('credit')])
    .groupBy('currency').execute();
  return rows.map((r) => ({ currency: r.currency, debit: Number(r.debit), credit: Number(r.credit) })).filter((r) => r.debit !== r.credit);
}

/**
 * Money moved once: per invoice, what the processor refunded equals the refunds the
 * ledger booked and the invoice's refunded amount, and never exceeds what was charged;
 * no refund intent is left pending; every processor charge or refund has its ledger record.
 */
export async function moneyMovedOnce({ store: { db } }: Stores): Promise<void> {
  const processorRefunds = await db.selectFrom('processor_charges').select(['idem_key', 'amount']).where('kind', '=', 'refund').execute();
  const refunds = await db.selectFrom('refunds').select(['id', 'invoice_id', 'amount', 'status']).execute();
  assert.deepEqual(refunds.filter((r) => r.status === 'pending'), [], 'refund intents left pending');
  const booked = new Map(refunds.filter((r) => r.status === 'succeeded').map((r) => [r.id, r]));
  const orphans = processorRefunds.filter((p) => !booked.has(p.idem_key));
  assert.deepEqual(orphans, [], 'gateway refunds without a ledger refund');
  for (const p of processorRefunds) assert.equal(Number(p.amount), Number(booked.get(p.idem_key)!.amount), `refund ${p.idem_key}: gateway and ledger amounts differ`);
  assert.equal(processorRefunds.length, booked.size, 'ledger refunds the gateway never made');

  const invoices = await db.selectFrom('invoices').select(['id', 'charged', 'refunded']).execute();
  const refundedBy = new Map<string, number>();
  for (const r of booked.values()) refundedBy.set(r.invoice_id, (refundedBy.get(r.invoice_id) ?? 0) + Number(r.amount));
  for (const i of invoices) {
    assert.equal(Number(i.refunded), refundedBy.get(i.id) ?? 0, `invoice ${i.id}: refunded field and refunds differ`);
    assert.ok(Number(i.refunded) <= Number(i.charged), `invoice ${i.id}: refunded ${i.refunded} of ${i.charged} charged`);
  }
  const charges = await db.selectFrom('processor_charges').select(['idem_key', 'status']).where('kind', '=', 'charge').where('status', '=', 'approved').execute();
  const payments = new Set((await db.selectFrom('payments').select('id').execute()).map((p) => p.id));
  assert.deepEqual(charges.filter((c) => !payments.has(c.idem_key)).map((c) => c.idem_key), [], 'approved charges without a payment');
}
