import { sql, type Generated, type Kysely } from 'kysely';
import { killBillEngineOf } from './connect.ts';

/**
 * Kill Bill's relational schema, the twelve tables a migration off Kill Bill reads, with the
 * column names, types and defaults of Kill Bill's own ddl.sql files (account, subscription,
 * entitlement, invoice, payment, tenant modules) as of Kill Bill 0.24: a real Kill Bill
 * database is what the migration will be pointed at, so nothing here is renamed or tidied.
 *
 * Kill Bill's conventions, kept: every row has a numeric `record_id` (serial) beside its
 * UUID `id` as varchar(36); rows are scoped by `tenant_record_id` and, below the account,
 * by `account_record_id` (the account's record_id); amounts are numeric(15,9) in major
 * units whatever the currency; datetimes are UTC without a zone (`datetime`, a domain over
 * `timestamp without time zone` on PostgreSQL), while invoice and item dates are `date`s
 * already local to the account's time zone. History and audit tables are left out: the
 * migration reads current state only.
 */
export type Decimal = string;
/** 'YYYY-MM-DD HH:MM:SS', UTC. */
export type UtcDateTime = string;
/** 'YYYY-MM-DD', in the account's time zone. */
export type LocalDate = string;

interface Audit { created_by: string; created_date: UtcDateTime; updated_by: string | null; updated_date: UtcDateTime | null }
interface Scoped { record_id: Generated<number>; id: string; account_record_id: number; tenant_record_id: number }

export interface KillBillSchema {
  tenants: { record_id: Generated<number>; id: string; external_key: string | null; api_key: string | null; api_secret: string | null; api_salt: string | null } & Audit;
  accounts: {
    record_id: Generated<number>; id: string; external_key: string; email: string | null; name: string | null; first_name_length: number | null; currency: string | null;
    billing_cycle_day_local: number | null; parent_account_id: string | null; is_payment_delegated_to_parent: boolean | null; payment_method_id: string | null;
    reference_time: UtcDateTime; time_zone: string; locale: string | null; address1: string | null; address2: string | null; company_name: string | null; city: string | null;
    state_or_province: string | null; country: string | null; postal_code: string | null; phone: string | null; notes: string | null; migrated: boolean | null; tenant_record_id: number;
  } & Audit;
  bundles: Scoped & { external_key: string; account_id: string; last_sys_update_date: UtcDateTime | null; original_created_date: UtcDateTime } & Audit;
  subscriptions: Scoped & {
    bundle_id: string; external_key: string; category: string; start_date: UtcDateTime; bundle_start_date: UtcDateTime; charged_through_date: UtcDateTime | null; migrated: boolean;
  } & Audit;
  subscription_events: Scoped & {
    event_type: string; user_type: string | null; effective_date: UtcDateTime; subscription_id: string; plan_name: string | null; phase_name: string | null; price_list_name: string | null;
    billing_cycle_day_local: number | null; quantity: number | null; is_active: boolean | null;
  } & Audit;
  blocking_states: Scoped & {
    blockable_id: string; type: string; state: string; service: string; block_change: boolean; block_entitlement: boolean; block_billing: boolean; effective_date: UtcDateTime; is_active: boolean | null;
  } & Audit;
  invoices: Scoped & {
    account_id: string; invoice_date: LocalDate; target_date: LocalDate | null; currency: string; status: string; migrated: boolean; parent_invoice: boolean; grp_id: string;
    created_by: string; created_date: UtcDateTime;
  };
  invoice_items: Scoped & {
    type: string; invoice_id: string; account_id: string; child_account_id: string | null; bundle_id: string | null; subscription_id: string | null; description: string | null;
    product_name: string | null; plan_name: string | null; phase_name: string | null; usage_name: string | null; catalog_effective_date: UtcDateTime | null; start_date: LocalDate | null;
    end_date: LocalDate | null; amount: Decimal; rate: Decimal | null; currency: string; linked_item_id: string | null; quantity: number | null; item_details: string | null;
    created_by: string; created_date: UtcDateTime;
  };
  invoice_payments: Scoped & {
    type: string; invoice_id: string; payment_id: string | null; payment_date: UtcDateTime; amount: Decimal; currency: string; processed_currency: string; payment_cookie_id: string | null;
    linked_invoice_payment_id: string | null; status: string; created_by: string; created_date: UtcDateTime;
  };
  payment_methods: Scoped & { external_key: string; account_id: string; plugin_name: string; is_active: boolean | null } & Audit;
  payments: Scoped & { account_id: string; payment_method_id: string; external_key: string; state_name: string | null; last_success_state_name: string | null } & Audit;
  payment_transactions: Scoped & {
    attempt_id: string | null; transaction_external_key: string; transaction_type: string; effective_date: UtcDateTime; transaction_status: string; amount: Decimal | null; currency: string | null;
    processed_amount: Decimal | null; processed_currency: string | null; payment_id: string; gateway_error_code: string | null; gateway_error_msg: string | null;
  } & Audit;
}

export type KillBillTable = keyof KillBillSchema;

/** Parents before children: the order to create and fill them (reversed to empty them). */
export const killBillTables: KillBillTable[] = [
  'tenants', 'accounts', 'payment_methods', 'bundles', 'subscriptions', 'subscription_events', 'blocking_states',
  'invoices', 'invoice_items', 'payments', 'payment_transactions', 'invoice_payments',
];

// Column types in Kill Bill's own spelling, each with its MySQL and PostgreSQL form.
type ColumnType = 'serial' | 'uuid' | 'tenant' | 'account' | 'datetime' | 'date' | 'money' | 'bool' | 'int' | 'text' | `varchar(${number})`;
type Column = [name: string, type: ColumnType, rest?: string];

const audit: Column[] = [['created_by', 'varchar(50)', 'not null'], ['created_date', 'datetime', 'not null'], ['updated_by', 'varchar(50)', 'not null'], ['updated_date', 'datetime', 'not null']];
// tenants, accounts and blocking_states let the update pair be null (their first write has no update).
const auditNullableUpdate: Column[] = [['created_date', 'datetime', 'not null'], ['created_by', 'varchar(50)', 'not null'], ['updated_date', 'datetime'], ['updated_by', 'varchar(50)']];
const scope: Column[] = [['account_record_id', 'account', 'not null'], ['tenant_record_id', 'tenant', 'not null default 0']];

const columns: Record<KillBillTable, Column[]> = {
  tenants: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['external_key', 'varchar(255)'], ['api_key', 'varchar(128)'], ['api_secret', 'varchar(128)'], ['api_salt', 'varchar(128)'],
    ...auditNullableUpdate,
  ],
  accounts: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['external_key', 'varchar(255)', 'not null'], ['email', 'varchar(128)'], ['name', 'varchar(100)'], ['first_name_length', 'int'],
    ['currency', 'varchar(3)'], ['billing_cycle_day_local', 'int'], ['parent_account_id', 'uuid'], ['is_payment_delegated_to_parent', 'bool', 'default false'],
    ['payment_method_id', 'uuid'], ['reference_time', 'datetime', 'not null'], ['time_zone', 'varchar(50)', 'not null'], ['locale', 'varchar(5)'], ['address1', 'varchar(100)'],
    ['address2', 'varchar(100)'], ['company_name', 'varchar(50)'], ['city', 'varchar(50)'], ['state_or_province', 'varchar(50)'], ['country', 'varchar(50)'],
    ['postal_code', 'varchar(16)'], ['phone', 'varchar(25)'], ['notes', 'varchar(4096)'], ['migrated', 'bool', 'default false'],
    ...auditNullableUpdate, ['tenant_record_id', 'tenant', 'not null default 0'],
  ],
  payment_methods: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['external_key', 'varchar(255)', 'not null'], ['account_id', 'uuid', 'not null'], ['plugin_name', 'varchar(50)', 'not null'],
    ['is_active', 'bool', 'default true'], ...audit, ...scope,
  ],
  bundles: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['external_key', 'varchar(255)', 'not null'], ['account_id', 'uuid', 'not null'], ['last_sys_update_date', 'datetime'],
    ['original_created_date', 'datetime', 'not null'], ...audit, ...scope,
  ],
  subscriptions: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['bundle_id', 'uuid', 'not null'], ['external_key', 'varchar(255)', 'not null'], ['category', 'varchar(32)', 'not null'],
    ['start_date', 'datetime', 'not null'], ['bundle_start_date', 'datetime', 'not null'], ['charged_through_date', 'datetime'], ['migrated', 'bool', 'not null default false'],
    ...audit, ...scope,
  ],
  subscription_events: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['event_type', 'varchar(15)', 'not null'], ['user_type', 'varchar(25)'], ['effective_date', 'datetime', 'not null'],
    ['subscription_id', 'uuid', 'not null'], ['plan_name', 'varchar(255)'], ['phase_name', 'varchar(255)'], ['price_list_name', 'varchar(64)'], ['billing_cycle_day_local', 'int'],
    ['quantity', 'int', 'default 1'], ['is_active', 'bool', 'default true'], ...audit, ...scope,
  ],
  blocking_states: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['blockable_id', 'uuid', 'not null'], ['type', 'varchar(20)', 'not null'], ['state', 'varchar(50)', 'not null'],
    ['service', 'varchar(20)', 'not null'], ['block_change', 'bool', 'not null'], ['block_entitlement', 'bool', 'not null'], ['block_billing', 'bool', 'not null'],
    ['effective_date', 'datetime', 'not null'], ['is_active', 'bool', 'default true'], ...auditNullableUpdate, ...scope,
  ],
  invoices: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['account_id', 'uuid', 'not null'], ['invoice_date', 'date', 'not null'], ['target_date', 'date'], ['currency', 'varchar(3)', 'not null'],
    ['status', 'varchar(15)', "not null default 'COMMITTED'"], ['migrated', 'bool', 'not null'], ['parent_invoice', 'bool', 'not null default false'], ['grp_id', 'uuid', 'not null'],
    ['created_by', 'varchar(50)', 'not null'], ['created_date', 'datetime', 'not null'], ...scope,
  ],
  invoice_items: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['type', 'varchar(24)', 'not null'], ['invoice_id', 'uuid', 'not null'], ['account_id', 'uuid', 'not null'], ['child_account_id', 'uuid'],
    ['bundle_id', 'uuid'], ['subscription_id', 'uuid'], ['description', 'varchar(255)'], ['product_name', 'varchar(255)'], ['plan_name', 'varchar(255)'], ['phase_name', 'varchar(255)'],
    ['usage_name', 'varchar(255)'], ['catalog_effective_date', 'datetime'], ['start_date', 'date'], ['end_date', 'date'], ['amount', 'money', 'not null'], ['rate', 'money'],
    ['currency', 'varchar(3)', 'not null'], ['linked_item_id', 'uuid'], ['quantity', 'int'], ['item_details', 'text'], ['created_by', 'varchar(50)', 'not null'],
    ['created_date', 'datetime', 'not null'], ...scope,
  ],
  payments: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['account_id', 'uuid', 'not null'], ['payment_method_id', 'uuid', 'not null'], ['external_key', 'varchar(255)', 'not null'],
    ['state_name', 'varchar(64)'], ['last_success_state_name', 'varchar(64)'], ...audit, ...scope,
  ],
  payment_transactions: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['attempt_id', 'uuid'], ['transaction_external_key', 'varchar(255)', 'not null'], ['transaction_type', 'varchar(32)', 'not null'],
    ['effective_date', 'datetime', 'not null'], ['transaction_status', 'varchar(50)', 'not null'], ['amount', 'money'], ['currency', 'varchar(3)'], ['processed_amount', 'money'],
    ['processed_currency', 'varchar(3)'], ['payment_id', 'uuid', 'not null'], ['gateway_error_code', 'varchar(32)'], ['gateway_error_msg', 'text'], ...audit, ...scope,
  ],
  invoice_payments: [
    ['record_id', 'serial'], ['id', 'uuid', 'not null'], ['type', 'varchar(24)', 'not null'], ['invoice_id', 'uuid', 'not null'], ['payment_id', 'uuid'], ['payment_date', 'datetime', 'not null'],
    ['amount', 'money', 'not null'], ['currency', 'varchar(3)', 'not null'], ['processed_currency', 'varchar(3)', 'not null'], ['payment_cookie_id', 'varchar(255)'],
    ['linked_invoice_payment_id', 'uuid'], ['status', 'varchar(50)', "not null default 'INIT'"], ['created_by', 'varchar(50)', 'not null'], ['created_date', 'datetime', 'not null'], ...scope,
  ],
};

// Kill Bill's own indexes on these tables: the unique ones are part of its data model (an
// external key is unique per tenant), the others are what its queries by tenant and account use.
const indexes: [name: string, table: KillBillTable, cols: string, unique?: true][] = [
  ['tenants_id', 'tenants', 'id', true], ['tenants_api_key', 'tenants', 'api_key', true],
  ['accounts_id', 'accounts', 'id', true], ['accounts_external_key', 'accounts', 'external_key, tenant_record_id', true], ['accounts_tenant_record_id', 'accounts', 'tenant_record_id'],
  ['payment_methods_id', 'payment_methods', 'id', true], ['payment_methods_external_key', 'payment_methods', 'external_key, tenant_record_id', true],
  ['payment_methods_tenant_account_record_id', 'payment_methods', 'tenant_record_id, account_record_id'],
  ['bundles_id', 'bundles', 'id', true], ['bundles_external_key', 'bundles', 'external_key, tenant_record_id', true], ['bundles_account', 'bundles', 'account_id'],
  ['bundles_tenant_account_record_id', 'bundles', 'tenant_record_id, account_record_id'],
  ['subscriptions_id', 'subscriptions', 'id', true], ['subscriptions_external_key', 'subscriptions', 'external_key, tenant_record_id', true], ['subscriptions_bundle_id', 'subscriptions', 'bundle_id'],
  ['subscriptions_tenant_account_record_id', 'subscriptions', 'tenant_record_id, account_record_id'],
  ['subscription_events_id', 'subscription_events', 'id', true], ['idx_ent_1', 'subscription_events', 'subscription_id, is_active, effective_date'],
  ['subscription_events_tenant_account_record_id', 'subscription_events', 'tenant_record_id, account_record_id'],
  ['blocking_states_id', 'blocking_states', 'blockable_id'], ['blocking_states_id_real', 'blocking_states', 'id'],
  ['blocking_states_tenant_account_record_id', 'blocking_states', 'tenant_record_id, account_record_id'],
  ['invoices_id', 'invoices', 'id', true], ['invoices_account', 'invoices', 'account_id'], ['invoices_tenant_account_record_id', 'invoices', 'tenant_record_id, account_record_id'],
  ['invoice_items_id', 'invoice_items', 'id', true], ['invoice_items_invoice_id', 'invoice_items', 'invoice_id'], ['invoice_items_linked_item_id', 'invoice_items', 'linked_item_id'],
  ['invoice_items_tenant_account_record_id', 'invoice_items', 'tenant_record_id, account_record_id'],
  ['payments_id', 'payments', 'id', true], ['payments_key', 'payments', 'external_key, tenant_record_id', true], ['payments_accnt', 'payments', 'account_id'],
  ['payments_tenant_account_record_id', 'payments', 'tenant_record_id, account_record_id'],
  ['transactions_id', 'payment_transactions', 'id', true], ['transactions_payment_id', 'payment_transactions', 'payment_id'],
  ['transactions_tenant_account_record_id', 'payment_transactions', 'tenant_record_id, account_record_id'],
  ['invoice_payments_id', 'invoice_payments', 'id', true], ['invoice_payments_invoice_id', 'invoice_payments', 'invoice_id'], ['invoice_payments_payment_id', 'invoice_payments', 'payment_id'],
  ['invoice_payments_reversals', 'invoice_payments', 'linked_invoice_payment_id'], ['invoice_payments_tenant_account_record_id', 'invoice_payments', 'tenant_record_id, account_record_id'],
];

function typeSql(type: ColumnType, engine: 'mysql' | 'postgres'): string {
  const my = engine === 'mysql';
  switch (type) {
    // MySQL's `serial` is bigint unsigned auto_increment; Kill Bill's PostgreSQL setup turns its serials into bigint, i.e. a bigserial.
    case 'serial': return my ? 'serial' : 'bigserial';
    case 'uuid': return 'varchar(36)';
    case 'tenant': case 'account': return my ? 'bigint unsigned' : 'bigint';
    case 'datetime': return 'datetime';
    case 'date': return 'date';
    case 'money': return 'numeric(15,9)';
    case 'bool': return 'boolean';
    case 'int': return 'int';
    case 'text': return 'text';
    default: return type;
  }
}

/**
 * Create the Kill Bill tables on MariaDB/MySQL or PostgreSQL (tables already there are left
 * as they are). SQLite is no Kill Bill engine and is refused by the connection already.
 */
export async function createKillBillSchema(db: Kysely<KillBillSchema>): Promise<void> {
  const engine = killBillEngineOf(db);
  if (engine === 'postgres') {
    // Kill Bill's PostgreSQL DDL declares MySQL's `datetime` as a domain over timestamp without time zone.
    const domain = await sql<{ n: number }>`select count(*)::int as n from pg_type where typname = 'datetime' and typnamespace = current_schema()::regnamespace`.execute(db);
    if (!domain.rows[0]?.n) await sql`create domain datetime as timestamp without time zone`.execute(db);
  }
  for (const table of killBillTables) {
    const body = columns[table].map(([name, type, rest]) => `${name} ${typeSql(type, engine)}${name === 'record_id' ? ' unique' : ''}${rest ? ` ${rest}` : ''}`);
    // Kill Bill's tables are utf8 with a binary collation: keys compare byte for byte, case included.
    const tail = engine === 'mysql' ? ' character set utf8 collate utf8_bin' : '';
    await sql.raw(`create table if not exists ${table} (\n  ${[...body, 'primary key (record_id)'].join(',\n  ')}\n)${tail}`).execute(db);
  }
  for (const [name, table, cols, unique] of indexes) {
    const create = `create ${unique ? 'unique ' : ''}index ${engine === 'postgres' ? 'if not exists ' : ''}${name} on ${table}(${cols})`;
    // MariaDB has `if not exists` for indexes but MySQL does not: a duplicate key name (1061) means it is there already.
    await sql.raw(create).execute(db).catch((err: { errno?: number }) => { if (err.errno !== 1061) throw err; });
  }
}

/**
 * The columns the migration and the comparator read, per table. A requirement with
 * alternatives is met by any of them (the newest first, and named when none is there).
 *
 * Columns older Kill Bill versions lack (from its Flyway migrations):
 * - invoice_payments.status: 0.24 (2022); before it, 0.18 to 0.22 had the boolean `success`.
 * - invoices.status, invoices.parent_invoice: 0.18 (2016); before, every invoice was committed.
 * - accounts.reference_time: 0.20 (2017); it fixes the time of day of every billing date.
 * - subscriptions.external_key: 0.22 (2019); invoices.grp_id and subscription_events.quantity: 0.24.
 * Only the first three change how the data reads, so the last ones are not required here.
 */
export const killBillRequiredColumns: Record<KillBillTable, (string | string[])[]> = {
  tenants: ['record_id', 'id', 'external_key', 'api_key'],
  accounts: ['record_id', 'id', 'external_key', 'email', 'name', 'currency', 'time_zone', 'country', 'reference_time', 'billing_cycle_day_local', 'created_date', 'tenant_record_id'],
  payment_methods: ['id', 'account_id', 'plugin_name', 'is_active', 'account_record_id', 'tenant_record_id'],
  bundles: ['id', 'external_key', 'account_id', 'account_record_id', 'tenant_record_id'],
  subscriptions: ['id', 'bundle_id', 'category', 'start_date', 'charged_through_date', 'account_record_id', 'tenant_record_id'],
  subscription_events: ['id', 'event_type', 'user_type', 'effective_date', 'subscription_id', 'plan_name', 'phase_name', 'price_list_name', 'is_active', 'created_date', 'account_record_id', 'tenant_record_id'],
  blocking_states: ['id', 'blockable_id', 'type', 'state', 'service', 'block_change', 'block_entitlement', 'block_billing', 'effective_date', 'is_active', 'account_record_id', 'tenant_record_id'],
  invoices: ['record_id', 'id', 'account_id', 'invoice_date', 'target_date', 'currency', 'status', 'account_record_id', 'tenant_record_id'],
  invoice_items: ['id', 'type', 'invoice_id', 'account_id', 'subscription_id', 'plan_name', 'phase_name', 'start_date', 'end_date', 'amount', 'currency', 'linked_item_id', 'account_record_id', 'tenant_record_id'],
  payments: ['id', 'account_id', 'payment_method_id', 'external_key', 'state_name', 'account_record_id', 'tenant_record_id'],
  payment_transactions: ['id', 'payment_id', 'transaction_external_key', 'transaction_type', 'effective_date', 'transaction_status', 'amount', 'currency', 'account_record_id', 'tenant_record_id'],
  invoice_payments: ['id', 'type', 'invoice_id', 'payment_id', 'payment_date', 'amount', 'currency', 'linked_invoice_payment_id', ['status', 'success'], 'account_record_id', 'tenant_record_id'],
};

/** The columns a live database has, per table (lower case), from information_schema of the connection's own database (MySQL) or schema (PostgreSQL). */
export async function liveColumns(db: Kysely<KillBillSchema>): Promise<Map<string, Set<string>>> {
  const where = killBillEngineOf(db) === 'mysql' ? sql`table_schema = database()` : sql`table_schema = current_schema()`;
  const rows = (await sql<{ t: string; c: string }>`select table_name as t, column_name as c from information_schema.columns where ${where}`.execute(db)).rows;
  const present = new Map<string, Set<string>>();
  for (const { t, c } of rows) {
    const set = present.get(t.toLowerCase()) ?? new Set<string>();
    set.add(c.toLowerCase());
    present.set(t.toLowerCase(), set);
  }
  return present;
}

/** Every column of a table as Kill Bill's current DDL has it (a live database of an older version may lack some). */
export const killBillColumns = (table: KillBillTable): string[] => columns[table].map(([name]) => name);

/**
 * What a live database lacks of the Kill Bill tables and columns the migration relies on,
 * as `table` or `table.column` names, in table order; empty when it has everything.
 */
export async function describeMissing(db: Kysely<KillBillSchema>, present?: Map<string, Set<string>>): Promise<string[]> {
  present ??= await liveColumns(db);
  const missing: string[] = [];
  for (const table of killBillTables) {
    const have = present.get(table);
    if (!have) {
      missing.push(table);
      continue;
    }
    for (const need of killBillRequiredColumns[table]) {
      const options = Array.isArray(need) ? need : [need];
      if (!options.some((c) => have.has(c))) missing.push(`${table}.${options[0]}`);
    }
  }
  return missing;
}
