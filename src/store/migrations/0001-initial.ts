import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

// Column types every engine accepts (see column-types.ts); bigint for money in minor units.
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  const id = t.varchar(120);
  const date = t.varchar(10);
  const code = t.varchar(40);
  await t
    .table('members')
    .addColumn('id', t.varchar(64), (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('status', t.varchar(16), (c) => c.notNull())
    .addColumn('next_due', date)
    .addColumn('email', t.varchar(254))
    .addColumn('data', t.text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('members_due').on('members').columns(['next_due', 'id']).execute();
  await db.schema.createIndex('members_email').on('members').column('email').execute();

  await t
    .table('invoices')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('subscription_id', id, (c) => c.notNull())
    .addColumn('kind', t.varchar(16), (c) => c.notNull())
    .addColumn('idem_key', t.varchar(200), (c) => c.notNull().unique())
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('region', t.varchar(8))
    .addColumn('currency', t.varchar(3), (c) => c.notNull())
    .addColumn('period_start', date, (c) => c.notNull())
    .addColumn('period_end', date, (c) => c.notNull())
    .addColumn('issued_on', date, (c) => c.notNull())
    .addColumn('subtotal', 'bigint', (c) => c.notNull())
    .addColumn('discount', 'bigint', (c) => c.notNull())
    .addColumn('tax', 'bigint', (c) => c.notNull())
    .addColumn('total', 'bigint', (c) => c.notNull())
    .addColumn('gift_card_applied', 'bigint', (c) => c.notNull())
    .addColumn('credit_applied', 'bigint', (c) => c.notNull())
    .addColumn('amount_due', 'bigint', (c) => c.notNull())
    .addColumn('charged', 'bigint', (c) => c.notNull())
    .addColumn('refunded', 'bigint', (c) => c.notNull())
    .addColumn('status', t.varchar(24), (c) => c.notNull())
    .addColumn('attempt_count', 'integer', (c) => c.notNull())
    .addColumn('first_failed_on', date)
    .addColumn('next_attempt_on', date)
    .execute();
  await db.schema.createIndex('invoices_member').on('invoices').columns(['member_id', 'number']).unique().execute();
  await db.schema.createIndex('invoices_collect').on('invoices').columns(['next_attempt_on', 'id']).execute();

  await t
    .table('invoice_lines')
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('line_no', 'integer', (c) => c.notNull())
    .addColumn('kind', t.varchar(16), (c) => c.notNull())
    .addColumn('description', t.varchar(200), (c) => c.notNull())
    .addColumn('plan_id', t.varchar(64), (c) => c.notNull())
    .addColumn('period_start', date, (c) => c.notNull())
    .addColumn('period_end', date, (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('discount', 'bigint', (c) => c.notNull())
    .addColumn('net', 'bigint', (c) => c.notNull())
    .addColumn('tax', 'bigint', (c) => c.notNull())
    .addColumn('total', 'bigint', (c) => c.notNull())
    .addColumn('tax_rate_ppm', 'integer', (c) => c.notNull())
    .addColumn('tax_name', t.varchar(64), (c) => c.notNull())
    .addPrimaryKeyConstraint('invoice_lines_pk', ['invoice_id', 'line_no'])
    .execute();

  await t
    .table('payment_attempts')
    .addColumn('idem_key', t.varchar(220), (c) => c.primaryKey())
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('attempt_no', 'integer', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', t.varchar(3), (c) => c.notNull())
    .addColumn('status', t.varchar(16), (c) => c.notNull())
    .addColumn('decline_code', code)
    .addColumn('attempted_on', date, (c) => c.notNull())
    .addColumn('reference', id)
    .execute();
  await db.schema.createIndex('payment_attempts_invoice').on('payment_attempts').column('invoice_id').execute();

  await t
    .table('payments')
    .addColumn('id', t.varchar(220), (c) => c.primaryKey())
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', t.varchar(3), (c) => c.notNull())
    .addColumn('reference', id, (c) => c.notNull())
    .addColumn('paid_on', date, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('payments_invoice').on('payments').column('invoice_id').execute();

  await t
    .table('refunds')
    .addColumn('id', t.varchar(220), (c) => c.primaryKey())
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('tax', 'bigint', (c) => c.notNull())
    .addColumn('currency', t.varchar(3), (c) => c.notNull())
    .addColumn('reason', t.varchar(500), (c) => c.notNull())
    .addColumn('refunded_on', date, (c) => c.notNull())
    .addColumn('reference', id, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('refunds_invoice').on('refunds').column('invoice_id').execute();

  await t
    .table('chargebacks')
    .addColumn('id', t.varchar(220), (c) => c.primaryKey())
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('fee', 'bigint', (c) => c.notNull())
    .addColumn('currency', t.varchar(3), (c) => c.notNull())
    .addColumn('received_on', date, (c) => c.notNull())
    .execute();

  await t
    .table('gift_cards')
    .addColumn('code', id, (c) => c.primaryKey())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', t.varchar(3), (c) => c.notNull())
    .addColumn('sold_on', date, (c) => c.notNull())
    .addColumn('member_id', t.varchar(64))
    .addColumn('redeemed_on', date)
    .execute();

  await t
    .table('credits')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', t.varchar(3), (c) => c.notNull())
    .addColumn('reason', t.varchar(500), (c) => c.notNull())
    .addColumn('granted_on', date, (c) => c.notNull())
    .execute();

  await t
    .table('journal')
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('entry_key', t.varchar(240), (c) => c.notNull())
    .addColumn('business_date', date, (c) => c.notNull())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('currency', t.varchar(3), (c) => c.notNull())
    .addColumn('kind', t.varchar(24), (c) => c.notNull())
    .addColumn('account', t.varchar(32), (c) => c.notNull())
    .addColumn('debit', 'bigint', (c) => c.notNull())
    .addColumn('credit', 'bigint', (c) => c.notNull())
    .execute();
  // An entry is booked once, however often the job that books it re-runs.
  await db.schema.createIndex('journal_entry').on('journal').columns(['entry_key', 'account']).unique().execute();
  await db.schema.createIndex('journal_day').on('journal').columns(['business_date']).execute();

  await t
    .table('outbox')
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('event_id', t.varchar(240), (c) => c.notNull().unique())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('type', t.varchar(64), (c) => c.notNull())
    .addColumn('occurred_on', date, (c) => c.notNull())
    .addColumn('payload', t.text, (c) => c.notNull())
    .addColumn('created_at', t.varchar(30), (c) => c.notNull())
    .addColumn('published_at', t.varchar(30))
    .execute();

  await t
    .table('job_runs')
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('job', t.varchar(32), (c) => c.notNull())
    .addColumn('business_date', date, (c) => c.notNull())
    .addColumn('status', t.varchar(16), (c) => c.notNull())
    .addColumn('started_at', t.varchar(30), (c) => c.notNull())
    .addColumn('finished_at', t.varchar(30))
    .addColumn('counts', t.text, (c) => c.notNull())
    .addColumn('errors', t.text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('job_runs_job').on('job_runs').columns(['job', 'business_date']).execute();

  await t
    .table('revenue_days')
    .addColumn('business_date', date, (c) => c.primaryKey())
    .addColumn('closed_at', t.varchar(30), (c) => c.notNull())
    .addColumn('report', t.text, (c) => c.notNull())
    .execute();

  await t
    .table('processor_charges')
    .addColumn('idem_key', t.varchar(220), (c) => c.primaryKey())
    .addColumn('kind', t.varchar(16), (c) => c.notNull())
    .addColumn('token', t.varchar(64), (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', t.varchar(3), (c) => c.notNull())
    .addColumn('status', t.varchar(16), (c) => c.notNull())
    .addColumn('code', code)
    .addColumn('reference', id, (c) => c.notNull())
    .addColumn('calls', 'integer', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['processor_charges', 'revenue_days', 'job_runs', 'outbox', 'journal', 'credits', 'gift_cards', 'chargebacks', 'refunds', 'payments', 'payment_attempts', 'invoice_lines', 'invoices', 'members']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
