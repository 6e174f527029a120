import assert from 'node:assert/strict';
import { invoiceView } from '../../src/domain/invoice-view.ts';
import { billingHistoryPage } from '../../src/store/billing-history.ts';
import type { Store } from '../../src/store/connect.ts';
import { memberInvoices } from '../../src/store/ledger.ts';
import type { Stores } from '../../src/store/ledger-postings.ts';

/**
 * Everything billing decided, without wall-clock timestamps or surrogate ids,
 * so two stores that went through different crash histories can be compared.
 */
export async function billingState({ store: { db }, memberStore }: Stores) {
  return {
    members: await memberStore.db.selectFrom('members').select(['id', 'version', 'status', 'next_due', 'data']).orderBy('id').execute()
      .then((rows) => rows.map(({ version: _v, ...r }) => r)),
    invoices: await db.selectFrom('invoices').selectAll().orderBy('id').execute(),
    lines: await db.selectFrom('invoice_lines').selectAll().orderBy('invoice_id').orderBy('line_no').execute(),
    billingHistory: await db.selectFrom('billing_history').selectAll().orderBy('member_id').orderBy('number').execute(),
    attempts: await db.selectFrom('payment_attempts').selectAll().orderBy('idem_key').execute(),
    payments: await db.selectFrom('payments').selectAll().orderBy('id').execute(),
    refunds: await db.selectFrom('refunds').selectAll().orderBy('id').execute(),
    journal: await db.selectFrom('journal').select(['entry_key', 'account', 'business_date', 'member_id', 'country', 'currency', 'kind', 'debit', 'credit'])
      .orderBy('entry_key').orderBy('account').execute(),
    outbox: await db.selectFrom('outbox').select(['event_id', 'type', 'member_id', 'occurred_on', 'payload']).orderBy('event_id').execute(),
    charges: await db.selectFrom('processor_charges').selectAll().orderBy('idem_key').execute(),
    revenue: await db.selectFrom('revenue_days').select(['business_date', 'report']).orderBy('business_date').execute(),
    pendingPostings: await memberStore.db.selectFrom('ledger_postings').select('body').orderBy('id').execute(),
  };
}

/**
 * The billing history read model says exactly what the relational invoices and lines
 * say: every member's history, read a page of `pageSize` at a time through the cursor,
 * is their invoices rendered afresh, newest first.
 */
export async function assertBillingHistoryRendersLedger(store: Store, pageSize = 2): Promise<number> {
  const members = await store.db.selectFrom('invoices').select('member_id').distinct().execute();
  const recorded = await store.db.selectFrom('billing_history').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  let invoices = 0;
  for (const { member_id: id } of members) {
    const expected = (await memberInvoices(store.db, id)).reverse().map(invoiceView);
    const served: unknown[] = [];
    let cursor: number | null = null;
    for (let pages = 0; ; pages++) {
      assert.ok(pages <= expected.length, `billing history of ${id} does not end`);
      const page = await billingHistoryPage(store, id, cursor, pageSize);
      served.push(...page.invoices.map((j) => JSON.parse(j) as unknown));
      if (page.nextCursor === null) break;
      cursor = Number(page.nextCursor);
    }
    assert.deepEqual(served, expected, `billing history of ${id}`);
    invoices += expected.length;
  }
  assert.equal(Number(recorded.n), invoices, 'one billing history row per invoice');
  return invoices;
}
