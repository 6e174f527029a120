import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { IsoDate } from '../../domain/calendar.ts';
import { isCurrency } from '../../domain/money.ts';
import {
  describeMissing, KillBillError, killBillColumns, liveColumns, openKillBill, type KillBillDb, type KillBillSchema, type KillBillTable,
} from '../../killbill/index.ts';
import type { MigrationSource, PageOptions } from '../source.ts';
import { plansInUse } from '../transform/killbill-member.ts';
import type { KillBillMember } from './killbill-member.ts';
import { groupBy, inChunks, inTurn } from './legacy-source.ts';

/** The Kill Bill tenant a migration reads: every row it reads carries this tenant_record_id. */
export interface KillBillTenant {
  recordId: number;
  externalKey: string | null;
}

export interface KillBillSource extends MigrationSource<KillBillMember> {
  readonly tenant: KillBillTenant;
  readonly kb: KillBillDb;
}

type Db = Kysely<KillBillSchema>;
type Columns = Map<string, Set<string>>;

/** The tables below an account, read by account_record_id: what a KillBillMember holds besides the account. */
const below = {
  bundles: 'bundles', subscriptions: 'subscriptions', events: 'subscription_events', blockingStates: 'blocking_states', invoices: 'invoices', invoiceItems: 'invoice_items',
  invoicePayments: 'invoice_payments', payments: 'payments', transactions: 'payment_transactions', paymentMethods: 'payment_methods',
} as const satisfies Record<Exclude<keyof KillBillMember, 'account'>, KillBillTable>;

/**
 * Pick the tenant: by record id, API key or external key when given; else the only one.
 * A Kill Bill run without tenants configured writes every row with one tenant_record_id
 * and no tenants row: then that value is the tenant.
 */
export async function resolveTenant(db: Db, given: string | undefined): Promise<KillBillTenant> {
  const tenants = (await db.selectFrom('tenants').select(['record_id', 'external_key', 'api_key']).orderBy('record_id').execute())
    .map((t) => ({ recordId: Number(t.record_id), externalKey: t.external_key, apiKey: t.api_key }));
  if (!tenants.length) {
    const used = (await db.selectFrom('accounts').select('tenant_record_id').distinct().orderBy('tenant_record_id').execute()).map((r) => Number(r.tenant_record_id));
    tenants.push(...used.map((recordId) => ({ recordId, externalKey: null, apiKey: null })));
  }
  const list = () => tenants.map((t) => `${t.recordId}${t.externalKey ? ` (${t.externalKey})` : ''}`).join(', ') || 'none';
  const pick = given === undefined ? undefined : given.trim();
  if (pick === undefined || pick === '') {
    if (tenants.length === 1) return { recordId: tenants[0]!.recordId, externalKey: tenants[0]!.externalKey };
    throw new KillBillError(tenants.length
      ? `--tenant is required: this Kill Bill has ${tenants.length} tenants: ${list()} (give the record id or the API key)`
      : '--from: this Kill Bill has no tenant and no account: nothing to migrate');
  }
  const found = tenants.find((t) => (/^\d+$/.test(pick) && t.recordId === Number(pick)) || t.apiKey === pick || t.externalKey === pick);
  if (!found) throw new KillBillError(`--tenant "${pick}" is not a tenant of this Kill Bill (its tenants: ${list()})`);
  return { recordId: found.recordId, externalKey: found.externalKey };
}

/** An account's country as compared with --country: Kill Bill's is free text, written by its APIs as ISO alpha-2. */
const accountCountry = sql<string>`upper(trim(${sql.ref('accounts.country')}))`;

/**
 * Kill Bill as a migration source: one tenant's accounts, a keyset page at a time by
 * record_id, each with every row below it, read with one query per table for the page (not
 * one per account) inside one repeatable-read snapshot. Soft-deleted rows and DRAFT or VOID
 * invoices are read too: the transform decides what they mean.
 *
 * Columns an older Kill Bill lacks are read as null, except invoices.status (before 0.18
 * every invoice was committed) and invoice_payments.status (0.24; before, the boolean
 * `success`), which are filled from what that version had.
 */
export function killBillSource(kb: KillBillDb, tenant: KillBillTenant, present: Columns, asOf: IsoDate): KillBillSource {
  const t = tenant.recordId;
  const has = (table: KillBillTable, column: string) => present.get(table)?.has(column) ?? false;

  /** Select every column of `table` the live database has, in one query; the rest are filled in `complete`. */
  const selectAll = <T extends KillBillTable>(db: Db, table: T): SelectQueryBuilder<KillBillSchema, T, Record<string, unknown>> => {
    const cols = killBillColumns(table).filter((c) => has(table, c));
    if (table === 'invoice_payments' && !has(table, 'status') && has(table, 'success')) cols.push('success');
    return (db.selectFrom(table) as unknown as SelectQueryBuilder<KillBillSchema, T, Record<string, unknown>>).select(cols.map((c) => sql.ref(c).as(c)));
  };
  const complete = (table: KillBillTable, rows: Record<string, unknown>[]): Record<string, unknown>[] => {
    const missing = killBillColumns(table).filter((c) => !has(table, c));
    if (!missing.length) return rows;
    return rows.map((r) => {
      const out: Record<string, unknown> = { ...r };
      for (const c of missing) out[c] = null;
      if (table === 'invoices' && !has(table, 'status')) out.status = 'COMMITTED';
      if (table === 'invoice_payments' && !has(table, 'status')) {
        out.status = r.success === true || r.success === 1 || r.success === null || r.success === undefined ? 'SUCCESS' : 'PAYMENT_FAILURE';
        delete out.success;
      }
      return out;
    });
  };

  /** One snapshot per page: an account Kill Bill changes while it is read is read wholly before or wholly after the change. */
  const inSnapshot = <R>(read: (db: Db) => Promise<R>) => kb.db.transaction().setIsolationLevel('repeatable read').execute(read);

  async function membersOf(db: Db, accounts: Record<string, unknown>[]): Promise<KillBillMember[]> {
    const ids = accounts.map((a) => Number(a.record_id));
    const read = (table: KillBillTable) => () => inChunks(ids, async (some) => complete(table, await selectAll(db, table)
      .where(sql.ref('tenant_record_id'), '=', t).where(sql.ref('account_record_id'), 'in', some).orderBy(sql.ref('record_id')).execute()));
    const keys = Object.keys(below) as (keyof typeof below)[];
    const lists = await inTurn(...keys.map((k) => read(below[k])));
    const grouped = Object.fromEntries(keys.map((k, i) => [k, groupBy(lists[i]!, (r) => r.account_record_id)])) as Record<keyof typeof below, Map<number, Record<string, unknown>[]>>;
    return accounts.map((account) => {
      const id = Number(account.record_id);
      const rows = Object.fromEntries(keys.map((k) => [k, grouped[k].get(id) ?? []]));
      return { account, ...rows } as unknown as KillBillMember;
    });
  }

  const accountsQuery = (db: Db, country: string) => selectAll(db, 'accounts').where(sql.ref('tenant_record_id'), '=', t).where(accountCountry, '=', country);

  return {
    name: 'killbill',
    tenant,
    kb,

    async countries() {
      const rows = await kb.db.selectFrom('accounts').select((eb) => [accountCountry.as('cd'), eb.fn.countAll<number>().as('n')])
        .where('tenant_record_id', '=', t).groupBy(accountCountry).orderBy(accountCountry).execute();
      return rows.map((r) => ({ country: r.cd || '??', members: Number(r.n) }));
    },

    async page(country: string, cursor: string | null, limit: number, _opts?: PageOptions) {
      return inSnapshot(async (db) => {
        const accounts = await accountsQuery(db, country).where(sql.ref('record_id'), '>', cursor === null ? 0 : Number(cursor)).orderBy(sql.ref('record_id')).limit(limit).execute();
        if (!accounts.length) return { members: [], cursor: null };
        return { members: await membersOf(db, complete('accounts', accounts)), cursor: accounts.length < limit ? null : String(accounts.at(-1)!.record_id) };
      });
    },

    async members(country: string, memberIds: string[]) {
      return inSnapshot(async (db) => {
        const accounts = await inChunks(memberIds, (some) => accountsQuery(db, country).where(sql.ref('external_key'), 'in', some).orderBy(sql.ref('record_id')).execute());
        return accounts.length ? membersOf(db, complete('accounts', accounts)) : [];
      });
    },

    async plansInUse(country: string) {
      const events = await kb.db.selectFrom('subscription_events as e').innerJoin('accounts', 'accounts.record_id', 'e.account_record_id')
        .select(['e.subscription_id', 'e.event_type', 'e.user_type', 'e.plan_name', 'e.effective_date', 'e.record_id', 'e.is_active', 'accounts.time_zone'])
        .where('e.tenant_record_id', '=', t).where('accounts.tenant_record_id', '=', t).where(accountCountry, '=', country).where('e.plan_name', 'is not', null).execute();
      return plansInUse(events.map((e) => ({ ...e, record_id: Number(e.record_id) })), asOf);
    },

    async preflight(country: string) {
      // Every currency the country's money is kept in, however Kill Bill wrote it: one Tally does not know cannot be read at all.
      const found = new Map<string, string>();
      for (const table of ['accounts', 'invoices', 'invoice_items', 'payment_transactions'] as const) {
        const rows = table === 'accounts'
          ? await kb.db.selectFrom('accounts').select((eb) => ['accounts.currency as currency', eb.fn.min('accounts.external_key').as('who')])
            .where('accounts.tenant_record_id', '=', t).where(accountCountry, '=', country).groupBy('accounts.currency').execute()
          : await kb.db.selectFrom(`${table} as x` as 'invoices as x').innerJoin('accounts', 'accounts.record_id', 'x.account_record_id')
            .select((eb) => ['x.currency as currency', eb.fn.min('accounts.external_key').as('who')])
            .where('x.tenant_record_id', '=', t).where('accounts.tenant_record_id', '=', t).where(accountCountry, '=', country).groupBy('x.currency').execute();
        for (const r of rows) {
          const code = (r.currency ?? '').trim().toUpperCase();
          if (!isCurrency(code) && !found.has(code)) found.set(code, String(r.who));
        }
      }
      if (found.size) {
        throw new KillBillError(`--country ${country}: Kill Bill keeps money in ${[...found].map(([c, who]) => `${c ? `"${c}"` : 'no currency'} (account ${who})`).join(', ')}, not an ISO 4217 currency Tally knows; nothing of ${country} was written`);
      }
    },

    close: () => kb.close(),
  };
}

/**
 * Open a Kill Bill database as a migration source: refused, naming what is missing, when it is
 * not a Kill Bill schema; refused, listing the tenants, when the tenant is unknown or not given
 * where there are several.
 */
export async function openKillBillSource(url: string, opts: { tenant?: string; asOf: IsoDate }): Promise<KillBillSource> {
  const kb = await openKillBill(url, '--from');
  try {
    const present = await liveColumns(kb.db);
    const missing = await describeMissing(kb.db, present);
    if (missing.length) {
      throw new KillBillError(`--from: the database is not a Kill Bill schema (or one older than 0.20): it has no ${missing.map((m) => (m.includes('.') ? `column ${m}` : `table ${m}`)).join(', ')}`);
    }
    return killBillSource(kb, await resolveTenant(kb.db, opts.tenant), present, opts.asOf);
  } catch (err) {
    await kb.close();
    throw err;
  }
}
