import type { Selectable } from 'kysely';
import type { KillBillSchema } from '../../killbill/schema.ts';

type Row<T extends keyof KillBillSchema> = Selectable<KillBillSchema[T]>;

/**
 * One Kill Bill account and every row below it that the migration reads, all of one tenant,
 * as the database holds them (amounts and datetimes as exact text, soft-deleted rows
 * included: the transform decides what `is_active` false means, so the reader stays a plain
 * select by account_record_id and tenant_record_id).
 */
export interface KillBillMember {
  account: Row<'accounts'>;
  bundles: Row<'bundles'>[];
  /** The subscriptions of those bundles. */
  subscriptions: Row<'subscriptions'>[];
  /** Every event of those subscriptions, active or not. */
  events: Row<'subscription_events'>[];
  /** Every blocking state scoped to the account (account, bundle and subscription ones), active or not. */
  blockingStates: Row<'blocking_states'>[];
  /** Every invoice of the account whatever its status: DRAFT and VOID are skipped by the transform. */
  invoices: Row<'invoices'>[];
  invoiceItems: Row<'invoice_items'>[];
  invoicePayments: Row<'invoice_payments'>[];
  payments: Row<'payments'>[];
  transactions: Row<'payment_transactions'>[];
  paymentMethods: Row<'payment_methods'>[];
}
