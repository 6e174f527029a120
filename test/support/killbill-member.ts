import { builtInCatalog, catalogIndex } from '../../src/domain/catalog.ts';
import type { KillBillMember } from '../../src/migration/sources/killbill-member.ts';
import type { KillBillContext } from '../../src/migration/transform/killbill-member.ts';

export const ctx: KillBillContext = {
  catalog: catalogIndex(builtInCatalog),
  plans: new Map([['basic-monthly', 'basic'], ['standard-monthly', 'standard'], ['premium-monthly', 'premium']]),
  asOf: '2026-11-28',
  horizonMonths: 24,
};

const by = 'test';
type Item = { type: string; amount: string; plan?: string; start?: string; end?: string | null; linked?: string; rate?: string; description?: string };
type Txn = { type: string; status: string; amount: string; at: string; error?: string };

/**
 * A Kill Bill account written row by row as Kill Bill would (every datetime UTC, amounts as
 * decimal text with Kill Bill's nine decimals where it matters), with short readable ids.
 */
export function killBillAccount(key: string, currency: string, zone: string, country: string) {
  let n = 0;
  const rec = () => ++n;
  const scope = { account_record_id: 1, tenant_record_id: 1 };
  const audit = (at: string) => ({ created_by: by, created_date: at, updated_by: by, updated_date: at });
  const m: KillBillMember = {
    account: {
      record_id: 1, id: `acct-${key}`, external_key: key, email: ` ${key.toUpperCase()}@Example.com`, name: key, first_name_length: null, currency, billing_cycle_day_local: 1, parent_account_id: null,
      is_payment_delegated_to_parent: false, payment_method_id: `pm-${key}`, reference_time: '2026-01-01 00:00:00', time_zone: zone, locale: 'en_US', address1: null, address2: null, company_name: null,
      city: null, state_or_province: null, country, postal_code: null, phone: null, notes: null, migrated: false, tenant_record_id: 1, ...audit('2026-01-01 00:00:00'),
    },
    bundles: [], subscriptions: [], events: [], blockingStates: [], invoices: [], invoiceItems: [], invoicePayments: [], payments: [], transactions: [],
    paymentMethods: [{ record_id: rec(), id: `pm-${key}`, external_key: `card-${key}`, account_id: `acct-${key}`, plugin_name: 'killbill-stripe', is_active: true, ...audit('2026-01-01 00:00:00'), ...scope }],
  };
  const b = {
    m,
    /** A subscription in its own bundle, created at `start` (UTC) in `phase` of `plan`. */
    subscribe(plan: string, start: string, chargedThrough: string | null, phase = `${plan}-evergreen`) {
      const id = `sub-${m.subscriptions.length + 1}`;
      m.bundles.push({ record_id: rec(), id: `bundle-${id}`, external_key: `b-${id}`, account_id: m.account.id, last_sys_update_date: start, original_created_date: start, ...audit(start), ...scope });
      m.subscriptions.push({ record_id: rec(), id, bundle_id: `bundle-${id}`, external_key: id, category: 'BASE', start_date: start, bundle_start_date: start, charged_through_date: chargedThrough, migrated: false, ...audit(start), ...scope });
      b.event(id, 'API_USER', 'CREATE', start, plan, phase);
      return id;
    },
    event(sub: string, type: string, user: string | null, at: string, plan: string | null, phase: string | null, active = true) {
      m.events.push({
        record_id: rec(), id: `ev-${n}`, event_type: type, user_type: user, effective_date: at, subscription_id: sub, plan_name: plan, phase_name: phase, price_list_name: null,
        billing_cycle_day_local: null, quantity: 1, is_active: active, ...audit(at), ...scope,
      });
    },
    block(state: string, at: string, blockBilling: boolean, active = true) {
      m.blockingStates.push({
        record_id: rec(), id: `bs-${n}`, blockable_id: m.account.id, type: 'ACCOUNT', state, service: 'overdue-service', block_change: true, block_entitlement: blockBilling, block_billing: blockBilling,
        effective_date: at, is_active: active, ...audit(at), ...scope,
      });
    },
    /** An invoice and its items; returns the invoice id and the item ids. */
    invoice(date: string, items: Item[], status = 'COMMITTED', sub = 'sub-1') {
      const recordId = m.invoices.length + 101;
      const id = `inv-${recordId}`;
      m.invoices.push({ record_id: recordId, id, account_id: m.account.id, invoice_date: date, target_date: date, currency, status, migrated: false, parent_invoice: false, grp_id: id, created_by: by, created_date: `${date} 12:00:00`, ...scope });
      const ids = items.map((it) => {
        const itemId = `item-${rec()}`;
        const subscribed = ['RECURRING', 'FIXED', 'USAGE'].includes(it.type);
        m.invoiceItems.push({
          record_id: n, id: itemId, type: it.type, invoice_id: id, account_id: m.account.id, child_account_id: null, bundle_id: subscribed ? `bundle-${sub}` : null, subscription_id: subscribed ? sub : null,
          description: it.description ?? null, product_name: null, plan_name: it.plan ?? null, phase_name: it.plan ? `${it.plan}-evergreen` : null, usage_name: null, catalog_effective_date: null,
          start_date: it.start ?? date, end_date: it.end === undefined ? null : it.end, amount: it.amount, rate: it.rate ?? (it.type === 'RECURRING' ? it.amount : null), currency,
          linked_item_id: it.linked ?? null, quantity: null, item_details: null, created_by: by, created_date: `${date} 12:00:00`, ...scope,
        });
        return itemId;
      });
      return { id, recordId, items: ids };
    },
    /** A payment: its transactions (amounts positive) and the invoice module's rows (REFUND and CHARGED_BACK negated, linked to the attempt). */
    pay(invoice: string | null, txns: Txn[]) {
      const payment = `pay-${rec()}`;
      m.payments.push({ record_id: n, id: payment, account_id: m.account.id, payment_method_id: `pm-${key}`, external_key: payment, state_name: null, last_success_state_name: null, ...audit(txns[0]!.at), ...scope });
      let attempt: string | null = null;
      const ids: string[] = [];
      for (const t of txns) {
        const txn = `txn-${rec()}`;
        ids.push(txn);
        const failed = t.status !== 'SUCCESS' && t.status !== 'PENDING';
        m.transactions.push({
          record_id: n, id: txn, attempt_id: null, transaction_external_key: `${txn}-key`, transaction_type: t.type, effective_date: t.at, transaction_status: t.status, amount: t.amount, currency,
          processed_amount: t.amount, processed_currency: currency, payment_id: payment, gateway_error_code: failed ? (t.error ?? 'card_declined') : null, gateway_error_msg: null, ...audit(t.at), ...scope,
        });
        const kind = t.type === 'PURCHASE' || t.type === 'CAPTURE' ? 'ATTEMPT' : t.type === 'REFUND' ? 'REFUND' : t.type === 'CHARGEBACK' ? 'CHARGED_BACK' : null;
        if (!invoice || !kind) continue;
        const row = `ip-${rec()}`;
        if (kind === 'ATTEMPT' && t.status === 'SUCCESS') attempt = row;
        m.invoicePayments.push({
          record_id: n, id: row, type: kind, invoice_id: invoice, payment_id: payment, payment_date: t.at, amount: kind === 'ATTEMPT' ? t.amount : `-${t.amount}`, currency, processed_currency: currency,
          payment_cookie_id: `${txn}-key`, linked_invoice_payment_id: kind === 'ATTEMPT' ? null : attempt, status: t.status === 'SUCCESS' ? 'SUCCESS' : 'INIT', created_by: by, created_date: t.at, ...scope,
        });
      }
      return ids;
    },
  };
  return b;
}
