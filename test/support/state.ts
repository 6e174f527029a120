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
