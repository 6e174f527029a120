import { createHash } from 'node:crypto';
import { sql, type Insertable, type Kysely } from 'kysely';
import { Temporal } from 'temporal-polyfill';
import { killBillEngineOf } from './connect.ts';
import { createKillBillSchema, killBillTables, type KillBillSchema, type KillBillTable } from './schema.ts';

/**
 * A small, complete Kill Bill population written through plain inserts, as Kill Bill itself
 * would have written it, for the tests of the migration and the comparator. Every value is
 * fixed by hand (no randomness, ids derived from names), so two builds give identical rows
 * and the facts below can be asserted as known answers.
 *
 * "Today" is killBillFixtureAsOf: events before it are history, after it are scheduled.
 */
export const killBillFixtureAsOf = '2026-11-28';

export interface KillBillFixtureAccount {
  tenantRecordId: number;
  recordId: number;
  id: string;
  externalKey: string;
  currency: string;
  timeZone: string;
  country: string;
  email: string;
  /** What this account is in the fixture for. */
  exercises: string;
  plan: string;
  phase: 'TRIAL' | 'EVERGREEN';
  status: 'active' | 'cancelled' | 'cancel-at-period-end';
  /** The local date the trial ends on (its PHASE event), for a member in trial. */
  trialEnds: string | null;
  /** subscriptions.charged_through_date as a local date in the account's zone. */
  chargedThrough: string;
  /** The next date Tally should bill on (null when cancelled or cancelling at period end). */
  nextBilling: string | null;
  cancelledOn: string | null;
  cancelsOn: string | null;
  /** The overdue state blocking billing, when there is one. */
  blockedBy: string | null;
  /** Sum of CBA_ADJ items, exact major units. */
  creditBalance: string;
  /** Sum of the balances of COMMITTED invoices (charges + adjustments + CBA − payments). */
  unpaidBalance: string;
  committedInvoices: number;
  skippedInvoices: number;
  /** SUCCESS money in: PURCHASE and CAPTURE amounts. */
  paid: string;
  refunded: string;
  chargedBack: string;
  failedAttempts: number;
  /** Why a migration must quarantine this account, when it must. */
  quarantine: string | null;
}

export interface KillBillFixture {
  asOf: string;
  tenants: { recordId: number; id: string; externalKey: string; apiKey: string }[];
  accounts: KillBillFixtureAccount[];
  rows: Record<KillBillTable, number>;
}

type Rows = { [T in KillBillTable]: Insertable<KillBillSchema[T]>[] };

/** A stable UUID-shaped id from a name: deterministic across builds and engines. */
function uuidOf(name: string): string {
  const h = createHash('sha1').update(`killbill-fixture:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const addDays = (d: string, n: number) => Temporal.PlainDate.from(d).add({ days: n }).toString();

/** A local date at the account's billing time of day, as the UTC datetime Kill Bill stores. */
function utcOf(date: string, zone: string, time: string): string {
  const instant = Temporal.PlainDate.from(date).toZonedDateTime({ timeZone: zone, plainTime: time }).toInstant();
  return instant.toString().replace('T', ' ').replace(/(\.\d+)?Z$/, '');
}

type ItemType = 'RECURRING' | 'FIXED' | 'EXTERNAL_CHARGE' | 'USAGE' | 'TAX' | 'ITEM_ADJ' | 'REPAIR_ADJ' | 'CREDIT_ADJ' | 'CBA_ADJ';
type TxnType = 'AUTHORIZE' | 'CAPTURE' | 'PURCHASE' | 'REFUND' | 'CHARGEBACK' | 'CREDIT' | 'VOID';
type TxnStatus = 'SUCCESS' | 'PAYMENT_FAILURE' | 'PLUGIN_FAILURE' | 'PENDING' | 'UNKNOWN';

interface Item { type: ItemType; amount: string; start?: string; end?: string | null; plan?: string; usage?: string; description?: string; rate?: string; linked?: string }
interface Txn { type: TxnType; status: TxnStatus; amount: string; date: string }

// Kill Bill's payment state machine names: AUTHORIZE is AUTH_*, a PAYMENT_FAILURE is *_FAILED, a plugin failure or an unknown outcome is *_ERRORED.
const statePrefix: Record<TxnType, string> = { AUTHORIZE: 'AUTH', CAPTURE: 'CAPTURE', PURCHASE: 'PURCHASE', REFUND: 'REFUND', CHARGEBACK: 'CHARGEBACK', CREDIT: 'CREDIT', VOID: 'VOID' };
const stateSuffix: Record<TxnStatus, string> = { SUCCESS: 'SUCCESS', PENDING: 'PENDING', PAYMENT_FAILURE: 'FAILED', PLUGIN_FAILURE: 'ERRORED', UNKNOWN: 'ERRORED' };

const prices: Record<string, Record<string, string>> = {
  'basic-monthly': { USD: '7.99', EUR: '5.99', JPY: '980', KWD: '3.500' },
  'standard-monthly': { USD: '9.99', EUR: '8.99' },
  'premium-monthly': { USD: '15.99', JPY: '1980' },
};

function population(): { rows: Rows; tenants: KillBillFixture['tenants']; accounts: KillBillFixtureAccount[] } {
  const rows = Object.fromEntries(killBillTables.map((t) => [t, []])) as unknown as Rows;
  const next = Object.fromEntries(killBillTables.map((t) => [t, 0])) as Record<KillBillTable, number>;
  const push = <T extends KillBillTable>(table: T, row: Omit<Insertable<KillBillSchema[T]>, 'record_id'>): number => {
    const record_id = ++next[table];
    (rows[table] as unknown[]).push({ record_id, ...row });
    return record_id;
  };
  const by = 'killbill-fixture';

  const tenants = [
    { recordId: 1, id: uuidOf('tenant:acme'), externalKey: 'acme-streaming', apiKey: 'acme-key' },
    { recordId: 2, id: uuidOf('tenant:other'), externalKey: 'other-shop', apiKey: 'other-key' },
  ];
  for (const t of tenants) {
    push('tenants', { id: t.id, external_key: t.externalKey, api_key: t.apiKey, api_secret: `${t.apiKey}-secret-hash`, api_salt: `${t.apiKey}-salt`, created_date: '2026-01-01 00:00:00', created_by: by, updated_date: null, updated_by: null });
  }

  const accounts: KillBillFixtureAccount[] = [];

  /** One account and the writers for its history, every row scoped to it and its tenant. */
  function account(tenant: number, key: string, currency: string, zone: string, country: string, time: string, opened: string) {
    const id = uuidOf(`account:${tenant}:${key}`);
    const email = `${key}@example.com`;
    const at = (d: string) => utcOf(d, zone, time);
    const pm = uuidOf(`pm:${id}:live`);
    const recordId = push('accounts', {
      id, external_key: key, email, name: `Member ${key}`, first_name_length: 6, currency, billing_cycle_day_local: Number(opened.slice(8)), parent_account_id: null,
      is_payment_delegated_to_parent: false, payment_method_id: pm, reference_time: at(opened), time_zone: zone, locale: 'en_US', address1: null, address2: null, company_name: null,
      city: null, state_or_province: null, country, postal_code: null, phone: null, notes: null, migrated: false, created_date: at(opened), created_by: by, updated_date: at(opened), updated_by: by,
      tenant_record_id: tenant,
    });
    const scope = { account_record_id: recordId, tenant_record_id: tenant };
    const audit = (d: string) => ({ created_by: by, created_date: at(d), updated_by: by, updated_date: at(d) });
    push('payment_methods', { id: pm, external_key: `${key}-card`, account_id: id, plugin_name: 'killbill-stripe', is_active: true, ...audit(opened), ...scope });
    let subscription = '';
    let bundle = '';
    let invoiceNo = 0;
    let paymentNo = 0;

    const acct = {
      id, recordId, at,
      /** A base subscription: bundle, subscription, its events and the entitlement's blocking states. */
      subscribe(plan: string, start: string, opts: { trialDays?: number; changes?: { date: string; plan: string; active?: boolean }[]; cancel?: string; chargedThrough: string }) {
        bundle = uuidOf(`bundle:${id}`);
        subscription = uuidOf(`subscription:${id}`);
        push('bundles', { id: bundle, external_key: `${key}-bundle`, account_id: id, last_sys_update_date: at(start), original_created_date: at(start), ...audit(start), ...scope });
        push('subscriptions', {
          id: subscription, bundle_id: bundle, external_key: `${key}-sub`, category: 'BASE', start_date: at(start), bundle_start_date: at(start),
          charged_through_date: at(opts.chargedThrough), migrated: false, ...audit(start), ...scope,
        });
        const event = (n: string, e: { type: string; user: string | null; date: string; plan: string | null; phase: string | null; active?: boolean; created?: string }) => push('subscription_events', {
          id: uuidOf(`event:${subscription}:${n}`), event_type: e.type, user_type: e.user, effective_date: at(e.date), subscription_id: subscription, plan_name: e.plan, phase_name: e.phase,
          price_list_name: e.type === 'API_USER' && e.plan ? 'DEFAULT' : null, billing_cycle_day_local: null, quantity: 1, is_active: e.active ?? true, ...audit(e.created ?? e.date), ...scope,
        });
        // Kill Bill names a plan's phases <plan>-<phase type>; a PHASE event carries only the phase, the plan comes from the last CREATE or CHANGE.
        event('create', { type: 'API_USER', user: 'CREATE', date: start, plan, phase: `${plan}-${opts.trialDays ? 'trial' : 'evergreen'}` });
        if (opts.trialDays) event('phase', { type: 'PHASE', user: null, date: addDays(start, opts.trialDays), plan: null, phase: `${plan}-evergreen` });
        for (const [n, c] of (opts.changes ?? []).entries()) event(`change${n}`, { type: 'API_USER', user: 'CHANGE', date: c.date, plan: c.plan, phase: `${c.plan}-evergreen`, active: c.active });
        if (opts.cancel) event('cancel', { type: 'API_USER', user: 'CANCEL', date: opts.cancel, plan: null, phase: null, created: opts.cancel < killBillFixtureAsOf ? opts.cancel : addDays(killBillFixtureAsOf, -3) });
        const block = (n: string, state: string, date: string, blocks: boolean) => push('blocking_states', {
          id: uuidOf(`block:${subscription}:${n}`), blockable_id: subscription, type: 'SUBSCRIPTION', state, service: 'entitlement-service', block_change: blocks, block_entitlement: blocks,
          block_billing: false, effective_date: at(date), is_active: true, created_date: at(date < killBillFixtureAsOf ? date : addDays(killBillFixtureAsOf, -3)), created_by: by, updated_date: null, updated_by: null, ...scope,
        });
        block('start', 'ENT_STARTED', start, false);
        if (opts.cancel) block('cancel', 'ENT_CANCELLED', opts.cancel, true);
      },

      /** An invoice with its items; `linked` names an item of the same account by its description. */
      invoice(date: string, items: Item[], status: 'COMMITTED' | 'DRAFT' | 'VOID' = 'COMMITTED') {
        const invoice = uuidOf(`invoice:${id}:${++invoiceNo}`);
        push('invoices', { id: invoice, account_id: id, invoice_date: date, target_date: date, currency, status, migrated: false, parent_invoice: false, grp_id: invoice, created_by: by, created_date: at(date), ...scope });
        const ids: string[] = [];
        for (const [n, it] of items.entries()) {
          const item = uuidOf(`item:${invoice}:${n}`);
          ids.push(item);
          const subscribed = it.type === 'RECURRING' || it.type === 'FIXED' || it.type === 'USAGE';
          push('invoice_items', {
            id: item, type: it.type, invoice_id: invoice, account_id: id, child_account_id: null, bundle_id: subscribed ? bundle : null, subscription_id: subscribed ? subscription : null,
            description: it.description ?? null, product_name: it.plan ? it.plan.replace(/-monthly$/, '') : null, plan_name: it.plan ?? null,
            phase_name: it.plan ? `${it.plan}-${it.type === 'FIXED' ? 'trial' : 'evergreen'}` : null, usage_name: it.usage ?? null, catalog_effective_date: it.plan ? '2026-01-01 00:00:00' : null,
            start_date: it.start ?? date, end_date: it.end === undefined ? (it.type === 'RECURRING' ? Temporal.PlainDate.from(it.start ?? date).add({ months: 1 }).toString() : null) : it.end,
            amount: it.amount, rate: it.rate ?? (it.type === 'RECURRING' ? it.amount : null), currency, linked_item_id: it.linked ?? null, quantity: null, item_details: null, created_by: by,
            created_date: at(date), ...scope,
          });
        }
        return { id: invoice, items: ids };
      },

      /**
       * A payment and its transactions, and what the invoice module records of them: an
       * ATTEMPT for money in (PURCHASE, CAPTURE; status INIT while it has not succeeded),
       * and REFUND / CHARGED_BACK rows with the amount negated and linked to the attempt,
       * while payment_transactions keeps every amount positive.
       */
      pay(invoice: string | null, txns: Txn[]) {
        const payment = uuidOf(`payment:${id}:${++paymentNo}`);
        const last = txns[txns.length - 1]!;
        const lastSuccess = [...txns].reverse().find((t) => t.status === 'SUCCESS');
        push('payments', {
          id: payment, account_id: id, payment_method_id: pm, external_key: `${key}-pay-${paymentNo}`, state_name: `${statePrefix[last.type]}_${stateSuffix[last.status]}`,
          last_success_state_name: lastSuccess ? `${statePrefix[lastSuccess.type]}_SUCCESS` : null, ...audit(txns[0]!.date), updated_date: at(last.date), ...scope,
        });
        let attempt: string | null = null;
        for (const [n, t] of txns.entries()) {
          const txn = uuidOf(`txn:${payment}:${n}`);
          const txKey = `${key}-pay-${paymentNo}-${n}`;
          const failed = t.status !== 'SUCCESS';
          push('payment_transactions', {
            id: txn, attempt_id: uuidOf(`attempt:${txn}`), transaction_external_key: txKey, transaction_type: t.type, effective_date: at(t.date), transaction_status: t.status,
            amount: t.amount, currency, processed_amount: t.status === 'SUCCESS' || t.status === 'PENDING' ? t.amount : '0', processed_currency: currency, payment_id: payment,
            gateway_error_code: failed && t.status !== 'PENDING' ? (t.status === 'PAYMENT_FAILURE' ? 'card_declined' : 'gateway_timeout') : null,
            gateway_error_msg: failed && t.status !== 'PENDING' ? (t.status === 'PAYMENT_FAILURE' ? 'Your card was declined.' : 'No answer from the gateway') : null, ...audit(t.date), ...scope,
          });
          if (!invoice) continue;
          const kind = t.type === 'PURCHASE' || t.type === 'CAPTURE' ? 'ATTEMPT' : t.type === 'REFUND' ? 'REFUND' : t.type === 'CHARGEBACK' ? 'CHARGED_BACK' : null;
          if (!kind) continue;
          const row = uuidOf(`invoice_payment:${txn}`);
          if (kind === 'ATTEMPT' && t.status === 'SUCCESS') attempt = row;
          push('invoice_payments', {
            id: row, type: kind, invoice_id: invoice, payment_id: payment, payment_date: at(t.date), amount: kind === 'ATTEMPT' ? t.amount : `-${t.amount}`, currency, processed_currency: currency,
            payment_cookie_id: txKey, linked_invoice_payment_id: kind === 'ATTEMPT' ? null : attempt, status: t.status === 'SUCCESS' ? 'SUCCESS' : 'INIT', created_by: by, created_date: at(t.date), ...scope,
          });
        }
        return payment;
      },

      /** An invoice for one month of `plan` from `date`, paid in full by a PURCHASE the same day. */
      month(plan: string, date: string, extra: Item[] = []) {
        const price = prices[plan]![currency]!;
        const inv = acct.invoice(date, [{ type: 'RECURRING', amount: price, plan, start: date }, ...extra]);
        const total = [price, ...extra.map((e) => e.amount)].reduce((a, b) => (Number(a) + Number(b)).toFixed(currency === 'JPY' ? 1 : 3));
        acct.pay(inv.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: trim(total), date }]);
        return inv;
      },

      describe(facts: Omit<KillBillFixtureAccount, 'tenantRecordId' | 'recordId' | 'id' | 'externalKey' | 'currency' | 'timeZone' | 'country' | 'email'>) {
        accounts.push({ tenantRecordId: tenant, recordId, id, externalKey: key, currency, timeZone: zone, country, email, ...facts });
      },
    };
    return acct;
  }

  const trim = (s: string) => s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  const none = { trialEnds: null, cancelledOn: null, cancelsOn: null, blockedBy: null, refunded: '0', chargedBack: '0', failedAttempts: 0, quarantine: null };

  // A1. The plain case: a trial that ended, four paid months with tax. Also soft-deleted rows
  // (a removed card, a plan change that was undone) and a DRAFT and a VOID invoice to skip.
  const a1 = account(1, 'kb-usd-active', 'USD', 'America/New_York', 'US', '09:00:00', '2026-07-10');
  a1.subscribe('standard-monthly', '2026-07-10', { trialDays: 30, chargedThrough: '2026-12-09', changes: [{ date: '2026-10-09', plan: 'premium-monthly', active: false }] });
  push('payment_methods', { id: uuidOf(`pm:${a1.id}:old`), external_key: 'kb-usd-active-old-card', account_id: a1.id, plugin_name: 'killbill-stripe', is_active: false, created_by: by, created_date: a1.at('2026-07-10'), updated_by: by, updated_date: a1.at('2026-08-01'), account_record_id: a1.recordId, tenant_record_id: 1 });
  for (const d of ['2026-08-09', '2026-09-09', '2026-10-09', '2026-11-09']) {
    const inv = a1.invoice(d, [{ type: 'RECURRING', amount: '9.99', plan: 'standard-monthly', start: d }]);
    // A tax plugin adds its TAX item to the invoice, linked to the item it taxes.
    push('invoice_items', {
      id: uuidOf(`tax:${inv.id}`), type: 'TAX', invoice_id: inv.id, account_id: a1.id, child_account_id: null, bundle_id: null, subscription_id: null, description: 'Sales tax 8%', product_name: null, plan_name: null,
      phase_name: null, usage_name: null, catalog_effective_date: null, start_date: d, end_date: null, amount: '0.80', rate: null, currency: 'USD', linked_item_id: inv.items[0]!, quantity: null, item_details: null,
      created_by: by, created_date: a1.at(d), account_record_id: a1.recordId, tenant_record_id: 1,
    });
    a1.pay(inv.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '10.79', date: d }]);
  }
  a1.invoice('2026-10-15', [{ type: 'EXTERNAL_CHARGE', amount: '3.00', description: 'Charged by mistake, voided' }], 'VOID');
  a1.invoice('2026-11-20', [{ type: 'EXTERNAL_CHARGE', amount: '5.00', description: 'Gift box, not yet committed' }], 'DRAFT');
  a1.describe({
    ...none, exercises: 'ended trial; paid months with TAX items; soft-deleted payment method and subscription event (an undone CHANGE); DRAFT and VOID invoices',
    plan: 'standard-monthly', phase: 'EVERGREEN', status: 'active', chargedThrough: '2026-12-09', nextBilling: '2026-12-09',
    creditBalance: '0', unpaidBalance: '0', committedInvoices: 4, skippedInvoices: 2, paid: '43.16',
  });

  // A2. In trial, in a zero-decimal currency: the trial phase bills a FIXED item of 0, and
  // Kill Bill moves charged_through_date only to that item's start, so the next billing date is the PHASE event's.
  const a2 = account(1, 'kb-jpy-trial', 'JPY', 'Asia/Tokyo', 'JP', '10:00:00', '2026-11-15');
  a2.subscribe('premium-monthly', '2026-11-15', { trialDays: 30, chargedThrough: '2026-11-15' });
  a2.invoice('2026-11-15', [{ type: 'FIXED', amount: '0', plan: 'premium-monthly', start: '2026-11-15', end: null }]);
  a2.describe({
    ...none, exercises: 'trial in progress (PHASE to evergreen in the future); FIXED item of 0; JPY', plan: 'premium-monthly', phase: 'TRIAL', status: 'active',
    trialEnds: '2026-12-15', chargedThrough: '2026-11-15', nextBilling: '2026-12-15', creditBalance: '0', unpaidBalance: '0', committedInvoices: 1, skippedInvoices: 0, paid: '0',
  });

  // A3. Credit granted and used in a three-decimal currency: a CREDIT_ADJ / CBA_ADJ pair grants
  // it, negative CBA_ADJ items consume it on later invoices, and a second grant is left over.
  const a3 = account(1, 'kb-kwd-credit', 'KWD', 'Asia/Kuwait', 'KW', '08:00:00', '2026-08-01');
  a3.subscribe('basic-monthly', '2026-08-01', { chargedThrough: '2026-12-01' });
  a3.month('basic-monthly', '2026-08-01');
  a3.invoice('2026-08-20', [{ type: 'CREDIT_ADJ', amount: '-6.000', description: 'Service outage goodwill' }, { type: 'CBA_ADJ', amount: '6.000' }]);
  a3.invoice('2026-09-01', [{ type: 'RECURRING', amount: '3.500', plan: 'basic-monthly', start: '2026-09-01' }, { type: 'CBA_ADJ', amount: '-3.500' }]);
  const a3oct = a3.invoice('2026-10-01', [{ type: 'RECURRING', amount: '3.500', plan: 'basic-monthly', start: '2026-10-01' }, { type: 'CBA_ADJ', amount: '-2.500' }]);
  a3.pay(a3oct.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '1.000', date: '2026-10-01' }]);
  a3.month('basic-monthly', '2026-11-01');
  a3.invoice('2026-11-20', [{ type: 'CREDIT_ADJ', amount: '-2.250', description: 'Price match' }, { type: 'CBA_ADJ', amount: '2.250' }]);
  a3.describe({
    ...none, exercises: 'credit granted (CREDIT_ADJ + CBA_ADJ), used (negative CBA_ADJ), some left; KWD three decimals', plan: 'basic-monthly', phase: 'EVERGREEN', status: 'active',
    chargedThrough: '2026-12-01', nextBilling: '2026-12-01', creditBalance: '2.25', unpaidBalance: '0', committedInvoices: 6, skippedInvoices: 0, paid: '8',
  });

  // A4. Blocked by overdue: the October invoice's payments failed (declined, plugin error, unknown
  // outcome), the overdue service moved the account to OD1 then to OD2, which blocks billing.
  // An earlier OD1 row was deactivated (is_active false) and must not count.
  const a4 = account(1, 'kb-eur-blocked', 'EUR', 'Europe/Berlin', 'DE', '07:00:00', '2026-09-05');
  a4.subscribe('standard-monthly', '2026-09-05', { chargedThrough: '2026-11-05' });
  a4.month('standard-monthly', '2026-09-05');
  const a4oct = a4.invoice('2026-10-05', [{ type: 'RECURRING', amount: '8.99', plan: 'standard-monthly', start: '2026-10-05' }]);
  a4.pay(a4oct.id, [{ type: 'PURCHASE', status: 'PAYMENT_FAILURE', amount: '8.99', date: '2026-10-05' }, { type: 'PURCHASE', status: 'PLUGIN_FAILURE', amount: '8.99', date: '2026-10-13' }]);
  a4.pay(a4oct.id, [{ type: 'PURCHASE', status: 'UNKNOWN', amount: '8.99', date: '2026-10-21' }]);
  for (const [n, state, date, billing, active] of [['od1-old', 'OD1', '2026-10-15', false, false], ['od1', 'OD1', '2026-10-20', false, true], ['od2', 'OD2', '2026-11-05', true, true]] as const) {
    push('blocking_states', {
      id: uuidOf(`block:${a4.id}:${n}`), blockable_id: a4.id, type: 'ACCOUNT', state, service: 'overdue-service', block_change: true, block_entitlement: billing, block_billing: billing,
      effective_date: a4.at(date), is_active: active, created_date: a4.at(date), created_by: by, updated_date: active ? null : a4.at('2026-10-20'), updated_by: active ? null : by,
      account_record_id: a4.recordId, tenant_record_id: 1,
    });
  }
  a4.describe({
    ...none, exercises: 'overdue OD2 blocking billing (after OD1; a deactivated OD1 row); failed attempts PAYMENT_FAILURE, PLUGIN_FAILURE, UNKNOWN; unpaid invoice',
    plan: 'standard-monthly', phase: 'EVERGREEN', status: 'active', chargedThrough: '2026-11-05', nextBilling: '2026-11-05', blockedBy: 'OD2',
    creditBalance: '0', unpaidBalance: '8.99', committedInvoices: 2, skippedInvoices: 0, paid: '8.99', failedAttempts: 3,
  });

  // A5. Cancelled in the past, immediately: the unused part of the paid month is repaired
  // (REPAIR_ADJ linked to the RECURRING item) into account credit (CBA_ADJ). Its billing time
  // of day (18:30 in Los Angeles) is the next day in UTC, so a date read off the UTC value is wrong.
  const a5 = account(1, 'kb-usd-cancelled', 'USD', 'America/Los_Angeles', 'US', '18:30:00', '2026-06-12');
  a5.subscribe('basic-monthly', '2026-06-12', { cancel: '2026-08-27', chargedThrough: '2026-09-12' });
  a5.month('basic-monthly', '2026-06-12');
  a5.month('basic-monthly', '2026-07-12');
  const a5aug = a5.month('basic-monthly', '2026-08-12');
  // 16 of August's 31 days unused: 7.99 × 16 / 31 = 4.1238…, rounded to the cent as Kill Bill does.
  a5.invoice('2026-08-27', [{ type: 'REPAIR_ADJ', amount: '-4.12', start: '2026-08-27', end: '2026-09-12', linked: a5aug.items[0]! }, { type: 'CBA_ADJ', amount: '4.12' }]);
  a5.describe({
    ...none, exercises: 'CANCEL in the past; REPAIR_ADJ into credit; billing time that is the next day in UTC', plan: 'basic-monthly', phase: 'EVERGREEN', status: 'cancelled',
    chargedThrough: '2026-09-12', nextBilling: null, cancelledOn: '2026-08-27', creditBalance: '4.12', unpaidBalance: '0', committedInvoices: 4, skippedInvoices: 0, paid: '23.97',
  });

  // A6. A CHANGE in the past, a CANCEL at the end of the current period (in the future), a USAGE
  // item, and a partial refund with an item adjustment (ITEM_ADJ) so the invoice stays settled.
  const a6 = account(1, 'kb-eur-future-cancel', 'EUR', 'Europe/Paris', 'FR', '12:00:00', '2026-07-03');
  a6.subscribe('basic-monthly', '2026-07-03', { changes: [{ date: '2026-09-03', plan: 'standard-monthly' }], cancel: '2026-12-03', chargedThrough: '2026-12-03' });
  a6.month('basic-monthly', '2026-07-03');
  a6.month('basic-monthly', '2026-08-03');
  const a6sep = a6.invoice('2026-09-03', [
    { type: 'RECURRING', amount: '8.99', plan: 'standard-monthly', start: '2026-09-03' },
    { type: 'USAGE', amount: '1.50', plan: 'basic-monthly', usage: 'extra-streams', start: '2026-08-03', end: '2026-09-03', rate: '0.50', description: '3 extra streams' },
  ]);
  a6.pay(a6sep.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '10.49', date: '2026-09-03' }, { type: 'REFUND', status: 'SUCCESS', amount: '1.50', date: '2026-09-10' }]);
  push('invoice_items', {
    id: uuidOf(`adj:${a6sep.id}`), type: 'ITEM_ADJ', invoice_id: a6sep.id, account_id: a6.id, child_account_id: null, bundle_id: null, subscription_id: null, description: 'Refund of extra streams',
    product_name: null, plan_name: null, phase_name: null, usage_name: null, catalog_effective_date: null, start_date: '2026-09-10', end_date: '2026-09-10', amount: '-1.50', rate: null, currency: 'EUR',
    linked_item_id: a6sep.items[1]!, quantity: null, item_details: null, created_by: by, created_date: a6.at('2026-09-10'), account_record_id: a6.recordId, tenant_record_id: 1,
  });
  a6.month('standard-monthly', '2026-10-03');
  a6.month('standard-monthly', '2026-11-03');
  a6.describe({
    ...none, exercises: 'CHANGE basic→standard in the past; CANCEL at period end in the future; USAGE item; partial REFUND with ITEM_ADJ', plan: 'standard-monthly', phase: 'EVERGREEN',
    status: 'cancel-at-period-end', chargedThrough: '2026-12-03', nextBilling: null, cancelsOn: '2026-12-03', creditBalance: '0', unpaidBalance: '0', committedInvoices: 5, skippedInvoices: 0,
    paid: '40.45', refunded: '1.50',
  });

  // A7. Every other kind of money movement: AUTHORIZE + CAPTURE paying an invoice with an
  // EXTERNAL_CHARGE, a chargeback reopening a paid invoice, a card check (AUTHORIZE then VOID)
  // and a pending CREDIT to the card, neither tied to an invoice.
  const a7 = account(1, 'kb-usd-chargeback', 'USD', 'America/Chicago', 'US', '15:00:00', '2026-08-15');
  a7.subscribe('premium-monthly', '2026-08-15', { chargedThrough: '2026-12-15' });
  a7.pay(null, [{ type: 'AUTHORIZE', status: 'SUCCESS', amount: '1.00', date: '2026-08-15' }, { type: 'VOID', status: 'SUCCESS', amount: '1.00', date: '2026-08-15' }]);
  const a7aug = a7.invoice('2026-08-15', [{ type: 'RECURRING', amount: '15.99', plan: 'premium-monthly', start: '2026-08-15' }, { type: 'EXTERNAL_CHARGE', amount: '4.00', description: 'HD upgrade' }]);
  a7.pay(a7aug.id, [{ type: 'AUTHORIZE', status: 'SUCCESS', amount: '19.99', date: '2026-08-15' }, { type: 'CAPTURE', status: 'SUCCESS', amount: '19.99', date: '2026-08-16' }]);
  const a7sep = a7.invoice('2026-09-15', [{ type: 'RECURRING', amount: '15.99', plan: 'premium-monthly', start: '2026-09-15' }]);
  a7.pay(a7sep.id, [{ type: 'PURCHASE', status: 'SUCCESS', amount: '15.99', date: '2026-09-15' }, { type: 'CHARGEBACK', status: 'SUCCESS', amount: '15.99', date: '2026-10-02' }]);
  a7.month('premium-monthly', '2026-10-15');
  a7.month('premium-monthly', '2026-11-15');
  a7.pay(null, [{ type: 'CREDIT', status: 'PENDING', amount: '5.00', date: '2026-11-25' }]);
  a7.describe({
    ...none, exercises: 'AUTHORIZE+CAPTURE; EXTERNAL_CHARGE; CHARGEBACK reopening an invoice; AUTHORIZE+VOID and a PENDING CREDIT outside invoices', plan: 'premium-monthly',
    phase: 'EVERGREEN', status: 'active', chargedThrough: '2026-12-15', nextBilling: '2026-12-15', creditBalance: '0', unpaidBalance: '15.99', committedInvoices: 4, skippedInvoices: 0,
    paid: '67.96', chargedBack: '15.99',
  });

  // A8. An amount with more precision than its currency: half a yen, which Tally cannot hold.
  const a8 = account(1, 'kb-jpy-precision', 'JPY', 'Asia/Tokyo', 'JP', '09:00:00', '2026-10-20');
  a8.subscribe('basic-monthly', '2026-10-20', { chargedThrough: '2026-12-20' });
  a8.month('basic-monthly', '2026-10-20');
  a8.month('basic-monthly', '2026-11-20', [{ type: 'EXTERNAL_CHARGE', amount: '150.5', description: 'Rental, half-yen rate' }]);
  a8.describe({
    ...none, exercises: 'an amount (150.5 JPY) finer than the currency allows', plan: 'basic-monthly', phase: 'EVERGREEN', status: 'active', chargedThrough: '2026-12-20',
    nextBilling: '2026-12-20', creditBalance: '0', unpaidBalance: '0', committedInvoices: 2, skippedInvoices: 0, paid: '2110.5', quarantine: 'EXTERNAL_CHARGE of 150.5 JPY (JPY has no minor unit)',
  });

  // The other tenant: the same external key as A1 (keys are unique per tenant only), and one of its own. Never migrated with tenant 1.
  const b1 = account(2, 'kb-usd-active', 'USD', 'America/New_York', 'US', '11:00:00', '2026-10-01');
  b1.subscribe('standard-monthly', '2026-10-01', { chargedThrough: '2026-12-01' });
  b1.month('standard-monthly', '2026-10-01');
  b1.month('standard-monthly', '2026-11-01');
  b1.describe({
    ...none, exercises: 'the other tenant, with the same external key as a tenant-1 account', plan: 'standard-monthly', phase: 'EVERGREEN', status: 'active',
    chargedThrough: '2026-12-01', nextBilling: '2026-12-01', creditBalance: '0', unpaidBalance: '0', committedInvoices: 2, skippedInvoices: 0, paid: '19.98',
  });
  const b2 = account(2, 'kb-eur-other', 'EUR', 'Europe/Madrid', 'ES', '10:00:00', '2026-11-10');
  b2.subscribe('basic-monthly', '2026-11-10', { chargedThrough: '2026-12-10' });
  b2.month('basic-monthly', '2026-11-10');
  b2.describe({
    ...none, exercises: 'the other tenant only', plan: 'basic-monthly', phase: 'EVERGREEN', status: 'active', chargedThrough: '2026-12-10', nextBilling: '2026-12-10',
    creditBalance: '0', unpaidBalance: '0', committedInvoices: 1, skippedInvoices: 0, paid: '5.99',
  });

  return { rows, tenants, accounts };
}

/**
 * Write the fixture into `db` (creating the schema first unless told not to) and describe
 * what was written. Record ids are explicit, so the rows are the same on every engine; on
 * PostgreSQL the sequences are moved past them so that later inserts (a test changing the
 * data behind a migration's back) get fresh ids as they would from Kill Bill.
 */
export async function buildKillBillFixture(db: Kysely<KillBillSchema>, opts: { createSchema?: boolean } = {}): Promise<KillBillFixture> {
  if (opts.createSchema ?? true) await createKillBillSchema(db);
  const { rows, tenants, accounts } = population();
  await db.transaction().execute(async (trx) => {
    for (const table of killBillTables) {
      const list = rows[table] as Record<string, unknown>[];
      if (list.length) await (trx as unknown as Kysely<Record<string, Record<string, unknown>>>).insertInto(table).values(list).execute();
    }
  });
  if (killBillEngineOf(db) === 'postgres') {
    for (const table of killBillTables) {
      await sql`select setval(pg_get_serial_sequence(${table}, 'record_id'), (select coalesce(max(record_id), 0) + 1 from ${sql.table(table)}), false)`.execute(db);
    }
  }
  return { asOf: killBillFixtureAsOf, tenants, accounts, rows: Object.fromEntries(killBillTables.map((t) => [t, rows[t].length])) as Record<KillBillTable, number> };
}
