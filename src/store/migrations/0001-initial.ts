import type { Kysely } from 'kysely';

// Column types that every engine we target accepts: varchar with a length (MySQL cannot index TEXT), bigint for money.
const id = 'varchar(120)';
const date = 'varchar(10)';
const code = 'varchar(40)';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('members')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('country', 'varchar(2)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('next_due', date)
    .addColumn('email', 'varchar(254)')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('members_due').on('members').columns(['next_due', 'id']).execute();
  await db.schema.createIndex('members_email').on('members').column('email').execute();

  await db.schema
    .createTable('invoices')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('subscription_id', id, (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('idem_key', 'varchar(200)', (c) => c.notNull().unique())
    .addColumn('country', 'varchar(2)', (c) => c.notNull())
    .addColumn('region', 'varchar(8)')
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
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
    .addColumn('status', 'varchar(24)', (c) => c.notNull())
    .addColumn('attempt_count', 'integer', (c) => c.notNull())
    .addColumn('first_failed_on', date)
    .addColumn('next_attempt_on', date)
    .execute();
  await db.schema.createIndex('invoices_member').on('invoices').columns(['member_id', 'number']).unique().execute();
  await db.schema.createIndex('invoices_collect').on('invoices').columns(['next_attempt_on', 'id']).execute();

  await db.schema
    .createTable('invoice_lines')
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('line_no', 'integer', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('description', 'varchar(200)', (c) => c.notNull())
    .addColumn('plan_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('period_start', date, (c) => c.notNull())
    .addColumn('period_end', date, (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('discount', 'bigint', (c) => c.notNull())
    .addColumn('net', 'bigint', (c) => c.notNull())
    .addColumn('tax', 'bigint', (c) => c.notNull())
    .addColumn('total', 'bigint', (c) => c.notNull())
    .addColumn('tax_rate_ppm', 'integer', (c) => c.notNull())
    .addColumn('tax_name', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('invoice_lines_pk', ['invoice_id', 'line_no'])
    .execute();

  await db.schema
    .createTable('payment_attempts')
    .addColumn('idem_key', 'varchar(220)', (c) => c.primaryKey())
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('attempt_no', 'integer', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('decline_code', code)
    .addColumn('attempted_on', date, (c) => c.notNull())
    .addColumn('reference', id)
    .execute();
  await db.schema.createIndex('payment_attempts_invoice').on('payment_attempts').column('invoice_id').execute();

  await db.schema
    .createTable('payments')
    .addColumn('id', 'varchar(220)', (c) => c.primaryKey())
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
    .addColumn('reference', id, (c) => c.notNull())
    .addColumn('paid_on', date, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('payments_invoice').on('payments').column('invoice_id').execute();

  await db.schema
    .createTable('refunds')
    .addColumn('id', 'varchar(220)', (c) => c.primaryKey())
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('tax', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
    .addColumn('reason', 'varchar(500)', (c) => c.notNull())
    .addColumn('refunded_on', date, (c) => c.notNull())
    .addColumn('reference', id, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('refunds_invoice').on('refunds').column('invoice_id').execute();

  await db.schema
    .createTable('chargebacks')
    .addColumn('id', 'varchar(220)', (c) => c.primaryKey())
    .addColumn('invoice_id', id, (c) => c.notNull())
    .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('fee', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
    .addColumn('received_on', date, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('gift_cards')
    .addColumn('code', id, (c) => c.primaryKey())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
    .addColumn('sold_on', date, (c) => c.notNull())
    .addColumn('member_id', 'varchar(64)')
    .addColumn('redeemed_on', date)
    .execute();

  await db.schema
    .createTable('credits')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
    .addColumn('reason', 'varchar(500)', (c) => c.notNull())
    .addColumn('granted_on', date, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('journal')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('entry_key', 'varchar(240)', (c) => c.notNull())
    .addColumn('business_date', date, (c) => c.notNull())
    .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('country', 'varchar(2)', (c) => c.notNull())
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
    .addColumn('kind', 'varchar(24)', (c) => c.notNull())
    .addColumn('account', 'varchar(32)', (c) => c.notNull())
    .addColumn('debit', 'bigint', (c) => c.notNull())
    .addColumn('credit', 'bigint', (c) => c.notNull())
    .execute();
  // An entry is booked once, however often the job that books it re-runs.
  await db.schema.createIndex('journal_entry').on('journal').columns(['entry_key', 'account']).unique().execute();
  await db.schema.createIndex('journal_day').on('journal').columns(['business_date']).execute();

  await db.schema
    .createTable('outbox')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('event_id', 'varchar(240)', (c) => c.notNull().unique())
    .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('type', 'varchar(64)', (c) => c.notNull())
    .addColumn('occurred_on', date, (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('published_at', 'varchar(30)')
    .execute();

  await db.schema
    .createTable('job_runs')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('job', 'varchar(32)', (c) => c.notNull())
    .addColumn('business_date', date, (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('started_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('finished_at', 'varchar(30)')
    .addColumn('counts', 'text', (c) => c.notNull())
    .addColumn('errors', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('job_runs_job').on('job_runs').columns(['job', 'business_date']).execute();

  await db.schema
    .createTable('revenue_days')
    .addColumn('business_date', date, (c) => c.primaryKey())
    .addColumn('closed_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('report', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('processor_charges')
    .addColumn('idem_key', 'varchar(220)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('token', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
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
